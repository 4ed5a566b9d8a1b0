/** Builders for the capped engine's tests: the doc's worked-example market, valuations, accounts. */
import { parseEther } from "viem";
import {
  ZERO_ADDRESS,
  type CappedAccount,
  type CappedMarket,
  type CappedMarketConfig,
  type CappedValuation,
  type KeeperCosts,
  type KeeperRewardGuards,
} from "../../../src/engine/capped/index.ts";

/** D18 from a decimal string or number: d("0.0005") = 5e14. */
export const d = (x: string | number | bigint): bigint => parseEther(String(x));

/** docs/capped-market.md, "Worked example": the ETH market. */
export const ETH_CONFIG: CappedMarketConfig = {
  skewScale: d(10_000),
  makerFee: d("0.0002"),
  takerFee: d("0.0005"),
  initialMarginRatio: d(1),
  minimumInitialMarginRatio: d("0.02"),
  maintenanceMarginScalar: d("0.5"),
  flagRewardRatio: d("0.0003"),
  minimumPositionMargin: d(50),
  maxLiquidationLimitAccumulationMultiplier: d(1),
  maxSecondsInLiquidationWindow: 30n,
  maxLiquidationPd: 0n,
  endorsedLiquidator: ZERO_ADDRESS,
  maxMarketSize: d(1_000_000),
};

export const GUARDS: KeeperRewardGuards = {
  minKeeperRewardUsd: d(1),
  minKeeperProfitRatio: d("0.05"),
  maxKeeperRewardUsd: d(100),
  maxKeeperScalingRatio: d("0.01"),
};

export function market(id: bigint, config: CappedMarketConfig = ETH_CONFIG, extra: Partial<CappedMarket> = {}): CappedMarket {
  return { id, config, skew: 0n, size: 0n, window: { entries: [], latestTimestamp: 0n }, ...extra };
}

export function valuation(markets: CappedMarket[], prices: Record<string, bigint>, timestamp: bigint, costs: KeeperCosts, guards = GUARDS): CappedValuation {
  return {
    markets: new Map(markets.map((m) => [m.id, m])),
    prices: new Map(Object.entries(prices).map(([k, p]) => [BigInt(k), p])),
    timestamp,
    guards,
    costs,
  };
}

export function account(id: bigint, collateral: bigint, positions: [marketId: bigint, size: bigint, entry: bigint][], flagged = false): CappedAccount {
  return { id, collateral, flagged, positions: positions.map(([marketId, size, latestInteractionPrice]) => ({ marketId, size, latestInteractionPrice })) };
}
