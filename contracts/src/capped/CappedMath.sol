// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title CappedMath
/// @notice The pure arithmetic of docs/capped-market.md: Synthetix's decimal math, the margin model,
///         order fees, PnL and Pyth scaling. `src/engine/capped/` mirrors each function operation for
///         operation (same order, same rounding); change one, change both.
/// @dev Everything is D18. Sources are paths in Synthetixio/synthetix-v3 under
///      markets/perps-market/contracts/ unless stated otherwise.
library CappedMath {
    uint256 internal constant UNIT = 1e18;
    int256 internal constant UNIT_INT = 1e18;

    /// What the margin model needs of a market (PerpsMarketConfiguration.Data, in part).
    struct MarginParams {
        uint256 skewScale;
        uint256 initialMarginRatioD18;
        uint256 minimumInitialMarginRatioD18;
        uint256 maintenanceMarginScalarD18;
        uint256 flagRewardRatioD18;
        uint256 minimumPositionMargin;
        uint256 maxLiquidationAmountInWindow;
    }

    // ---- DecimalMath (@synthetixio/core-contracts utils/DecimalMath.sol) and MathUtil ----------

    /// a × b / 1e18, floored.
    function mulDecimal(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a * b) / UNIT;
    }

    /// a × 1e18 / b, floored.
    function divDecimal(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a * UNIT) / b;
    }

    /// a × b / 1e18, truncated toward zero (Solidity's signed `/`, as DecimalMath's int version).
    function mulDecimalInt(int256 a, int256 b) internal pure returns (int256) {
        return (a * b) / UNIT_INT;
    }

    /// utils/MathUtil.sol ceilDivide: 0 when b is 0.
    function ceilDivide(uint256 a, uint256 b) internal pure returns (uint256) {
        if (b == 0) return 0;
        return a / b + (a % b == 0 ? 0 : 1);
    }

    /// utils/MathUtil.sol sameSide: zero is on every side.
    function sameSide(int256 a, int256 b) internal pure returns (bool) {
        return a == 0 || b == 0 || (a > 0) == (b > 0);
    }

    function abs(int256 x) internal pure returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast) x ≥ 0, or −x > 0 (−type(int256).min reverts)
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }

    // ---- Margin model (storage/PerpsMarketConfiguration.sol calculateRequiredMargins) -----------

    /// Initial and maintenance margin of one position of size `size` at `price`.
    function requiredMargins(MarginParams memory p, int256 size, uint256 price)
        internal
        pure
        returns (uint256 initialMargin, uint256 maintenanceMargin)
    {
        if (size == 0) return (0, 0);
        uint256 absSize = abs(size);
        uint256 impactOnSkew = p.skewScale == 0 ? 0 : divDecimal(absSize, p.skewScale);
        uint256 imr = mulDecimal(impactOnSkew, p.initialMarginRatioD18) + p.minimumInitialMarginRatioD18;
        uint256 mmr = mulDecimal(imr, p.maintenanceMarginScalarD18);
        uint256 notional = mulDecimal(absSize, price);
        initialMargin = mulDecimal(notional, imr) + p.minimumPositionMargin;
        maintenanceMargin = mulDecimal(notional, mmr) + p.minimumPositionMargin;
    }

    /// PerpsMarketConfiguration.calculateFlagReward on the position's notional.
    function flagReward(MarginParams memory p, int256 size, uint256 price) internal pure returns (uint256) {
        return mulDecimal(mulDecimal(abs(size), price), p.flagRewardRatioD18);
    }

    /// PerpsMarketConfiguration.numberOfLiquidationWindows.
    function liquidationWindows(MarginParams memory p, int256 size) internal pure returns (uint256) {
        return ceilDivide(abs(size), p.maxLiquidationAmountInWindow);
    }

    /// PerpsMarketConfiguration.maxLiquidationAmountInWindow, in units of size.
    function maxLiquidationAmountInWindow(
        uint256 makerFee,
        uint256 takerFee,
        uint256 skewScale,
        uint256 multiplier,
        uint256 maxSeconds
    ) internal pure returns (uint256) {
        return mulDecimal(mulDecimal(makerFee + takerFee, skewScale), multiplier) * maxSeconds;
    }

    // ---- Positions and orders -------------------------------------------------------------------

    /// storage/Position.sol getPnl without funding and interest: size × (price − entry), truncated.
    function pnl(int256 size, uint256 price, uint256 entryPrice) internal pure returns (int256) {
        return mulDecimalInt(size, SafeCast.toInt256(price) - SafeCast.toInt256(entryPrice));
    }

    /// storage/AsyncOrder.sol calculateOrderFee: maker rate on the part that reduces the skew, taker
    /// rate on the part that increases it.
    function orderFee(int256 sizeDelta, uint256 fillPrice, int256 skew, uint256 makerFee, uint256 takerFee)
        internal
        pure
        returns (uint256)
    {
        if (sameSide(skew + sizeDelta, skew)) {
            int256 notionalDiff = mulDecimalInt(sizeDelta, SafeCast.toInt256(fillPrice));
            uint256 rate = sameSide(notionalDiff, skew) ? takerFee : makerFee;
            return abs(mulDecimalInt(notionalDiff, SafeCast.toInt256(rate)));
        }
        return mulDecimal(mulDecimal(abs(skew), fillPrice), makerFee)
            + mulDecimal(mulDecimal(abs(skew + sizeDelta), fillPrice), takerFee);
    }

    /// oracle-manager nodes/PythNode.sol: price × 10^(18 + expo), floored when the factor is negative.
    /// The caller has checked price > 0.
    function pythToD18(int64 price, int32 expo) internal pure returns (uint256) {
        int256 factor = 18 + int256(expo);
        // forge-lint: disable-next-line(unsafe-typecast) the caller checked price > 0
        uint256 p = uint256(int256(price));
        // forge-lint: disable-next-line(unsafe-typecast) factor ≥ 0 here, and below −factor > 0
        return factor >= 0 ? p * 10 ** uint256(factor) : p / 10 ** uint256(-factor);
    }
}
