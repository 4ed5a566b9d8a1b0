/**
 * The executor: turns the planner's TxPlans into transactions and follows them to the chain.
 *
 * submit(plan) ─ admission (sync) ─► p-queue job: simulate (eth_call) → drop reverting items →
 *   estimate gas × margin → fees (fees.ts) → budget → sign locally → eth_sendRawTransaction
 * onBlock(head) ─► for each transaction in flight: mined? (receipt: reward, gas, release) /
 *   stuck for `replaceAfterBlocks`? (bump fees at the same nonce, or cancel if every target is
 *   gone) / nonce consumed by a transaction we do not know? (dropped, nonce resync)
 *
 * Invariants:
 * - A target (account + market) has at most one job or transaction at a time, from admission
 *   until the transaction is mined or dropped; `restore()` re-establishes that after a restart.
 * - Every broadcast for one plan uses one nonce, so at most one of them can be mined.
 * - Decisions come from error classes and decoded custom errors, never from revert text.
 *
 * Cancels: after `replaceAfterBlocks` without inclusion, if `isStillValid` is false for every item
 * the transaction is replaced by a 0-value self-transfer (21 000 gas) with bumped fees. It costs
 * gas, so it is done only when the target is gone; it is cheaper than letting the liquidation be
 * mined and revert (the whole call's gas), and it frees the nonce, which would otherwise hold back
 * every later transaction of the key. If any item is still valid the same calldata is rebroadcast
 * with bumped fees (a batch isolates items that fail on chain).
 */
import PQueue from "p-queue";
import {
  decodeFunctionResult,
  isAddressEqual,
  keccak256,
  TransactionReceiptNotFoundError,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { stringifyWithBigints } from "../lib/atomicFile.ts";
import { BaseError, ConfigError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { Admission, targetKey } from "./admission.ts";
import { bumpFees, quoteFees, shareToPpm, type FeePolicy, type Fees } from "./fees.ts";
import { GasBudget } from "./gasBudget.ts";
import { SendJournal } from "./journal.ts";
import { liquidationCall, type LiquidationCall } from "./liquidationCall.ts";
import { NonceManager } from "./nonceManager.ts";
import { decodeLiquidationLogs, type FailedItem } from "./receipt.ts";
import { failedOnPlanState, withCooldownEnd } from "./failedItems.ts";
import { decodeContractRevert, decodeRevertData, revertAction, type DecodedRevert } from "./revert.ts";
import { classifySendError, type SendErrorKind } from "./sendError.ts";
import { revalidate, type Revalidation } from "./revalidate.ts";
import { gasLimitFromUsed, simulateCall } from "./simulateCall.ts";
import { WalletFunds, type WalletFundsStatus } from "./walletFunds.ts";
import type {
  BlockHead,
  ExecutorStats,
  InFlightTx,
  JobResult,
  LiquidationItem,
  RefusalReason,
  SkippedItem,
  SubmitResult,
  TxPlan,
} from "./types.ts";

export type ExecutorInputs = {
  publicClient: PublicClient<Transport, Chain>;
  /**
   * Every broadcast is written here (fsynced) before it is sent, and every settled nonce after, so
   * a restart finds what a crash left in the pool (see journal.ts and `adoptOrphans`).
   */
  journal?: SendJournal;
  /** Signs and sends; its account is the keeper. A local account is signed with directly. */
  walletClient: WalletClient<Transport, Chain, Account>;
  /** The PerpMarket contract. */
  market: Address;
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
};

/** A send the node refused for a reason a resync did not cure. */
export class SendFailedError extends BaseError {
  override name = "SendFailedError";
  readonly kind: SendErrorKind;
  constructor(kind: SendErrorKind, cause: unknown) {
    super(`the node refused the transaction (${kind})`, { cause });
    this.kind = kind;
  }
}

/** Sending would take the worst-case gas spend of the last hour over the budget. */
export class GasBudgetExceededError extends BaseError {
  override name = "GasBudgetExceededError";
  constructor(details: { worstCaseWei: bigint; spentWei: bigint; pendingWei: bigint; budgetWei: bigint }) {
    super("sending would exceed the hourly gas budget", {
      details: Object.entries(details)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
    });
  }
}

/** Fee bumps tried on the cancel of an orphaned nonce whose fees are unknown. */
const ORPHAN_ATTEMPTS = 6;
/** Gas of a plain transfer: the cancel transaction. */
const CANCEL_GAS = 21_000n;
/** Worst-case gas assumed for a restored transaction whose checkpoint has no gas limit. */
const UNKNOWN_GAS = 1_000_000n;
/** Attempts at a new nonce after nonce trouble (resync in between). */
const SEND_ATTEMPTS = 3;
/** Default of `ExecutorInputs.reorgMemoryBlocks`. */
const REORG_MEMORY_BLOCKS = 64;

type Kind = "single" | "batch";

/** What the executor tracks per nonce beyond the checkpointed InFlightTx. */
type Tracked = {
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
};

type BatchOutcome = { ok: boolean; keeperReward: bigint; revertData: Hex };

type Simulation = {
  ok: LiquidationItem[];
  skipped: SkippedItem[];
  gas?: bigint;
  /** Keeper reward the eth_call returned for the items kept (tokens). */
  rewardTokens?: bigint;
  rpcError?: unknown;
};

export { targetKey };

export class Executor {
  private readonly publicClient: ExecutorInputs["publicClient"];
  private readonly walletClient: ExecutorInputs["walletClient"];
  private readonly market: Address;
  private readonly keeper: Address;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly queue: PQueue;
  private readonly policy: FeePolicy;
  private readonly replaceAfterBlocks: bigint;
  private readonly dryRun: boolean;
  private readonly isStillValid: (item: LiquidationItem) => boolean;
  private readonly sizeNow: ((item: LiquidationItem) => bigint) | undefined;
  private readonly now: () => number;
  private readonly gasMarginPpm: bigint;
  private readonly priceBackoffMs: number;
  private readonly revertBackoffMs: number;
  private readonly failedItemBackoffMs: number;
  private readonly drainPollMs: number;
  private readonly nonces: NonceManager;
  private readonly budget: GasBudget;
  private readonly journal: SendJournal | undefined;

  /** Reserved targets (and so busy accounts) and backoffs: see admission.ts. */
  private readonly admission: Admission;
  /** Whether the wallet can pay: see walletFunds.ts. */
  private readonly funds: WalletFunds;
  private readonly reorgMemoryBlocks: bigint;
  /** Transactions in flight, by nonce. */
  private readonly tracked = new Map<number, Tracked>();
  /** Transactions mined lately, by nonce, with their block: a reorg may undo them. */
  private readonly mined = new Map<number, { rec: Tracked; block: bigint }>();
  /** A reorg happened: read the nonce from the node before the next send. */
  private resyncBeforeSend = false;
  private head: BlockHead | undefined;
  private readonly preflight: "node" | "engine";
  private readonly distrustMs: number;
  /** `now()` until which engine preflight is off (after one of its transactions reverted). */
  private distrustUntil = -Infinity;
  /** Whether the node has eth_simulateV1 (undefined: not asked yet). */
  private simulateV1: boolean | undefined;
  private tick: Promise<void> | undefined;
  private draining = false;
  private budgetTripped = false;
  private readonly counters: ExecutorStats = {
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
  };

  constructor(inputs: ExecutorInputs) {
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

    this.publicClient = inputs.publicClient;
    this.walletClient = inputs.walletClient;
    this.market = inputs.market;
    this.keeper = inputs.walletClient.account.address;
    this.logger = inputs.logger.child({ component: "executor" });
    this.metrics = inputs.metrics;
    this.queue = new PQueue({ concurrency: inputs.concurrency });
    this.policy = { feeCapWei: inputs.feeCapWei, priorityFeeWei: inputs.priorityFeeWei, profitPriorityPpm: sharePpm };
    this.replaceAfterBlocks = BigInt(replaceAfter);
    this.dryRun = inputs.dryRun;
    this.isStillValid = inputs.isStillValid;
    this.sizeNow = inputs.sizeNow;
    this.now = inputs.now ?? (() => performance.now());
    this.gasMarginPpm = margin;
    this.preflight = inputs.preflight ?? "node";
    this.distrustMs = inputs.distrustMs ?? 600_000;
    this.priceBackoffMs = inputs.priceBackoffMs ?? 5_000;
    this.revertBackoffMs = inputs.revertBackoffMs ?? 60_000;
    this.failedItemBackoffMs = inputs.failedItemBackoffMs ?? 15_000;
    this.drainPollMs = inputs.drainPollMs ?? inputs.publicClient.pollingInterval;
    this.nonces = new NonceManager({ publicClient: inputs.publicClient, address: this.keeper, logger: this.logger });
    this.journal = inputs.journal;
    this.budget = new GasBudget({ budgetWei: inputs.gasBudgetWeiPerHour, now: this.now });
    this.admission = new Admission(this.now, () => this.head?.timestamp);
    this.reorgMemoryBlocks = BigInt(inputs.reorgMemoryBlocks ?? REORG_MEMORY_BLOCKS);
    this.funds = new WalletFunds({
      client: inputs.publicClient,
      address: this.keeper,
      logger: this.logger,
      metrics: inputs.metrics,
      now: this.now,
      backoffMs: inputs.fundsBackoffMs ?? 30_000,
    });
  }

  /** Read the starting nonce now rather than on the first send (optional). */
  async init(): Promise<void> {
    await this.nonces.init();
  }

  // ------------------------------------------------------------------------------------------
  // Admission
  // ------------------------------------------------------------------------------------------

  /** Admit `plan` and queue it, or refuse it at once (see {@link RefusalReason}). */
  submit(plan: TxPlan): SubmitResult {
    if (this.draining) return this.refuse("draining");
    // One item per account: health and the cooldown are the account's, so two steps on one
    // account are never sent at once (the second is sized on a state the first changes).
    const accounts = new Set(plan.items.map((i) => i.account.toLowerCase()));
    if (plan.items.length === 0 || accounts.size !== plan.items.length) return this.refuse("invalid_plan");
    for (const item of plan.items) {
      const r = this.admission.refusal(item);
      if (r !== undefined) return this.refuse(r.reason, r.key);
    }
    const baseFee = this.head?.baseFeePerGas;
    if (baseFee != null && baseFee > this.policy.feeCapWei) return this.refuse("fee_above_cap");
    if (!this.budgetHasRoom()) return this.refuse("budget");
    if (this.funds.backingOff()) return this.refuse("insufficient_funds");

    this.admission.reserve(plan.items);
    const done = this.queue
      .add(() => this.runJob(plan))
      .then(
        (r): JobResult => r ?? { status: "skipped", reason: "draining", skipped: [] },
        (error: unknown): JobResult => {
          this.logger.error({ msg: "job failed", err: error });
          return { status: "skipped", reason: "rpc_error", skipped: [], error };
        },
      );
    return { accepted: true, done };
  }

  private refuse(reason: RefusalReason, target?: string): SubmitResult {
    this.logger.debug({ msg: "plan refused", reason, target });
    return target === undefined ? { accepted: false, reason } : { accepted: false, reason, target };
  }

  /**
   * Whether `submit` would take `item` now: its target is not reserved, no other step on its
   * account is in flight, and neither the target, the account nor the market is backing off.
   * The keeper filters its candidates with this before it batches them.
   */
  admissible(item: Pick<LiquidationItem, "account" | "marketId">): boolean {
    return !this.draining && !this.funds.backingOff() && this.admission.admissible(item);
  }

  /** Backoff entries held (expired ones are pruned whenever a backoff is added). */
  backoffCount(): number {
    return this.admission.backoffCount();
  }

  private backOff(key: string, ms: number, why: Record<string, unknown>): void {
    this.admission.backOff(key, ms);
    this.logger.info({ msg: "backing off", key, ms, ...why });
  }

  // ------------------------------------------------------------------------------------------
  // The job
  // ------------------------------------------------------------------------------------------

  private async runJob(plan: TxPlan): Promise<JobResult> {
    const planKind: Kind = plan.items.length > 1 ? "batch" : "single";
    let sent: InFlightTx | undefined;
    let dryRun = false;
    let skipped: SkippedItem[] = [];
    try {
      if (this.draining) return { status: "skipped", reason: "draining", skipped };

      // Known from onBlock in a running keeper; fetched once otherwise (CooldownActive needs chain time).
      const head = await this.currentHead();
      const engineOnly = this.engineVouches(plan);
      const sim: Simulation = engineOnly
        ? { ok: plan.items, skipped: [], gas: plan.gasLimit, rewardTokens: sumExpected(plan.items) }
        : await this.simulate(plan.items);
      skipped = sim.skipped;
      if (sim.rpcError !== undefined) {
        this.logger.warn({ msg: "simulation failed (not a revert)", err: sim.rpcError });
        return { status: "skipped", reason: "rpc_error", skipped, error: sim.rpcError };
      }
      if (sim.ok.length === 0 || sim.gas === undefined) return { status: "skipped", reason: "reverted", skipped };

      const items = sim.ok;
      // Unsimulated, a lone item goes through liquidateBatch too: losing a race costs a failed
      // item, not a reverted transaction (and does not read as the engine being wrong).
      const call = liquidationCall(items, { isolate: engineOnly });
      const kind: Kind = call.functionName === "liquidateBatch" ? "batch" : "single";
      const gas = engineOnly ? sim.gas : (sim.gas * this.gasMarginPpm + 999_999n) / 1_000_000n;
      const baseFeePerGas = (this.head ?? head).baseFeePerGas; // onBlock may have moved on meanwhile
      const fees = quoteFees({ baseFeePerGas, policy: this.policy, expectedProfitWei: plan.expectedProfitWei, gas });
      if (!fees.ok) {
        this.logger.warn({ msg: "base fee above the cap: not sending", baseFeePerGas, feeCapWei: this.policy.feeCapWei });
        return { status: "skipped", reason: "fee_above_cap", skipped };
      }
      if (this.dryRun) {
        dryRun = true;
        this.counters.dryRun++;
        this.countItems("dry_run", kind, items.length);
        this.logger.info({
          msg: "dry run: would send",
          function: call.functionName,
          items: items.map(describe),
          gas,
          maxFeePerGas: fees.maxFeePerGas,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          expectedProfitWei: plan.expectedProfitWei,
          simulatedRewardTokens: sim.rewardTokens,
          expectedRewardTokens: sumExpected(items),
          priceBlock: plan.priceBlock,
        });
        return { status: "dry_run", items, skipped, gas, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
      }

      try {
        const entry = (hash: Hex, nonce: number): InFlightTx => ({
          hash,
          nonce,
          items,
          sentAtBlock: this.head?.number ?? head.number,
          maxFeePerGas: fees.maxFeePerGas,
          maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          replacements: 0,
          gas,
          functionName: call.functionName,
          expectedProfitWei: plan.expectedProfitWei,
        });
        sent = await this.broadcastNew(call, gas, fees, entry, (tx) => {
          const nonce = tx.nonce;
          const superseded = this.tracked.get(nonce);
          if (superseded !== undefined) this.dropped(superseded, "the node took a new transaction at its nonce");
          this.tracked.set(nonce, { tx, call, expectedProfitWei: plan.expectedProfitWei, cancelled: false, capWarned: false, engineOnly, priceBlock: plan.priceBlock });
          return tx;
        });
      } catch (e) {
        if (e instanceof GasBudgetExceededError) {
          this.logger.info({ msg: e.shortMessage, details: e.details });
          this.budgetHasRoom();
          return { status: "skipped", reason: "budget", skipped };
        }
        if (e instanceof SendFailedError) this.metrics.sendFailures.inc({ kind: e.kind });
        if (e instanceof SendFailedError && e.kind === "insufficient_funds") {
          this.funds.markShort(gas * fees.maxFeePerGas);
          return { status: "skipped", reason: "insufficient_funds", skipped, error: e };
        }
        this.logger.error({ msg: "send failed", err: e, items: items.map(describe) });
        return { status: "skipped", reason: "send_failed", skipped, error: e };
      }
      this.funds.markOk("a send went through");
      if (plan.observedAt !== undefined) this.metrics.priceToBroadcast.observe((this.now() - plan.observedAt) / 1000);
      const broadcast = sent;
      this.counters.sent++;
      this.metrics.transactions.inc({ outcome: "sent" });
      this.logger.info({
        msg: "liquidation sent",
        hash: broadcast.hash,
        nonce: broadcast.nonce,
        function: call.functionName,
        items: items.map(describe),
        gas,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        simulatedRewardTokens: sim.rewardTokens,
        expectedRewardTokens: sumExpected(items),
        priceBlock: plan.priceBlock,
      });
      return { status: "sent", tx: { ...sent, items: [...items] }, skipped };
    } finally {
      const keep = new Set(sent?.items.map(targetKey) ?? []);
      let notSent = 0;
      for (const item of plan.items) {
        if (keep.has(targetKey(item))) continue;
        this.admission.release(item);
        notSent++;
      }
      // Dry-run items were counted as dry_run; every other item not sent counts as skipped.
      if (dryRun) notSent -= plan.items.length - skipped.length;
      this.countItems("skipped", planKind, notSent);
      this.counters.skipped += notSent;
    }
  }

  /**
   * One `eth_simulateV1` execution gives the outcome and the gas together; nodes without it get
   * eth_call and eth_estimateGas alongside each other (see simulateCall.ts). A single item that
   * reverts is skipped with its decoded error; a batch's failing items are dropped from its
   * outcomes and the gas is measured again for what is left.
   */
  private async simulate(items: LiquidationItem[]): Promise<Simulation> {
    if (this.simulateV1 !== false) {
      try {
        const r = await this.simulateOnce(items);
        if (r !== undefined) return r;
        this.simulateV1 = false;
        this.logger.info({ msg: "the node has no eth_simulateV1: simulating with eth_call + eth_estimateGas" });
      } catch (e) {
        return { ok: [], skipped: [], rpcError: e };
      }
    }
    const call = liquidationCall(items);
    const [sim, est] = await Promise.allSettled([this.callOnLatest(call), this.estimate(call)]);
    if (sim.status === "rejected") return this.simulationRejected(items, sim.reason);
    if (call.functionName === "liquidate") {
      if (est.status === "rejected") return this.simulationRejected(items, est.reason);
      return { ok: items, skipped: [], gas: est.value, rewardTokens: sim.value as bigint };
    }
    const { ok, skipped, rewardTokens } = this.batchOutcomes(items, sim.value as readonly BatchOutcome[]);
    if (ok.length === 0) return { ok, skipped };
    if (skipped.length === 0 && est.status === "fulfilled") return { ok, skipped, gas: est.value, rewardTokens };
    try {
      return { ok, skipped, gas: await this.estimate(liquidationCall(ok)), rewardTokens };
    } catch (e) {
      const again = this.simulationRejected(ok, e);
      return { ...again, skipped: [...skipped, ...again.skipped] };
    }
  }

  /** Whether `plan` may go out on the engine's word (see `ExecutorInputs.preflight`). */
  private engineVouches(plan: TxPlan): plan is TxPlan & { gasLimit: bigint } {
    return (
      this.preflight === "engine" &&
      !this.dryRun &&
      plan.gasLimit !== undefined &&
      plan.priceBlock !== undefined &&
      this.head !== undefined &&
      plan.priceBlock === this.head.number &&
      this.now() >= this.distrustUntil
    );
  }

  /** The eth_simulateV1 path; `undefined` when the node does not have the method. */
  private async simulateOnce(items: LiquidationItem[]): Promise<Simulation | undefined> {
    const call = liquidationCall(items);
    const r = await simulateCall(this.publicClient, { from: this.keeper, to: this.market, data: call.data });
    if (r === undefined) return undefined;
    if (r.status === "reverted") {
      const decoded = decodeRevertData(r.returnData);
      return { ok: [], skipped: items.map((item) => this.applyRevert(item, decoded)) };
    }
    const gas = gasLimitFromUsed(r.gasUsed);
    if (call.functionName === "liquidate") {
      const reward = decodeFunctionResult({ abi: PerpMarket.abi, functionName: "liquidate", data: r.returnData });
      return { ok: items, skipped: [], gas, rewardTokens: reward };
    }
    const outcomes = decodeFunctionResult({ abi: PerpMarket.abi, functionName: "liquidateBatch", data: r.returnData });
    const { ok, skipped, rewardTokens } = this.batchOutcomes(items, outcomes);
    if (ok.length === 0) return { ok, skipped };
    if (skipped.length === 0) return { ok, skipped, gas, rewardTokens };
    // Failed items burn gas too: measure what is left on its own.
    const again = await this.simulateOnce(ok);
    if (again === undefined) return undefined;
    return { ...again, skipped: [...skipped, ...again.skipped] };
  }

  private batchOutcomes(items: LiquidationItem[], outcomes: readonly BatchOutcome[]): { ok: LiquidationItem[]; skipped: SkippedItem[]; rewardTokens: bigint } {
    const ok: LiquidationItem[] = [];
    const skipped: SkippedItem[] = [];
    let rewardTokens = 0n;
    items.forEach((item, i) => {
      const o = outcomes[i];
      if (o?.ok) {
        ok.push(item);
        rewardTokens += o.keeperReward;
      } else skipped.push(this.applyRevert(item, o ? decodeRevertData(o.revertData) : { errorName: "unknown", args: [] }));
    });
    return { ok, skipped, rewardTokens };
  }

  private simulationRejected(items: LiquidationItem[], e: unknown): Simulation {
    const decoded = decodeContractRevert(e);
    if (decoded === undefined) return { ok: [], skipped: [], rpcError: e };
    return { ok: [], skipped: items.map((item) => this.applyRevert(item, decoded)) };
  }

  /** Log, back off as the revert asks, and report the item as skipped. */
  private applyRevert(item: LiquidationItem, d: DecodedRevert): SkippedItem {
    const action = revertAction(d, item);
    const fields = { ...describe(item), error: d.errorName };
    switch (action.kind) {
      case "skip":
        this.logger.info({ msg: "skipped: state moved", ...fields });
        break;
      case "cooldown": {
        // Until the cooldown's end on the chain's clock (a wall-clock wait would outlast a warped chain).
        const key = `a:${action.account.toLowerCase()}`;
        this.admission.backOffUntilChainTime(key, action.endsAt);
        this.logger.info({ msg: "backing off", key, untilChainTime: action.endsAt, ...fields });
        break;
      }
      case "market_backoff":
        this.backOff(`m:${action.marketId}`, this.priceBackoffMs, fields);
        break;
      case "unknown":
        this.logger.warn({ msg: "skipped: unknown revert", ...fields, args: d.args.map(String) });
        break;
    }
    return { item, errorName: d.errorName === "unknown" ? undefined : d.errorName };
  }

  private callOnLatest(call: LiquidationCall): Promise<unknown> {
    const base = { address: this.market, abi: PerpMarket.abi, account: this.keeper } as const;
    return call.functionName === "liquidate"
      ? this.publicClient.simulateContract({ ...base, functionName: "liquidate", args: call.args }).then((r) => r.result)
      : this.publicClient.simulateContract({ ...base, functionName: "liquidateBatch", args: call.args }).then((r) => r.result);
  }

  /** eth_estimateGas from the keeper's address; `prepare: false` avoids fee and nonce look-ups. */
  private estimate(call: LiquidationCall): Promise<bigint> {
    const base = { address: this.market, abi: PerpMarket.abi, account: this.keeper, prepare: false } as const;
    return call.functionName === "liquidate"
      ? this.publicClient.estimateContractGas({ ...base, functionName: "liquidate", args: call.args })
      : this.publicClient.estimateContractGas({ ...base, functionName: "liquidateBatch", args: call.args });
  }

  private async currentHead(): Promise<BlockHead> {
    if (this.head !== undefined) return this.head;
    const b = await this.publicClient.getBlock({ blockTag: "latest" });
    const head: BlockHead = { number: b.number, baseFeePerGas: b.baseFeePerGas, timestamp: b.timestamp };
    const current = this.head as BlockHead | undefined; // onBlock may have run meanwhile
    if (current === undefined || current.number < head.number) this.head = head;
    return head;
  }

  // ------------------------------------------------------------------------------------------
  // Signing and sending
  // ------------------------------------------------------------------------------------------

  /**
   * Sign and broadcast at a new nonce, under the nonce lock, which also covers the budget check
   * and `track` (so concurrent jobs see each other's spend). "Already known" (viem: NonceTooLow)
   * for this very transaction counts as sent; other nonce trouble resyncs and retries.
   */
  private async broadcastNew(
    call: LiquidationCall,
    gas: bigint,
    fees: Fees,
    entry: (hash: Hex, nonce: number) => InFlightTx,
    track: (tx: InFlightTx) => InFlightTx,
  ): Promise<InFlightTx> {
    await this.nonces.init();
    return this.nonces.exclusive(async () => {
      if (this.resyncBeforeSend) {
        await this.nonces.resync("chain reorganised");
        this.resyncBeforeSend = false;
      }
      const worstCaseWei = gas * fees.maxFeePerGas;
      const pendingWei = this.pendingWei();
      if (!this.budget.allows(pendingWei, worstCaseWei)) {
        throw new GasBudgetExceededError({ worstCaseWei, spentWei: this.budget.spent(), pendingWei, budgetWei: this.budget.budgetWei });
      }
      let last: unknown;
      for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
        const nonce = this.nonces.next();
        let signed: Hex;
        try {
          signed = await this.sign({ to: this.market, data: call.data, value: 0n, nonce, gas, ...fees });
        } catch (e) {
          this.nonces.release(nonce);
          throw e;
        }
        const hash = keccak256(signed);
        const tx = entry(hash, nonce);
        this.journal?.sent(nonce, journalEntry(tx));
        try {
          await this.walletClient.sendRawTransaction({ serializedTransaction: signed });
          this.nonces.confirm(nonce);
          return track(tx);
        } catch (e) {
          const { kind, error } = classifySendError(e, nonce);
          last = error;
          if ((kind === "nonce_too_low" || kind === "unknown") && (await this.nodeKnows(hash))) {
            this.nonces.confirm(nonce);
            return track(tx);
          }
          // Not ours at this nonce: hand it back, then let a resync say where the key really is.
          this.journal?.settled(nonce);
          this.nonces.release(nonce);
          if (kind === "nonce_too_low" || kind === "nonce_too_high" || kind === "underpriced") {
            this.logger.warn({ msg: "nonce taken or out of order: resyncing", nonce, kind });
            await this.nonces.resync(kind);
            continue;
          }
          // Unknown (a timeout?): the node may still have taken it, and the pending count will say.
          if (kind === "unknown") await this.nonces.resync("send failed for an unknown reason");
          throw new SendFailedError(kind, error);
        }
      }
      throw new SendFailedError("nonce_too_low", last);
    });
  }

  /** Whether the node has this exact transaction (pool or chain). Any failure counts as no. */
  private async nodeKnows(hash: Hex): Promise<boolean> {
    try {
      await this.publicClient.getTransaction({ hash });
      return true;
    } catch {
      return false;
    }
  }

  private async sign(tx: { to: Address; data: Hex; value: bigint; nonce: number; gas: bigint } & Fees): Promise<Hex> {
    const account = this.walletClient.account;
    const request = { ...tx, type: "eip1559" as const, chainId: this.walletClient.chain.id };
    if (account.signTransaction) return account.signTransaction(request);
    return this.walletClient.signTransaction({ ...tx, type: "eip1559", account, chain: this.walletClient.chain });
  }

  // ------------------------------------------------------------------------------------------
  // Following transactions
  // ------------------------------------------------------------------------------------------

  /**
   * Learn of a new head before planning on it (the keeper calls this as soon as its index is at
   * `block`, and `onBlock` once its submissions are out).
   */
  observeHead(block: BlockHead): void {
    if (this.head === undefined || block.number >= this.head.number) this.head = block;
  }

  /**
   * Process a new head: settle what was mined, replace what is stuck, drop what another
   * transaction displaced. Call it for every head; a call while one runs returns that run.
   */
  onBlock(block: BlockHead): Promise<void> {
    this.head = block;
    this.budgetHasRoom();
    this.tick ??= this.processBlock(block)
      .catch((e: unknown) => this.logger.warn({ msg: "block processing failed; retried on the next block", err: e }))
      .finally(() => {
        this.tick = undefined;
      });
    return this.tick;
  }

  private async processBlock(block: BlockHead): Promise<void> {
    await this.funds.recheck();
    if (this.tracked.size === 0) return;
    // Settled as of this head, not the node's latest: the planner works on the index at this head,
    // and an account freed by a receipt from a later block would be planned on a stale state.
    const latestNonce = await this.publicClient.getTransactionCount({ address: this.keeper, blockNumber: block.number });
    const recs = [...this.tracked.values()].sort((a, b) => a.tx.nonce - b.tx.nonce);
    for (const rec of recs) {
      try {
        if (rec.tx.nonce < latestNonce) await this.settle(rec, block);
        else await this.maybeReplace(rec, block);
      } catch (e) {
        this.logger.warn({ msg: "could not follow transaction; retrying next block", hash: rec.tx.hash, nonce: rec.tx.nonce, err: e });
      }
    }
  }

  /** The nonce is used: find which of our broadcasts was mined, or conclude none was. */
  private async settle(rec: Tracked, block: BlockHead): Promise<void> {
    const hashes = [rec.tx.hash, ...(rec.tx.previousHashes ?? [])];
    const receipts = await Promise.all(hashes.map((hash) => this.receiptOf(hash)));
    const receipt = receipts.find((r) => r !== undefined);
    if (receipt !== undefined && receipt.blockNumber > block.number) return; // mined after this head: settled at its own
    if (receipt === undefined) {
      // One block of grace, in case the node's receipt index lags its nonce.
      if (rec.missingSince === undefined) {
        rec.missingSince = block.number;
        return;
      }
      if (block.number <= rec.missingSince) return;
      this.dropped(rec, "our nonce was used by a transaction we did not send");
      await this.nonces.exclusive(() => this.nonces.resync("nonce used by an unknown transaction"));
      return;
    }

    this.finish(rec);
    this.rememberMined(rec, receipt.blockNumber);
    const gasWei = receipt.gasUsed * receipt.effectiveGasPrice;
    this.budget.record(gasWei);
    this.counters.gasSpentWei += gasWei;
    this.metrics.gasSpentWei.inc(Number(gasWei));
    const kind = kindOf(rec);
    const fields = { hash: receipt.transactionHash, nonce: rec.tx.nonce, block: receipt.blockNumber, gasUsed: receipt.gasUsed, gasWei };

    if (receipt.to === null || !isAddressEqual(receipt.to, this.market)) {
      this.counters.dropped++;
      this.metrics.transactions.inc({ outcome: "dropped" });
      this.countItems("dropped", kind, rec.tx.items.length);
      this.logger.info({ msg: "cancel mined", ...fields });
      return;
    }
    if (receipt.status !== "success") {
      this.counters.reverted++;
      this.metrics.transactions.inc({ outcome: "reverted" });
      for (const item of rec.tx.items) {
        this.metrics.liquidations.inc({ result: "reverted", kind });
        this.backOff(`t:${targetKey(item)}`, this.revertBackoffMs, { ...describe(item), why: "transaction reverted" });
      }
      this.logger.warn({ msg: "liquidation reverted on chain", ...fields, items: rec.tx.items.map(describe) });
      if (rec.engineOnly) this.distrustEngine("a transaction sent on the engine's word reverted");
      return;
    }
    const result = decodeLiquidationLogs(receipt.logs, { market: this.market, keeper: this.keeper });
    this.counters.mined++;
    this.counters.rewardTokens += result.rewardTokens;
    this.metrics.transactions.inc({ outcome: "mined" });
    this.metrics.rewardEarnedTokens.inc(Number(result.rewardTokens));
    this.countItems("success", kind, result.liquidated.length);
    await this.failedItems(rec, result.failed, kind);
    this.logger.info({
      msg: "liquidation mined",
      ...fields,
      rewardTokens: result.rewardTokens,
      liquidated: result.liquidated.length,
      failed: result.failed.map((f) => ({ account: f.account, marketId: f.marketId, error: f.errorName })),
    });
  }

  /**
   * Items that failed inside a mined batch (LiquidationFailed). Each applies what its error asks (a
   * cooldown until its real end, read from the chain when the event lacks it; a market backoff),
   * and its target backs off for `failedItemBackoffMs` of chain time: the state it was planned on
   * has moved, and the next plan is made on a head that shows it. When the batch went out on the
   * engine's word, the call is replayed on the state the engine planned on: an item that fails there
   * too means the engine and the contract disagree (node simulation for a while); one that succeeds
   * there lost a race.
   */
  private async failedItems(rec: Tracked, failed: readonly FailedItem[], kind: Kind): Promise<void> {
    if (failed.length === 0) return;
    const items = [...rec.tx.items, ...(rec.released ?? [])];
    const waitS = BigInt(Math.ceil(this.failedItemBackoffMs / 1000));
    for (const f of failed) {
      this.metrics.liquidations.inc({ result: "reverted", kind });
      const item = items.find((i) => isAddressEqual(i.account, f.account) && i.marketId === f.marketId);
      if (!item) continue;
      let decoded: DecodedRevert = { errorName: f.errorName, args: f.args };
      try {
        decoded = await withCooldownEnd(this.publicClient, this.market, decoded, item.account);
      } catch (e) {
        this.logger.warn({ msg: "could not read the cooldown's end; the target's own backoff applies", ...describe(item), err: e });
      }
      this.applyRevert(item, decoded);
      const until = (this.head?.timestamp ?? 0n) + waitS;
      this.admission.backOffUntilChainTime(`t:${targetKey(item)}`, until);
      this.logger.info({ msg: "backing off", key: `t:${targetKey(item)}`, untilChainTime: until, ...describe(item), why: "failed on chain", error: f.errorName });
    }
    const onPlanState = await this.replayOnPlanState(rec, failed);
    if (onPlanState === false) {
      this.logger.info({ msg: "batch items failed because the state moved after the plan (lost a race)", failed: failed.length });
      return;
    }
    this.distrustEngine(
      onPlanState === true
        ? "an item sent on the engine's word failed on the state the engine planned on"
        : "an item sent on the engine's word failed, and the plan's state could not be re-checked",
    );
  }

  /**
   * Do the failed items fail on the state the batch was planned on (true), or succeed there (false:
   * a lost race), or could that not be told ("unknown")? A node-simulated send passed on the state
   * it was sent at, so its failures are races too (false).
   */
  private async replayOnPlanState(rec: Tracked, failed: readonly FailedItem[]): Promise<boolean | "unknown"> {
    const call = rec.call;
    if (!call || !rec.engineOnly || this.preflight !== "engine" || rec.priceBlock === undefined || call.functionName !== "liquidateBatch") return false;
    const requests = call.args[0];
    const indices = failed
      .map((f) => requests.findIndex((r) => isAddressEqual(r.account, f.account) && Number(r.marketId) === f.marketId))
      .filter((i) => i >= 0);
    const r = await failedOnPlanState(this.publicClient, { market: this.market, keeper: this.keeper, data: call.data, priceBlock: rec.priceBlock, failed: indices });
    return r === undefined ? "unknown" : r;
  }

  /** Switch to node simulation for `distrustMs`. */
  private distrustEngine(why: string): void {
    if (this.preflight !== "engine") return;
    this.distrustUntil = this.now() + this.distrustMs;
    this.metrics.engineDistrusted.inc();
    this.logger.warn({ msg: `${why}: simulating every transaction with the node for a while`, ms: this.distrustMs });
  }

  /** Whether the wallet can pay for transactions (false after the node answered insufficient funds). */
  walletStatus(): WalletFundsStatus {
    return this.funds.status();
  }

  /** Whether transactions are simulated by the node now ("node"), or may go out on the engine's word. */
  preflightMode(): "node" | "engine" {
    return this.preflight === "engine" && this.now() >= this.distrustUntil ? "engine" : "node";
  }

  private async receiptOf(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.publicClient.getTransactionReceipt({ hash });
    } catch (e) {
      if (e instanceof TransactionReceiptNotFoundError) return undefined;
      throw e;
    }
  }

  private rememberMined(rec: Tracked, block: bigint): void {
    this.mined.set(rec.tx.nonce, { rec, block });
    for (const [nonce, m] of this.mined) if (m.block + this.reorgMemoryBlocks < block) this.mined.delete(nonce);
  }

  /**
   * The chain reorganised (the keeper's index rolled back). Our transactions mined in the dropped
   * blocks are pending again (geth re-injects them) or gone (Anvil; a node that lost them). A
   * pending one is followed again, so its targets stay reserved instead of being liquidated twice;
   * a gone one leaves its targets to the planner. Either way the nonce is read from the node
   * before the next send: the local counter is ahead of the chain, and a transaction sent at it
   * would wait behind a gap that nothing fills.
   */
  async onReorg(): Promise<void> {
    this.resyncBeforeSend = true;
    for (const [nonce, m] of [...this.mined]) {
      const hashes = [m.rec.tx.hash, ...(m.rec.tx.previousHashes ?? [])];
      try {
        if ((await Promise.all(hashes.map((h) => this.receiptOf(h)))).some((r) => r !== undefined)) continue;
        this.mined.delete(nonce);
        const pending = (await Promise.all(hashes.map((h) => this.nodeKnows(h)))).some(Boolean);
        if (!pending || this.tracked.has(nonce) || m.rec.tx.items.some((i) => this.admission.isReserved(i))) {
          this.logger.warn({ msg: "reorg: a mined transaction of ours is gone", nonce, hashes });
          continue;
        }
        const sentAtBlock = this.head?.number ?? m.rec.tx.sentAtBlock;
        this.tracked.set(nonce, { ...m.rec, tx: { ...m.rec.tx, sentAtBlock }, missingSince: undefined });
        this.admission.reserve(m.rec.tx.items);
        this.logger.warn({ msg: "reorg: a mined transaction of ours is pending again; following it", nonce, hash: m.rec.tx.hash });
      } catch (e) {
        this.logger.warn({ msg: "reorg: could not check a mined transaction", nonce, err: e });
      }
    }
  }

  /** `rec` will never be mined: count it dropped and free its targets. */
  private dropped(rec: Tracked, why: string): void {
    this.finish(rec);
    this.counters.dropped++;
    this.metrics.transactions.inc({ outcome: "dropped" });
    this.countItems("dropped", kindOf(rec), rec.tx.items.length);
    const hashes = [rec.tx.hash, ...(rec.tx.previousHashes ?? [])];
    this.logger.warn({ msg: `dropped: ${why}`, nonce: rec.tx.nonce, hashes, items: rec.tx.items.map(describe) });
  }

  /** Stop tracking `rec` and free its targets. */
  private finish(rec: Tracked): void {
    if (this.tracked.get(rec.tx.nonce) === rec) {
      this.tracked.delete(rec.tx.nonce);
      this.journal?.settled(rec.tx.nonce);
    }
    for (const item of [...rec.tx.items, ...(rec.released ?? [])]) this.admission.release(item);
  }

  /** Not mined after `replaceAfterBlocks`: bump fees at the same nonce, or cancel. */
  private async maybeReplace(rec: Tracked, block: BlockHead): Promise<void> {
    rec.missingSince = undefined;
    // A transaction offering less than the base fee cannot be included at all: replace it now.
    const underpriced = block.baseFeePerGas != null && rec.tx.maxFeePerGas < block.baseFeePerGas;
    if (!underpriced && block.number - rec.tx.sentAtBlock < this.replaceAfterBlocks) return;
    // Every item is checked again at this head: calldata with an item that would fail is never
    // rebroadcast (see revalidate.ts).
    const check: Revalidation = rec.cancelled || rec.call === undefined
      ? { kind: "cancel" }
      : revalidate(rec.tx.items, { isStillValid: (i) => this.stillValid(i), sizeNow: this.sizeNow && ((i) => this.sizeNowOf(i)) });
    const cancel = check.kind === "cancel";
    // Defined whenever the transaction is not a cancel (a rec without a call is always cancelled).
    const call = (check.kind === "replan" ? liquidationCall(check.items, { isolate: true }) : rec.call) as LiquidationCall;
    const expectedProfitWei = cancel ? 0n : check.kind === "replan" ? scaleProfit(rec.expectedProfitWei, rec.tx.items, check.items) : rec.expectedProfitWei;
    const gas = cancel ? CANCEL_GAS : (rec.tx.gas ?? (await this.regas(rec)));
    const fees = bumpFees(
      { maxFeePerGas: rec.tx.maxFeePerGas, maxPriorityFeePerGas: rec.tx.maxPriorityFeePerGas },
      { baseFeePerGas: block.baseFeePerGas, policy: this.policy, expectedProfitWei, gas },
    );
    const fields = { nonce: rec.tx.nonce, hash: rec.tx.hash, blocks: block.number - rec.tx.sentAtBlock, cancel, replan: check.kind === "replan" };
    if (!fees.ok) {
      if (!rec.capWarned) this.logger.warn({ msg: "stuck transaction cannot be bumped under the fee cap", ...fields, reason: fees.reason });
      rec.capWarned = true;
      return;
    }
    if (!cancel) {
      const others = this.pendingWei() - (rec.tx.gas ?? UNKNOWN_GAS) * rec.tx.maxFeePerGas;
      if (!this.budget.allows(others, gas * fees.maxFeePerGas)) {
        this.logger.info({ msg: "fee bump would exceed the hourly gas budget; waiting", ...fields });
        return;
      }
    }
    const tx = cancel
      ? { to: this.keeper, data: "0x" as Hex, value: 0n, nonce: rec.tx.nonce, gas, ...pickFees(fees) }
      : { to: this.market, data: call.data, value: 0n, nonce: rec.tx.nonce, gas, ...pickFees(fees) };
    const signed = await this.sign(tx);
    const hash = keccak256(signed);
    // The journal names every hash that may be mined at this nonce, the new one included.
    this.journal?.sent(
      rec.tx.nonce,
      journalEntry({
        ...rec.tx,
        hash,
        previousHashes: [...(rec.tx.previousHashes ?? []), rec.tx.hash],
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        gas,
        ...(cancel ? { items: rec.tx.items } : { items: check.kind === "replan" ? check.items : rec.tx.items, functionName: call.functionName }),
      }),
    );
    try {
      await this.walletClient.sendRawTransaction({ serializedTransaction: signed });
    } catch (e) {
      const { kind } = classifySendError(e, rec.tx.nonce);
      this.metrics.sendFailures.inc({ kind });
      if (kind === "insufficient_funds") this.funds.markShort(gas * fees.maxFeePerGas);
      // nonce_too_low: one of our broadcasts (or another's) was just mined; the next block settles it.
      this.logger.info({ msg: "replacement not accepted; keeping the pending one", ...fields, kind });
      return;
    }
    const previous = rec.tx.hash;
    rec.tx = {
      ...rec.tx,
      hash,
      previousHashes: [...(rec.tx.previousHashes ?? []), previous],
      sentAtBlock: block.number,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      replacements: rec.tx.replacements + 1,
      gas,
    };
    if (check.kind === "replan") {
      // The earlier broadcasts may still be the one mined: their dropped items stay held until the nonce settles.
      rec.released = [...(rec.released ?? []), ...check.dropped];
      rec.call = call;
      rec.expectedProfitWei = expectedProfitWei;
      rec.priceBlock = block.number;
      rec.tx = { ...rec.tx, items: check.items, functionName: call.functionName, expectedProfitWei };
    }
    if (cancel && !rec.cancelled) {
      rec.cancelled = true;
      this.counters.cancelled++;
    }
    this.counters.replaced++;
    this.metrics.transactions.inc({ outcome: "replaced" });
    this.logger.info({
      msg: cancel
        ? "stuck transaction cancelled"
        : check.kind === "replan"
          ? "stuck transaction re-planned: only items still valid at this head, with higher fees"
          : "stuck transaction replaced with higher fees",
      ...fields,
      ...(check.kind === "replan" ? { items: check.items.map(describe), dropped: check.dropped.map(describe) } : {}),
      replacedBy: hash,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
  }

  private stillValid(item: LiquidationItem): boolean {
    try {
      return this.isStillValid(item);
    } catch (e) {
      this.logger.warn({ msg: "isStillValid threw; not sending the item again", ...describe(item), err: e });
      return false;
    }
  }

  private sizeNowOf(item: LiquidationItem): bigint {
    try {
      return this.sizeNow?.(item) ?? 0n;
    } catch (e) {
      this.logger.warn({ msg: "sizeNow threw; not sending the item again", ...describe(item), err: e });
      return 0n;
    }
  }

  /** Gas for a restored transaction whose checkpoint lacks it. */
  private async regas(rec: Tracked): Promise<bigint> {
    if (!rec.call) return CANCEL_GAS;
    const estimate = await this.estimate(rec.call);
    return (estimate * this.gasMarginPpm + 999_999n) / 1_000_000n;
  }

  // ------------------------------------------------------------------------------------------
  // Budget
  // ------------------------------------------------------------------------------------------

  /** Wei the hourly budget may still commit now: budget − spent in the window − worst case in flight. */
  budgetRoomWei(): bigint {
    const room = this.budget.budgetWei - this.budget.spent() - this.pendingWei();
    return room > 0n ? room : 0n;
  }

  /** The worst case a new transaction of `gas` and `expectedProfitWei` would commit at the current head (gas × maxFeePerGas). */
  worstCaseWei(gas: bigint, expectedProfitWei: bigint): bigint {
    const fees = quoteFees({ baseFeePerGas: this.head?.baseFeePerGas ?? null, policy: this.policy, expectedProfitWei, gas });
    return gas * (fees.ok ? fees.maxFeePerGas : this.policy.feeCapWei);
  }

  /** Worst case of what is in flight: gas limit × maxFeePerGas. */
  private pendingWei(): bigint {
    let sum = 0n;
    for (const rec of this.tracked.values()) sum += (rec.tx.gas ?? UNKNOWN_GAS) * rec.tx.maxFeePerGas;
    return sum;
  }

  /** Whether anything may be sent; logs once when the budget trips and once when it recovers. */
  private budgetHasRoom(): boolean {
    const pending = this.pendingWei();
    const room = this.budget.hasRoom(pending);
    if (!room && !this.budgetTripped) {
      this.budgetTripped = true;
      const fields = { spentWei: this.budget.spent(), pendingWei: pending, budgetWei: this.budget.budgetWei };
      this.logger.warn({ msg: "hourly gas budget exhausted: refusing new sends", ...fields });
    } else if (room && this.budgetTripped) {
      this.budgetTripped = false;
      const fields = { spentWei: this.budget.spent(), pendingWei: pending, budgetWei: this.budget.budgetWei };
      this.logger.info({ msg: "hourly gas budget has room again", ...fields });
    }
    return room;
  }

  // ------------------------------------------------------------------------------------------
  // Checkpoint, shutdown, stats
  // ------------------------------------------------------------------------------------------

  /** Transactions in flight, for the daemon's checkpoint (copies). */
  inFlight(): InFlightTx[] {
    return [...this.tracked.values()]
      .sort((a, b) => a.tx.nonce - b.tx.nonce)
      .map((r) => ({ ...r.tx, items: [...r.tx.items], ...(r.tx.previousHashes ? { previousHashes: [...r.tx.previousHashes] } : {}) }));
  }

  /**
   * Track transactions a previous instance left in flight: their targets are refused as
   * duplicates until they are mined or dropped. An entry whose nonce or target is already
   * tracked is ignored (and logged).
   */
  restore(list: readonly InFlightTx[]): void {
    for (const tx of list) {
      if (this.tracked.has(tx.nonce) || tx.items.some((i) => this.admission.isReserved(i))) {
        this.logger.warn({ msg: "restore: nonce or target already tracked; ignored", nonce: tx.nonce, hash: tx.hash });
        continue;
      }
      const { raw: _never, ...clean } = tx;
      const restored: InFlightTx = { ...clean, items: [...tx.items] };
      // The exact call that was sent (a lone item may have gone out isolated in liquidateBatch),
      // so a fee bump rebroadcasts the same calldata, priced on the same profit.
      this.tracked.set(tx.nonce, {
        tx: restored,
        call: liquidationCall(restored.items, { isolate: tx.functionName === "liquidateBatch" }),
        expectedProfitWei: tx.expectedProfitWei ?? 0n,
        cancelled: false,
        capWarned: false,
      });
      this.admission.reserve(tx.items);
      this.logger.info({ msg: "restored in-flight transaction", nonce: tx.nonce, hash: tx.hash, items: tx.items.map(describe) });
    }
  }

  /**
   * After a restart: a nonce in [latest, pending) that no restored transaction accounts for was
   * sent by an earlier instance whose record was lost. It may carry stale calldata, or sit
   * underpriced in the pool and hold back every later nonce. Each is replaced by a cancel (a
   * 0-value self-transfer) priced over it, followed like any other transaction. Returns the nonces.
   */
  async adoptOrphans(): Promise<number[]> {
    if (this.dryRun) return [];
    const [latest, pending] = await Promise.all([
      this.publicClient.getTransactionCount({ address: this.keeper, blockTag: "latest" }),
      this.publicClient.getTransactionCount({ address: this.keeper, blockTag: "pending" }),
    ]);
    const orphans: number[] = [];
    for (let n = latest; n < pending; n++) if (!this.tracked.has(n)) orphans.push(n);
    for (const nonce of orphans) await this.nonces.exclusive(() => this.cancelOrphan(nonce));
    return orphans;
  }

  private async cancelOrphan(nonce: number): Promise<void> {
    const head = await this.currentHead();
    // What the orphan offered is unknown: start from a fresh quote and bump until the node takes it.
    let fees: Fees | undefined;
    const fresh = quoteFees({ baseFeePerGas: head.baseFeePerGas, policy: this.policy, expectedProfitWei: 0n, gas: CANCEL_GAS });
    if (fresh.ok) fees = pickFees(fresh);
    for (let attempt = 0; fees !== undefined && attempt < ORPHAN_ATTEMPTS; attempt++) {
      const signed = await this.sign({ to: this.keeper, data: "0x", value: 0n, nonce, gas: CANCEL_GAS, ...fees });
      const tx: InFlightTx = { hash: keccak256(signed), nonce, items: [], sentAtBlock: head.number, ...fees, replacements: 1, gas: CANCEL_GAS };
      this.journal?.sent(nonce, journalEntry(tx));
      try {
        await this.walletClient.sendRawTransaction({ serializedTransaction: signed });
      } catch (e) {
        const { kind } = classifySendError(e, nonce);
        if (kind === "underpriced") {
          const next = bumpFees(fees, { baseFeePerGas: head.baseFeePerGas, policy: this.policy, expectedProfitWei: 0n, gas: CANCEL_GAS });
          fees = next.ok ? pickFees(next) : undefined;
          continue;
        }
        this.journal?.settled(nonce);
        // nonce_too_low: the orphan was mined meanwhile; anything else: the next head's follow-up decides.
        this.logger.info({ msg: "orphaned nonce: cancel not accepted", nonce, kind });
        return;
      }
      this.tracked.set(nonce, { tx, expectedProfitWei: 0n, cancelled: true, capWarned: false });
      this.counters.cancelled++;
      this.logger.warn({ msg: "orphaned nonce from an earlier run (no record of it): cancelled", nonce, hash: tx.hash, maxFeePerGas: fees.maxFeePerGas });
      return;
    }
    this.logger.warn({ msg: "orphaned nonce from an earlier run could not be cancelled under the fee cap; later sends wait behind it", nonce });
  }

  /**
   * Stop accepting plans, let queued jobs finish, and follow what is in flight until it settles
   * or `timeoutMs` (real time) passes. Returns what is still in flight, for the checkpoint.
   */
  async drain(timeoutMs: number): Promise<{ settled: boolean; inFlight: InFlightTx[] }> {
    this.draining = true;
    const deadline = performance.now() + timeoutMs;
    const remaining = () => Math.max(0, deadline - performance.now());
    // The timer is cleared as soon as the queue is idle: with nothing in flight, drain returns at once.
    await raceTimeout(this.queue.onIdle(), remaining());
    while (this.tracked.size > 0 && remaining() > 0) {
      try {
        const b = await this.publicClient.getBlock({ blockTag: "latest" });
        await this.onBlock({ number: b.number, baseFeePerGas: b.baseFeePerGas, timestamp: b.timestamp });
      } catch (e) {
        this.logger.warn({ msg: "drain: block poll failed", err: e });
      }
      if (this.tracked.size > 0) await sleep(Math.min(this.drainPollMs, remaining()));
    }
    const settled = this.tracked.size === 0 && this.queue.size === 0 && this.queue.pending === 0;
    this.logger.info({ msg: settled ? "drained" : "drain timed out", inFlight: this.tracked.size });
    return { settled, inFlight: this.inFlight() };
  }

  /** Jobs queued or running (plans admitted and not yet sent or skipped). */
  get jobs(): number {
    return this.queue.size + this.queue.pending;
  }

  /** Resolves when no job is queued or running (every admitted plan has been sent or skipped). */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }

  stats(): ExecutorStats {
    return { ...this.counters };
  }

  private countItems(result: "success" | "reverted" | "skipped" | "dropped" | "dry_run", kind: Kind, n: number): void {
    if (n > 0) this.metrics.liquidations.inc({ result, kind }, n);
  }
}

function describe(item: LiquidationItem): { account: Address; marketId: number; size: string } {
  return { account: item.account, marketId: item.marketId, size: item.size.toString() };
}

function sumExpected(items: readonly LiquidationItem[]): bigint {
  return items.reduce((a, i) => a + i.expectedRewardTokens, 0n);
}

function kindOf(rec: Tracked): Kind {
  return rec.tx.items.length > 1 ? "batch" : "single";
}

/** A plan's expected profit, scaled to the reward of the items a re-plan kept. */
function scaleProfit(profitWei: bigint, before: readonly LiquidationItem[], after: readonly LiquidationItem[]): bigint {
  const was = sumExpected(before);
  return was > 0n ? (profitWei * sumExpected(after)) / was : 0n;
}

function pickFees(f: Fees): Fees {
  return { maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `p`, or nothing after `ms`; the timer never outlives the race (it would hold the process up). */
async function raceTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** An InFlightTx as the journal and the checkpoint store it (bigints as decimal strings). */
export function journalEntry(tx: InFlightTx): Record<string, unknown> {
  return JSON.parse(stringifyWithBigints(tx, 0)) as Record<string, unknown>;
}
