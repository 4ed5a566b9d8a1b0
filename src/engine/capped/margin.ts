/**
 * The "capped" margin model (contracts/src/capped/CappedMath.sol and the market's account views,
 * after Synthetix's PerpsMarketConfiguration.calculateRequiredMargins and PerpsAccount): a margin
 * ratio that grows with the position's share of the skew scale, maintenance as a fraction of it, a
 * fixed minimum per position, and the keepers' reward reserved on top.
 */
import { abs, max } from "../math.ts";
import { maxLiquidationAmountInWindow } from "./capacity.ts";
import { ceilDivide, divDecimal, mulDecimal } from "./decimal.ts";
import { possibleLiquidationReward } from "./reward.ts";
import type { CappedAccount, CappedMarket, CappedMarketConfig, CappedValuation } from "./types.ts";

export class CappedMissingDataError extends Error {
  override name = "CappedMissingDataError";
  constructor(readonly marketId: bigint, what: "market" | "price") {
    super(`no ${what} for capped market ${marketId}`);
  }
}

export function cappedMarketOf(v: Pick<CappedValuation, "markets">, marketId: bigint): CappedMarket {
  const m = v.markets.get(marketId);
  if (!m) throw new CappedMissingDataError(marketId, "market");
  return m;
}

export function cappedPriceOf(v: Pick<CappedValuation, "prices">, marketId: bigint): bigint {
  const p = v.prices.get(marketId);
  if (p === undefined) throw new CappedMissingDataError(marketId, "price");
  return p;
}

/** size × (price − entry), truncated toward zero (Position.getPnl without funding and interest). */
export function positionPnl(size: bigint, price: bigint, entryPrice: bigint): bigint {
  return mulDecimal(size, price - entryPrice);
}

/** |size| × price, floored. */
export function positionNotional(size: bigint, price: bigint): bigint {
  return mulDecimal(abs(size), price);
}

export type PositionMargins = {
  initialMarginRatio: bigint;
  maintenanceMarginRatio: bigint;
  notional: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
  /** notional × flagRewardRatio. */
  flagReward: bigint;
  /** Windows a liquidation of the whole position needs: ⌈|size| / maxLiquidationAmountInWindow⌉ (0 when that is 0). */
  windows: bigint;
};

/** One position's requirements at `price`; all zero for size 0. */
export function positionMargins(c: CappedMarketConfig, size: bigint, price: bigint): PositionMargins {
  if (size === 0n) return { initialMarginRatio: 0n, maintenanceMarginRatio: 0n, notional: 0n, initialMargin: 0n, maintenanceMargin: 0n, flagReward: 0n, windows: 0n };
  const absSize = abs(size);
  const impactOnSkew = c.skewScale === 0n ? 0n : divDecimal(absSize, c.skewScale);
  const imr = mulDecimal(impactOnSkew, c.initialMarginRatio) + c.minimumInitialMarginRatio;
  const mmr = mulDecimal(imr, c.maintenanceMarginScalar);
  const notional = mulDecimal(absSize, price);
  return {
    initialMarginRatio: imr,
    maintenanceMarginRatio: mmr,
    notional,
    initialMargin: mulDecimal(notional, imr) + c.minimumPositionMargin,
    maintenanceMargin: mulDecimal(notional, mmr) + c.minimumPositionMargin,
    flagReward: mulDecimal(notional, c.flagRewardRatio),
    windows: ceilDivide(absSize, maxLiquidationAmountInWindow(c)),
  };
}

/** An account's figures (getAvailableMargin, getRequiredMargins, canLiquidate), each position's too. */
export type AccountMargins = {
  /** collateral + Σ pnl. */
  availableMargin: bigint;
  requiredInitialMargin: bigint;
  requiredMaintenanceMargin: bigint;
  /** The reward reserved for keepers (possibleLiquidationReward); 0 without positions. */
  liquidationReward: bigint;
  totalFlagReward: bigint;
  maxWindows: bigint;
  /** Has positions and requiredMaintenanceMargin + liquidationReward > availableMargin. */
  eligible: boolean;
  positions: (PositionMargins & { marketId: bigint; size: bigint; price: bigint; pnl: bigint })[];
};

export function accountMargins(a: CappedAccount, v: CappedValuation): AccountMargins {
  let availableMargin = a.collateral;
  let requiredInitialMargin = 0n;
  let requiredMaintenanceMargin = 0n;
  let totalFlagReward = 0n;
  let maxWindows = 0n;
  const positions: AccountMargins["positions"] = [];
  for (const p of a.positions) {
    if (p.size === 0n) continue;
    const price = cappedPriceOf(v, p.marketId);
    const m = positionMargins(cappedMarketOf(v, p.marketId).config, p.size, price);
    const pnl = positionPnl(p.size, price, p.latestInteractionPrice);
    availableMargin += pnl;
    requiredInitialMargin += m.initialMargin;
    requiredMaintenanceMargin += m.maintenanceMargin;
    totalFlagReward += m.flagReward;
    maxWindows = max(maxWindows, m.windows);
    positions.push({ ...m, marketId: p.marketId, size: p.size, price, pnl });
  }
  const liquidationReward = positions.length === 0 ? 0n : possibleLiquidationReward(v.guards, totalFlagReward, maxWindows, a.collateral, v.costs);
  const eligible = positions.length > 0 && requiredMaintenanceMargin + liquidationReward > availableMargin;
  return { availableMargin, requiredInitialMargin, requiredMaintenanceMargin, liquidationReward, totalFlagReward, maxWindows, eligible, positions };
}

/** canLiquidate(accountId): isEligibleForLiquidation. */
export function canLiquidate(a: CappedAccount, v: CappedValuation): boolean {
  return accountMargins(a, v).eligible;
}

/** getWithdrawableMargin: all the collateral without positions, else availableMargin − (requiredInitialMargin + liquidationReward) (may be < 0). */
export function withdrawableMargin(a: CappedAccount, v: CappedValuation): bigint {
  const m = accountMargins(a, v);
  if (m.positions.length === 0) return a.collateral;
  return m.availableMargin - (m.requiredInitialMargin + m.liquidationReward);
}
