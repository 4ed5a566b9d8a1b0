/**
 * A growable column of exact integers, stored off the JS heap: each value as a two's-complement
 * int128 in two 64-bit lanes (a signed high word, an unsigned low word). WAD sizes, prices and
 * funding indices fit with room to spare (|x| < 1.7e38, against 1e18 × a price); a value that does
 * not (the contract's int256 allows it) is kept exactly in a side map, its lanes set to a marker.
 *
 * Why: a bigint is a heap object of its own (~24–32 bytes, one pointer to chase); at 100,000
 * accounts the index held ~900,000 of them. Here a value costs 16 bytes and no object.
 */

const TWO_64 = 1n << 64n;
const MIN_LANES = -(1n << 127n); // excluded: its lanes (high = −2^63, low = 0) are the marker
const MAX_LANES = (1n << 127n) - 1n;
const MARKER_HIGH = -(1n << 63n);

export class Int128Column {
  private high: BigInt64Array;
  private low: BigUint64Array;
  /** Values outside (−2^127, 2^127), by row. */
  private readonly wide = new Map<number, bigint>();

  constructor(capacity = 0) {
    this.high = new BigInt64Array(capacity);
    this.low = new BigUint64Array(capacity);
  }

  get capacity(): number {
    return this.high.length;
  }

  /** Make room for rows [0, capacity); existing values are kept. */
  grow(capacity: number): void {
    if (capacity <= this.high.length) return;
    const high = new BigInt64Array(capacity);
    const low = new BigUint64Array(capacity);
    high.set(this.high);
    low.set(this.low);
    this.high = high;
    this.low = low;
  }

  get(row: number): bigint {
    const h = this.high[row]!;
    if (h === 0n) return this.low[row]!;
    const l = this.low[row]!;
    if (h === MARKER_HIGH && l === 0n) return this.wide.get(row)!;
    return (h << 64n) | l;
  }

  set(row: number, v: bigint): void {
    if (this.wide.size > 0) this.wide.delete(row);
    if (v >= 0n && v < TWO_64) {
      // The common case (collateral, sizes of longs, prices): one lane, no shifts.
      this.high[row] = 0n;
      this.low[row] = v;
    } else if (v > MIN_LANES && v <= MAX_LANES) {
      this.high[row] = v >> 64n;
      this.low[row] = BigInt.asUintN(64, v);
    } else {
      this.high[row] = MARKER_HIGH;
      this.low[row] = 0n;
      this.wide.set(row, v);
    }
  }

  /** Bytes held (the lanes' buffers; the side map is empty in practice). */
  get bytes(): number {
    return this.high.byteLength + this.low.byteLength;
  }
}
