import { getAddress, type Address, type Hex, type PublicClient } from "viem";
import type { BlockRefHead } from "../chain/heads.ts";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { blockRefToJson, parseCheckpoint, type BlockRef, type IndexerCheckpoint } from "./checkpoint.ts";
import { mapConcurrent } from "../lib/mapConcurrent.ts";
import { CheckpointMismatchError, IndexerBusyError, ReorgTooDeepError } from "./errors.ts";
import { LogSource } from "./logSource.ts";
import { seedSources, type Seed } from "./seeds.ts";
import { ChainMovedError, IndexRpc, type RetryPolicy } from "./rpc.ts";
import { compareLogs, RollbackTooDeepError, type IndexChanges, type IndexSource, type LogPosition, type ReducerState } from "./source.ts";

/**
 * The indexer: keeps a protocol's state (its {@link ReducerState}) in step with the chain, from
 * events only. Everything protocol-specific (which logs, how to decode them, the reducer, what a
 * price source needs) comes from the protocol's {@link IndexSource}; the indexer knows no ABI.
 *
 * Two ways of reading, by depth:
 * - Blocks more than `maxReorgDepth` below the target are read in ranges (adaptive eth_getLogs
 *   chunks, {@link LogSource}) and treated as final: no header per block, only for blocks whose
 *   events need a timestamp (the source's `needsTimestamp`), whose hash is then checked against
 *   the logs'.
 * - The last `maxReorgDepth` blocks are read block by block: headers linked by parent hash down to
 *   a block whose hash the indexer recorded, and logs pinned to each block's hash (EIP-234), so a
 *   log is applied only with the block it belongs to. If the new chain does not link to what was
 *   recorded, the indexer walks back (headers by hash) to the common ancestor, rolls the state back
 *   there with its undo journal and applies the new blocks (a reorg).
 *
 * Price sources: a log can point a market at a source (a price feed) the state does not track yet
 * (the source's `newSourceOf`). At that block the indexer has the source's seed read
 * (`readSeed`, eth_calls pinned to the block hash: a feed's decimals and latest round), which seeds
 * its price exactly as of that block, then reads the source's logs from that block on: for the
 * rest of the current range/block with one extra eth_getLogs, and in every later request through
 * the address list. Reading the source's logs from the deploy block instead would not be enough: a
 * feed usually exists, with its last answer, before the market points at it.
 *
 * Failures: logs are applied only after everything a block or range needs has been fetched, and
 * a failure half-way is undone with the journal, so the state is always as of a whole block. The
 * chain moving under a read (a header that does not link, a log of another fork, a block the
 * node no longer knows) is retried from the same height; a reorg deeper than the journal
 * rebuilds the index from the deploy block.
 */

export type IndexerInputs<S extends ReducerState<L>, L extends LogPosition> = {
  client: PublicClient;
  /** The protocol's logs, decoder and reducer. */
  source: IndexSource<S, L>;
  /** The first block that can hold the protocol's events (its deployment). */
  deployBlock: bigint;
  logger: Logger;
  metrics: Metrics;
  /** Blocks of reorg the indexer can undo. Default 64. */
  maxReorgDepth?: number;
  /** First eth_getLogs range, in blocks. Default 2,000. */
  chunkSize?: number;
  /** Logs one eth_getLogs answer should hold at most (ranges are sized for it). Default 10,000. */
  targetLogs?: number;
  /** Largest eth_getLogs range. Default max(10,000, chunkSize). */
  maxChunkSize?: number;
  retry?: Partial<RetryPolicy>;
  /** Requests in flight at once for headers and per-block logs. Default 8. */
  concurrency?: number;
  /** Shutdown: requests stop, and retries end their backoff at once (see IndexRpc). */
  signal?: AbortSignal;
};


export { CheckpointMismatchError, IndexerBusyError, ReorgTooDeepError } from "./errors.ts";

export type SyncResult = {
  /** Events applied. */
  events: number;
  /** Blocks rolled back (0: no reorg). */
  reorgDepth: number;
  /** What changed, rolled-back entries included. */
  changes: IndexChanges;
};

const MAX_ATTEMPTS = 4;
const PROGRESS_EVERY_MS = 5_000;

export class Indexer<S extends ReducerState<L>, L extends LogPosition> {
  private readonly inputs: IndexerInputs<S, L>;
  private readonly source: IndexSource<S, L>;
  /** The protocol's first contract: names the checkpoint. */
  private readonly market: Address;
  private readonly deployBlock: bigint;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly maxReorgDepth: number;
  private readonly concurrency: number;
  private readonly rpc: IndexRpc;
  private readonly logs: LogSource<L>;
  private _state: S;
  /** Recorded canonical blocks, number → header, from the state's floor up to the cursor. */
  private recent = new Map<bigint, BlockRef>();
  /** The last block fully applied (the state's block whenever no sync runs). */
  private done: bigint;
  /** Events applied and blocks rolled back since construction (for per-call reports). */
  private applied = 0;
  private rolledBack = 0;
  private running: Promise<unknown> | undefined;

  constructor(inputs: IndexerInputs<S, L>) {
    this.inputs = inputs;
    this.source = inputs.source;
    const first = inputs.source.contracts[0];
    if (first === undefined) throw new BaseError("a protocol's index source names no contract");
    this.market = getAddress(first);
    this.deployBlock = inputs.deployBlock;
    this.logger = inputs.logger.child({ component: "indexer" });
    this.metrics = inputs.metrics;
    this.maxReorgDepth = inputs.maxReorgDepth ?? 64;
    this.concurrency = inputs.concurrency ?? 8;
    this.rpc = new IndexRpc({ client: inputs.client, metrics: inputs.metrics, logger: this.logger, retry: inputs.retry, signal: inputs.signal });
    this.logs = new LogSource<L>({
      rpc: this.rpc,
      topics: inputs.source.topics,
      decode: (raw) => inputs.source.decode(raw),
      logger: this.logger,
      chunkSize: inputs.chunkSize,
      targetLogs: inputs.targetLogs,
      maxChunkSize: inputs.maxChunkSize,
    });
    this._state = this.source.createState(this.deployBlock, this.maxReorgDepth);
    this.done = this._state.block;
  }

  // --- Reading ---

  /** The protocol's state as of {@link head}. Read it; only the indexer applies logs to it. */
  get state(): S {
    return this._state;
  }

  /** The last block indexed; undefined before the first sync. */
  get head(): BlockRef | undefined {
    return this.recent.get(this.done);
  }

  /** The current eth_getLogs chunk size (adaptive). */
  get chunkSize(): number {
    return this.logs.chunkSize;
  }

  // --- Syncing ---

  /**
   * Index from the cursor (the deploy block at first) to `toBlock` (default: latest). Returns the
   * number of events applied. The change report is cleared: after a backfill, scan everything.
   */
  backfill(toBlock?: bigint): Promise<number> {
    return this.exclusive(async () => {
      const target = toBlock === undefined ? await this.rpc.latestHeader() : await this.rpc.headerByNumber(toBlock);
      if (!target) throw new BaseError(`block ${toBlock} does not exist yet`);
      if (target.number <= this.done && this.head) return 0;
      const started = performance.now();
      const from = this.done + 1n;
      const { events } = await this.catchUp(target);
      this._state.takeChanges();
      const seconds = (performance.now() - started) / 1000;
      this.logger.info({
        msg: "backfill done",
        fromBlock: from,
        toBlock: target.number,
        events,
        seconds: Number(seconds.toFixed(3)),
        eventsPerSecond: Math.round(events / Math.max(seconds, 1e-3)),
        accounts: this._state.accounts.size,
        markets: this._state.markets.size,
      });
      return events;
    });
  }

  /**
   * Bring the index to `head` (call it for every new head). Reorg-safe: if `head` does not descend
   * from the blocks indexed, the state is rolled back to the common ancestor first. A head at or
   * below the cursor that is still canonical is a no-op.
   */
  syncTo(head: BlockRefHead): Promise<SyncResult> {
    return this.exclusive(async () => {
      const { events, reorgDepth } = await this.catchUp(head);
      return { events, reorgDepth, changes: this._state.takeChanges() };
    });
  }

  /** Serialise calls: a sync never overlaps another. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    const run = fn();
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = undefined;
    }
  }

  private async catchUp(target: BlockRefHead): Promise<{ events: number; reorgDepth: number }> {
    if (target.number < this.deployBlock) {
      throw new BaseError(`block ${target.number} is below the market's deploy block ${this.deployBlock}`, { userError: true });
    }
    let head = target;
    const applied = this.applied;
    const rolledBack = this.rolledBack;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.catchUpOnce(head);
        this.metrics.headBlock.set(Number(this.done));
        this.metrics.accountsTracked.set(this._state.accounts.size);
        return { events: this.applied - applied, reorgDepth: this.rolledBack - rolledBack };
      } catch (e) {
        this.recover();
        if (attempt >= MAX_ATTEMPTS) throw e;
        if (e instanceof ChainMovedError) {
          // Same height on the chain as it is now (or the new tip, if the chain got shorter).
          this.logger.warn({ msg: "chain moved while reading, retrying", attempt, err: e });
          head = (await this.rpc.headerByNumber(target.number)) ?? (await this.rpc.latestHeader());
        } else if (e instanceof ReorgTooDeepError || e instanceof RollbackTooDeepError) {
          this.logger.error({ msg: "reorg deeper than the undo journal: rebuilding the index", attempt, err: e });
          this.metrics.reorgs.inc();
          this.rolledBack += Number(this.done - this.deployBlock + 1n);
          this.reset();
        } else {
          throw e;
        }
      }
    }
  }

  /** After a failure, drop any half-applied block or range: back to the last complete block. */
  private recover(): void {
    for (const n of this.recent.keys()) if (n > this.done) this.recent.delete(n);
    if (this._state.block === this.done) return;
    try {
      this._state.rollbackTo(this.done);
    } catch {
      this.reset();
    }
  }

  private reset(): void {
    this._state = this.source.createState(this.deployBlock, this.maxReorgDepth);
    this.recent.clear();
    this.done = this._state.block;
  }

  private async catchUpOnce(head: BlockRefHead): Promise<void> {
    const tip = this.head;
    if (tip && head.hash === tip.hash) return; // the same head again
    if (tip && head.number < tip.number && this.recent.get(head.number)?.hash === head.hash) {
      // An older head: nothing to do if our tip is still canonical.
      const now = await this.rpc.headerByNumber(tip.number);
      if (now?.hash === tip.hash) return;
    }
    const window = BigInt(this.maxReorgDepth);
    if (head.number - this.done > window) {
      // Far behind: the part older than the window is read in ranges, after checking the cursor.
      await this.checkTip();
      await this.rangeSync(this.done + 1n, head.number - window);
    }
    await this.blockSync(head);
  }

  /** Roll back to the common ancestor if the cursor is no longer canonical (checked by number). */
  private async checkTip(): Promise<void> {
    const tip = this.head;
    if (!tip) return;
    const now = await this.rpc.headerByNumber(tip.number);
    if (now?.hash === tip.hash) return;
    for (let n = tip.number - 1n; n >= this._state.floor && n >= this.deployBlock - 1n; n--) {
      const stored = this.recent.get(n);
      if (n >= this.deployBlock && !stored) continue;
      const h = n >= this.deployBlock ? await this.rpc.headerByNumber(n) : undefined;
      if (n < this.deployBlock || h?.hash === stored?.hash) return this.rollback(n);
    }
    throw new ReorgTooDeepError(`block ${tip.number} (${tip.hash}) is no longer canonical and no recorded block is`);
  }

  /** Undo the blocks above `ancestor` after a reorg. */
  private rollback(ancestor: bigint): void {
    const depth = Number(this.done - ancestor);
    this.rolledBack += depth;
    const from = this.head;
    this._state.rollbackTo(ancestor);
    for (const n of this.recent.keys()) if (n > ancestor) this.recent.delete(n);
    this.done = ancestor;
    this.metrics.reorgs.inc();
    this.logger.warn({ msg: "reorg: rolled back to the common ancestor", depth, ancestor, from: from?.number, fromHash: from?.hash });
  }

  // --- Ranges (older than the reorg window) ---

  private async rangeSync(fromBlock: bigint, toBlock: bigint): Promise<void> {
    const applied = this.applied;
    const started = performance.now();
    let lastReport = started;
    for await (const chunk of this.logs.range(fromBlock, toBlock, () => this.addresses())) {
      await this.applyRange(chunk.fromBlock, chunk.toBlock, chunk.addresses, chunk.logs);
      this._state.advanceTo(chunk.toBlock);
      this.done = chunk.toBlock;
      for (const n of this.recent.keys()) if (n < this._state.floor) this.recent.delete(n);
      const now = performance.now();
      if (now - lastReport >= PROGRESS_EVERY_MS) {
        lastReport = now;
        const seconds = (now - started) / 1000;
        const events = this.applied - applied;
        this.logger.info({
          msg: "backfill progress",
          block: chunk.toBlock,
          toBlock,
          events,
          eventsPerSecond: Math.round(events / seconds),
          blocksPerSecond: Math.round(Number(chunk.toBlock - fromBlock + 1n) / seconds),
          chunkSize: this.logs.chunkSize,
        });
      }
    }
    // Record the end block so the block-by-block part links to it.
    const end = await this.rpc.headerByNumber(toBlock);
    if (!end) throw new ChainMovedError(`block ${toBlock} vanished`);
    this.recent.set(end.number, end);
  }

  private async applyRange(fromBlock: bigint, toBlock: bigint, queried: readonly Address[], logs: L[]): Promise<void> {
    const seeded = await this.seedNewFeeds(logs, queried, (from, addresses) => this.logs.getRange(from, toBlock, addresses));
    const seeds = seeded.seeds;
    logs = seeded.logs;
    // One hash per block, and the timestamps the events need, from headers checked against it.
    const hashes = new Map<bigint, Hex>();
    const needTime = new Set<bigint>();
    for (const log of logs) {
      const h = hashes.get(log.blockNumber);
      if (h !== undefined && h !== log.blockHash) throw new ChainMovedError(`logs of block ${log.blockNumber} come from two forks`);
      hashes.set(log.blockNumber, log.blockHash);
      if (this.source.needsTimestamp(log)) needTime.add(log.blockNumber);
    }
    const headers = await mapConcurrent([...needTime], this.concurrency, (n) => this.rpc.headerByNumber(n));
    const times = new Map<bigint, bigint>();
    for (const h of headers) {
      if (!h || h.hash !== hashes.get(h.number)) throw new ChainMovedError(`block ${h?.number} changed while its logs were read`);
      times.set(h.number, h.timestamp);
    }
    this.applyLogs(logs, (n) => times.get(n), seeds);
    this.logger.debug({ msg: "range indexed", fromBlock, toBlock, events: logs.length });
  }

  // --- Block by block (the reorg window) ---

  private async blockSync(head: BlockRefHead): Promise<void> {
    // New headers: the gap between the cursor and the head, by number, checked by parent hash.
    let fresh: BlockRefHead[] = [];
    if (this.recent.get(head.number)?.hash !== head.hash) {
      const gap: bigint[] = [];
      for (let n = this.done + 1n; n < head.number; n++) gap.push(n);
      const headers = await mapConcurrent(gap, this.concurrency, (n) => this.rpc.headerByNumber(n));
      fresh = [...headers.map((h, i) => h ?? missing(gap[i]!)), head];
      for (let i = 1; i < fresh.length; i++) {
        if (fresh[i]!.parentHash !== fresh[i - 1]!.hash) throw new ChainMovedError(`block ${fresh[i]!.number} does not link to its parent`);
      }
    }
    // Walk down by parent hash to a block we recorded: the common ancestor.
    let ancestor = head.number;
    if (fresh.length > 0) {
      for (;;) {
        const low = fresh[0]!;
        const n = low.number - 1n;
        if (n < this.deployBlock || this.recent.get(n)?.hash === low.parentHash) {
          ancestor = n;
          break;
        }
        if (n > this.done) throw new ChainMovedError(`block ${n} appeared below the head`);
        if (!this.recent.has(n)) throw new ReorgTooDeepError(`no recorded block links to block ${low.number} (${low.hash})`);
        const parent = await this.rpc.headerByHash(low.parentHash);
        if (!parent) throw new ChainMovedError(`block ${low.parentHash} vanished`);
        fresh.unshift(parent);
      }
    }
    if (ancestor < this.done) this.rollback(ancestor);

    // Logs pinned to each block's hash, fetched ahead (none asked where the bloom rules them out); the blocks applied in order.
    const addresses = this.addresses();
    const fetched = await mapConcurrent(fresh, this.concurrency, (h) => this.logs.getBlockOf(h, addresses));
    for (const [i, block] of fresh.entries()) await this.applyBlock(block, addresses, fetched[i]!);
  }

  private async applyBlock(block: BlockRefHead, queried: readonly Address[], logs: L[]): Promise<void> {
    for (const log of logs) {
      if (log.blockHash !== block.hash || log.blockNumber !== block.number) {
        throw new ChainMovedError(`a log of block ${block.number} carries block ${log.blockNumber} ${log.blockHash}`);
      }
    }
    // Sources found since the prefetch (earlier blocks of this sync) are read now, and those this
    // block introduces from their introducing log on.
    const missingSources = [...new Set(this._state.sourceAddresses())].filter((f) => !queried.includes(f));
    if (missingSources.length > 0) logs = [...logs, ...(await this.logs.getBlock(block.hash, missingSources))].sort(compareLogs);
    const seeded = await this.seedNewFeeds(logs, [...queried, ...missingSources], (_from, addresses) => this.logs.getBlock(block.hash, addresses));
    const seeds = seeded.seeds;
    logs = seeded.logs;
    this.applyLogs(logs, () => block.timestamp, seeds);
    this._state.advanceTo(block.number);
    this.done = block.number;
    this.recent.set(block.number, { number: block.number, hash: block.hash, timestamp: block.timestamp });
    for (const n of this.recent.keys()) if (n < this._state.floor) this.recent.delete(n);
  }

  // --- Shared ---

  /** The protocol's contracts and every price source its state tracks. */
  private addresses(): Address[] {
    return [...this.source.contracts, ...this._state.sourceAddresses()];
  }

  /** Apply logs synchronously: a failure half-way is undone by recover() with the journal. */
  private applyLogs(logs: L[], timestampOf: (block: bigint) => bigint | undefined, seeds: Map<Address, Seed<L>>): void {
    for (const log of logs) {
      const introduced = new Map<Address, unknown>();
      for (const src of this.source.newSourcesOf(this._state, log)) introduced.set(src, seeds.get(src)?.seed);
      this._state.apply(log, this.source.needsTimestamp(log) ? timestampOf(log.blockNumber) : undefined, introduced);
      this.applied++;
    }
  }

  /**
   * Read what the reducer needs of every source `logs` introduce, and add the logs of the addresses
   * that come with them that `queried` did not cover, read by `fetch` (see seeds.ts).
   */
  private seedNewFeeds(
    logs: L[],
    queried: readonly Address[],
    fetch: (fromBlock: bigint, addresses: Address[]) => Promise<L[]>,
  ): Promise<{ logs: L[]; seeds: Map<Address, Seed<L>> }> {
    const callAt = (to: Address, data: Hex, blockHash: Hex) => this.rpc.callAt(to, data, blockHash);
    return seedSources({ source: this.source, state: this._state, logs, queried, fetch, callAt, concurrency: this.concurrency, logger: this.logger });
  }

  // --- Checkpoints ---

  /** A JSON-safe snapshot to resume from (see {@link Indexer.fromCheckpoint}). */
  checkpoint(): IndexerCheckpoint {
    if (this.running) throw new IndexerBusyError();
    const head = this.head;
    if (!head && this.done >= this.deployBlock) throw new BaseError("the cursor block has no recorded hash");
    return {
      version: 1,
      market: this.market,
      deployBlock: this.deployBlock.toString(),
      cursor: head ? blockRefToJson(head) : null,
      recentBlocks: [...this.recent.values()].sort((a, b) => (a.number < b.number ? -1 : 1)).map(blockRefToJson),
      state: this._state.toJSON(),
    };
  }

  /**
   * An indexer resumed from `checkpoint`. Its cursor is checked against the chain: if that block
   * was reorganised away meanwhile, the state is rolled back to the common ancestor (found with
   * the recorded hashes), or rebuilt from the deploy block when the reorg is deeper than the
   * journal. Then `backfill()` or `syncTo()` continue from there. `checkpoint` is what
   * {@link checkpoint} returned, typically read back from JSON: it is validated here.
   */
  static async fromCheckpoint<S extends ReducerState<L>, L extends LogPosition>(inputs: IndexerInputs<S, L>, checkpoint: unknown): Promise<Indexer<S, L>> {
    const ix = new Indexer(inputs);
    await ix.resume(checkpoint);
    return ix;
  }

  /** Resume this (fresh) indexer from `checkpoint`: see {@link fromCheckpoint}. */
  async resume(checkpoint: unknown): Promise<void> {
    if (this.head || this.running) throw new BaseError("resume() needs a fresh indexer");
    const cp = parseCheckpoint(checkpoint);
    if (cp.market !== this.market) throw new CheckpointMismatchError(`market (${cp.market})`);
    if (cp.deployBlock !== this.deployBlock) throw new CheckpointMismatchError(`deploy block (${cp.deployBlock})`);
    const ix = this;
    const state = this.source.stateFromJSON(cp.state, ix.maxReorgDepth);
    if (cp.cursor ? cp.cursor.number !== state.block : state.block >= ix.deployBlock) {
      throw new CheckpointMismatchError(`cursor (the state is at block ${state.block})`);
    }
    ix._state = state;
    ix.done = state.block;
    for (const b of cp.recentBlocks) if (b.number >= state.floor && b.number <= state.block) ix.recent.set(b.number, b);
    if (cp.cursor) ix.recent.set(cp.cursor.number, cp.cursor);
    await ix.exclusive(async () => {
      try {
        await ix.checkTip();
      } catch (e) {
        if (!(e instanceof ReorgTooDeepError || e instanceof RollbackTooDeepError)) throw e;
        ix.logger.error({ msg: "checkpoint is on a dropped fork deeper than its journal: rebuilding", err: e });
        ix.reset();
      }
    });
    ix.logger.info({ msg: "resumed from checkpoint", block: ix.done, accounts: state.accounts.size });
  }
}

function missing(n: bigint): never {
  throw new ChainMovedError(`block ${n} vanished`);
}
