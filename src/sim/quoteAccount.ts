import {
  PPM,
  accountHealth,
  bankruptcyPrice,
  liquidationPrice,
  marginRatioPpm,
  marketOf,
  maxLiquidatable,
  quoteSlice,
  type Account,
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

export function quoteAccount(account: Account, v: Valuation): AccountQuote {
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
