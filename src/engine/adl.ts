/**
 * Auto-deleveraging (docs/reference-market.md, "Auto-deleveraging"): when an account's deficit at
 * the mark exceeds the insurance fund, its position in a market closes at its bankruptcy price
 * against profitable opposite positions, ranked by PnL% × effective leverage. The pure rules mirror
 * contracts/src/AdlMath.sol and the views PerpMarket.adlScore / bankruptcyPrice; applyDeleverage
 * (deleverage.ts) mirrors PerpMarket.deleverage.
 */
import { accountHealth, type Health, type PositionValue } from "./health.ts";
import { WAD, abs } from "./math.ts";
import { notional } from "./position.ts";
import type { Account, Valuation } from "./types.ts";

/** An account and its address: ranking ties and the contract's checks go by address. */
export type AdlParty = { address: `0x${string}`; account: Account };

/** The contract's ADL errors, by name and arguments. */
export type AdlRefusal =
  | { error: "AdlDisabled"; marketId: number }
  | { error: "NoPosition"; account: `0x${string}`; marketId: number }
  | { error: "AdlNotDue"; account: `0x${string}`; equity: bigint; insuranceFund: bigint }
  | { error: "NoBankruptcyPrice"; account: `0x${string}`; marketId: number }
  | { error: "AdlNotEligible"; counterparty: `0x${string}` }
  | { error: "AdlRankOrder"; index: number }
  | { error: "AdlNoCounterparty" };

/** Addresses as the contract orders them: as uint160, whatever their case. */
export function addressKey(address: `0x${string}`): bigint {
  return BigInt(address);
}

/**
 * AdlMath.bankruptcyPrice: the price at which closing the whole position (signed `size`, valued at
 * `mark`) brings equity from −deficit to zero, rounded toward the mark:
 * gap = ⌊deficit × 1e18 / |size|⌋; long mark + gap; short mark − gap, undefined when gap ≥ mark.
 */
export function bankruptcyPriceOf(size: bigint, mark: bigint, deficit: bigint): bigint | undefined {
  const gap = (deficit * WAD) / abs(size);
  if (size > 0n) return mark + gap;
  return gap >= mark ? undefined : mark - gap;
}

/**
 * AdlMath.score: ⌊⌊pnl × 1e18 / notional(|size|, entry)⌋ × notional / equity⌋, PnL% × effective
 * leverage in WAD. For pnl > 0, equity > 0 and an open position (entry > 0).
 */
export function adlScoreOf(pnl: bigint, absSize: bigint, entryPrice: bigint, notionalAtMark: bigint, equity: bigint): bigint {
  const pnlPct = (pnl * WAD) / notional(absSize, entryPrice);
  return (pnlPct * notionalAtMark) / equity;
}

/** AdlMath.profitGivenUp: ⌊size × |mark − bankruptcyPrice| / 1e18⌋. */
export function profitGivenUp(absSize: bigint, mark: bigint, bankruptcyPrice: bigint): bigint {
  return (absSize * abs(mark - bankruptcyPrice)) / WAD;
}

/**
 * Whether ADL may close this account: enabled in the market, the account liquidatable, its equity
 * negative and the deficit beyond the insurance fund (the penalty at E < 0 is 0, so the fund gets
 * nothing more from a liquidation first).
 */
export function adlDue(h: Pick<Health, "liquidatable" | "equity">, insuranceFund: bigint, adlEnabled: boolean): boolean {
  return adlEnabled && h.liquidatable && h.equity < 0n && -h.equity > insuranceFund;
}

/** The score of one valued position of an account of health `h`: 0 unless pnl > 0 and equity > 0. */
export function scoreOfPosition(h: Pick<Health, "equity">, value: PositionValue): bigint {
  if (value.pnl <= 0n || h.equity <= 0n) return 0n;
  return adlScoreOf(value.pnl, abs(value.size), value.entryPrice, value.notional, h.equity);
}

/** PerpMarket.adlScore(account, marketId): the ranking score, 0 for a position that is not eligible. */
export function adlScore(account: Account, marketId: number, v: Valuation): bigint {
  const h = accountHealth(account, v);
  const value = h.positions.find((p) => p.marketId === marketId);
  return value ? scoreOfPosition(h, value) : 0n;
}

/**
 * PerpMarket.bankruptcyPrice(account, marketId): the price ADL would close the position at, for an
 * account with a position in the market and negative equity (whether or not ADL is due).
 */
export function adlBankruptcyPrice(
  account: Account,
  marketId: number,
  v: Valuation,
): { ok: true; price: bigint } | { ok: false; error: "NoPosition" | "AdlNotDue" | "NoBankruptcyPrice" } {
  const h = accountHealth(account, v);
  const value = h.positions.find((p) => p.marketId === marketId);
  if (!value) return { ok: false, error: "NoPosition" };
  if (h.equity >= 0n) return { ok: false, error: "AdlNotDue" };
  const price = bankruptcyPriceOf(value.size, value.price, -h.equity);
  return price === undefined ? { ok: false, error: "NoBankruptcyPrice" } : { ok: true, price };
}

/** One counterparty in rank order, with how much of the bankrupt position it would take. */
export type AdlRanked = {
  address: `0x${string}`;
  score: bigint;
  /** The counterparty's signed size in the market. */
  size: bigint;
  pnl: bigint;
  equity: bigint;
  /** min(|size|, what is left of the bankrupt position after the ones ranked before). */
  take: bigint;
};

/**
 * The counterparties an ADL operator sends for a bankrupt position of signed size `bankruptSize`:
 * the eligible candidates (opposite side, uPnL > 0, equity > 0), by score descending then address
 * ascending, only as many as cover |bankruptSize|. A repeated address counts once.
 */
export function rankAdlCounterparties(
  bankruptSize: bigint,
  marketId: number,
  candidates: readonly AdlParty[],
  v: Valuation,
): AdlRanked[] {
  const seen = new Set<bigint>();
  const eligible: (Omit<AdlRanked, "take"> & { key: bigint })[] = [];
  for (const c of candidates) {
    const key = addressKey(c.address);
    if (seen.has(key)) continue;
    seen.add(key);
    const h = accountHealth(c.account, v);
    const value = h.positions.find((p) => p.marketId === marketId);
    if (!value || value.size > 0n === bankruptSize > 0n || value.pnl <= 0n || h.equity <= 0n) continue;
    eligible.push({ address: c.address, key, score: scoreOfPosition(h, value), size: value.size, pnl: value.pnl, equity: h.equity });
  }
  eligible.sort((a, b) => (a.score !== b.score ? (a.score > b.score ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out: AdlRanked[] = [];
  let remaining = abs(bankruptSize);
  for (const e of eligible) {
    if (remaining === 0n) break;
    const take = abs(e.size) < remaining ? abs(e.size) : remaining;
    out.push({ address: e.address, score: e.score, size: e.size, pnl: e.pnl, equity: e.equity, take });
    remaining -= take;
  }
  return out;
}
