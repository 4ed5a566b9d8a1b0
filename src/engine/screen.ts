import { accountHealth } from "./health.ts";
import { fundingIndexAt } from "./position.ts";
import type { Account, Valuation } from "./types.ts";

/** Positions an account may hold (PerpMarket.MAX_POSITIONS). */
export const SCREEN_SLOTS = 8;
const TO_UNITS = 1e-18;
/**
 * Relative band around the liquidation boundary inside which float64 is not trusted. A screened
 * figure sums at most ~60 float operations over the account's gross magnitude, each within
 * 2^-53 relative, so its error is below ~1e-14 × magnitude; the exact engine's floor/ceil rounding
 * adds a few wei. 1e-9 leaves a margin of five orders of magnitude.
 */
const BAND = 1e-9;

export type ScreenResult = {
  /** Indices of accounts that are liquidatable, decided exactly. */
  liquidatable: number[];
  /** How many accounts fell inside the band and were evaluated with bigint arithmetic. */
  exactEvaluations: number;
  /**
   * Accounts not evaluated because one of their markets has no usable price in the valuation
   * (stale or invalid feed): the contract would refuse to value them too, so nobody can act.
   */
  unpriced: number;
};

/**
 * A float64 pre-screen for full rescans. Accounts are stored as struct-of-arrays; a scan values
 * every account in float64 and decides "liquidatable" or "healthy" only where the answer cannot
 * flip within the error bound; accounts near the boundary are handed to the exact bigint engine.
 * So the result equals `accountHealth(a, v).liquidatable` for every account, at a fraction of the
 * cost. Pure: no I/O, no clock.
 */
export class HealthScreen {
  private accounts: (Account | undefined)[] = [];
  private collateral = new Float64Array(0);
  private count = new Uint8Array(0);
  /** 1 where an account is stored. */
  private used = new Uint8Array(0);
  private market = new Int32Array(0);
  private size = new Float64Array(0);
  /** size × (entryFundingIndex − entryPrice), in units. */
  private constant = new Float64Array(0);

  get length(): number {
    return this.accounts.length;
  }

  private grow(n: number): void {
    if (n <= this.count.length) return;
    const cap = Math.max(n, this.count.length * 2, 1024);
    const copy = <T extends Float64Array | Int32Array | Uint8Array>(a: T, len: number, make: (l: number) => T): T => {
      const b = make(len);
      b.set(a);
      return b;
    };
    this.collateral = copy(this.collateral, cap, (l) => new Float64Array(l));
    this.count = copy(this.count, cap, (l) => new Uint8Array(l));
    this.used = copy(this.used, cap, (l) => new Uint8Array(l));
    this.market = copy(this.market, cap * SCREEN_SLOTS, (l) => new Int32Array(l));
    this.size = copy(this.size, cap * SCREEN_SLOTS, (l) => new Float64Array(l));
    this.constant = copy(this.constant, cap * SCREEN_SLOTS, (l) => new Float64Array(l));
  }

  /** Store (or replace) account `i`. */
  set(i: number, a: Account): void {
    const live = a.positions.filter((p) => p.size !== 0n);
    if (live.length > SCREEN_SLOTS) throw new RangeError(`account holds ${live.length} positions, at most ${SCREEN_SLOTS}`);
    this.grow(i + 1);
    while (this.accounts.length <= i) this.accounts.push(undefined);
    this.accounts[i] = a;
    this.collateral[i] = Number(a.collateral) * TO_UNITS;
    this.count[i] = live.length;
    this.used[i] = 1;
    live.forEach((p, k) => {
      const j = i * SCREEN_SLOTS + k;
      const s = Number(p.size) * TO_UNITS;
      this.market[j] = p.marketId;
      this.size[j] = s;
      this.constant[j] = s * (Number(p.entryFundingIndex - p.entryPrice) * TO_UNITS);
    });
  }

  /** Remove account `i` from scans. */
  delete(i: number): void {
    if (i < this.accounts.length) {
      this.accounts[i] = undefined;
      this.count[i] = 0;
      this.used[i] = 0;
    }
  }

  /**
   * Every liquidatable account at valuation `v`, decided exactly; with `slots`, only among those
   * (in their order, each once).
   */
  scan(v: Valuation, slots?: Iterable<number>): ScreenResult {
    // Per-market constants in float64: price, funding index, and the tier lines of every market
    // in three flat arrays (market id → offset, count), so the loop below indexes typed arrays only.
    const ids = [...v.markets.keys()];
    const maxId = Math.max(-1, ...ids);
    const price = new Float64Array(maxId + 1).fill(Number.NaN);
    const index = new Float64Array(maxId + 1);
    const tierAt = new Int32Array(maxId + 1);
    const tierCount = new Int32Array(maxId + 1);
    let lines = 0;
    for (const m of v.markets.values()) lines += m.tiers.length;
    const floor = new Float64Array(lines);
    const rate = new Float64Array(lines);
    const cum = new Float64Array(lines);
    let at = 0;
    for (const [id, m] of v.markets) {
      const p = v.prices.get(id);
      price[id] = p === undefined ? Number.NaN : Number(p) * TO_UNITS;
      index[id] = Number(fundingIndexAt(m.funding, v.timestamp)) * TO_UNITS;
      tierAt[id] = at;
      tierCount[id] = m.tiers.length;
      m.tiers.forEach((t, k) => {
        floor[at + k] = Number(t.floor) * TO_UNITS;
        rate[at + k] = Number(t.mmrPpm) / 1e6;
        cum[at + k] = (Number(m.cums[k]!) / 1e6) * TO_UNITS;
      });
      at += m.tiers.length;
    }
    const liquidatable: number[] = [];
    let exactEvaluations = 0;
    let unpriced = 0;
    const all = slots === undefined;
    const only = all ? undefined : slots[Symbol.iterator]();
    const used = this.used;
    const count = this.count;
    const collateral = this.collateral;
    const market = this.market;
    const size = this.size;
    const constant = this.constant;
    const end = this.accounts.length;
    for (let next = 0; ; next++) {
      let i: number;
      if (all) {
        if (next >= end) break;
        i = next;
      } else {
        const r = only!.next();
        if (r.done) break;
        i = r.value;
        if (i >= end) continue;
      }
      if (used[i] === 0) continue;
      let equity = collateral[i]!;
      let magnitude = Math.abs(equity);
      let maintenance = 0;
      let unknownMarket = false;
      const n = count[i]!;
      for (let k = 0, j = i * SCREEN_SLOTS; k < n; k++, j++) {
        const id = market[j]!;
        const p = id <= maxId ? price[id]! : Number.NaN;
        if (Number.isNaN(p) || tierCount[id] === 0) {
          unknownMarket = true;
          break;
        }
        const s = size[j]!;
        const c = constant[j]!;
        const ix = index[id]!;
        equity += s * (p - ix) + c;
        const notional = Math.abs(s) * p;
        // The highest tier whose floor the notional reaches (floors ascend; most positions sit in the first tiers).
        const t0 = tierAt[id]!;
        const last = t0 + tierCount[id]! - 1;
        let t = t0;
        while (t < last && floor[t + 1]! <= notional) t++;
        maintenance += notional * rate[t]! - cum[t]!;
        magnitude += Math.abs(s) * (p + Math.abs(ix)) + Math.abs(c) + notional;
      }
      if (unknownMarket) {
        unpriced++;
        continue;
      }
      const margin = equity - maintenance;
      const band = BAND * magnitude + 1e-9;
      if (margin < -band) liquidatable.push(i);
      else if (margin <= band) {
        exactEvaluations++;
        if (accountHealth(this.accounts[i]!, v).liquidatable) liquidatable.push(i);
      }
    }
    return { liquidatable, exactEvaluations, unpriced };
  }
}
