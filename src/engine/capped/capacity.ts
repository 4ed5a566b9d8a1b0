/**
 * The per-market liquidation window (contracts/src/capped/LiquidationCapacity.sol, after
 * Synthetix's PerpsMarket.maxLiquidatableAmount / currentLiquidationCapacity): what was liquidated
 * in the last `maxSecondsInLiquidationWindow` seconds counts against the window's maximum, and one
 * liquidate() closes of a position no more than what is left, unless a bypass applies.
 */
import { min } from "../math.ts";
import { divDecimal, mulDecimal } from "./decimal.ts";
import { ZERO_ADDRESS, type CappedMarket, type CappedMarketConfig, type LiquidationWindow, type WindowEntry } from "./types.ts";

/** (makerFee + takerFee) × skewScale × multiplier × maxSeconds, in units of size (each × floored on its own). */
export function maxLiquidationAmountInWindow(c: CappedMarketConfig): bigint {
  return mulDecimal(mulDecimal(c.makerFee + c.takerFee, c.skewScale), c.maxLiquidationLimitAccumulationMultiplier) * c.maxSecondsInLiquidationWindow;
}

/** now − maxSeconds; 0 while the chain is younger than the window (the contract's guard against underflow). */
function windowStart(now: bigint, maxSeconds: bigint): bigint {
  return now > maxSeconds ? now - maxSeconds : 0n;
}

/** The entries inside the window at `now` (timestamp > now − maxSeconds), oldest first: liquidationWindowEntries. */
export function entriesInWindow(w: LiquidationWindow, maxSeconds: bigint, now: bigint): WindowEntry[] {
  const start = windowStart(now, maxSeconds);
  let first = w.entries.length;
  while (first > 0 && w.entries[first - 1]!.timestamp > start) first--;
  return w.entries.slice(first);
}

export type LiquidationCapacity = {
  /** What the window can still take: max(maxLiquidationInWindow − accumulated, 0). */
  capacity: bigint;
  maxLiquidationInWindow: bigint;
  /** The timestamp of the market's last entry, 0 if none. */
  latestLiquidationTimestamp: bigint;
};

/** liquidationCapacity(marketId) at `now`. */
export function liquidationCapacity(m: Pick<CappedMarket, "config" | "window">, now: bigint): LiquidationCapacity {
  const maxIn = maxLiquidationAmountInWindow(m.config);
  const accumulated = entriesInWindow(m.window, m.config.maxSecondsInLiquidationWindow, now).reduce((s, e) => s + e.amount, 0n);
  return { capacity: accumulated >= maxIn ? 0n : maxIn - accumulated, maxLiquidationInWindow: maxIn, latestLiquidationTimestamp: m.window.latestTimestamp };
}

/** Why a take closed what it closed. */
export type TakeRule = "endorsed" | "unlimited" | "capacity" | "pd" | "none";

export type Take = {
  /** Size closed (≤ requested). */
  amount: bigint;
  rule: TakeRule;
  /** The window afterwards (the same object when nothing was recorded). */
  window: LiquidationWindow;
};

/**
 * How much of a position of |size| `requested` one liquidation by `sender` closes at `now`, and the
 * window afterwards. `skew` is the market's skew before the position is reduced. In order:
 * the endorsed liquidator takes it all (recorded); a market whose window maximum is 0 gives it all
 * (unrecorded); capacity left gives min(capacity, requested); with none left, a market with
 * maxLiquidationPd set whose last entry is not from this block and whose |skew| / skewScale is
 * below it gives up to one more window's maximum; else nothing.
 */
export function takeCapacity(m: Pick<CappedMarket, "config" | "window">, requested: bigint, sender: `0x${string}`, skew: bigint, now: bigint): Take {
  const c = m.config;
  if (c.endorsedLiquidator !== ZERO_ADDRESS && BigInt(sender) === BigInt(c.endorsedLiquidator)) {
    return { amount: requested, rule: "endorsed", window: record(m.window, requested, now) };
  }
  const { capacity, maxLiquidationInWindow: maxIn, latestLiquidationTimestamp: latest } = liquidationCapacity(m, now);
  if (maxIn === 0n) return { amount: requested, rule: "unlimited", window: m.window };
  let amount = 0n;
  let rule: TakeRule = "none";
  if (capacity !== 0n) {
    amount = min(capacity, requested);
    rule = "capacity";
  } else if (c.maxLiquidationPd !== 0n && latest !== now && divDecimal(skew < 0n ? -skew : skew, c.skewScale) < c.maxLiquidationPd) {
    amount = min(maxIn, requested);
    rule = "pd";
  }
  return { amount, rule, window: amount > 0n ? record(m.window, amount, now) : m.window };
}

/** Adds `amount` to this timestamp's entry, or starts one. */
function record(w: LiquidationWindow, amount: bigint, now: bigint): LiquidationWindow {
  const last = w.entries.at(-1);
  const entries =
    last !== undefined && last.timestamp === now ? [...w.entries.slice(0, -1), { timestamp: now, amount: last.amount + amount }] : [...w.entries, { timestamp: now, amount }];
  return { entries, latestTimestamp: now };
}
