/**
 * A protocol, as the keeper sees it: the one interface a market design implements (see
 * docs/protocols.md). The keeper loop, the indexer, the planner and the executor are written
 * against these ports and know no ABI and no margin engine; a protocol module under
 * src/protocols/<name>/ implements them, and the factory in src/protocols/index.ts picks one by
 * the name a deployment file gives.
 */
import type { Address, Hex } from "viem";
import type { LiquidationCalls } from "../execute/calls.ts";
import type { LiquidationItem } from "../execute/types.ts";
import type { IndexChanges, IndexSource, LogPosition, ReducerState } from "../index/source.ts";
import type { Candidate, GasModel } from "../plan/planLiquidations.ts";

/** Gas units of a protocol's liquidation calls: one alone, and a batch's fixed part and per item. */
export type GasUnits = { single: bigint; batchBase: bigint; batchItem: bigint };

/** Why a market's price cannot value positions now: too old for the protocol, not a usable answer, none yet, or its sources disagree beyond the protocol's guard. */
export type UnpricedWhy = "stale" | "invalid" | "missing" | "deviation";

/** The markets without a usable price at a time, and the accounts nobody can value because of them. */
export type Unpriced = {
  /** Every market without a usable price, with the accounts holding a position in it. */
  markets: { marketId: number; why: UnpricedWhy; accounts: number }[];
  /** Accounts with a position in at least one of those markets (each once). */
  accounts: number;
};

/**
 * A transaction a protocol asks of a keeper in its role, beside liquidations: the reference
 * market's auto-deleveraging, which only its ADL operator may send. No reward: it is sent because
 * the venue needs it, and only when the protocol's engine says it will succeed.
 */
export type Duty = {
  /** What it is, for logs and metrics ("deleverage"). */
  kind: string;
  /** The account it is for (one duty per account at a time). */
  account: Address;
  to: Address;
  data: Hex;
  /** Gas limit for when the node cannot estimate it: a duty sent behind another of the same tick, on the state that one leaves. */
  gas?: bigint;
  /** Fields for the log line (market, size, counterparties, …). */
  detail: Record<string, unknown>;
};

/**
 * The protocol's live book of accounts, valued on the indexed state: which accounts a head makes
 * liquidatable, what to take from each, and whether an item is still valid. Times are block
 * timestamps (seconds); the book reads the state through the getter it was made with.
 */
export interface Book {
  /** Accounts with an open position the book follows. */
  readonly size: number;
  /** Follow every account of the state (at start, or after the index was rebuilt). */
  reset(timestamp: bigint | undefined): void;
  /**
   * Follow what one sync changed (valued at `timestamp`); `reorged` when blocks were rolled back.
   * Returns the accounts no longer open (their positions are gone).
   */
  sync(changes: IndexChanges, timestamp: bigint, reorged: boolean): Address[];
  /**
   * The fast path: the accounts this sync moved (state changed, or their liquidation price crossed
   * by a new price), and those of them liquidatable now.
   */
  suspects(changes: IndexChanges, timestamp: bigint): { moved: number; liquidatable: Address[] };
  /** Every account liquidatable at `timestamp` (the full rescan). */
  liquidatable(timestamp: bigint): Address[];
  /**
   * For each of `accounts`, the best liquidation to send now (one per account), with its
   * economics at `gas`. `admit` leaves out what the executor cannot take now.
   */
  candidates(accounts: readonly Address[], timestamp: bigint, gas: GasModel, admit: (account: Address, marketId: number) => boolean): Candidate<Address>[];
  /** The largest slice of the item's target allowed at `timestamp` (0n: none, or cannot be valued). */
  sizeNow(item: Pick<LiquidationItem, "account" | "marketId">, timestamp: bigint): bigint;
  /**
   * The markets whose price the protocol would refuse at `timestamp` (stale, invalid, missing) and
   * the accounts left unvalued by them: nobody can liquidate those until the price is back. The
   * keeper exports it (keeper_unpriced_*) and is not ready while such a market holds positions.
   */
  unpriced(timestamp: bigint): Unpriced;
  /** Periodic upkeep after a tick's submissions (e.g. rebuilding a price index). */
  upkeep(changes: IndexChanges, timestamp: bigint): void;
  /**
   * The duties `keeper` should send now for some of `accounts` (liquidatable ones), in order, each
   * planned on the state the ones before it leave; none when it holds no role. Accounts a duty is
   * due for get no liquidation candidate from anyone.
   */
  duties?(accounts: readonly Address[], timestamp: bigint, keeper: Address): Duty[];
}

export interface Protocol<S extends ReducerState<L> = ReducerState<LogPosition>, L extends LogPosition = LogPosition> {
  /** The name a deployment file gives (`"protocol": "reference"`). */
  readonly name: string;
  /** Which logs to index, how to decode them, and the reducer. */
  readonly index: IndexSource<S, L>;
  /** How to encode, simulate and read back liquidations. */
  readonly calls: LiquidationCalls;
  /** The measured gas of its liquidation calls. */
  readonly gas: GasUnits;
  /** A book over the state the getter returns (the indexer's, which may be replaced on a rebuild). */
  createBook(state: () => S): Book;
}
