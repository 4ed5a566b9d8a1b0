/**
 * What the executor's parts share: its inputs, checked once, and the state they all read and
 * write (transactions in flight by nonce, lately mined ones, reservations and backoffs, the head,
 * counters, nonce lock, journal, budget, wallet funds). `createContext` builds it; the façade
 * (executor.ts) holds it and hands it to each part (preflight, broadcast, follow, replace, spend,
 * job), which are functions of `(ctx, …)`.
 */
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import { ConfigError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { Admission } from "./admission.ts";
import type { LiquidationCall, LiquidationCalls } from "./calls.ts";
import { shareToPpm, type FeePolicy } from "./fees.ts";
import { GasBudget } from "./gasBudget.ts";
import type { Kind } from "./items.ts";
import type { SendJournal } from "./journal.ts";
import { NonceManager } from "./nonceManager.ts";
import type { ExecutorCosts } from "./spend.ts";
import type { BlockHead, ExecutorStats, InFlightTx, LiquidationItem } from "./types.ts";
import { WalletFunds } from "./walletFunds.ts";

export type ExecutorInputs = {
  publicClient: PublicClient<Transport, Chain>;
  /**
   * Every broadcast is written here (fsynced) before it is sent, and every settled nonce after, so
   * a restart finds what a crash left in the pool (see journal.ts and `adoptOrphans`).
   */
  journal?: SendJournal;
  /** Signs and sends; its account is the keeper. A local account is signed with directly. */
  walletClient: WalletClient<Transport, Chain, Account>;
  /** The protocol's liquidation calls (encoding, simulation, reverts, receipts). */
  calls: LiquidationCalls;
  logger: Logger;
  metrics: Metrics;
  /** Jobs (simulate → send) running at once. Sends themselves are serialised by the nonce lock. */
  concurrency: number;
  /** Cap on maxFeePerGas (wei). */
  feeCapWei: bigint;
  /** Base priority fee (wei). */
  priorityFeeWei: bigint;
  /** Share of a plan's expected profit tipped to the builder, in [0, 1]. Default 0 (flat tip). */
  profitPriorityShare?: number;
  /** Blocks without inclusion before a fee bump (or cancel). Default 3. */
  replaceAfterBlocks?: number;
  /** Most wei spent on gas in any hour, counting the worst case of what is in flight. */
  gasBudgetWeiPerHour: bigint;
  /** Simulate and log, never send. */
  dryRun: boolean;
  /**
   * Sends go to private relays only (--send-rpc): the read node never sees our pending
   * transactions, so its pending count is no bound on our nonces; ours in flight are.
   */
  privateSends?: boolean;
  /**
   * "node" (default): every transaction is simulated by the node before it is sent. "engine": a
   * plan with a `gasLimit` whose `priceBlock` is the executor's current head was computed by the
   * exact engine on the state at that head, so it is sent at once; anything else is simulated. A
   * transaction sent that way that reverts on chain switches the executor to "node" for
   * `distrustMs`.
   */
  preflight?: "node" | "engine";
  /** How long an engine-preflight transaction that reverted keeps node simulation on (ms). Default 600 000. */
  distrustMs?: number;
  /** The planner's engine re-check at the current head: would this item, as sized, succeed? */
  isStillValid: (item: LiquidationItem) => boolean;
  /** The largest slice of the item's target allowed at the current head (0n: none); lets a stuck transaction be re-planned smaller. */
  sizeNow?: (item: LiquidationItem) => bigint;
  /** Milliseconds clock, the one `TxPlan.observedAt` is on. Default `performance.now`. */
  now?: () => number;
  /** Gas limit = estimate × this, in ppm. Default 1_200_000 (× 1.2). */
  gasMarginPpm?: bigint;
  /** Backoff of a market after StalePrice / InvalidPrice (ms). Default 5 000. */
  priceBackoffMs?: number;
  /** Backoff of a target after its transaction reverted on chain (ms). Default 60 000. */
  revertBackoffMs?: number;
  /**
   * Blocks a mined transaction is remembered, in case a reorg takes it out again (see onReorg):
   * the deepest reorg the keeper handles (its `maxReorgDepth`). Default 64.
   */
  reorgMemoryBlocks?: number;
  /** Pause of all sending after the node answered "insufficient funds" (ms). Default 30 000. */
  fundsBackoffMs?: number;
  /** Backoff of a target whose item failed inside a mined batch, other than a cooldown (ms). Default 15 000. */
  failedItemBackoffMs?: number;
  /** Poll interval of `drain()` (ms). Default the public client's pollingInterval. */
  drainPollMs?: number;
  /** L1 data fees (OP-stack) and the mined-transaction hook (a profit ledger): see spend.ts. */
  costs?: ExecutorCosts;
};

/** Default of `ExecutorInputs.reorgMemoryBlocks`. */
const REORG_MEMORY_BLOCKS = 64;

/** What the executor tracks per nonce beyond the checkpointed InFlightTx. */
export type Tracked = {
  tx: InFlightTx;
  /** The market call; absent for the cancel of an orphaned nonce (see adoptOrphans). */
  call?: LiquidationCall;
  expectedProfitWei: bigint;
  /** The latest broadcast is a cancel (self-transfer). */
  cancelled: boolean;
  /** Block at which the nonce was seen used with no receipt for any of our hashes. */
  missingSince?: bigint;
  /** A "cannot bump under the cap" warning was logged for this nonce. */
  capWarned: boolean;
  /** Sent on the engine's word, without a node simulation. */
  engineOnly?: boolean;
  /** The block the plan was made at (the engine's state). */
  priceBlock?: bigint;
  /** Items taken out by a re-plan: still held until the nonce settles, as an earlier broadcast may carry them. */
  released?: LiquidationItem[];
  /** Backoff keys its receipt's failed items set: lifted if a reorg takes the receipt away. */
  receiptBackoffs?: string[];
};

export type ExecutorContext = {
  // Fixed at construction (see ExecutorInputs for each).
  readonly publicClient: ExecutorInputs["publicClient"];
  readonly walletClient: ExecutorInputs["walletClient"];
  readonly calls: LiquidationCalls;
  /** The keeper's address (the wallet's account). */
  readonly keeper: Address;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly policy: FeePolicy;
  readonly replaceAfterBlocks: bigint;
  readonly dryRun: boolean;
  readonly isStillValid: (item: LiquidationItem) => boolean;
  readonly sizeNow: ((item: LiquidationItem) => bigint) | undefined;
  readonly now: () => number;
  readonly gasMarginPpm: bigint;
  readonly priceBackoffMs: number;
  readonly revertBackoffMs: number;
  readonly failedItemBackoffMs: number;
  readonly drainPollMs: number;
  readonly preflight: "node" | "engine";
  readonly distrustMs: number;
  readonly reorgMemoryBlocks: bigint;
  readonly nonces: NonceManager;
  readonly budget: GasBudget;
  readonly costs: ExecutorCosts;
  readonly journal: SendJournal | undefined;
  /** Reserved targets (and so busy accounts) and backoffs: see admission.ts. */
  readonly admission: Admission;
  /** Whether the wallet can pay: see walletFunds.ts. */
  readonly funds: WalletFunds;
  /** Transactions in flight, by nonce. */
  readonly tracked: Map<number, Tracked>;
  /** Transactions mined lately, by nonce, with their block: a reorg may undo them. */
  readonly mined: Map<number, { rec: Tracked; block: bigint }>;
  readonly counters: ExecutorStats;

  // State the parts change.
  head: BlockHead | undefined;
  /** A reorg happened: read the nonce from the node before the next send. */
  resyncBeforeSend: boolean;
  /** `now()` until which engine preflight is off (after one of its transactions reverted). */
  distrustUntil: number;
  /** Whether the node has eth_simulateV1 (undefined: not asked yet). */
  simulateV1: boolean | undefined;
  /** Plans are no longer taken (drain). */
  draining: boolean;
  /** The budget-exhausted warning was logged and the budget has not recovered since. */
  budgetTripped: boolean;
};

/** Check `inputs` (every problem at once, as a ConfigError) and build the shared context. */
export function createContext(inputs: ExecutorInputs): ExecutorContext {
  const problems: string[] = [];
  if (!Number.isInteger(inputs.concurrency) || inputs.concurrency < 1) problems.push("concurrency must be an integer ≥ 1");
  if (inputs.feeCapWei <= 0n) problems.push("feeCapWei must be above 0");
  if (inputs.priorityFeeWei < 0n) problems.push("priorityFeeWei must not be negative");
  if (inputs.priorityFeeWei > inputs.feeCapWei) problems.push("priorityFeeWei must not exceed feeCapWei");
  if (inputs.gasBudgetWeiPerHour < 0n) problems.push("gasBudgetWeiPerHour must not be negative");
  const replaceAfter = inputs.replaceAfterBlocks ?? 3;
  if (!Number.isInteger(replaceAfter) || replaceAfter < 1) problems.push("replaceAfterBlocks must be an integer ≥ 1");
  const memory = inputs.reorgMemoryBlocks ?? REORG_MEMORY_BLOCKS;
  if (!Number.isInteger(memory) || memory < 1) problems.push("reorgMemoryBlocks must be an integer ≥ 1");
  const margin = inputs.gasMarginPpm ?? 1_200_000n;
  if (margin < 1_000_000n) problems.push("gasMarginPpm must be at least 1_000_000 (× 1.0)");
  let sharePpm = 0n;
  try {
    sharePpm = shareToPpm(inputs.profitPriorityShare ?? 0);
  } catch (e) {
    problems.push(`profitPriorityShare: ${(e as Error).message}`);
  }
  if (problems.length > 0) throw new ConfigError("executor", problems);

  const keeper = inputs.walletClient.account.address;
  const logger = inputs.logger.child({ component: "executor" });
  const now = inputs.now ?? (() => performance.now());
  const ctx: ExecutorContext = {
    publicClient: inputs.publicClient,
    walletClient: inputs.walletClient,
    calls: inputs.calls,
    keeper,
    logger,
    metrics: inputs.metrics,
    policy: { feeCapWei: inputs.feeCapWei, priorityFeeWei: inputs.priorityFeeWei, profitPriorityPpm: sharePpm },
    replaceAfterBlocks: BigInt(replaceAfter),
    dryRun: inputs.dryRun,
    isStillValid: inputs.isStillValid,
    sizeNow: inputs.sizeNow,
    now,
    gasMarginPpm: margin,
    preflight: inputs.preflight ?? "node",
    distrustMs: inputs.distrustMs ?? 600_000,
    priceBackoffMs: inputs.priceBackoffMs ?? 5_000,
    revertBackoffMs: inputs.revertBackoffMs ?? 60_000,
    failedItemBackoffMs: inputs.failedItemBackoffMs ?? 15_000,
    drainPollMs: inputs.drainPollMs ?? inputs.publicClient.pollingInterval,
    nonces: new NonceManager({ publicClient: inputs.publicClient, address: keeper, logger, ...(inputs.privateSends ? { floor: () => nextAfterTracked(ctx.tracked) } : {}) }),
    journal: inputs.journal,
    costs: inputs.costs ?? {},
    budget: new GasBudget({ budgetWei: inputs.gasBudgetWeiPerHour, now }),
    admission: new Admission(now, () => ctx.head?.timestamp),
    reorgMemoryBlocks: BigInt(inputs.reorgMemoryBlocks ?? REORG_MEMORY_BLOCKS),
    funds: new WalletFunds({
      client: inputs.publicClient,
      address: keeper,
      logger,
      metrics: inputs.metrics,
      now,
      backoffMs: inputs.fundsBackoffMs ?? 30_000,
    }),
    tracked: new Map(),
    mined: new Map(),
    counters: {
      sent: 0,
      mined: 0,
      reverted: 0,
      replaced: 0,
      cancelled: 0,
      dropped: 0,
      skipped: 0,
      dryRun: 0,
      gasSpentWei: 0n,
      rewardTokens: 0n,
    },
    head: undefined,
    resyncBeforeSend: false,
    distrustUntil: -Infinity,
    simulateV1: undefined,
    draining: false,
    budgetTripped: false,
  };
  return ctx;
}

/** The latest head: known from onBlock in a running keeper, fetched once otherwise. */
export async function currentHead(ctx: ExecutorContext): Promise<BlockHead> {
  if (ctx.head !== undefined) return ctx.head;
  const b = await ctx.publicClient.getBlock({ blockTag: "latest" });
  const head: BlockHead = { number: b.number, baseFeePerGas: b.baseFeePerGas, timestamp: b.timestamp };
  const current = ctx.head as BlockHead | undefined; // onBlock may have run meanwhile
  if (current === undefined || current.number < head.number) ctx.head = head;
  return head;
}

/** Count `n` items of a `kind` transaction under `result` in the liquidations metric. */
export function countItems(ctx: ExecutorContext, result: "success" | "reverted" | "skipped" | "dropped" | "dry_run", kind: Kind, n: number): void {
  if (n > 0) ctx.metrics.liquidations.inc({ result, kind }, n);
}

/** Back `key` off for `ms` (see admission.ts) and log why. */
export function backOff(ctx: ExecutorContext, key: string, ms: number, why: Record<string, unknown>): void {
  ctx.admission.backOff(key, ms);
  ctx.logger.info({ msg: "backing off", key, ms, ...why });
}

/** The nonce after the highest one we track in flight (0 when none). */
function nextAfterTracked(tracked: ReadonlyMap<number, unknown>): number {
  let next = 0;
  for (const n of tracked.keys()) if (n + 1 > next) next = n + 1;
  return next;
}
