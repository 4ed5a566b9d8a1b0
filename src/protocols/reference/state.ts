import { getAddress, type Address } from "viem";
import { answerToWad } from "../../chain/chainlink.ts";
import type { Account, GlobalLiquidationParams, MarketState } from "../../engine/index.ts";
import { RollbackTooDeepError, type IndexChanges, type ReducerState } from "../../index/source.ts";
import { BaseError } from "../../lib/errors.ts";
import { AccountStore } from "./accountStore.ts";
import type { IndexLog } from "./events.ts";
import { emitterOf, type FeedRound, type FeedSnapshot } from "./feeds.ts";
import { indexMarkOf, type MarketMark } from "./mark.ts";
import { NO_FUNDS, reduce, type TableWriter } from "./reduce.ts";
import { decodeStateJson, encodeStateJson, type IndexStateJson } from "./stateJson.ts";

/**
 * The keeper's view of the market, rebuilt only from events: a pure reducer. No RPC, no clock:
 * block timestamps and a new feed's decimals and latest round are arguments.
 *
 * Undo journal: the first time an entry (a market, an account, a feed, …) changes in a block, its
 * previous value is recorded; `rollbackTo(n)` replays the records of blocks above n backwards and
 * restores the state as of the end of block n, exactly. Values are never mutated in place (every
 * change stores a new object), so a record is just a reference; an account, held compactly
 * (accountStore.ts), is recorded as the snapshot its store hands out. `advanceTo(n)` marks block n
 * complete and forgets the records of blocks more than `maxReorgDepth` below it.
 *
 * Addresses (map keys and fields) are checksummed, as viem decodes them; lookups normalise.
 */

export type { FeedProxy, FeedRound, FeedSnapshot } from "./feeds.ts";

/**
 * A market as indexed: the engine's rules, and its price index. `feeds` lists every feed of the
 * market's index mark price (1 to 7, docs/reference-market.md "Index mark price"); `feed` and
 * `feedDecimals` are the first.
 */
export type IndexedMarket = MarketState & {
  feed: Address;
  feedDecimals: number;
  maxStaleness: bigint;
  feeds: readonly Address[];
  minSources: number;
  maxDeviationPpm: bigint;
};

/** The market's insurance fund and recorded bad debt (WAD), and who may call deleverage(). */
export type Funds = { insuranceFund: bigint; badDebt: bigint; adlOperator: Address };

/** A market's latest feed answer and its WAD price (answer × 10^(18 − decimals)). */
export type IndexedPrice = FeedRound & { price: bigint };

export type Tables = {
  markets: Map<number, IndexedMarket>;
  /** Map-like, held in typed arrays: see {@link AccountStore}. */
  accounts: AccountStore;
  feeds: Map<Address, FeedSnapshot>;
  /**
   * Last partial liquidation of accounts that emptied: the contract keeps the stamp for good, and an
   * account that comes back inherits it. A live account carries its stamp itself, so each stamp is
   * held once.
   */
  partials: Map<Address, bigint>;
  global: Map<"global", GlobalLiquidationParams>;
  funds: Map<"funds", Funds>;
};
export type TableName = keyof Tables;
type KeyOf<T extends TableName> = Tables[T] extends ReadonlyMap<infer K, unknown> ? K : never;
type ValueOf<T extends TableName> = Tables[T] extends ReadonlyMap<unknown, infer V> ? V : never;
/** What the journal needs of a table: a Map, or the account store. */
type Table<K, V> = ReadonlyMap<K, V> & { set(key: K, value: V): unknown; delete(key: K): boolean };

/** One undo record: the entry's value before its first change in the block (undefined: absent). */
export type Undo = { [T in TableName]: { table: T; key: KeyOf<T>; prev: ValueOf<T> | undefined } }[TableName];
export type JournalBlock = { block: bigint; undo: Undo[] };

export class IndexStateError extends BaseError {
  override name = "IndexStateError";
}

/** A log needs a block timestamp (MarketAdded, partial Liquidated) and none was given. */
export class MissingTimestampError extends IndexStateError {
  override name = "MissingTimestampError";
  constructor(log: IndexLog) {
    super(`${log.eventName} at block ${log.blockNumber} needs the block timestamp`);
  }
}

/** A market points at a feed the state does not track yet and no snapshot was given. */
export class UnknownFeedError extends IndexStateError {
  override name = "UnknownFeedError";
  constructor(
    readonly feed: Address,
    log: IndexLog,
  ) {
    super(`${log.eventName} at block ${log.blockNumber} uses feed ${feed}, whose decimals are unknown`);
  }
}

/** The indexed accounts as the book and the engine read them: a map, and live views for the screen. */
export type IndexedAccounts = ReadonlyMap<Address, Account> & Pick<AccountStore, "live">;

/** The read side of an IndexState: what the indexer hands out (the reducer stays its own). */
export type IndexStateView = Pick<
  IndexState,
  "block" | "floor" | "markets" | "accounts" | "global" | "funds" | "feeds" | "account" | "lastPartialAt" | "price" | "prices" | "mark" | "feedAddresses" | "sourceAddresses" | "toJSON"
>;

export type IndexStateInputs = {
  /** The first block that may hold index events (the market's deploy block). */
  startBlock: bigint;
  /** Blocks of undo journal kept. Default 64. */
  maxReorgDepth?: number;
};

const emptyChanges = (): IndexChanges => ({ accounts: new Set(), markets: new Set(), prices: new Set(), global: false });

export class IndexState implements ReducerState<IndexLog> {
  readonly maxReorgDepth: number;
  private readonly t: Tables = {
    markets: new Map(),
    accounts: new AccountStore(),
    feeds: new Map(),
    partials: new Map(),
    global: new Map(),
    funds: new Map(),
  };
  /** The block the state is at: every log up to it is applied (all of it when `complete`). */
  private _block: bigint;
  private complete = true;
  private lastLogIndex = Number.POSITIVE_INFINITY;
  /** The lowest block `rollbackTo` accepts. */
  private _floor: bigint;
  private journal: JournalBlock[] = [];
  /** `${table}:${key}` of entries already recorded in the journal for the current block. */
  private touched = new Set<string>();
  private changes = emptyChanges();

  constructor(inputs: IndexStateInputs) {
    this.maxReorgDepth = inputs.maxReorgDepth ?? 64;
    if (!Number.isInteger(this.maxReorgDepth) || this.maxReorgDepth < 1) {
      throw new IndexStateError(`maxReorgDepth must be a positive integer, got ${this.maxReorgDepth}`);
    }
    this._block = inputs.startBlock - 1n;
    this._floor = this._block;
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  /** The last block applied. */
  get block(): bigint {
    return this._block;
  }

  /** The lowest block the state can be rolled back to. */
  get floor(): bigint {
    return this._floor;
  }

  get markets(): ReadonlyMap<number, IndexedMarket> {
    return this.t.markets;
  }

  /**
   * Accounts with an open position or non-zero collateral. Each read materialises a snapshot of the
   * compact store; `live(address)` hands out a view that reads through instead.
   */
  get accounts(): IndexedAccounts {
    return this.t.accounts;
  }

  get global(): GlobalLiquidationParams | undefined {
    return this.t.global.get("global");
  }

  /** The insurance fund, bad debt and ADL operator (zeroes before the first event that sets them). */
  get funds(): Funds {
    return this.t.funds.get("funds") ?? NO_FUNDS;
  }

  /** Every feed (a proxy, or a feed that emits its own prices) a market has pointed at since it was first seen, with its latest round. */
  get feeds(): ReadonlyMap<Address, FeedSnapshot> {
    return this.t.feeds;
  }

  account(address: Address): Account | undefined {
    return this.t.accounts.get(getAddress(address));
  }

  /** The contract's `lastPartialAt(account)`: 0 if never partially liquidated. */
  lastPartialAt(address: Address): bigint {
    const a = getAddress(address);
    return this.t.accounts.get(a)?.lastPartialAt ?? this.t.partials.get(a) ?? 0n;
  }

  /**
   * The market's index mark at `now` as the contract computes it (the median of its fresh feeds,
   * src/engine/indexPrice.ts), or why there is none.
   */
  mark(marketId: number, now: bigint): MarketMark | undefined {
    const m = this.t.markets.get(marketId);
    if (!m) return undefined;
    const answers = m.feeds.map((f) => {
      const snap = this.t.feeds.get(f);
      return { decimals: snap?.decimals ?? 0, round: snap?.round };
    });
    return indexMarkOf(answers, now, m);
  }

  /** The latest answer of a market's first feed and its WAD price; undefined before its first round. */
  price(marketId: number): IndexedPrice | undefined {
    const m = this.t.markets.get(marketId);
    const round = m && this.t.feeds.get(m.feed)?.round;
    if (!m || !round) return undefined;
    return { ...round, price: answerToWad(round.answer, m.feedDecimals) };
  }

  /** Every market's latest answer and WAD price. */
  get prices(): ReadonlyMap<number, IndexedPrice> {
    const out = new Map<number, IndexedPrice>();
    for (const id of this.t.markets.keys()) {
      const p = this.price(id);
      if (p) out.set(id, p);
    }
    return out;
  }

  /** The feeds to read logs from. */
  feedAddresses(): Address[] {
    return [...this.t.feeds.keys()];
  }

  /** The price sources whose logs the state needs: its feeds, and the current aggregator of each proxy. */
  sourceAddresses(): Address[] {
    const out = new Set<Address>();
    for (const [feed, f] of this.t.feeds) out.add(feed).add(emitterOf(feed, f));
    return [...out];
  }

  /** Whether some feed's prices come from `emitter` (a feed itself, or a proxy's current aggregator). */
  private follows(emitter: Address): boolean {
    for (const [feed, f] of this.t.feeds) if (emitterOf(feed, f) === emitter) return true;
    return false;
  }

  /** What changed since the last call; resets the report. */
  takeChanges(): IndexChanges {
    const out = this.changes;
    this.changes = emptyChanges();
    return out;
  }

  /** Whether applying `log` needs its block's timestamp. */
  static needsTimestamp(log: IndexLog): boolean {
    return log.eventName === "MarketAdded" || (log.eventName === "Liquidated" && !log.args.full);
  }

  /**
   * The feeds `log` points a market at that the state does not track yet; or the aggregator a proxy
   * confirms, if no feed follows it yet (whether the proxy is tracked is not asked: a range can
   * introduce the proxy and its switch together, and an untracked proxy's switch is ignored).
   */
  newFeedsOf(log: IndexLog): Address[] {
    if (log.eventName === "AggregatorConfirmed") return this.follows(log.args.latest) ? [] : [log.args.latest];
    const named =
      log.eventName === "MarketParamsUpdated" || log.eventName === "MarketAdded"
        ? [log.args.params.feed]
        : log.eventName === "IndexFeedsUpdated"
          ? log.args.feeds
          : [];
    return named.filter((f) => !this.t.feeds.has(f));
  }

  // -------------------------------------------------------------------------------------------
  // Applying
  // -------------------------------------------------------------------------------------------

  /**
   * Apply one log. Logs must come in (blockNumber, logIndex) order. `blockTimestamp` is needed by
   * MarketAdded and partial Liquidated events; `feeds` by the log that first points a market at a
   * feed (each new feed's snapshot), and by a tracked proxy's switch to an aggregator no feed
   * follows (see {@link newFeedsOf}): the feed read through the proxy at that block.
   */
  apply(log: IndexLog, blockTimestamp?: bigint, feeds?: ReadonlyMap<Address, unknown>): void {
    if (log.blockNumber < this._block || (log.blockNumber === this._block && log.logIndex <= this.lastLogIndex)) {
      throw new IndexStateError(
        `log ${log.blockNumber}/${log.logIndex} is not after the state's position ${this._block}/${this.complete ? "end" : this.lastLogIndex}`,
      );
    }
    if (IndexState.needsTimestamp(log) && blockTimestamp === undefined) throw new MissingTimestampError(log);
    const seeds = new Map<Address, FeedSnapshot>();
    for (const f of this.newFeedsOf(log)) {
      const snap = feeds?.get(f) as FeedSnapshot | undefined;
      if (snap) seeds.set(f, snap);
      else if (log.eventName !== "AggregatorConfirmed" || this.t.feeds.has(log.address)) throw new UnknownFeedError(f, log);
    }
    // Nothing below throws: a log is applied entirely or not at all.
    if (log.blockNumber > this._block) this.enter(log.blockNumber);
    this.complete = false;
    this.lastLogIndex = log.logIndex;
    reduce(this.writer, log, blockTimestamp ?? 0n, seeds);
  }

  /** Mark every block up to `block` complete, and drop journal records beyond `maxReorgDepth`. */
  advanceTo(block: bigint): void {
    if (block < this._block) throw new IndexStateError(`cannot advance to ${block}: the state is at ${this._block}`);
    if (block > this._block) this.enter(block);
    this.complete = true;
    this.lastLogIndex = Number.POSITIVE_INFINITY;
    const floor = block - BigInt(this.maxReorgDepth);
    if (floor > this._floor) {
      this._floor = floor;
      const keep = this.journal.findIndex((j) => j.block > floor);
      this.journal = keep === -1 ? [] : this.journal.slice(keep);
    }
  }

  /** Restore the state as of the end of `block` (≥ floor). The restored entries count as changes. */
  rollbackTo(block: bigint): void {
    if (block < this._floor) throw new RollbackTooDeepError(block, this._floor);
    if (block > this._block || (block === this._block && !this.complete)) {
      throw new IndexStateError(`cannot roll back to ${block}: the state is at ${this._block}${this.complete ? "" : " (incomplete)"}`);
    }
    while (this.journal.length > 0 && this.journal[this.journal.length - 1]!.block > block) {
      const j = this.journal.pop()!;
      for (let i = j.undo.length - 1; i >= 0; i--) this.restore(j.undo[i]!);
    }
    this._block = block;
    this.complete = true;
    this.lastLogIndex = Number.POSITIVE_INFINITY;
    this.touched.clear();
  }

  private enter(block: bigint): void {
    this._block = block;
    this.lastLogIndex = -1;
    this.touched.clear();
  }

  private restore(u: Undo): void {
    const map = this.t[u.table] as unknown as Table<unknown, unknown>;
    if (u.prev === undefined) map.delete(u.key);
    else map.set(u.key, u.prev);
    this.noteChange(u.table, u.key);
  }

  /** The reducer's handle on the tables: reads them, writes through the journal. */
  private readonly writer: TableWriter = {
    tables: this.t,
    write: (table, key, value) => this.write(table, key as never, value as never),
  };

  private write<T extends TableName>(table: T, key: KeyOf<T>, value: ValueOf<T> | undefined): void {
    const map = this.t[table] as unknown as Table<KeyOf<T>, ValueOf<T>>;
    const tag = `${table}:${String(key)}`;
    if (!this.touched.has(tag)) {
      this.touched.add(tag);
      let j = this.journal[this.journal.length - 1];
      if (!j || j.block !== this._block) this.journal.push((j = { block: this._block, undo: [] }));
      j.undo.push({ table, key, prev: map.get(key) } as Undo);
    }
    if (value === undefined) map.delete(key);
    else map.set(key, value);
    this.noteChange(table, key);
  }

  private noteChange(table: TableName, key: unknown): void {
    switch (table) {
      case "accounts":
      case "partials":
        this.changes.accounts.add(key as Address);
        break;
      case "funds":
        break; // read on demand (ADL); no account's health depends on it
      case "markets":
        this.changes.markets.add(key as number);
        this.changes.prices.add(key as number);
        break;
      case "feeds":
        for (const m of this.t.markets.values()) if (m.feeds.includes(key as Address)) this.changes.prices.add(m.id);
        break;
      case "global":
        this.changes.global = true;
        break;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints
  // -------------------------------------------------------------------------------------------

  /** The whole state, journal included, as JSON-safe data (bigints as decimal strings). */
  toJSON(): IndexStateJson {
    if (!this.complete) throw new IndexStateError(`cannot serialise block ${this._block} half applied`);
    return encodeStateJson({
      maxReorgDepth: this.maxReorgDepth,
      block: this._block,
      floor: this._floor,
      tables: this.t,
      journal: this.journal,
    });
  }

  /** The inverse of {@link toJSON}; throws a CheckpointFormatError on malformed input. */
  static fromJSON(json: unknown, opts: { maxReorgDepth?: number } = {}): IndexState {
    const d = decodeStateJson(json);
    const s = new IndexState({ startBlock: d.block + 1n, maxReorgDepth: opts.maxReorgDepth ?? d.maxReorgDepth });
    s._floor = d.floor;
    for (const name of Object.keys(s.t) as TableName[]) {
      const into = s.t[name] as unknown as Table<unknown, unknown>;
      for (const [k, v] of d.tables[name] as ReadonlyMap<unknown, unknown>) into.set(k, v);
    }
    s.journal = d.journal;
    return s;
  }
}
