// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CappedMath} from "./CappedMath.sol";

/// @title KeeperReward
/// @notice The keeper reward rules of docs/capped-market.md: the global guards of Synthetix's
///         storage/GlobalPerpsMarketConfiguration.sol (minimumKeeperRewardCap, maximumKeeperRewardCap,
///         keeperReward), the liquidation reward an account must keep in its margin
///         (storage/PerpsAccount.sol getPossibleLiquidationReward) and the USD cost of a keeper's
///         transaction. Mirrored by `src/engine/capped/`.
library KeeperReward {
    using CappedMath for uint256;

    /// GlobalPerpsMarketConfiguration's keeper reward guards, all D18.
    struct Guards {
        uint256 minKeeperRewardUsd;
        uint256 minKeeperProfitRatioD18;
        uint256 maxKeeperRewardUsd;
        uint256 maxKeeperScalingRatioD18;
    }

    /// The lowest reward: the cost plus a fixed margin, or the cost times (1 + a profit ratio).
    function minimumCap(Guards memory g, uint256 cost) internal pure returns (uint256) {
        return CappedMath.max(
            cost + g.minKeeperRewardUsd, cost.mulDecimal(g.minKeeperProfitRatioD18 + CappedMath.UNIT)
        );
    }

    /// The highest reward: a share of the seized margin, capped; a margin of 0 (an account already
    /// flagged, or one with no collateral) leaves only the absolute cap, as in Synthetix.
    function maximumCap(Guards memory g, uint256 marginUsd) internal pure returns (uint256) {
        if (marginUsd == 0) return g.maxKeeperRewardUsd;
        return CappedMath.min(marginUsd.mulDecimal(g.maxKeeperScalingRatioD18), g.maxKeeperRewardUsd);
    }

    /// min(max(minimumCap, rewards + cost), maximumCap).
    function keeperReward(Guards memory g, uint256 rewards, uint256 cost, uint256 marginUsd)
        internal
        pure
        returns (uint256)
    {
        return CappedMath.min(CappedMath.max(minimumCap(g, cost), rewards + cost), maximumCap(g, marginUsd));
    }

    /// The reward kept in the required margin: flagging and the first window's liquidation, plus
    /// one liquidation call per further window the largest position needs.
    function possibleLiquidationReward(
        Guards memory g,
        uint256 totalFlagRewards,
        uint256 maxWindows,
        uint256 collateralUsd,
        uint256 costFlag,
        uint256 costLiq
    ) internal pure returns (uint256) {
        uint256 flagAndLiquidate = keeperReward(g, totalFlagRewards, costFlag + costLiq, collateralUsd);
        uint256 furtherWindows = maxWindows == 0 ? 0 : keeperReward(g, 0, costLiq, 0) * (maxWindows - 1);
        return flagAndLiquidate + furtherWindows;
    }

    /// USD cost of `gasUnits` at `baseFee` wei per gas and a D18 native-token price.
    function costUsd(uint256 gasUnits, uint256 baseFee, uint256 nativePrice) internal pure returns (uint256) {
        return (gasUnits * baseFee).mulDecimal(nativePrice);
    }
}
