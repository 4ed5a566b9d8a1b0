// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {CappedBase} from "./CappedBase.t.sol";
import {ICappedPerpsMarket} from "../../src/capped/ICappedPerpsMarket.sol";

/// @notice Flagging, the capacity window and its bypasses, the keeper reward and its guards
///         (docs/capped-market.md, "The liquidation capacity window", "Flagging and liquidation").
contract CappedLiquidationTest is CappedBase {
    /// Alice's account of the worked example, made liquidatable at 1900 (one second after opening).
    function _crashedAccount() internal returns (uint128 id) {
        id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        _setPrice(ETH_FEED, 1900e18);
    }

    function test_healthyOrUnknownAccount_notEligible() public {
        uint128 id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        assertFalse(market.canLiquidate(id));
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.NotEligibleForLiquidation.selector, id));
        market.liquidate(id);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.NotEligibleForLiquidation.selector, uint128(77)));
        market.liquidate(77);
        assertFalse(market.canLiquidate(77));
    }

    function test_eligibility_isStrictlyBelowMaintenancePlusReward() public {
        uint128 id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        // MM + reward at price P: notional 500P, MM = 0.035 × 500P + 50, reward 104.4 (capped) →
        // eligible iff 79_500 + 500(P − 2000) < 17.5P + 154.4, i.e. P < 1_908.09…
        _setPrice(ETH_FEED, 1909e18);
        assertFalse(market.canLiquidate(id));
        _setPrice(ETH_FEED, 1908e18);
        assertTrue(market.canLiquidate(id));
    }

    function test_endorsedLiquidator_bypassesCapacityWithoutFlagReward() public {
        address endorsed = makeAddr("endorsed");
        vm.prank(owner);
        market.setMaxLiquidationParameters(ETH, 1e18, 30, 0, endorsed);
        uint128 id = _crashedAccount();
        vm.prank(endorsed);
        // no flag reward: keeperReward(0, 2.0, 79_500) = max(minCap 3, 2) = 3
        assertEq(market.liquidate(id), 3e18);
        assertEq(market.getOpenPositionSize(id, ETH), 0);
        assertEq(market.flaggedAccounts().length, 0);
        (uint256 cap,,) = market.liquidationCapacity(ETH);
        assertEq(cap, 0, "the endorsed liquidation still counts in the window");
    }

    function test_maxLiquidationPd_allowsOneMoreWindowPerBlock() public {
        vm.prank(owner);
        market.setMaxLiquidationParameters(ETH, 1e18, 30, 0.03e18, address(0));
        uint128 id = _crashedAccount();
        vm.prank(keeper);
        market.liquidate(id); // 210; skew 290
        vm.prank(keeper);
        assertEq(market.liquidate(id), 0, "not twice in the block of the last liquidation");
        _warpAndRefresh(1);
        // capacity 0, |skew| / skewScale = 290 / 10_000 = 0.029 < 0.03: one more window
        vm.prank(keeper);
        assertEq(market.liquidate(id), 2.2e18);
        assertEq(market.getOpenPositionSize(id, ETH), 80e18);
        (uint256[] memory ts, uint256[] memory amounts) = market.liquidationWindowEntries(ETH);
        assertEq(ts.length, 2);
        assertEq(amounts[0], 210e18);
        assertEq(amounts[1], 210e18);
        _warpAndRefresh(1);
        // |skew| 80 / 10_000 = 0.008 < 0.03 again
        vm.prank(keeper);
        market.liquidate(id);
        assertEq(market.getOpenPositionSize(id, ETH), 0);
    }

    function test_maxLiquidationPd_notBelowThreshold() public {
        vm.prank(owner);
        market.setMaxLiquidationParameters(ETH, 1e18, 30, 0.029e18, address(0));
        uint128 id = _crashedAccount();
        vm.prank(keeper);
        market.liquidate(id);
        _warpAndRefresh(1);
        vm.prank(keeper);
        assertEq(market.liquidate(id), 0, "0.029 is not below 0.029");
    }

    function test_zeroWindow_liquidatesInFullUnrecorded() public {
        vm.prank(owner);
        market.setOrderFees(ETH, 0, 0);
        uint128 id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        _setPrice(ETH_FEED, 1900e18);
        vm.prank(keeper);
        market.liquidate(id);
        assertEq(market.getOpenPositionSize(id, ETH), 0);
        (uint256 cap, uint256 maxInWindow, uint256 latest) = market.liquidationCapacity(ETH);
        assertEq(cap + maxInWindow + latest, 0);
    }

    function test_slidingWindow_returnsCapacityEntryByEntry() public {
        uint128 a = _crashedAccount();
        uint128 b = _account(bob, 3_000e18);
        _trade(bob, b, ETH, 50e18);
        _setPrice(ETH_FEED, 1800e18);
        vm.prank(keeper);
        market.liquidate(a); // 210 at t
        _warpAndRefresh(10);
        vm.prank(keeper);
        market.liquidate(b); // capacity 0: b is flagged, nothing liquidated
        assertEq(market.getOpenPositionSize(b, ETH), 50e18);
        _warpAndRefresh(20); // t + 30: the entry at t leaves the window
        vm.prank(keeper);
        market.liquidateFlagged(10);
        (uint256 cap,,) = market.liquidationCapacity(ETH);
        assertEq(market.getOpenPositionSize(a, ETH) + market.getOpenPositionSize(b, ETH), 290e18 + 50e18 - 210e18);
        assertEq(cap, 0);
    }

    function test_rewardGuards_scalingCapAndMinimum() public {
        vm.prank(owner);
        market.setKeeperRewardGuards(1e18, 0.05e18, 1000e18, 0.01e18);
        uint128 id = _crashedAccount();
        vm.prank(keeper);
        // flag reward 285 + cost 2 = 287 < min(79_500 × 0.01, 1000) = 795
        assertEq(market.liquidate(id), 287e18);

        vm.prank(owner);
        market.setKeeperRewardGuards(10e18, 0.05e18, 1000e18, 0.01e18);
        uint128 small = _account(bob, 300e18);
        _trade(bob, small, ETH, 1e18);
        _setPrice(ETH_FEED, 1500e18);
        vm.prank(keeper);
        // collateral 300 − fee 0.95 (taker at 1900); flag reward 1 × 1500 × 0.0003 = 0.45;
        // minCap = 2 + 10 = 12 beats 2.45; maxCap = 299.05 × 0.01 = 2.9905
        assertEq(market.liquidate(small), 2.9905e18);
    }

    function test_twoMarkets_bothLiquidatedAndRewardSummed() public {
        uint128 id = _account(alice, 100_000e18);
        _trade(alice, id, ETH, 100e18);
        _trade(alice, id, BTC, 2e18);
        vm.prank(owner);
        market.setKeeperRewardGuards(1e18, 0.05e18, 1000e18, 1e18);
        lastPrice[ETH_FEED] = 1000e18;
        _setPrice(BTC_FEED, 1000e18);
        assertTrue(market.canLiquidate(id));
        uint256 collateral = market.totalCollateralValue(id);
        vm.prank(keeper);
        uint256 reward = market.liquidate(id);
        // flag rewards: 100 × 1000 × 0.0003 + 2 × 1000 × 0.0003 = 30.6, cost 2.0 → 32.6 (caps far above)
        assertEq(reward, 32.6e18);
        assertEq(market.getAccountOpenPositions(id).length, 0);
        assertGt(collateral, 0);
    }

    function test_liquidateFlaggedAccounts_skipsUnflagged() public {
        uint128 a = _crashedAccount();
        uint128 b = _account(bob, 1_000_000e18);
        _trade(bob, b, BTC, 1e18);
        vm.prank(keeper);
        market.liquidate(a);
        assertEq(market.flaggedAccounts().length, 1);
        assertEq(market.flaggedAccounts()[0], a);
        _warpAndRefresh(30);
        uint128[] memory ids = new uint128[](2);
        ids[0] = b;
        ids[1] = a;
        vm.prank(keeper);
        assertEq(market.liquidateFlaggedAccounts(ids), 2.2e18);
        assertEq(market.getOpenPositionSize(b, BTC), 1e18);
        assertEq(market.getOpenPositionSize(a, ETH), 80e18);
    }

    function test_liquidateFlagged_respectsMaxNumber() public {
        uint128 a = _crashedAccount();
        vm.prank(keeper);
        market.liquidate(a);
        _warpAndRefresh(30);
        vm.prank(keeper);
        assertEq(market.liquidateFlagged(0), 0);
        assertEq(market.getOpenPositionSize(a, ETH), 290e18);
        vm.prank(keeper);
        assertEq(market.liquidateFlagged(5), 2.2e18);
    }

    function test_flaggedAccount_cannotTrade() public {
        uint128 a = _crashedAccount();
        vm.prank(keeper);
        market.liquidate(a);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AccountLiquidatable.selector, a));
        market.commitOrder(ETH, a, -1e18, 0);
    }

    function test_liquidatableAccount_cannotTrade() public {
        uint128 a = _crashedAccount();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AccountLiquidatable.selector, a));
        market.commitOrder(ETH, a, -500e18, 0);
    }
}
