/**
 * A block header's `logsBloom`: the 2048-bit filter every log's emitter address and topics are
 * added to (Yellow Paper §4.3.1, M3:2048: the low 11 bits of each of the first three byte pairs of
 * the item's keccak-256 set one bit each). It has no false negatives: a block whose bloom lacks
 * every address we follow holds no log of ours, so the indexer need not ask the node for its logs,
 * and a feed's aggregator that is not in it published no round in that block.
 */
import { hexToBytes, keccak256, type Address, type Hex } from "viem";

const BLOOM_BYTES = 256;
/** keccak-256 of each address's 20 bytes, computed once: the same few addresses are tested at every head. */
const bitsCache = new Map<string, readonly [number, number, number]>();

function bitsOf(address: Address): readonly [number, number, number] {
  const key = address.toLowerCase();
  let bits = bitsCache.get(key);
  if (!bits) {
    const h = hexToBytes(keccak256(key as Hex));
    const bit = (i: number) => ((h[i]! << 8) | h[i + 1]!) & 2047;
    bits = [bit(0), bit(2), bit(4)];
    bitsCache.set(key, bits);
  }
  return bits;
}

/** Whether a log emitted by `address` may be in the block with this bloom (false: certainly not). */
export function bloomMayContain(bloom: Uint8Array, address: Address): boolean {
  for (const b of bitsOf(address)) {
    // Bit b counts from the low end of the 256-byte big-endian value.
    if ((bloom[BLOOM_BYTES - 1 - (b >> 3)]! & (1 << (b & 7))) === 0) return false;
  }
  return true;
}

/**
 * Whether a block with header bloom `bloom` may hold a log of any of `addresses`. A missing or
 * malformed bloom (a node that leaves it out) answers true: the caller reads the logs as before.
 */
export function bloomMayContainAny(bloom: Hex | null | undefined, addresses: readonly Address[]): boolean {
  if (!bloom || bloom.length !== 2 + BLOOM_BYTES * 2) return true;
  const bytes = hexToBytes(bloom);
  return addresses.some((a) => bloomMayContain(bytes, a));
}
