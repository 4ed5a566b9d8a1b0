/**
 * What the indexer needs from a protocol: the port a protocol module implements so that the
 * protocol-neutral indexer (log ranges, reorg handling, checkpoints) can keep its state. The
 * indexer never reads a protocol's ABI; it hands raw logs to `decode` and decoded logs to the
 * protocol's reducer.
 */
import type { Address, Hex, RpcLog } from "viem";
import { BaseError } from "../lib/errors.ts";

/** Where a log sits in the chain; logs are applied in (blockNumber, logIndex) order. */
export type LogPosition = {
  /** The emitting contract, checksummed. */
  address: Address;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
  transactionHash: Hex;
};

/** (blockNumber, logIndex) order. */
export function compareLogs(a: Pick<LogPosition, "blockNumber" | "logIndex">, b: Pick<LogPosition, "blockNumber" | "logIndex">): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  return a.logIndex - b.logIndex;
}

/** What moved since the reducer last reported: the keeper re-checks only these. */
export type IndexChanges = {
  /** Accounts whose collateral, positions or cooldown stamp changed (present or removed). */
  accounts: Set<Address>;
  /** Markets whose parameters, tiers or funding changed. */
  markets: Set<number>;
  /** Markets whose price changed (new answer, or a new price source). */
  prices: Set<number>;
  /** Parameters that apply to every market changed. */
  global: boolean;
};

/**
 * A protocol's state, rebuilt from its logs by a pure reducer with an undo journal: `apply` logs
 * in order, `advanceTo` marks a block complete, `rollbackTo` restores the end of an earlier block
 * (a reorg), exactly.
 */
export interface ReducerState<L extends LogPosition> {
  /** The last block applied. */
  readonly block: bigint;
  /** The lowest block `rollbackTo` accepts. */
  readonly floor: bigint;
  /** Accounts held (for progress logs and the `keeper_accounts_tracked` gauge). */
  readonly accounts: ReadonlyMap<Address, unknown>;
  readonly markets: ReadonlyMap<number, unknown>;
  /**
   * Apply one log. `blockTimestamp` is given when {@link IndexSource.needsTimestamp} says so;
   * `seeds` holds what {@link IndexSource.readSeed} read for each source the log introduces.
   */
  apply(log: L, blockTimestamp?: bigint, seeds?: ReadonlyMap<Address, unknown>): void;
  advanceTo(block: bigint): void;
  rollbackTo(block: bigint): void;
  /** What changed since the last call; resets the report. */
  takeChanges(): IndexChanges;
  /** Every address besides the protocol's own contracts whose logs the state needs (price feeds). */
  sourceAddresses(): Address[];
  /** The whole state, journal included, as JSON-safe data. */
  toJSON(): unknown;
}

/** Reads one eth_call at a block hash; `undefined` when the call reverted. */
export type CallAt = (to: Address, data: Hex, blockHash: Hex) => Promise<Hex | undefined>;

/** One protocol's indexing: which logs, how to decode them, and its reducer. */
export interface IndexSource<S extends ReducerState<L>, L extends LogPosition> {
  /** The protocol's own contracts, whose logs are always read. */
  readonly contracts: readonly Address[];
  /** topic0 of every log the reducer applies (one OR-list for eth_getLogs). */
  readonly topics: readonly Hex[];
  /** A raw log as the reducer's log, or undefined when it is not one (removed, foreign, malformed). */
  decode(raw: RpcLog): L | undefined;
  /** A fresh state whose first block is `startBlock`. */
  createState(startBlock: bigint, maxReorgDepth: number): S;
  /** The inverse of the state's `toJSON`; throws a CheckpointFormatError on malformed input. */
  stateFromJSON(json: unknown, maxReorgDepth: number): S;
  /** Whether applying `log` needs its block's timestamp. */
  needsTimestamp(log: L): boolean;
  /** The sources (price feeds) `log` introduces that `state` does not track yet (a market's index can name several). */
  newSourcesOf(state: S, log: L): readonly Address[];
  /** What the reducer needs of a new source, read at the block of `at`, the log that introduces it. */
  readSeed(call: CallAt, source: Address, blockHash: Hex, at: L): Promise<unknown>;
  /**
   * Every address whose logs the state needs once `source` is tracked, as its seed names them
   * (a price proxy and its current aggregator); default: `source` alone.
   */
  seedAddresses?(source: Address, seed: unknown): readonly Address[];
  /** A short description of the log that introduced a source, for the log line. */
  describeSource?(log: L): Record<string, unknown>;
}

/** `rollbackTo` below the journal's floor: the reorg is deeper than the state can undo. */
export class RollbackTooDeepError extends BaseError {
  override name = "RollbackTooDeepError";
  constructor(
    readonly target: bigint,
    readonly floor: bigint,
  ) {
    super(`cannot roll back to block ${target}: the journal reaches back to block ${floor} only`);
  }
}
