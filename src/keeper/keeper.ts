/**
 * The keeper daemon: chain → index → protocol → plan → execute, once per new head. It knows no
 * protocol: the indexer keeps the protocol's state, the protocol's book values it, the planner
 * ranks and batches, the executor sends (see src/keeper/protocol.ts for the ports).
 *
 * For every head: the indexer applies the head's events (reorg-safe); then
 *  1. fast path — the accounts the head moved (state changed, or liquidation price crossed by a new
 *     price) are valued exactly, planned and submitted at once (the price-to-broadcast latency);
 *  2. the executor follows its transactions up to this head (receipts, fee bumps, drops), which
 *     frees accounts and gas budget;
 *  3. safety net — a full screened rescan finds anything the fast path missed (cross-margin drift,
 *     funding) and submits it.
 * Ticks never overlap: a head that arrives while one runs is picked up when it ends (the indexer
 * catches up over the whole range). A checkpoint (index + in-flight transactions) is written
 * atomically every few blocks and at shutdown, so a restart neither backfills nor double-sends.
 */
import type { Account as ViemAccount, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import type { BlockHead } from "../chain/heads.ts";
import type { KeeperSettings } from "../config/keeper.ts";
import type { Executor } from "../execute/executor.ts";
import type { SendJournal } from "../execute/journal.ts";
import type { Indexer } from "../index/indexer.ts";
import type { LogPosition, ReducerState } from "../index/source.ts";
import { AbortedError, RetryableError, throwIfAborted } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { classifyRpcError, nodeErrorOf } from "../lib/rpcErrors.ts";
import { abortable, sleep } from "../lib/sleep.ts";
import { SkipLog } from "../plan/skipLog.ts";
import { inFlightFromJson, readCheckpointFile, writeCheckpointFile } from "./checkpointFile.ts";
import { IndexStateOutdatedError } from "../index/checkpoint.ts";
import type { Book, Protocol, Unpriced } from "./protocol.ts";
import { liveness, readiness, recordUnpriced, type HealthFacts, type ProbeAnswer } from "./readiness.ts";
import type { HeadCosts } from "./headCosts.ts";
import { NativePriceMissingError } from "./nativePrice.ts";
import { submitFor, type SubmitContext } from "./submit.ts";
import { recordStateSizes } from "./stateSizes.ts";
import type { DutyRunner } from "./duties.ts";
import type { WalletWatch } from "./walletWatch.ts";

export type KeeperInputs<S extends ReducerState<L>, L extends LogPosition> = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, ViemAccount>;
  /** Names the checkpoint: a checkpoint of another chain or market is ignored. */
  deployment: { chainId: number; contracts: { market: Address } };
  settings: KeeperSettings;
  logger: Logger;
  metrics: Metrics;
  protocol: Protocol<S, L>;
  /** Keeps the protocol's state; resumed from the checkpoint when there is one. */
  indexer: Indexer<S, L>;
  /** The book the executor's `isStillValid` / `sizeNow` also read (made from `indexer.state`). */
  book: Book;
  executor: Executor;
  /** Every broadcast, written before it is sent (beside the checkpoint; see execute/journal.ts). */
  journal?: SendJournal;
  /** Write and resume from a checkpoint file (settings.checkpointPath). Default true. */
  checkpoint?: boolean;
  /** Wall clock in ms (watchdog). */
  now?: () => number;
  /** Monotonic clock in ms (latency). */
  perfNow?: () => number;
  /** Shutdown: start() ends with AbortedError when it fires (the indexer's backfill stops with it). */
  signal?: AbortSignal;
  /** The wallet's balance (and the reward sweep), checked after each tick, off its path. */
  wallet?: WalletWatch;
  /** The protocol's duties for this keeper's role (ADL), run at the end of each tick: backstop mode. */
  duties?: Pick<DutyRunner, "onHead">;
  /**
   * The native token's price and the L1 fee (headCosts.ts): read at start and at every head, in
   * parallel with the index's sync. Absent: the settings' fixed price, and no L1 fee.
   */
  costs?: HeadCosts;
};

type HeadWithFee = BlockHead & { baseFeePerGas: bigint };

/** Block gas limit assumed until one is read from the chain. */
const DEFAULT_BLOCK_GAS_LIMIT = 30_000_000n;
/** How long past its grace period stop() waits for a node that no longer answers, by default. */
export const STOP_MARGIN_MS = 10_000;

export type KeeperStatus = {
  head?: bigint;
  /** Events applied by the start-up backfill (small after a resume from a checkpoint). */
  backfilledEvents: number;
  resumed: boolean;
  accounts: number;
  liquidatable: number;
  lastTickMs: number;
  ticks: number;
  submitted: number;
};

export class Keeper<S extends ReducerState<L> = ReducerState<LogPosition>, L extends LogPosition = LogPosition> {
  readonly executor: Executor;
  readonly index: Indexer<S, L>;
  private readonly book: Book;
  private readonly now: () => number;
  private readonly perfNow: () => number;
  private lastHeadChangeAt = 0;
  /** When the running tick began (wall clock, ms); undefined between ticks (liveness). */
  private tickStartedAt: number | undefined;
  /** start() has finished (readiness). */
  private started = false;
  /** At the processed head. */
  private unpriced: Unpriced | undefined;
  private readonly unpricedSeen = new Set<number>();
  /** The wallet check after a tick, while it runs. */
  private watching: Promise<void> | undefined;
  private blocksSinceCheckpoint = 0;
  private running: Promise<void> | undefined;
  private pending: HeadWithFee | undefined;
  private stopped = false;
  private readonly skips: SkipLog;
  private readonly submitCtx: SubmitContext;
  readonly status: KeeperStatus = { backfilledEvents: 0, resumed: false, accounts: 0, liquidatable: 0, lastTickMs: 0, ticks: 0, submitted: 0 };

  constructor(private readonly inputs: KeeperInputs<S, L>) {
    this.executor = inputs.executor;
    this.index = inputs.indexer;
    this.book = inputs.book;
    this.now = inputs.now ?? Date.now;
    this.perfNow = inputs.perfNow ?? (() => performance.now());
    this.skips = new SkipLog(inputs.logger, inputs.metrics.candidatesSkipped);
    const s = inputs.settings;
    this.submitCtx = {
      book: this.book,
      executor: this.executor,
      settings: s,
      gas: s.gas ?? inputs.protocol.gas,
      logger: inputs.logger,
      skips: this.skips,
      blockGasLimit: DEFAULT_BLOCK_GAS_LIMIT,
      costs: inputs.costs ?? {
        get nativeUsd(): bigint {
          if (s.nativeUsd === undefined) throw new NativePriceMissingError();
          return s.nativeUsd;
        },
        l1FeeWei: () => undefined,
      },
    };
  }

  /** The native token's price gas is valued at now (USD WAD): the feed's at the latest head, or the fixed one. */
  get nativeUsd(): bigint {
    return this.submitCtx.costs.nativeUsd;
  }

  /** Resume from the checkpoint (or backfill from the deploy block), then value every account. */
  async start(): Promise<void> {
    const { logger, signal } = this.inputs;
    throwIfAborted(signal);
    const saved = this.checkpointPath ? readCheckpointFile(this.checkpointPath, this.identity(), logger) : undefined;
    if (saved) {
      try {
        await this.index.resume(saved.index);
        this.status.resumed = true;
        logger.info({ block: this.index.head?.number, inFlight: saved.inFlight.length }, "resumed from checkpoint");
      } catch (e) {
        // An older version's index state: rebuilt from the chain; its transactions in flight are still followed.
        if (!(e instanceof IndexStateOutdatedError)) throw e;
        logger.warn({ err: e.shortMessage, inFlight: saved.inFlight.length }, "the checkpoint's index is from an older version: rebuilding the index from the chain");
      }
    }
    // What may be in flight: the checkpoint's list, and the send journal's, which is newer (it is
    // written before every broadcast; a crash after a send and before the next checkpoint is in it).
    const inFlight = new Map<number, Record<string, unknown>>((saved?.inFlight ?? []).map((j) => [Number(j.nonce), j]));
    const journalled = this.inputs.journal?.read() ?? new Map<number, Record<string, unknown>>();
    for (const [nonce, j] of journalled) inFlight.set(nonce, j);
    if (inFlight.size > 0) {
      this.executor.restore([...inFlight.values()].map(inFlightFromJson));
      logger.info({ checkpoint: saved?.inFlight.length ?? 0, journal: journalled.size }, "following transactions a previous run left in flight");
    }
    // The native price (and the L1 fee oracle) first: a feed that cannot be read stops the start before a long backfill.
    const costs = this.inputs.costs;
    if (costs) {
      await this.startStep("native price", async () => {
        const latest = await this.inputs.publicClient.getBlock({ blockTag: "latest" });
        await costs.start({ number: latest.number, timestamp: latest.timestamp });
      });
    }
    const t0 = this.perfNow();
    const events = await this.startStep("backfill", () => this.index.backfill());
    this.status.backfilledEvents = events;
    logger.info({ events, block: this.index.head?.number, ms: Math.round(this.perfNow() - t0) }, "index up to date");
    throwIfAborted(signal);
    await this.startStep("nonces", () => this.executor.init());
    throwIfAborted(signal);
    const orphans = await this.startStep("pending nonces", () => this.executor.adoptOrphans());
    if (orphans.length > 0) logger.warn({ nonces: orphans }, "nonces of ours pending with no record of them: cancelled");
    this.book.reset(this.index.head?.timestamp); // the screen and the liquidation-price index, once for everyone
    this.countAccounts();
    this.lastHeadChangeAt = this.now();
    this.writeCheckpoint();
    throwIfAborted(signal);
    await this.startStep("state found at start", () => this.actOnStartState());
    const head = this.index.head;
    if (head) {
      // The start processed this head: it is the keeper's head until the first tick.
      this.status.head = head.number;
      this.inputs.metrics.headBlock.set(Number(head.number));
      this.checkUnpriced(head.timestamp);
      this.watchWallet(head);
    }
    this.started = true;
  }

  /**
   * One step of the start that reads the chain. A node failing for longer than the transport's and
   * the index's own retries is tried again (backoff up to 10 s) until it answers or shutdown
   * begins, as the head follower does after the start: one 503 must not end a daemon. Anything
   * but a transient failure (a revert, a wrong deployment, a bad key) stops the start.
   */
  private async startStep<T>(step: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(this.inputs.signal);
      try {
        return await fn();
      } catch (e) {
        if (e instanceof AbortedError || !(e instanceof RetryableError || classifyRpcError(e) === "transient")) throw e;
        this.inputs.logger.warn({ msg: "start: the node failed for a while; trying again", step, attempt, err: nodeErrorOf(e) });
        await sleep(Math.min(10_000, 500 * attempt), this.inputs.signal);
      }
    }
  }

  /**
   * What is liquidatable on the state found at start is acted on now, not at the next block (the
   * head follower's first head is this one, which onHead skips as already indexed).
   */
  private async actOnStartState(): Promise<void> {
    const head = this.index.head;
    if (!head) return;
    // A transaction of our key still pending (a previous instance's, not in the checkpoint) may
    // liquidate these very accounts: then the next head, which carries it, is the state to act on.
    const keeper = this.inputs.walletClient.account.address;
    const [latest, pending] = await Promise.all([
      this.inputs.publicClient.getTransactionCount({ address: keeper, blockTag: "latest" }),
      this.inputs.publicClient.getTransactionCount({ address: keeper, blockTag: "pending" }),
    ]);
    if (pending > latest) {
      this.inputs.logger.info({ pending: pending - latest }, "transactions of ours are pending at start: acting from the next head");
      return;
    }
    const observedAt = this.perfNow();
    const b = await this.inputs.publicClient.getBlock({ blockNumber: head.number });
    this.submitCtx.blockGasLimit = b.gasLimit;
    const h: HeadWithFee = { number: head.number, hash: head.hash, parentHash: b.parentHash, timestamp: head.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n };
    this.executor.observeHead(h);
    const found = this.book.liquidatable(h.timestamp);
    this.status.liquidatable = found.length;
    this.inputs.metrics.liquidatableNow.set(found.length);
    this.inputs.logger.info({ block: h.number, liquidatable: found.length }, "acting on the state found at start");
    if (found.length > 0) this.submit(found, h, observedAt, new Set());
  }

  /** Feed a new head. Returns when it (and any head that arrived meanwhile) is processed. */
  onHead(head: HeadWithFee): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const tip = this.index.head;
    if (tip && head.number <= tip.number && head.hash === tip.hash) return this.running ?? Promise.resolve();
    this.pending = head;
    if (!this.running) {
      this.running = (async () => {
        while (this.pending && !this.stopped) {
          const h = this.pending;
          this.pending = undefined;
          await this.tick(h);
        }
      })().finally(() => (this.running = undefined));
    }
    return this.running;
  }

  private async tick(head: HeadWithFee): Promise<void> {
    const observedAt = this.perfNow();
    const { logger, metrics } = this.inputs;
    const end = metrics.loopDuration.startTimer();
    this.tickStartedAt = this.now();
    try {
      // The head's costs (native price, L1 fee parameters) are read beside the sync, off the plan's path.
      const [sync] = await Promise.all([this.index.syncTo(head), this.inputs.costs?.refresh(head)]);
      // A lagging node answered an older head and our tip is still canonical: nothing is new, and a
      // plan "at" that head would be made on an index that does not describe it (and sent unsimulated).
      const tip = this.index.head;
      if (tip && tip.number > head.number && sync.reorgDepth === 0 && sync.events === 0) return;
      if (sync.reorgDepth > 0) await this.executor.onReorg();
      this.lastHeadChangeAt = this.now();
      metrics.headBlock.set(Number(head.number));
      this.executor.observeHead(head);
      const c = sync.changes;
      for (const gone of this.book.sync(c, head.timestamp, sync.reorgDepth > 0)) this.skips.sent(gone);
      this.countAccounts();

      // 1. Fast path: the accounts this head moved, screened, planned and submitted.
      const tSynced = this.perfNow();
      const fast = this.book.suspects(c, head.timestamp);
      const submitted = new Set<string>();
      if (fast.liquidatable.length > 0) await this.submitFirstOut(fast.liquidatable, head, observedAt, submitted);
      const tFast = this.perfNow();

      // 2. Follow our transactions up to this head: what was mined frees its accounts and its share
      // of the gas budget, so the rescan below can send what the fast path had to defer.
      await this.executor.onBlock(head);
      const tFollowed = this.perfNow();

      // 3. Safety net: a full screened rescan.
      const all = this.book.liquidatable(head.timestamp);
      metrics.liquidatableNow.set(all.length);
      this.status.liquidatable = all.length;
      const rest = all.filter((a) => !submitted.has(a));
      if (rest.length > 0) this.submit(rest, head, observedAt, submitted);
      // 4. Duties of the keeper's role (ADL) for what liquidation cannot settle.
      await this.inputs.duties?.onHead(head, all);

      const tRest = this.perfNow();
      if (fast.moved > 0 || rest.length > 0) {
        const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
        logger.debug(
          { block: head.number, moved: fast.moved, suspects: fast.liquidatable.length, missed: rest.length, syncMs: ms(observedAt, tSynced), fastPathMs: ms(tSynced, tFast), followMs: ms(tFast, tFollowed), rescanMs: ms(tFollowed, tRest) },
          "tick phases",
        );
      }

      this.book.upkeep(c, head.timestamp);
      recordStateSizes(metrics.stateEntries, { state: this.index.state, book: this.book, executor: this.executor, skips: this.skips, unpricedSeen: this.unpricedSeen });
      if (++this.blocksSinceCheckpoint >= this.inputs.settings.checkpointEveryBlocks) this.writeCheckpoint();
      this.status.head = head.number;
      this.status.ticks++;
      this.checkUnpriced(head.timestamp);
      metrics.gasBudgetExhausted.set(this.executor.budgetRoomWei() === 0n ? 1 : 0);
      this.watchWallet(head);
    } catch (e) {
      logger.error({ err: e, block: head.number }, "tick failed; retrying on the next head");
    } finally {
      this.status.lastTickMs = end();
      this.tickStartedAt = undefined;
    }
  }

  /** Markets without a usable price at `timestamp`, and the accounts they leave unvalued: kept for readiness and exported. */
  private checkUnpriced(timestamp: bigint): void {
    try {
      this.unpriced = this.book.unpriced(timestamp);
      recordUnpriced(this.inputs.metrics, this.unpriced, this.unpricedSeen);
    } catch (e) {
      this.inputs.logger.warn({ err: e }, "could not tell which markets are unpriced");
    }
  }

  /** The wallet check after a tick (balance, sweep): off the tick's path, one at a time, never overlapping a stop. */
  private watchWallet(head: { number: bigint }): void {
    const w = this.inputs.wallet;
    if (!w || this.watching || this.stopped) return;
    const idle = () => !this.stopped && this.executor.jobs === 0 && this.executor.inFlight().length === 0;
    this.watching = w
      .onHead(head, idle)
      .catch((e: unknown) => this.inputs.logger.warn({ err: e }, "wallet check failed"))
      .finally(() => (this.watching = undefined));
  }

  /** Resolves when the wallet check started after the last tick (if any) is done. */
  walletChecked(): Promise<void> {
    return this.watching ?? Promise.resolve();
  }

  private submit(accounts: readonly Address[], head: HeadWithFee, observedAt: number, submitted: Set<string>): void {
    this.status.submitted += submitFor(this.submitCtx, accounts, head, observedAt, submitted);
  }

  /**
   * The fast path of a burst: its first `maxBatch` suspects (in the book's order: deepest past
   * their liquidation price first) are planned alone and handed to the executor, which signs and
   * sends them in the one event-loop turn given to it before the rest is valued; so the first
   * transaction does not wait for hundreds of exact valuations, and the rest follow at once. The
   * planner ranks within each part. With gas-budget room for less than the whole burst planned
   * together, the burst is planned as one, so that the budget goes to the most profitable first.
   */
  private async submitFirstOut(accounts: readonly Address[], head: HeadWithFee, observedAt: number, submitted: Set<string>): Promise<void> {
    const first = this.inputs.settings.maxBatch;
    const gas = this.submitCtx.gas;
    const whole = this.executor.worstCaseWei(gas.batchBase * BigInt(Math.ceil(accounts.length / first)) + gas.batchItem * BigInt(accounts.length), 0n);
    if (accounts.length <= first * 2 || this.executor.budgetRoomWei() < whole) return this.submit(accounts, head, observedAt, submitted);
    this.submit(accounts.slice(0, first), head, observedAt, submitted);
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.submit(accounts.slice(first), head, observedAt, submitted);
  }

  private countAccounts(): void {
    this.status.accounts = this.book.size;
    this.inputs.metrics.accountsTracked.set(this.book.size);
  }

  /** What the probes decide from (see readiness.ts). */
  healthFacts(): HealthFacts {
    const wallet = this.executor.walletStatus();
    const w = this.inputs.wallet;
    return {
      now: this.now(),
      settings: this.inputs.settings,
      started: this.started,
      stopped: this.stopped,
      tickStartedAt: this.tickStartedAt,
      lastNewHeadAt: this.lastHeadChangeAt,
      head: this.status.head,
      indexedBlock: this.index.state.block,
      accounts: this.status.accounts,
      liquidatable: this.status.liquidatable,
      inFlight: this.executor.inFlight().length,
      unpriced: this.unpriced,
      wallet: {
        balanceWei: w?.balanceWei,
        minBalanceWei: w?.minBalanceWei,
        insufficientFunds: wallet.ok ? undefined : { neededWei: wallet.neededWei },
      },
    };
  }

  /** /livez: the loop is not wedged in a tick and the keeper has not stopped (a quiet chain is alive). */
  liveness(): ProbeAnswer {
    return liveness(this.healthFacts());
  }

  /** /readyz: started, a fresh head, every market with positions priced, the wallet funded; `keeper_ready` follows. */
  readiness(): ProbeAnswer {
    return readiness(this.healthFacts(), this.inputs.metrics);
  }

  /**
   * Stop intake, let in-flight work settle within `graceMs`, write the checkpoint. It returns by
   * its hard deadline even if the node no longer answers (a tick or the drain waiting on it): at
   * `graceMs + marginMs` (default {@link STOP_MARGIN_MS}), or when `signal` (a shutdown's own
   * deadline) fires; the drain's waits end then too, and the checkpoint is written as things stand.
   * `timedOut` says the deadline cut the stop short.
   */
  async stop(graceMs: number, opts: { signal?: AbortSignal; marginMs?: number } = {}): Promise<{ settled: boolean; timedOut: boolean }> {
    this.stopped = true;
    const hard = AbortSignal.timeout(graceMs + (opts.marginMs ?? STOP_MARGIN_MS));
    const deadline = opts.signal ? AbortSignal.any([hard, opts.signal]) : hard;
    try {
      const r = await abortable(
        (async () => {
          await this.running;
          await this.watching;
          return this.executor.drain(graceMs, deadline);
        })(),
        deadline,
      );
      this.inputs.logger.info({ settled: r.settled, inFlight: r.inFlight.length }, "executor drained");
      this.writeCheckpoint();
      return { settled: r.settled, timedOut: deadline.aborted };
    } catch (e) {
      if (!(e instanceof AbortedError)) throw e;
      // The caller's deadline (a shutdown's) is the caller's to report; this one's own, here.
      if (!opts.signal?.aborted) this.inputs.logger.warn({ graceMs, inFlight: this.executor.inFlight().length }, "stop deadline passed: not waiting for the node any longer");
      try {
        this.writeCheckpoint();
      } catch (err) {
        this.inputs.logger.warn({ err }, "could not write the checkpoint");
      }
      return { settled: false, timedOut: true };
    }
  }

  private get checkpointPath(): string | undefined {
    return this.inputs.checkpoint === false ? undefined : this.inputs.settings.checkpointPath;
  }

  private identity(): { chainId: number; market: Address } {
    return { chainId: this.inputs.deployment.chainId, market: this.inputs.deployment.contracts.market };
  }

  writeCheckpoint(): void {
    const path = this.checkpointPath;
    if (!path || !this.index.head) return;
    const inFlight = writeCheckpointFile(path, { ...this.identity(), index: this.index.checkpoint(), inFlight: this.executor.inFlight(), now: this.now() });
    // The checkpoint now holds what is in flight: the journal shrinks to the same list.
    this.inputs.journal?.rewrite(inFlight);
    this.blocksSinceCheckpoint = 0;
  }
}
