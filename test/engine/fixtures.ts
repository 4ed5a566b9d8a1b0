import { NEUTRAL_LIQUIDATION, WAD, cumAmounts, type Account, type LiquidationParams, type MarketState, type Tier, type Valuation } from "../../src/engine/index.ts";
import { parseWad } from "../../src/lib/units.ts";

export const w = (x: string | number) => parseWad(x);

export const NO_PARTIAL_RULES: LiquidationParams = NEUTRAL_LIQUIDATION;

/** A market with no funding; `tiers` as [floor, mmrPpm, maxLeverage]. */
export function market(
  id: number,
  tiers: readonly (readonly [string | number, number, number])[],
  opts: { lotSize?: bigint; liquidation?: Partial<LiquidationParams> } = {},
): MarketState {
  const t: Tier[] = tiers.map(([floor, mmr, lev]) => ({ floor: w(floor), mmrPpm: BigInt(mmr), maxLeverage: BigInt(lev) }));
  return {
    id,
    lotSize: opts.lotSize ?? WAD / 1000n,
    tradingFeePpm: 0n,
    tiers: t,
    cums: cumAmounts(t),
    liquidation: { ...NO_PARTIAL_RULES, ...opts.liquidation },
    funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n },
  };
}

export function valuation(markets: MarketState[], prices: Record<number, bigint>, timestamp = 1_000n): Valuation {
  return {
    markets: new Map(markets.map((m) => [m.id, m])),
    prices: new Map(Object.entries(prices).map(([k, v]) => [Number(k), v])),
    timestamp,
    global: { cooldown: 0n, backstopPpm: 0n, keeperSharePpm: 500_000n },
  };
}

export function account(collateral: bigint, positions: [number, bigint, bigint][]): Account {
  return {
    collateral,
    lastPartialAt: 0n,
    positions: positions.map(([marketId, size, entryPrice]) => ({ marketId, size, entryPrice, entryFundingIndex: 0n })),
  };
}
