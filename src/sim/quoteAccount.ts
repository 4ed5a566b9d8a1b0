import {
  PPM,
  accountHealth,
  addressKey,
  applyLiquidation,
  scoreOfPosition,
  bankruptcyPrice,
  liquidationPrice,
  marginRatioPpm,
  marketOf,
  maxLiquidatable,
  quoteSlice,
  type Account,
  type AdlParty,
  type Health,
  type Valuation,
} from "../engine/index.ts";

/**
 * An account's liquidation picture at one valuation, from the engine alone: what `perp-keeper quote`
 * prints and what a keeper would act on. Pure: values in, values out.
 */

export type PositionQuote = {
  marketId: number;
  /** Signed size (long > 0). */
  size: bigint;
  entryPrice: bigint;
  markPrice: bigint;
  notional: bigint;
  pnl: bigint;
  funding: bigint;
  maintenance: bigint;
  initial: bigint;
  /** Mark at which the account becomes liquidatable, other prices held (undefined: none). */
  liquidationPrice: bigint | undefined;
  /** Mark at which the account's equity reaches zero, other prices held (undefined: none). */
  bankruptcyPrice: bigint | undefined;
  /** Largest slice a keeper may liquidate now (0 when healthy or in cooldown). */
  maxSlice: bigint;
  /** Penalty on that slice, and its split. */
  penalty: bigint;
  keeperTokens: bigint;
  insuranceShare: bigint;
  /** The position as it would stand after the max slice (as venues' dashboards show after a partial liquidation); undefined when no slice is allowed now. */
  afterSlice: { size: bigint; equity: bigint; liquidationPrice: bigint | undefined } | undefined;
  /** Auto-deleveraging: the position's score (0: not eligible), and its rank among its side's eligible positions when the market's accounts are known. */
  adl: { score: bigint; rank?: number; of?: number };
};

export type AccountQuote = {
  timestamp: bigint;
  collateral: bigint;
  equity: bigint;
  maintenance: bigint;
  initial: bigint;
  /** Σ (MM + buffer × N): what a partial step restores. */
  target: bigint;
  /** E / ΣMM in ppm (undefined without positions). */
  marginRatioPpm: bigint | undefined;
  liquidatable: boolean;
  backstop: boolean;
  cooldownEndsAt: bigint;
  keeperSharePpm: bigint;
  positions: PositionQuote[];
};

/** The market's accounts (the quoted one among them, or not), for the ADL rank. */
export type MarketAccounts = { self: `0x${string}`; accounts: readonly AdlParty[] };

/** The account's liquidation picture at `v`; its ADL rank when `market` lists every account (the score alone otherwise). */
export function quoteAccount(account: Account, v: Valuation, market?: MarketAccounts): AccountQuote {
  const h = accountHealth(account, v);
  const positions = h.positions.map((pv): PositionQuote => {
    const m = marketOf(v, pv.marketId);
    const maxSlice = maxLiquidatable(account, pv.marketId, v, h);
    const split = quoteSlice(maxSlice, pv.price, m.liquidation.penaltyPpm, h.equity, v.global.keeperSharePpm);
    return {
      marketId: pv.marketId,
      size: pv.size,
      entryPrice: pv.entryPrice,
      markPrice: pv.price,
      notional: pv.notional,
      pnl: pv.pnl,
      funding: pv.funding,
      maintenance: pv.maintenance,
      initial: pv.initial,
      liquidationPrice: liquidationPrice(account, pv.marketId, v),
      bankruptcyPrice: bankruptcyPrice(account, pv.marketId, v),
      maxSlice,
      penalty: split.penalty,
      keeperTokens: split.keeperTokens,
      insuranceShare: split.insuranceWad,
      afterSlice: afterSlice(account, pv.marketId, maxSlice, v),
      adl: adlRank(h, pv.marketId, v, market),
    };
  });
  return {
    timestamp: v.timestamp,
    collateral: h.collateral,
    equity: h.equity,
    maintenance: h.maintenance,
    initial: h.initial,
    target: h.target,
    marginRatioPpm: marginRatioPpm(h),
    liquidatable: h.liquidatable,
    backstop: h.backstop,
    cooldownEndsAt: h.cooldownEndsAt,
    keeperSharePpm: v.global.keeperSharePpm,
    positions,
  };
}

/** Leverage of the whole account, Σ N / E, in ppm of 1x (undefined when E ≤ 0 or no positions). */
export function accountLeveragePpm(q: Pick<AccountQuote, "equity" | "positions">): bigint | undefined {
  if (q.equity <= 0n || q.positions.length === 0) return undefined;
  return (q.positions.reduce((s, p) => s + p.notional, 0n) * PPM) / q.equity;
}

/** The account after liquidating `slice` of its position in `marketId` now: what is left, equity and the new liquidation price. */
function afterSlice(account: Account, marketId: number, slice: bigint, v: Valuation): PositionQuote["afterSlice"] {
  if (slice === 0n) return undefined;
  const r = applyLiquidation(account, marketId, slice, v, 0n);
  if (!r.ok) return undefined;
  const after = r.outcome.account;
  const equity = accountHealth(after, v).equity;
  return { size: r.outcome.remainingSize, equity, liquidationPrice: r.outcome.remainingSize === 0n ? undefined : liquidationPrice(after, marketId, v) };
}

/**
 * ADL score of the account's position in `marketId` (PnL% × effective leverage; 0 when not
 * eligible), and its rank: 1 + the eligible positions on its side that the contract would take
 * first (a higher score, or the same score and a lower address).
 */
function adlRank(h: Health, marketId: number, v: Valuation, market: MarketAccounts | undefined): PositionQuote["adl"] {
  const own = h.positions.find((p) => p.marketId === marketId)!;
  const score = scoreOfPosition(h, own);
  if (!market || score === 0n) return { score };
  const self = addressKey(market.self);
  let ahead = 0;
  let of = 1;
  for (const o of market.accounts) {
    const key = addressKey(o.address);
    if (key === self) continue;
    const oh = accountHealth(o.account, v);
    const p = oh.positions.find((x) => x.marketId === marketId);
    if (!p || p.size > 0n !== own.size > 0n) continue;
    const s = scoreOfPosition(oh, p);
    if (s === 0n) continue;
    of++;
    if (s > score || (s === score && key < self)) ahead++;
  }
  return { score, rank: ahead + 1, of };
}
