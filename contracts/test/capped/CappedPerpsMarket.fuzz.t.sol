// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {CappedBase} from "./CappedBase.t.sol";
import {ICappedPerpsMarket} from "../../src/capped/ICappedPerpsMarket.sol";
import {CappedMath} from "../../src/capped/CappedMath.sol";
import {KeeperReward} from "../../src/capped/KeeperReward.sol";

/// @notice Properties of the rules over generated inputs: the reward guards, the margin model,
///         fees, Pyth scaling, eligibility and the capacity window.
contract CappedFuzzTest is CappedBase {
    function testFuzz_keeperReward_withinGuards(
        uint256 rewards,
        uint256 cost,
        uint256 margin,
        uint256 minUsd,
        uint256 profitRatio,
        uint256 maxUsd,
        uint256 scaling
    ) public pure {
        rewards = bound(rewards, 0, 1e30);
        cost = bound(cost, 0, 1e30);
        margin = bound(margin, 0, 1e30);
        KeeperReward.Guards memory g = KeeperReward.Guards({
            minKeeperRewardUsd: bound(minUsd, 0, 1e24),
            minKeeperProfitRatioD18: bound(profitRatio, 0, 10e18),
            maxKeeperRewardUsd: bound(maxUsd, 0, 1e27),
            maxKeeperScalingRatioD18: bound(scaling, 0, 10e18)
        });
        uint256 r = KeeperReward.keeperReward(g, rewards, cost, margin);
        uint256 maxCap = KeeperReward.maximumCap(g, margin);
        uint256 minCap = KeeperReward.minimumCap(g, cost);
        assertLe(r, maxCap, "never above the maximum cap");
        assertLe(maxCap, g.maxKeeperRewardUsd, "the maximum cap is within maxKeeperRewardUsd");
        if (minCap <= maxCap) assertGe(r, minCap, "at least the minimum when the caps allow it");
        if (minCap <= rewards + cost && rewards + cost <= maxCap) assertEq(r, rewards + cost, "uncapped");
    }

    function testFuzz_margins_maintenanceBelowInitialAndMonotonic(uint256 a, uint256 b, uint256 price) public pure {
        CappedMath.MarginParams memory p = CappedMath.MarginParams({
            skewScale: 10_000e18,
            initialMarginRatioD18: 1e18,
            minimumInitialMarginRatioD18: 0.02e18,
            maintenanceMarginScalarD18: 0.5e18,
            flagRewardRatioD18: 0.0003e18,
            minimumPositionMargin: 50e18,
            maxLiquidationAmountInWindow: 210e18
        });
        a = bound(a, 1, 1e24);
        b = bound(b, a, 1e24);
        price = bound(price, 1, 1e24);
        (uint256 imA, uint256 mmA) = CappedMath.requiredMargins(p, int256(a), price);
        (uint256 imB, uint256 mmB) = CappedMath.requiredMargins(p, -int256(b), price);
        assertLe(mmA, imA);
        assertLe(imA, imB, "initial margin grows with |size|");
        assertLe(mmA, mmB, "maintenance margin grows with |size|");
        (uint256 imNeg, uint256 mmNeg) = CappedMath.requiredMargins(p, -int256(a), price);
        assertEq(imNeg, imA, "side does not matter");
        assertEq(mmNeg, mmA);
        assertEq(CappedMath.liquidationWindows(p, int256(a)), (a + 210e18 - 1) / 210e18);
    }

    /// A flipping order pays what closing the skew and opening the rest would pay.
    function testFuzz_orderFee_flipIsCloseThenOpen(int256 skew, int256 delta, uint256 price) public pure {
        skew = bound(skew, -1e24, 1e24);
        delta = bound(delta, -1e24, 1e24);
        price = bound(price, 1, 1e24);
        vm.assume(!CappedMath.sameSide(skew + delta, skew));
        uint256 flip = CappedMath.orderFee(delta, price, skew, 0.0002e18, 0.0005e18);
        uint256 close = CappedMath.orderFee(-skew, price, skew, 0.0002e18, 0.0005e18);
        uint256 open = CappedMath.orderFee(delta + skew, price, 0, 0.0002e18, 0.0005e18);
        assertEq(flip, close + open);
    }

    /// Moving the decimal point between price and exponent does not change the value.
    function testFuzz_pythToD18_scaleInvariant(int64 price, int32 expo) public pure {
        price = int64(bound(price, 1, type(int64).max / 10));
        expo = int32(bound(expo, -17, 10));
        assertEq(CappedMath.pythToD18(price * 10, expo - 1), CappedMath.pythToD18(price, expo));
    }

    /// Whatever the position and the move, liquidate succeeds exactly when canLiquidate said so,
    /// and a flagged account was below maintenance margin plus reward.
    function testFuzz_onlyEligibleAccountsAreFlagged(uint256 collateral, int256 size, uint256 newPrice) public {
        collateral = bound(collateral, 100e18, 2_000_000e18);
        size = bound(size, -2_000e18, 2_000e18);
        vm.assume(size != 0);
        uint128 id = _account(alice, collateral);
        vm.prank(alice);
        try market.commitOrder(ETH, id, int128(size), size > 0 ? type(uint256).max : 0) {}
        catch {
            return; // refused orders are tested elsewhere
        }
        _setPrice(ETH_FEED, bound(newPrice, 500e18, 4000e18));
        bool eligible = market.canLiquidate(id);
        int256 available = market.getAvailableMargin(id);
        (, uint256 mm, uint256 reward) = market.getRequiredMargins(id);
        assertEq(eligible, int256(mm + reward) > available, "canLiquidate is the rule");
        vm.prank(keeper);
        if (!eligible) {
            vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.NotEligibleForLiquidation.selector, id));
            market.liquidate(id);
        } else {
            uint256 r = market.liquidate(id);
            assertLe(r, 100e18, "maxKeeperRewardUsd");
            assertEq(market.totalCollateralValue(id), 0);
        }
    }

    /// Each call liquidates at most the capacity it found, and the account closes within
    /// ceil(|size| / max) windows.
    function testFuzz_capacityHonouredAcrossCalls(uint256 size, uint256[8] memory gaps) public {
        size = bound(size, 1e18, 2_000e18);
        uint128 id = _account(alice, 1_000_000e18);
        _trade(alice, id, ETH, int128(int256(size)));
        // a minimum position margin beyond any collateral makes the account liquidatable
        vm.prank(owner);
        market.setLiquidationParameters(ETH, 1e18, 0.02e18, 0.5e18, 0.0003e18, 10_000_000e18);
        uint256 remaining = size;
        uint256 windows;
        for (uint256 i = 0; i < gaps.length && remaining > 0; ++i) {
            (uint256 capacity,,) = market.liquidationCapacity(ETH);
            vm.prank(keeper);
            market.liquidate(id);
            uint256 left = uint256(int256(market.getOpenPositionSize(id, ETH)));
            assertLe(remaining - left, capacity, "never beyond the capacity");
            if (remaining > left) windows++;
            remaining = left;
            _warpAndRefresh(bound(gaps[i], 0, 40));
        }
        (, uint256 maxInWindow,) = market.liquidationCapacity(ETH);
        if (remaining == 0) assertGe(windows, (size + maxInWindow - 1) / maxInWindow);
    }
}
