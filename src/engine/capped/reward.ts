/**
 * The keeper reward and its guards (contracts/src/capped/KeeperReward.sol, after Synthetix's
 * GlobalPerpsMarketConfiguration minimumKeeperRewardCap / maximumKeeperRewardCap / keeperReward and
 * PerpsAccount.getPossibleLiquidationReward).
 */
import { WAD, max, min } from "../math.ts";
import { mulDecimal } from "./decimal.ts";
import type { KeeperCosts, KeeperRewardGuards } from "./types.ts";

/** The lowest reward for a call that cost `cost`: max(cost + minKeeperRewardUsd, cost × (1 + minKeeperProfitRatio)). */
export function minimumRewardCap(g: KeeperRewardGuards, cost: bigint): bigint {
  return max(cost + g.minKeeperRewardUsd, mulDecimal(cost, g.minKeeperProfitRatio + WAD));
}

/** The highest: min(margin × maxKeeperScalingRatio, maxKeeperRewardUsd); a margin of 0 leaves the absolute cap. */
export function maximumRewardCap(g: KeeperRewardGuards, margin: bigint): bigint {
  if (margin === 0n) return g.maxKeeperRewardUsd;
  return min(mulDecimal(margin, g.maxKeeperScalingRatio), g.maxKeeperRewardUsd);
}

/** min(max(minimumCap(cost), rewards + cost), maximumCap(margin)). */
export function keeperReward(g: KeeperRewardGuards, rewards: bigint, cost: bigint, margin: bigint): bigint {
  return min(max(minimumRewardCap(g, cost), rewards + cost), maximumRewardCap(g, margin));
}

/**
 * What an account keeps in its required margin for its keepers: flagging plus the first window's
 * liquidation, and one liquidation call for each further window its largest position needs.
 */
export function possibleLiquidationReward(g: KeeperRewardGuards, totalFlagRewards: bigint, maxWindows: bigint, collateral: bigint, costs: KeeperCosts): bigint {
  const flagAndLiquidate = keeperReward(g, totalFlagRewards, costs.flag + costs.liquidate, collateral);
  const furtherWindows = maxWindows === 0n ? 0n : keeperReward(g, 0n, costs.liquidate, 0n) * (maxWindows - 1n);
  return flagAndLiquidate + furtherWindows;
}

/** USD cost of `gasUnits` at `baseFee` wei per gas and a D18 native-token price. */
export function keeperCostUsd(gasUnits: bigint, baseFee: bigint, nativePrice: bigint): bigint {
  return mulDecimal(gasUnits * baseFee, nativePrice);
}

/** getKeeperCosts(): both costs at a base fee; zero without a native price feed (`nativePrice` undefined). */
export function keeperCosts(p: { flagGasUnits: bigint; liquidateGasUnits: bigint }, baseFee: bigint, nativePrice: bigint | undefined): KeeperCosts {
  if (nativePrice === undefined) return { flag: 0n, liquidate: 0n };
  return { flag: keeperCostUsd(p.flagGasUnits, baseFee, nativePrice), liquidate: keeperCostUsd(p.liquidateGasUnits, baseFee, nativePrice) };
}
