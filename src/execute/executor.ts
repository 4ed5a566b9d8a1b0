/**
 * The executor: turns the planner's TxPlans into transactions and follows them to the chain.
 * This file is the façade; each concern lives in its own file and works on one shared context:
 *
 * - context.ts    the inputs, checked, and the state every part shares (in flight by nonce, …)
 * - admission.ts  reservations (one job or transaction per target) and backoffs; `submit` asks it
 * - job.ts        one admitted plan: preflight → gas × margin → fees (fees.ts) → budget → send
 * - preflight.ts  node simulation (eth_simulateV1, or eth_call + eth_estimateGas) or the
 *                 engine's word; reverting items dropped with the backoff their error asks
 * - broadcast.ts  signing, sending at a new nonce under the nonce lock, cancelling orphans
 * - follow.ts     each head: mined? (receipt: reward, gas, release) / nonce consumed by a
 *                 transaction we do not know? (dropped, nonce resync); reorgs; restored state
 * - replace.ts    stuck for `replaceAfterBlocks`? bump fees at the same nonce, re-plan, or cancel
 * - spend.ts      the hourly gas budget: spent + worst case in flight
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
 */
import PQueue from "p-queue";
import { sleep } from "../lib/sleep.ts";
import { adoptOrphans } from "./broadcast.ts";
import { createContext, type ExecutorContext, type ExecutorInputs } from "./context.ts";
import { onReorg, processBlock, restore } from "./follow.ts";
import { runJob } from "./job.ts";
import { replaceOwn, sendOwn, type OwnSendOptions, type OwnSendResult, type OwnSent, type OwnTransaction } from "./ownTransaction.ts";
import { preflightMode } from "./preflight.ts";
import { budgetHasRoom, budgetRoomWei, worstCaseWei } from "./spend.ts";
import type { BlockHead, ExecutorStats, InFlightTx, JobResult, LiquidationItem, RefusalReason, SubmitResult, TxPlan } from "./types.ts";
import type { WalletFundsStatus } from "./walletFunds.ts";

export type { ExecutorInputs };
export { targetKey } from "./admission.ts";
export { journalEntry } from "./journal.ts";
export { SendFailedError } from "./sendError.ts";
export { GasBudgetExceededError } from "./spend.ts";

export class Executor {
  /** What the parts share: see context.ts. */
  private readonly ctx: ExecutorContext;
  private readonly queue: PQueue;
  private tick: Promise<void> | undefined;

  constructor(inputs: ExecutorInputs) {
    this.ctx = createContext(inputs);
    this.queue = new PQueue({ concurrency: inputs.concurrency });
  }

  /** Read the starting nonce now rather than on the first send (optional). */
  async init(): Promise<void> {
    await this.ctx.nonces.init();
  }

  // ------------------------------------------------------------------------------------------
  // Admission
  // ------------------------------------------------------------------------------------------

  /** Admit `plan` and queue it, or refuse it at once (see {@link RefusalReason}). */
  submit(plan: TxPlan): SubmitResult {
    const ctx = this.ctx;
    if (ctx.draining) return this.refuse("draining");
    // One item per account: health and the cooldown are the account's, so two steps on one
    // account are never sent at once (the second is sized on a state the first changes).
    const accounts = new Set(plan.items.map((i) => i.account.toLowerCase()));
    if (plan.items.length === 0 || accounts.size !== plan.items.length) return this.refuse("invalid_plan");
    for (const item of plan.items) {
      const r = ctx.admission.refusal(item);
      if (r !== undefined) return this.refuse(r.reason, r.key);
    }
    const baseFee = ctx.head?.baseFeePerGas;
    if (baseFee != null && baseFee > ctx.policy.feeCapWei) return this.refuse("fee_above_cap");
    if (!budgetHasRoom(ctx)) return this.refuse("budget");
    if (ctx.funds.backingOff()) return this.refuse("insufficient_funds");

    ctx.admission.reserve(plan.items);
    const done = this.queue
      .add(() => runJob(ctx, plan))
      .then(
        (r): JobResult => r ?? { status: "skipped", reason: "draining", skipped: [] },
        (error: unknown): JobResult => {
          ctx.logger.error({ msg: "job failed", err: error });
          return { status: "skipped", reason: "rpc_error", skipped: [], error };
        },
      );
    return { accepted: true, done };
  }

  private refuse(reason: RefusalReason, target?: string): SubmitResult {
    this.ctx.logger.debug({ msg: "plan refused", reason, target });
    return target === undefined ? { accepted: false, reason } : { accepted: false, reason, target };
  }

  /**
   * Whether `submit` would take `item` now: its target is not reserved, no other step on its
   * account is in flight, and neither the target, the account nor the market is backing off.
   * The keeper filters its candidates with this before it batches them.
   */
  admissible(item: Pick<LiquidationItem, "account" | "marketId">): boolean {
    return !this.ctx.draining && !this.ctx.funds.backingOff() && this.ctx.admission.admissible(item);
  }

  /** Backoff entries held (expired ones are pruned whenever a backoff is added). */
  backoffCount(): number {
    return this.ctx.admission.backoffCount();
  }

  // ------------------------------------------------------------------------------------------
  // Following transactions (follow.ts, replace.ts)
  // ------------------------------------------------------------------------------------------

  /**
   * Learn of a new head before planning on it (the keeper calls this as soon as its index is at
   * `block`, and `onBlock` once its submissions are out).
   */
  observeHead(block: BlockHead): void {
    if (this.ctx.head === undefined || block.number >= this.ctx.head.number) this.ctx.head = block;
  }

  /**
   * Process a new head: settle what was mined, replace what is stuck, drop what another
   * transaction displaced. Call it for every head; a call while one runs returns that run.
   */
  onBlock(block: BlockHead): Promise<void> {
    this.ctx.head = block;
    budgetHasRoom(this.ctx);
    this.tick ??= processBlock(this.ctx, block)
      .catch((e: unknown) => this.ctx.logger.warn({ msg: "block processing failed; retried on the next block", err: e }))
      .finally(() => {
        this.tick = undefined;
      });
    return this.tick;
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
    await onReorg(this.ctx);
  }

  /** Whether the wallet can pay for transactions (false after the node answered insufficient funds). */
  walletStatus(): WalletFundsStatus {
    return this.ctx.funds.status();
  }

  /** Whether transactions are simulated by the node now ("node"), or may go out on the engine's word. */
  preflightMode(): "node" | "engine" {
    return preflightMode(this.ctx);
  }

  // ------------------------------------------------------------------------------------------
  // Own transactions (ownTransaction.ts): the reward sweep
  // ------------------------------------------------------------------------------------------

  /** Send a transaction of the keeper's own at the next nonce, only while no liquidation is queued (or in flight, unless `opts` allows). */
  sendOwn(tx: OwnTransaction, opts?: OwnSendOptions): Promise<OwnSendResult> {
    return sendOwn(this.ctx, tx, () => this.jobs > 0, opts);
  }

  /** An own transaction is stuck: the same call at its nonce with higher fees. */
  replaceOwn(tx: OwnTransaction, sent: OwnSent): Promise<OwnSendResult> {
    return replaceOwn(this.ctx, tx, sent);
  }

  // ------------------------------------------------------------------------------------------
  // Budget (spend.ts)
  // ------------------------------------------------------------------------------------------

  /** Wei the hourly budget may still commit now: budget − spent in the window − worst case in flight. */
  budgetRoomWei(): bigint {
    return budgetRoomWei(this.ctx);
  }

  /** The worst case a new transaction of `gas` and `expectedProfitWei` would commit at the current head (gas × maxFeePerGas). */
  worstCaseWei(gas: bigint, expectedProfitWei: bigint): bigint {
    return worstCaseWei(this.ctx, gas, expectedProfitWei);
  }

  // ------------------------------------------------------------------------------------------
  // Checkpoint, shutdown, stats
  // ------------------------------------------------------------------------------------------

  /** Transactions in flight, for the daemon's checkpoint (copies). */
  inFlight(): InFlightTx[] {
    return [...this.ctx.tracked.values()]
      .sort((a, b) => a.tx.nonce - b.tx.nonce)
      .map((r) => ({ ...r.tx, items: [...r.tx.items], ...(r.tx.previousHashes ? { previousHashes: [...r.tx.previousHashes] } : {}) }));
  }

  /**
   * Track transactions a previous instance left in flight: their targets are refused as
   * duplicates until they are mined or dropped. An entry whose nonce or target is already
   * tracked is ignored (and logged).
   */
  restore(list: readonly InFlightTx[]): void {
    restore(this.ctx, list);
  }

  /**
   * After a restart: a nonce in [latest, pending) that no restored transaction accounts for was
   * sent by an earlier instance whose record was lost. It may carry stale calldata, or sit
   * underpriced in the pool and hold back every later nonce. Each is replaced by a cancel (a
   * 0-value self-transfer) priced over it, followed like any other transaction. Returns the nonces.
   */
  async adoptOrphans(): Promise<number[]> {
    return adoptOrphans(this.ctx);
  }

  /**
   * Stop accepting plans, let queued jobs finish, and follow what is in flight until it settles
   * or `timeoutMs` (real time) passes. Returns what is still in flight, for the checkpoint.
   * When `signal` aborts, the waits end at once and drain returns what is in flight then.
   */
  async drain(timeoutMs: number, signal?: AbortSignal): Promise<{ settled: boolean; inFlight: InFlightTx[] }> {
    const ctx = this.ctx;
    ctx.draining = true;
    const deadline = performance.now() + timeoutMs;
    const remaining = () => Math.max(0, deadline - performance.now());
    // The timer is cleared as soon as the queue is idle: with nothing in flight, drain returns at once.
    await raceTimeout(this.queue.onIdle(), remaining(), signal);
    while (ctx.tracked.size > 0 && remaining() > 0 && !signal?.aborted) {
      try {
        const b = await ctx.publicClient.getBlock({ blockTag: "latest" });
        await this.onBlock({ number: b.number, baseFeePerGas: b.baseFeePerGas, timestamp: b.timestamp });
      } catch (e) {
        ctx.logger.warn({ msg: "drain: block poll failed", err: e });
      }
      if (ctx.tracked.size > 0) await sleep(Math.min(ctx.drainPollMs, remaining()), signal);
    }
    const settled = ctx.tracked.size === 0 && this.queue.size === 0 && this.queue.pending === 0;
    ctx.logger.info({ msg: settled ? "drained" : "drain timed out", inFlight: ctx.tracked.size });
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
    return { ...this.ctx.counters };
  }

  /** Entries of the executor's long-lived maps (in flight, lately mined, admission, gas budget), for the state-size gauge. */
  sizes(): Record<string, number> {
    const ctx = this.ctx;
    return { inFlight: ctx.tracked.size, minedRemembered: ctx.mined.size, queuedJobs: this.jobs, gasBudgetSpends: ctx.budget.size, ...ctx.admission.sizes() };
  }
}

/**
 * `p`, or nothing after `ms` or once `signal` aborts; neither the timer nor the listener outlives
 * the race (a timer would hold the process up).
 */
async function raceTimeout(p: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<void> {
  const done = new AbortController();
  const stop = () => done.abort();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    if (signal?.aborted) return;
    await Promise.race([p, sleep(ms, done.signal)]);
  } finally {
    signal?.removeEventListener("abort", stop);
    done.abort();
  }
}
