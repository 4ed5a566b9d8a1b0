import { liquidationPrice, type Account, type Valuation } from "../../engine/index.ts";

type Entry = { key: string; price: bigint };

/**
 * Per market, every open position's liquidation price (the engine's, other prices held), sorted:
 * longs by descending price, shorts by ascending. A price tick then touches only the accounts it
 * crosses: longs whose liquidation price is at or above the new price, shorts at or below it,
 * found by binary search. A relative `margin` widens the cut, because a cross-margin account's
 * liquidation price drifts with its other markets and with funding between rebuilds; the keeper's
 * full screened rescan after each tick is the safety net for anything the cut misses.
 */
export class LiquidationPriceIndex {
  private longs = new Map<number, Entry[]>();
  private shorts = new Map<number, Entry[]>();
  private byKey = new Map<string, { marketId: number; long: boolean; price: bigint }[]>();
  private dirty = new Set<number>();

  constructor(private readonly marginPpm = 20_000n) {}

  /** (Re)compute an account's entries at valuation `v`. */
  update(key: string, account: Account, v: Valuation): void {
    this.remove(key);
    const entries: { marketId: number; long: boolean; price: bigint }[] = [];
    for (const p of account.positions) {
      if (p.size === 0n) continue;
      const lp = liquidationPrice(account, p.marketId, v);
      if (lp === undefined) continue;
      const long = p.size > 0n;
      entries.push({ marketId: p.marketId, long, price: lp });
      const side = long ? this.longs : this.shorts;
      let list = side.get(p.marketId);
      if (!list) side.set(p.marketId, (list = []));
      list.push({ key, price: lp });
      this.dirty.add(p.marketId);
    }
    if (entries.length > 0) this.byKey.set(key, entries);
  }

  remove(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    for (const e of old) {
      const list = (e.long ? this.longs : this.shorts).get(e.marketId);
      if (!list) continue;
      const i = list.findIndex((x) => x.key === key);
      if (i >= 0) list.splice(i, 1);
    }
    this.byKey.delete(key);
  }

  clear(): void {
    this.longs.clear();
    this.shorts.clear();
    this.byKey.clear();
    this.dirty.clear();
  }

  get size(): number {
    return this.byKey.size;
  }

  private sortDirty(): void {
    for (const id of this.dirty) {
      this.longs.get(id)?.sort((a, b) => (a.price > b.price ? -1 : a.price < b.price ? 1 : 0));
      this.shorts.get(id)?.sort((a, b) => (a.price < b.price ? -1 : a.price > b.price ? 1 : 0));
    }
    this.dirty.clear();
  }

  /** Accounts whose position in `marketId` the price `price` crosses (within the margin). */
  crossed(marketId: number, price: bigint): string[] {
    this.sortDirty();
    const out: string[] = [];
    const up = price + (price * this.marginPpm) / 1_000_000n;
    const down = price - (price * this.marginPpm) / 1_000_000n;
    // Longs sorted by descending liquidation price: take the prefix with price ≥ down.
    const longs = this.longs.get(marketId) ?? [];
    for (let i = 0, n = prefixLength(longs, (e) => e.price >= down); i < n; i++) out.push(longs[i]!.key);
    // Shorts sorted by ascending liquidation price: take the prefix with price ≤ up.
    const shorts = this.shorts.get(marketId) ?? [];
    for (let i = 0, n = prefixLength(shorts, (e) => e.price <= up); i < n; i++) out.push(shorts[i]!.key);
    return out;
  }
}

/** Length of the longest prefix satisfying a predicate that holds on a prefix (binary search). */
function prefixLength<T>(xs: readonly T[], holds: (x: T) => boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (holds(xs[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
