import type { Address, Hex } from "viem";

/** One slice to liquidate, as the planner sized it. */
export type LiquidationItem = {
  account: Address;
  marketId: number;
  /** Slice size (WAD), as the engine computed it. */
  size: bigint;
  /** The keeper's reward the planner expects, in collateral tokens (6 decimals). */
  expectedRewardTokens: bigint;
};

/** What the planner hands the executor: one transaction's worth of liquidations. */
export type TxPlan = {
  /** One item → the protocol's single call, more → its batch call. */
  items: LiquidationItem[];
  /** Reward in native-token terms minus gas (wei); drives the priority fee (see fees.ts). */
  expectedProfitWei: bigint;
  /** Block whose prices the plan was computed at (logged). */
  priceBlock?: bigint;
  /** `performance.now()` (the executor's `now` clock) when the block with the price update arrived. */
  observedAt?: number;
  /**
   * Gas limit the planner vouches for (an upper bound from its gas model). With the executor's
   * "engine" preflight, a plan with a limit computed at the executor's current head is sent without
   * a node simulation.
   */
  gasLimit?: bigint;
};

/**
 * A transaction the executor sent and has not seen settle. This is what the daemon checkpoints:
 * it never holds a signed transaction (`raw?: never`), only what is needed to find it again.
 */
export type InFlightTx = {
  /** The latest broadcast at this nonce (the original, a fee bump, or a cancel). */
  hash: Hex;
  nonce: number;
  items: LiquidationItem[];
  /** Block number when the latest broadcast was made; the replacement clock counts from it. */
  sentAtBlock: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** Fee bumps (and cancels) broadcast at this nonce so far. */
  replacements: number;
  /** Gas limit of the latest broadcast; when absent (old checkpoint) it is re-estimated. */
  gas?: bigint;
  /** Earlier broadcasts at this nonce: any of them may be the one that gets mined. */
  previousHashes?: Hex[];
  /**
   * The protocol function called (a lone item sent on the engine's word goes out isolated in a
   * batch). Absent in old checkpoints: then the protocol's default call for the items.
   */
  functionName?: string;
  /** The plan's expected profit (wei), which prices a fee bump. Absent in old checkpoints (0). */
  expectedProfitWei?: bigint;
  raw?: never;
};

/** Why `submit()` refused a plan without queueing it. */
export type RefusalReason =
  /** An item's target (account + market) already has a transaction queued or in flight. */
  | "duplicate"
  /** The hourly gas budget is spent. */
  | "budget"
  /** An item's target, account or market is backing off after an error. */
  | "backoff"
  /** Another market of an item's account has a transaction queued or in flight. */
  | "account_busy"
  /** The latest base fee is above the configured fee cap. */
  | "fee_above_cap"
  /** `drain()` was called: no new work. */
  | "draining"
  /** The node refused a recent send for lack of funds: sending is paused for a while. */
  | "insufficient_funds"
  /** The plan has no items, or names one account twice. */
  | "invalid_plan";

/** Why a queued job ended without sending. */
export type SkipReason =
  /** Every item reverted in simulation (state moved, cooldown, stale price, …). */
  | "reverted"
  /** The base fee rose above the cap between admission and sending. */
  | "fee_above_cap"
  /** Sending would take the gas spent in the last hour over the budget. */
  | "budget"
  /** The node refused the transaction (nonce trouble after a resync, …). */
  | "send_failed"
  /** The node refused the transaction: the wallet cannot pay for it. */
  | "insufficient_funds"
  /** An RPC failed before the transaction could be built (not a revert). */
  | "rpc_error"
  /** `drain()` was called while the job waited in the queue. */
  | "draining";

/** An item removed from a plan, with the custom error that removed it (if any was decoded). */
export type SkippedItem = { item: LiquidationItem; errorName: string | undefined };

/** How a queued job ended. */
export type JobResult =
  | { status: "sent"; tx: InFlightTx; skipped: SkippedItem[] }
  | {
      status: "dry_run";
      items: LiquidationItem[];
      skipped: SkippedItem[];
      gas: bigint;
      maxFeePerGas: bigint;
      maxPriorityFeePerGas: bigint;
    }
  | { status: "skipped"; reason: SkipReason; skipped: SkippedItem[]; error?: unknown };

/**
 * `submit()` answers at once. When accepted, `done` settles (it never rejects) when the job has
 * sent, or decided not to send.
 */
export type SubmitResult =
  | { accepted: true; done: Promise<JobResult> }
  | { accepted: false; reason: RefusalReason; target?: string };

/** Counters since construction. Transactions are counted per nonce; `skipped` per item. */
export type ExecutorStats = {
  sent: number;
  mined: number;
  reverted: number;
  replaced: number;
  cancelled: number;
  dropped: number;
  skipped: number;
  dryRun: number;
  gasSpentWei: bigint;
  /** Keeper rewards received, in collateral tokens (6 decimals). */
  rewardTokens: bigint;
};

/** The block fields the executor needs from each new head. */
export type { FeeHead as BlockHead } from "../chain/heads.ts";
