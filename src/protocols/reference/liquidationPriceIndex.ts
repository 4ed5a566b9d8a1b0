import { liquidationPrice, type Account, type Valuation } from "../../engine/index.ts";

/**
 * Per market, every open position's liquidation price (the engine's, other prices held), sorted:
 * longs by descending price, shorts by ascending. A price tick then touches only the accounts it
 * crosses: longs whose liquidation price is at or above the new price, shorts at or below it,
 * found by binary search. A relative `margin` widens the cut, because a cross-margin account's
 * liquidation price drifts with its other markets and with funding between rebuilds; the keeper's
 * full screened rescan after each tick is the safety net for anything the cut misses.
 *
 * Compact (100,000 accounts, issue 17): each key gets a dense slot; each list is three typed
 * arrays (slot, the slot's generation when the entry was made, price as float64), 16 bytes an
 * entry instead of two objects and a bigint. Prices are compared as float64: rounding is monotonic,
 * so `lp ≥ cut` implies `Number(lp) ≥ Number(cut)` and the cut only ever gains entries (at the
 * rounding edge), never loses one. Updating or removing a key bumps its slot's generation, which
 * makes its old entries stale; stale entries are dropped when their list is next sorted.
 */
export class LiquidationPriceIndex<K = string> {
  private readonly longs = new Map<number, PriceList>();
  private readonly shorts = new Map<number, PriceList>();
  /** Keys with at least one entry, and their slots. */
  private readonly slotOf = new Map<K, number>();
  private keys: (K | undefined)[] = [];
  private generation = new Uint32Array(1024);
  private readonly freeSlots: number[] = [];
  private readonly dirty = new Set<PriceList>();

  constructor(private readonly marginPpm = 20_000n) {}

  /** (Re)compute an account's entries at valuation `v`. */
  update(key: K, account: Account, v: Valuation): void {
    this.remove(key);
    let slot: number | undefined;
    for (const p of account.positions) {
      if (p.size === 0n) continue;
      const lp = liquidationPrice(account, p.marketId, v);
      if (lp === undefined) continue;
      slot ??= this.claim(key);
      const side = p.size > 0n ? this.longs : this.shorts;
      let list = side.get(p.marketId);
      if (!list) side.set(p.marketId, (list = new PriceList(side === this.longs)));
      list.push(slot, this.generation[slot]!, Number(lp));
      this.dirty.add(list);
    }
  }

  remove(key: K): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    this.slotOf.delete(key);
    this.keys[slot] = undefined;
    this.generation[slot] = (this.generation[slot]! + 1) >>> 0; // its entries are stale from now on
    this.freeSlots.push(slot);
  }

  clear(): void {
    this.longs.clear();
    this.shorts.clear();
    this.slotOf.clear();
    this.keys = [];
    this.generation = new Uint32Array(1024);
    this.freeSlots.length = 0;
    this.dirty.clear();
  }

  /** Keys with at least one entry. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Accounts whose position in `marketId` the price `price` crosses (within the margin). */
  crossed(marketId: number, price: bigint): K[] {
    this.sortDirty();
    const out: K[] = [];
    const up = Number(price + (price * this.marginPpm) / 1_000_000n);
    const down = Number(price - (price * this.marginPpm) / 1_000_000n);
    // Longs sorted by descending liquidation price: take the prefix with price ≥ down.
    const longs = this.longs.get(marketId);
    if (longs) longs.collect(longs.prefix((p) => p >= down), this.generation, this.keys, out);
    // Shorts sorted by ascending liquidation price: take the prefix with price ≤ up.
    const shorts = this.shorts.get(marketId);
    if (shorts) shorts.collect(shorts.prefix((p) => p <= up), this.generation, this.keys, out);
    return out;
  }

  private claim(key: K): number {
    const slot = this.freeSlots.pop() ?? this.keys.length;
    if (slot >= this.generation.length) {
      const g = new Uint32Array(this.generation.length * 2);
      g.set(this.generation);
      this.generation = g;
    }
    this.keys[slot] = key;
    this.slotOf.set(key, slot);
    return slot;
  }

  private sortDirty(): void {
    for (const list of this.dirty) list.compactAndSort(this.generation);
    this.dirty.clear();
  }
}

/** One market side's entries: struct-of-arrays, grown by doubling. */
class PriceList {
  /** Longs: sorted by descending price; shorts: ascending. */
  constructor(private readonly descending: boolean) {}

  private slot = new Int32Array(16);
  private gen = new Uint32Array(16);
  private price = new Float64Array(16);
  private length = 0;

  push(slot: number, gen: number, price: number): void {
    if (this.length === this.slot.length) this.resize(this.length * 2);
    this.slot[this.length] = slot;
    this.gen[this.length] = gen;
    this.price[this.length] = price;
    this.length++;
  }

  /** Drop stale entries, then sort: descending prices for longs, ascending for shorts. */
  compactAndSort(generation: Uint32Array): void {
    const order: number[] = [];
    for (let i = 0; i < this.length; i++) if (generation[this.slot[i]!] === this.gen[i]) order.push(i);
    const price = this.price;
    order.sort(this.descending ? (a, b) => price[b]! - price[a]! : (a, b) => price[a]! - price[b]!);
    const cap = Math.max(16, order.length * 2);
    const slot = new Int32Array(cap);
    const gen = new Uint32Array(cap);
    const sorted = new Float64Array(cap);
    order.forEach((i, k) => {
      slot[k] = this.slot[i]!;
      gen[k] = this.gen[i]!;
      sorted[k] = price[i]!;
    });
    this.slot = slot;
    this.gen = gen;
    this.price = sorted;
    this.length = order.length;
  }

  /** Length of the longest prefix whose prices satisfy `holds` (which holds on a prefix): binary search. */
  prefix(holds: (price: number) => boolean): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (holds(this.price[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The keys of the first `n` entries that are not stale. */
  collect<K>(n: number, generation: Uint32Array, keys: readonly (K | undefined)[], out: K[]): void {
    for (let i = 0; i < n; i++) {
      const s = this.slot[i]!;
      if (generation[s] === this.gen[i]) out.push(keys[s]!);
    }
  }

  private resize(cap: number): void {
    const slot = new Int32Array(cap);
    const gen = new Uint32Array(cap);
    const price = new Float64Array(cap);
    slot.set(this.slot.subarray(0, this.length));
    gen.set(this.gen.subarray(0, this.length));
    price.set(this.price.subarray(0, this.length));
    this.slot = slot;
    this.gen = gen;
    this.price = price;
  }
}
