/**
 * The one block-head type: what the head follower hands the keeper, the indexer links by parent
 * hash, and the executor prices fees and chain-time backoffs with. A part that needs fewer fields
 * takes a `Pick` of it.
 */
import type { Hex } from "viem";

export type BlockHead = {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  /** Seconds. */
  timestamp: bigint;
  /** EIP-1559 base fee (wei); null before London. */
  baseFeePerGas: bigint | null;
  /** The header's logs bloom (chain/bloom.ts); absent when the source did not give it (then logs are always read). */
  logsBloom?: Hex | undefined;
};

/** The fields the indexer links and dates blocks by. */
export type BlockRefHead = Pick<BlockHead, "number" | "hash" | "parentHash" | "timestamp" | "logsBloom">;

/** The fields the executor prices and times with. */
export type FeeHead = Pick<BlockHead, "number" | "baseFeePerGas" | "timestamp">;

/** A head from a viem block (one with a number and a hash: not pending). */
export function headOf(b: { number: bigint | null; hash: Hex | null; parentHash: Hex; timestamp: bigint; baseFeePerGas?: bigint | null; logsBloom?: Hex | null }): BlockHead {
  if (b.number === null || b.hash === null) throw new Error("a pending block has no head");
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? null, ...bloomOf(b) };
}

/** `{ logsBloom }` when the block carries one, else nothing (an optional field stays absent). */
export function bloomOf(b: { logsBloom?: Hex | null }): { logsBloom?: Hex } {
  return b.logsBloom ? { logsBloom: b.logsBloom } : {};
}
