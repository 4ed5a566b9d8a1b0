// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {CappedBase} from "./CappedBase.t.sol";
import {ICappedPerpsMarket} from "../../src/capped/ICappedPerpsMarket.sol";

/// @notice The worked example of docs/capped-market.md, number for number (the engine's unit test
///         uses the same figures).
contract CappedWorkedExampleTest is CappedBase {
    function test_workedExample() public {
        (uint256 costFlag, uint256 costLiq) = market.getKeeperCosts();
        assertEq(costFlag, 0.8e18, "costFlag");
        assertEq(costLiq, 1.2e18, "costLiq");
        (uint256 cap, uint256 maxInWindow, uint256 latest) = market.liquidationCapacity(ETH);
        assertEq(maxInWindow, 210e18, "max in window");
        assertEq(cap, 210e18);
        assertEq(latest, 0);

        uint128 id = _account(alice, 80_000e18);
        (uint256 fee,) = market.computeOrderFees(ETH, 500e18);
        assertEq(fee, 500e18, "taker fee");
        _trade(alice, id, ETH, 500e18);
        assertEq(market.totalCollateralValue(id), 79_500e18, "collateral after fee");
        (uint256 im, uint256 mm, uint256 reward) = market.getRequiredMargins(id);
        assertEq(im, 70_050e18, "IM");
        assertEq(mm, 35_050e18, "MM at 2000");
        assertEq(reward, 104.4e18, "reward at open");

        _setPrice(ETH_FEED, 1900e18);
        assertEq(market.getAvailableMargin(id), 29_500e18, "available at 1900");
        (, mm, reward) = market.getRequiredMargins(id);
        assertEq(mm, 33_300e18, "MM at 1900");
        assertEq(reward, 104.4e18, "reward at 1900");
        assertTrue(market.canLiquidate(id));

        uint256 t = block.timestamp;
        uint256 pool = market.poolBalance();
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.AccountFlaggedForLiquidation(id, 29_500e18, 33_300e18, 104.4e18, 0.8e18);
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.PositionLiquidated(id, ETH, 210e18, 290e18);
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.AccountLiquidationAttempt(id, 100e18, false);
        vm.prank(keeper);
        assertEq(market.liquidate(id), 100e18, "first reward");
        assertEq(susd.balanceOf(keeper), 100e18);
        assertEq(market.totalCollateralValue(id), 0, "seized");
        assertEq(market.poolBalance(), pool + 79_500e18 - 100e18, "pool took the collateral, paid the keeper");
        (cap,, latest) = market.liquidationCapacity(ETH);
        assertEq(cap, 0);
        assertEq(latest, t);

        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.AccountLiquidationAttempt(id, 0, false);
        vm.prank(keeper);
        assertEq(market.liquidate(id), 0, "window used up");

        _warpAndRefresh(29);
        vm.prank(keeper);
        assertEq(market.liquidate(id), 0, "still inside the window at t + 29");

        _warpAndRefresh(1);
        vm.prank(keeper);
        assertEq(market.liquidate(id), 2.2e18, "second window");
        assertEq(market.getOpenPositionSize(id, ETH), 80e18);

        _warpAndRefresh(30);
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.AccountLiquidationAttempt(id, 2.2e18, true);
        vm.prank(keeper);
        assertEq(market.liquidate(id), 2.2e18, "third window");
        assertEq(market.getOpenPositionSize(id, ETH), 0);
        assertEq(market.flaggedAccounts().length, 0);
        assertEq(susd.balanceOf(keeper), 104.4e18, "total = the reserved liquidation reward");
    }
}
