import { PPM, abs, floorDiv } from "./math.ts";
import { fundingIndexAt, fundingOwed, notional, pnl } from "./position.ts";
import { requirements } from "./tiers.ts";
import type { Account, MarketState, Position, Valuation } from "./types.ts";

/** One position valued at the mark (the contract's `PositionValue`). */
export type PositionValue = {
  marketId: number;
  size: bigint;
  entryPrice: bigint;
  price: bigint;
  notional: bigint;
  pnl: bigint;
  funding: bigint;
  maintenance: bigint;
  initial: bigint;
  /** maintenance + buffer × notional */
  target: bigint;
};

/** An account's health (the contract's `Health`), with each position's figures. */
export type Health = {
  collateral: bigint;
  equity: bigint;
  maintenance: bigint;
  initial: bigint;
  target: bigint;
  liquidatable: boolean;
  backstop: boolean;
  cooldownEndsAt: bigint;
  positions: PositionValue[];
};

export class MissingMarketDataError extends Error {
  override name = "MissingMarketDataError";
  constructor(readonly marketId: number, what: "market" | "price") {
    super(`no ${what} for market ${marketId}`);
  }
}

export function marketOf(v: Valuation, marketId: number): MarketState {
  const m = v.markets.get(marketId);
  if (!m) throw new MissingMarketDataError(marketId, "market");
  return m;
}

export function priceOf(v: Valuation, marketId: number): bigint {
  const p = v.prices.get(marketId);
  if (p === undefined) throw new MissingMarketDataError(marketId, "price");
  return p;
}

/** Per-market figures that depend only on the valuation, computed once per valuation. */
type MarketAtValuation = { market: MarketState; price: bigint; fundingIndex: bigint };
const perValuation = new WeakMap<Valuation, Map<number, MarketAtValuation>>();

function marketAt(v: Valuation, marketId: number): MarketAtValuation {
  let cache = perValuation.get(v);
  if (!cache) perValuation.set(v, (cache = new Map()));
  let m = cache.get(marketId);
  if (!m) {
    const market = marketOf(v, marketId);
    m = { market, price: priceOf(v, marketId), fundingIndex: fundingIndexAt(market.funding, v.timestamp) };
    cache.set(marketId, m);
  }
  return m;
}

/** Value one position at the valuation's price and time. */
export function valuePosition(position: Position, v: Valuation): PositionValue {
  const { market: m, price, fundingIndex } = marketAt(v, position.marketId);
  const n = notional(abs(position.size), price);
  const r = requirements(m.tiers, m.cums, m.liquidation.targetBufferPpm, n);
  return {
    marketId: position.marketId,
    size: position.size,
    entryPrice: position.entryPrice,
    price,
    notional: n,
    pnl: pnl(position.size, price, position.entryPrice),
    funding: fundingOwed(position.size, fundingIndex, position.entryFundingIndex),
    maintenance: r.maintenance,
    initial: r.initial,
    target: r.target,
  };
}

/**
 * Equity E = collateral + Σ pnl − Σ funding; liquidatable when E < ΣMM; backstop when also
 * E ≤ 0 or E < backstopPpm × ΣMM.
 */
export function accountHealth(account: Account, v: Valuation): Health {
  const positions: PositionValue[] = [];
  for (const p of account.positions) if (p.size !== 0n) positions.push(valuePosition(p, v));
  let equity = account.collateral;
  let maintenance = 0n;
  let initial = 0n;
  let target = 0n;
  for (const p of positions) {
    equity += p.pnl - p.funding;
    maintenance += p.maintenance;
    initial += p.initial;
    target += p.target;
  }
  const liquidatable = equity < maintenance;
  const backstop = liquidatable && (equity <= 0n || equity * PPM < v.global.backstopPpm * maintenance);
  const cooldownEndsAt = account.lastPartialAt === 0n ? 0n : account.lastPartialAt + v.global.cooldown;
  return {
    collateral: account.collateral,
    equity,
    maintenance,
    initial,
    target,
    liquidatable,
    backstop,
    cooldownEndsAt,
    positions,
  };
}

/** Margin ratio E / ΣMM in ppm (rounded down); undefined without positions. */
export function marginRatioPpm(h: Pick<Health, "equity" | "maintenance">): bigint | undefined {
  if (h.maintenance === 0n) return undefined;
  return floorDiv(h.equity * PPM, h.maintenance);
}
