/**
 * The keeper daemon: chain → index → engine → plan → execute, once per new head.
 *
 * For every head: the indexer applies the head's events (reorg-safe); then
 *  1. fast path — for each market whose price moved, the liquidation-price index names the
 *     accounts the tick crosses; they, and every account whose state changed, are valued exactly,
 *     planned and submitted at once (this is the price-to-broadcast latency);
 *  2. safety net — a full screened rescan of every account (float64 screen, exact near the
 *     boundary) finds anything the fast path missed (cross-margin drift, funding) and submits it;
 *  3. the executor follows its transactions (receipts, fee bumps, drops).
 * Ticks never overlap: a head that arrives while one runs is picked up when it ends (the indexer
 * catches up over the whole range). A checkpoint (index + in-flight transactions) is written
 * atomically every few blocks and at shutdown, so a restart neither backfills nor double-sends.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { getAddress, type Account as ViemAccount, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import type { Deployment } from "../chain/deploy.ts";
import type { KeeperSettings } from "../config/keeper.ts";
import { HealthScreen, maxLiquidatable, type Account, type Valuation } from "../engine/index.ts";
import { Executor } from "../execute/executor.ts";
import { SendJournal } from "../execute/journal.ts";
import type { InFlightTx, LiquidationItem, TxPlan } from "../execute/types.ts";
import { Indexer, type BlockHead, type IndexerCheckpoint } from "../index/index.ts";
import { stringifyWithBigints, writeFileAtomic } from "../lib/atomicFile.ts";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { LiquidationPriceIndex } from "../plan/liquidationPriceIndex.ts";
import { findCandidates, gasModelFor, planTransactions, type Candidate } from "../plan/planLiquidations.ts";
import { fitPlans } from "../plan/fitPlans.ts";
import { SkipLog } from "../plan/skipLog.ts";

export type KeeperInputs = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, ViemAccount>;
  deployment: Deployment;
  settings: KeeperSettings;
  logger: Logger;
  metrics: Metrics;
  dryRun?: boolean;
  /** Write and resume from a checkpoint file (settings.checkpointPath). Default true. */
  checkpoint?: boolean;
  /** Wall clock in ms (watchdog). */
  now?: () => number;
  /** Monotonic clock in ms (latency). */
  perfNow?: () => number;
  /** Shutdown: the indexer's requests and retries stop when it fires. */
  signal?: AbortSignal;
};

type HeadWithFee = BlockHead & { baseFeePerGas: bigint };

export type KeeperCheckpointFile = {
  version: 1;
  chainId: number;
  market: Address;
  index: IndexerCheckpoint;
  inFlight: Record<string, unknown>[];
  writtenAt: string;
};

/** Block gas limit assumed until one is read from the chain. */
const DEFAULT_BLOCK_GAS_LIMIT = 30_000_000n;

export class KeeperCheckpointError extends BaseError {
  override name = "KeeperCheckpointError";
}

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

export class Keeper {
  readonly executor: Executor;
  private indexer!: Indexer;
  private readonly screen = new HealthScreen();
  private readonly lpIndex = new LiquidationPriceIndex();
  private readonly slot = new Map<Address, number>();
  private readonly slots: (Address | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly now: () => number;
  private readonly perfNow: () => number;
  private lastTickAt = 0;
  private lastHeadChangeAt = 0;
  private blocksSinceCheckpoint = 0;
  private blocksSinceLpRebuild = 0;
  private running: Promise<void> | undefined;
  private pending: HeadWithFee | undefined;
  private stopped = false;
  /** Every broadcast, written before it is sent (beside the checkpoint; see execute/journal.ts). */
  private readonly journal: SendJournal | undefined;
  private readonly skips: SkipLog;
  private blockGasLimit = DEFAULT_BLOCK_GAS_LIMIT;
  readonly status: KeeperStatus = { backfilledEvents: 0, resumed: false, accounts: 0, liquidatable: 0, lastTickMs: 0, ticks: 0, submitted: 0 };

  constructor(private readonly inputs: KeeperInputs) {
    this.journal = inputs.checkpoint === false ? undefined : new SendJournal(`${inputs.settings.checkpointPath}.sends`);
    this.now = inputs.now ?? Date.now;
    this.perfNow = inputs.perfNow ?? (() => performance.now());
    this.skips = new SkipLog(inputs.logger, inputs.metrics.candidatesSkipped);
    const s = inputs.settings;
    this.executor = new Executor({
      publicClient: inputs.publicClient,
      walletClient: inputs.walletClient,
      market: inputs.deployment.contracts.market,
      logger: inputs.logger.child({ part: "executor" }),
      metrics: inputs.metrics,
      concurrency: s.concurrency,
      preflight: s.preflight,
      feeCapWei: s.feeCapWei,
      priorityFeeWei: s.priorityFeeWei,
      profitPriorityShare: Number(s.profitPriorityPpm) / 1e6,
      replaceAfterBlocks: s.replaceAfterBlocks,
      reorgMemoryBlocks: s.maxReorgDepth,
      gasBudgetWeiPerHour: s.gasBudgetWeiPerHour,
      dryRun: inputs.dryRun ?? false,
      ...(this.journal ? { journal: this.journal } : {}),
      isStillValid: (item) => item.size <= this.sizeNow(item) && item.size > 0n,
      sizeNow: (item) => this.sizeNow(item),
      now: this.perfNow,
    });
  }

  get index(): Indexer {
    return this.indexer;
  }

  /** Resume from the checkpoint (or backfill from the deploy block), then value every account. */
  async start(): Promise<void> {
    const { deployment, settings, logger } = this.inputs;
    const indexerInputs = {
      client: this.inputs.publicClient,
      market: deployment.contracts.market,
      deployBlock: deployment.deployBlock,
      logger: logger.child({ part: "indexer" }),
      metrics: this.inputs.metrics,
      maxReorgDepth: settings.maxReorgDepth,
      ...(this.inputs.signal ? { signal: this.inputs.signal } : {}),
    };
    const saved = this.readCheckpoint();
    if (saved) {
      this.indexer = await Indexer.fromCheckpoint(indexerInputs, saved.index);
      this.status.resumed = true;
      logger.info({ block: this.indexer.head?.number, inFlight: saved.inFlight.length }, "resumed from checkpoint");
    } else {
      this.indexer = new Indexer(indexerInputs);
    }
    // What may be in flight: the checkpoint's list, and the send journal's, which is newer (it is
    // written before every broadcast; a crash after a send and before the next checkpoint is in it).
    const inFlight = new Map<number, Record<string, unknown>>((saved?.inFlight ?? []).map((j) => [Number(j.nonce), j]));
    const journalled = this.journal?.read() ?? new Map<number, Record<string, unknown>>();
    for (const [nonce, j] of journalled) inFlight.set(nonce, j);
    if (inFlight.size > 0) {
      this.executor.restore([...inFlight.values()].map(inFlightFromJson));
      logger.info({ checkpoint: saved?.inFlight.length ?? 0, journal: journalled.size }, "following transactions a previous run left in flight");
    }
    const t0 = this.perfNow();
    const events = await this.indexer.backfill();
    this.status.backfilledEvents = events;
    logger.info({ events, block: this.indexer.head?.number, ms: Math.round(this.perfNow() - t0) }, "index up to date");
    await this.executor.init?.();
    const orphans = await this.executor.adoptOrphans();
    if (orphans.length > 0) logger.warn({ nonces: orphans }, "nonces of ours pending with no record of them: cancelled");
    const v = this.indexer.head ? this.valuation(this.indexer.head.timestamp) : undefined;
    for (const [address, account] of this.indexer.state.accounts) this.track(address, account, undefined);
    this.rebuildLpIndex(v); // the liquidation-price index, once for everyone
    this.lastTickAt = this.lastHeadChangeAt = this.now();
    this.writeCheckpoint();
    await this.actOnStartState();
  }

  /**
   * What is liquidatable on the state found at start is acted on now, not at the next block (the
   * head follower's first head is this one, which onHead skips as already indexed).
   */
  private async actOnStartState(): Promise<void> {
    const head = this.indexer.head;
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
    this.blockGasLimit = b.gasLimit;
    const h: HeadWithFee = { number: head.number, hash: head.hash, parentHash: b.parentHash, timestamp: head.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n };
    this.executor.observeHead({ number: h.number, baseFeePerGas: h.baseFeePerGas, timestamp: h.timestamp });
    const v = this.valuation(h.timestamp);
    const scan = this.screen.scan(v);
    this.status.liquidatable = scan.liquidatable.length;
    this.inputs.metrics.liquidatableNow.set(scan.liquidatable.length);
    const found = scan.liquidatable.map((i) => this.slots[i]!);
    this.inputs.logger.info({ block: h.number, liquidatable: found.length }, "acting on the state found at start");
    if (found.length > 0) this.submit(this.accountsOf(found), v, h, observedAt, new Set());
  }

  /** Feed a new head. Returns when it (and any head that arrived meanwhile) is processed. */
  onHead(head: HeadWithFee): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.indexer.head && head.number <= this.indexer.head.number && head.hash === this.indexer.head.hash) {
      this.lastTickAt = this.now();
      return this.running ?? Promise.resolve();
    }
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
    try {
      const sync = await this.indexer.syncTo(head);
      // A lagging node answered an older head and our tip is still canonical: nothing is new, and a
      // plan "at" that head would be made on an index that does not describe it (and sent unsimulated).
      if (this.indexer.head && this.indexer.head.number > head.number && sync.reorgDepth === 0 && sync.events === 0) return;
      if (sync.reorgDepth > 0) await this.executor.onReorg();
      this.lastHeadChangeAt = this.now();
      metrics.headBlock.set(Number(head.number));
      this.executor.observeHead({ number: head.number, baseFeePerGas: head.baseFeePerGas, timestamp: head.timestamp });
      const v = this.valuation(head.timestamp);
      const c = sync.changes;
      for (const a of c.accounts) this.track(a, this.indexer.state.accounts.get(a), v);
      if (c.markets.size > 0 || c.global || sync.reorgDepth > 0) this.rebuildLpIndex(v);

      // 1. Fast path: the accounts this tick moved (those whose liquidation price the new prices
      // crossed, and those whose state changed), screened first: the price index over-approximates
      // accounts with several positions (at 100,000 accounts a 1.5% move crossed ~9,000 of them
      // for ~3,000 liquidatable), and the screen decides each exactly in well under a microsecond
      // unless it sits at the boundary.
      const tSynced = this.perfNow();
      const moved = new Set<number>();
      const slotOf = (a: Address) => {
        const i = this.slot.get(a);
        if (i !== undefined) moved.add(i);
      };
      for (const a of c.accounts) slotOf(a);
      for (const id of c.prices) {
        const price = v.prices.get(id);
        if (price !== undefined) for (const a of this.lpIndex.crossed(id, price)) slotOf(a as Address);
      }
      const suspects = moved.size > 0 ? this.screen.scan(v, moved).liquidatable.map((i) => this.slots[i]!) : [];
      const submitted = new Set<string>();
      if (suspects.length > 0) this.submit(this.accountsOf(suspects), v, head, observedAt, submitted);
      const tFast = this.perfNow();

      // 2. Follow our transactions up to this head: what was mined frees its accounts and its share
      // of the gas budget, so the rescan below can send what the fast path had to defer.
      await this.executor.onBlock({ number: head.number, baseFeePerGas: head.baseFeePerGas, timestamp: head.timestamp });
      const tFollowed = this.perfNow();

      // 3. Safety net: a full screened rescan.
      const scan = this.screen.scan(v);
      metrics.liquidatableNow.set(scan.liquidatable.length);
      this.status.liquidatable = scan.liquidatable.length;
      const rest = scan.liquidatable.map((i) => this.slots[i]!).filter((a) => !submitted.has(a));
      if (rest.length > 0) this.submit(this.accountsOf(rest), v, head, observedAt, submitted);

      const tRest = this.perfNow();
      if (moved.size > 0 || rest.length > 0) {
        const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
        logger.debug(
          { block: head.number, moved: moved.size, suspects: suspects.length, missed: rest.length, syncMs: ms(observedAt, tSynced), fastPathMs: ms(tSynced, tFast), followMs: ms(tFast, tFollowed), rescanMs: ms(tFollowed, tRest) },
          "tick phases",
        );
      }

      if (++this.blocksSinceLpRebuild >= 50 && c.prices.size > 0) this.rebuildLpIndex(v);
      if (++this.blocksSinceCheckpoint >= this.inputs.settings.checkpointEveryBlocks) this.writeCheckpoint();
      this.status.head = head.number;
      this.status.ticks++;
    } catch (e) {
      logger.error({ err: e, block: head.number }, "tick failed; retrying on the next head");
    } finally {
      this.status.lastTickMs = end();
      this.lastTickAt = this.now();
    }
  }

  /** Plan and submit liquidations for `accounts` at valuation `v`. */
  private submit(
    accounts: [Address, Account][],
    v: Valuation,
    head: HeadWithFee,
    observedAt: number,
    submitted: Set<string>,
  ): void {
    const s = this.inputs.settings;
    const gas = gasModelFor(s, head.baseFeePerGas);
    // Only what the executor can take now: a target in flight, a busy account or a backoff would
    // make it refuse the whole batch, and the same batch would be planned again every head.
    const candidates = findCandidates(accounts, v, gas, (account, marketId) => this.executor.admissible({ account, marketId }));
    for (const c of candidates) submitted.add(c.account);
    const policy = { minProfitUsd: s.minProfitUsd, backstopMode: s.backstopMode, maxBatch: s.maxBatch };
    const planned = planTransactions(candidates, gas, policy, (c, reason) => this.skips.skipped(c.account, reason, { market: c.marketId, rewardTokens: c.rewardTokens, profitUsd: c.profitUsd }));
    const profitWei = (items: readonly Candidate<Address>[]) => {
      const usd = items.reduce((sum, c) => sum + c.profitUsd, 0n);
      return usd > 0n ? (usd * 10n ** 18n) / s.nativeUsd : 0n;
    };
    // Sent on the engine's word, a transaction is always a liquidateBatch, and its limit is the
    // measured model (config/keeper.json `gas`, see test/plan/gasModel.test.ts): the fixed part plus
    // each item's worst case. A plan over the budget's room or the block gas limit is split.
    const gasOf = (items: readonly unknown[]) => s.gas.batchBase + s.gas.batchItem * BigInt(items.length);
    const { txs, deferred } = fitPlans(planned, {
      gasOf,
      worstCaseWei: (g, items) => this.executor.worstCaseWei(g, profitWei(items)),
      roomWei: this.executor.budgetRoomWei(),
      blockGasLimit: this.blockGasLimit,
    });
    // Deferred accounts stay open to the rest of this tick (the rescan, after receipts free room).
    for (const c of deferred) submitted.delete(c.account);
    if (deferred.length > 0) {
      this.inputs.logger.info({ deferred: deferred.length, block: head.number }, "gas budget or block gas limit reached: the rest waits for a later head");
    }
    for (const tx of txs) {
      const plan: TxPlan = {
        items: tx.items.map(toItem),
        expectedProfitWei: profitWei(tx.items),
        priceBlock: head.number,
        observedAt,
        gasLimit: tx.gas,
      };
      const r = this.executor.submit(plan);
      if (r.accepted) {
        for (const c of tx.items) this.skips.sent(c.account);
        this.status.submitted += plan.items.length;
        for (const c of tx.items) {
          this.inputs.logger.info(
            { account: c.account, market: c.marketId, size: c.size, full: c.full, rewardTokens: c.rewardTokens, block: head.number },
            c.full ? "liquidating position in full" : "liquidating partially",
          );
        }
      } else if (r.reason !== "duplicate") {
        this.inputs.logger.debug({ reason: r.reason, items: plan.items.length }, "plan not admitted");
      }
    }
  }

  /** The engine's valuation from the index, leaving out markets whose price is stale or invalid. */
  private valuation(timestamp: bigint): Valuation {
    const v = this.indexer.valuation(timestamp);
    const prices = new Map<number, bigint>();
    for (const [id, p] of v.prices) if (this.indexer.priceStatus(id, timestamp) === "ok") prices.set(id, p);
    return { ...v, prices };
  }

  /**
   * The largest slice of the item's target the engine allows at the index's head (cooldown, caps
   * and tiers included); 0n when none, or when it cannot be valued. An item is still valid only
   * while its size is at most this.
   */
  private sizeNow(item: LiquidationItem): bigint {
    const a = this.indexer.state.accounts.get(getAddress(item.account));
    if (!a) return 0n;
    const head = this.indexer.head;
    const v = this.valuation(head?.timestamp ?? BigInt(Math.floor(this.now() / 1000)));
    try {
      return maxLiquidatable(a, item.marketId, v);
    } catch {
      return 0n;
    }
  }

  private accountsOf(keys: Iterable<Address>): [Address, Account][] {
    const out: [Address, Account][] = [];
    for (const k of keys) {
      const a = this.indexer.state.accounts.get(k);
      if (a && a.positions.length > 0) out.push([k, a]);
    }
    return out;
  }

  /** Keep the screen and the liquidation-price index (valued at `v`) in step with one account. */
  private track(address: Address, account: Account | undefined, v: Valuation | undefined): void {
    let i = this.slot.get(address);
    if (!account || account.positions.length === 0) {
      if (i !== undefined) {
        this.screen.delete(i);
        this.slot.delete(address);
        this.slots[i] = undefined;
        this.free.push(i);
      }
      this.lpIndex.remove(address);
      this.skips.sent(address);
    } else {
      if (i === undefined) {
        i = this.free.pop() ?? this.slots.length;
        this.slot.set(address, i);
        this.slots[i] = address;
      }
      this.screen.set(i, account);
      if (v) {
        try {
          this.lpIndex.update(address, account, v);
        } catch {
          this.lpIndex.remove(address); // a market without a usable price: the screen covers it
        }
      }
    }
    this.status.accounts = this.slot.size;
    this.inputs.metrics.accountsTracked.set(this.slot.size);
  }

  private rebuildLpIndex(v?: Valuation): void {
    const head = this.indexer.head;
    if (!head) return;
    const val = v ?? this.valuation(head.timestamp);
    this.lpIndex.clear();
    for (const [address] of this.slot) {
      const a = this.indexer.state.accounts.get(address);
      if (!a) continue;
      try {
        this.lpIndex.update(address, a, val);
      } catch {
        // an account on a market without a usable price: left to the screen
      }
    }
    this.blocksSinceLpRebuild = 0;
  }

  /** Watchdog for /healthz: the loop ran recently and the chain head is advancing. */
  health(): { ok: boolean; details: Record<string, unknown> } {
    const now = this.now();
    const s = this.inputs.settings;
    const sinceTick = (now - this.lastTickAt) / 1000;
    const sinceHead = (now - this.lastHeadChangeAt) / 1000;
    const wallet = this.executor.walletStatus();
    const reasons: string[] = [];
    if (this.lastTickAt === 0 || sinceTick > s.stallSeconds) reasons.push("loop stalled");
    if (sinceHead > s.staleHeadSeconds) reasons.push("chain head not advancing");
    if (!wallet.ok) reasons.push("wallet has insufficient funds");
    const ok = reasons.length === 0;
    return {
      ok,
      details: {
        ...(ok ? {} : { reasons }),
        ...(wallet.ok ? {} : { walletNeededWei: wallet.neededWei.toString() }),
        head: this.status.head?.toString() ?? null,
        secondsSinceTick: Math.round(sinceTick),
        secondsSinceNewHead: Math.round(sinceHead),
        accounts: this.status.accounts,
        liquidatable: this.status.liquidatable,
        inFlight: this.executor.inFlight().length,
      },
    };
  }

  /** Stop intake, let in-flight work settle within `graceMs`, write the checkpoint. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    await this.running;
    const r = await this.executor.drain(graceMs);
    this.inputs.logger.info({ settled: r.settled, inFlight: r.inFlight.length }, "executor drained");
    this.writeCheckpoint();
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoint
  // ---------------------------------------------------------------------------------------------

  private get checkpointPath(): string | undefined {
    return this.inputs.checkpoint === false ? undefined : this.inputs.settings.checkpointPath;
  }

  private readCheckpoint(): { index: IndexerCheckpoint; inFlight: Record<string, unknown>[] } | undefined {
    const path = this.checkpointPath;
    if (!path || !existsSync(path)) return undefined;
    let file: KeeperCheckpointFile;
    try {
      file = JSON.parse(readFileSync(path, "utf8")) as KeeperCheckpointFile;
    } catch (e) {
      throw new KeeperCheckpointError(`checkpoint ${path} is not valid JSON; move it away to rebuild from the chain`, { cause: e, userError: true });
    }
    const d = this.inputs.deployment;
    if (file.version !== 1 || file.chainId !== d.chainId || getAddress(file.market) !== getAddress(d.contracts.market)) {
      this.inputs.logger.warn({ path }, "checkpoint is for another deployment; ignoring it and backfilling");
      return undefined;
    }
    return { index: file.index, inFlight: file.inFlight ?? [] };
  }

  writeCheckpoint(): void {
    const path = this.checkpointPath;
    if (!path || !this.indexer?.head) return;
    mkdirSync(dirname(path), { recursive: true });
    const file: KeeperCheckpointFile = {
      version: 1,
      chainId: this.inputs.deployment.chainId,
      market: this.inputs.deployment.contracts.market,
      index: this.indexer.checkpoint(),
      inFlight: this.executor.inFlight().map((t) => JSON.parse(stringifyWithBigints(t, 0)) as Record<string, unknown>),
      writtenAt: new Date(this.now()).toISOString(),
    };
    writeFileAtomic(path, stringifyWithBigints(file));
    // The checkpoint now holds what is in flight: the journal shrinks to the same list.
    this.journal?.rewrite(new Map(file.inFlight.map((j) => [Number(j.nonce), j])));
    this.blocksSinceCheckpoint = 0;
  }
}

/** The index's keys are checksummed once, when their events are decoded: no getAddress per send. */
function toItem(c: Candidate<Address>): LiquidationItem {
  return { account: c.account, marketId: c.marketId, size: c.size, expectedRewardTokens: c.rewardTokens };
}

/** InFlightTx from its checkpoint JSON (bigints were written as decimal strings). */
export function inFlightFromJson(j: Record<string, unknown>): InFlightTx {
  const big = (x: unknown) => BigInt(String(x));
  const items = (j.items as Record<string, unknown>[]).map((i) => ({
    account: getAddress(String(i.account)),
    marketId: Number(i.marketId),
    size: big(i.size),
    expectedRewardTokens: big(i.expectedRewardTokens),
  }));
  const tx: InFlightTx = {
    hash: j.hash as Hex,
    nonce: Number(j.nonce),
    items,
    sentAtBlock: big(j.sentAtBlock),
    maxFeePerGas: big(j.maxFeePerGas),
    maxPriorityFeePerGas: big(j.maxPriorityFeePerGas),
    replacements: Number(j.replacements),
  };
  if (j.gas !== undefined) tx.gas = big(j.gas);
  if (Array.isArray(j.previousHashes)) tx.previousHashes = j.previousHashes as Hex[];
  if (j.functionName === "liquidate" || j.functionName === "liquidateBatch") tx.functionName = j.functionName;
  if (j.expectedProfitWei !== undefined) tx.expectedProfitWei = big(j.expectedProfitWei);
  return tx;
}
