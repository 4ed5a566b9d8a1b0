// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {CappedBase} from "./CappedBase.t.sol";
import {ICappedPerpsMarket} from "../../src/capped/ICappedPerpsMarket.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Accounts, collateral, orders, fees and the pool (docs/capped-market.md).
contract CappedAccountsTest is CappedBase {
    function test_createAccount_sequentialIdsAndOwner() public {
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.AccountCreated(1, alice);
        vm.prank(alice);
        assertEq(market.createAccount(), 1);
        vm.prank(bob);
        assertEq(market.createAccount(), 2);
        assertEq(market.getAccountOwner(1), alice);
        assertEq(market.getAccountOwner(2), bob);
    }

    function test_modifyCollateral_depositAndWithdraw() public {
        uint128 id = _account(alice, 1000e18);
        assertEq(market.totalCollateralValue(id), 1000e18);
        assertEq(market.getCollateralAmount(id, 0), 1000e18);
        assertEq(market.getCollateralAmount(id, 7), 0);
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.CollateralModified(id, 0, -400e18, alice);
        vm.prank(alice);
        market.modifyCollateral(id, 0, -400e18);
        assertEq(market.totalCollateralValue(id), 600e18);
        assertEq(susd.balanceOf(alice), 400e18);
        assertEq(market.getWithdrawableMargin(id), 600e18);
    }

    function test_modifyCollateral_errors() public {
        uint128 id = _account(alice, 1000e18);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.PermissionDenied.selector, id, bob));
        market.modifyCollateral(id, 0, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AccountNotFound.selector, uint128(9)));
        market.modifyCollateral(9, 0, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.UnsupportedCollateral.selector, uint128(1)));
        market.modifyCollateral(id, 1, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InvalidAmountDelta.selector, int256(0)));
        market.modifyCollateral(id, 0, 0);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ICappedPerpsMarket.InsufficientSynthCollateral.selector, uint128(0), 1000e18, 1001e18)
        );
        market.modifyCollateral(id, 0, -1001e18);
    }

    function test_withdraw_keepsInitialMarginAndReward() public {
        uint128 id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        // available 79_500, IM 70_050, reward 104.4 → withdrawable 9_345.6
        int256 withdrawable = market.getWithdrawableMargin(id);
        assertEq(withdrawable, 9_345.6e18);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICappedPerpsMarket.InsufficientCollateralAvailableForWithdraw.selector, withdrawable, 9_346e18
            )
        );
        market.modifyCollateral(id, 0, -9_346e18);
        vm.prank(alice);
        market.modifyCollateral(id, 0, -9_345.6e18);
        assertEq(market.getWithdrawableMargin(id), 0);
    }

    function test_withdraw_liquidatableAccountReverts() public {
        uint128 id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        _setPrice(ETH_FEED, 1900e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AccountLiquidatable.selector, id));
        market.modifyCollateral(id, 0, -1e18);
        vm.prank(keeper);
        market.liquidate(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AccountLiquidatable.selector, id));
        market.modifyCollateral(id, 0, 1e18);
    }

    function test_order_realisesPnlAndResetsEntry() public {
        uint128 id = _account(alice, 100_000e18);
        _trade(alice, id, ETH, 100e18); // fee 200_000 × 0.0005 = 100
        assertEq(market.totalCollateralValue(id), 99_900e18);
        _setPrice(ETH_FEED, 2100e18);
        (int256 pnl,, int128 sz,) = market.getOpenPosition(id, ETH);
        assertEq(pnl, 10_000e18);
        assertEq(sz, 100e18);
        uint256 pool = market.poolBalance();
        // closing −100 against skew +100: maker fee on 100 × 2100 × 0.0002 = 42
        vm.expectEmit(address(market));
        emit ICappedPerpsMarket.OrderSettled(ETH, id, 2100e18, 10_000e18, 0, -100e18, 0, 42e18, 0, 42e18, 0, 0, alice);
        _trade(alice, id, ETH, -100e18);
        assertEq(market.totalCollateralValue(id), 99_900e18 + 10_000e18 - 42e18);
        assertEq(market.poolBalance(), pool - 10_000e18 + 42e18);
        assertEq(market.getAccountOpenPositions(id).length, 0);
        (int128 s, uint256 entry) = market.getPosition(id, ETH);
        assertEq(s, 0);
        assertEq(entry, 0);
        assertEq(market.skew(ETH), 0);
        assertEq(market.size(ETH), 0);
    }

    function test_orderFee_makerTakerAndFlip() public {
        uint128 a = _account(alice, 1_000_000e18);
        uint128 b = _account(bob, 1_000_000e18);
        _trade(alice, a, ETH, 100e18); // skew 0 → +100
        (uint256 fee,) = market.computeOrderFees(ETH, 50e18);
        assertEq(fee, 50e18, "taker: 100_000 x 0.0005");
        (fee,) = market.computeOrderFees(ETH, -50e18);
        assertEq(fee, 20e18, "maker: 100_000 x 0.0002");
        (fee,) = market.computeOrderFees(ETH, -150e18);
        // flip: maker on |skew| 100 (200_000 × 0.0002 = 40) + taker on |skew + Δ| 50 (100_000 × 0.0005 = 50)
        assertEq(fee, 90e18, "flip");
        _trade(bob, b, ETH, -150e18);
        assertEq(market.totalCollateralValue(b), 1_000_000e18 - 90e18);
        assertEq(market.skew(ETH), -50e18);
        assertEq(market.size(ETH), 250e18);
    }

    function test_order_errors() public {
        uint128 id = _account(alice, 10_000e18);
        vm.startPrank(alice);
        vm.expectRevert(ICappedPerpsMarket.ZeroSizeOrder.selector);
        market.commitOrder(ETH, id, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InvalidMarket.selector, uint128(3)));
        market.commitOrder(3, id, 1e18, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AcceptablePriceExceeded.selector, 2000e18, 1999e18));
        market.commitOrder(ETH, id, 1e18, 1999e18);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.AcceptablePriceExceeded.selector, 2000e18, 2001e18));
        market.commitOrder(ETH, id, -1e18, 2001e18);
        vm.stopPrank();
    }

    function test_order_insufficientMargin() public {
        uint128 id = _account(alice, 10_000e18);
        // 100 ETH: notional 200_000, IMR 0.01 + 0.02 = 0.03 → IM 6_050; flag reward 60 → reward
        // keeperReward(60, 2, 10_000) = min(62, 100) = 62 (+0: one window); fee 100 → 6_212 ≤ 10_000.
        _trade(alice, id, ETH, 100e18);
        // 200 ETH more: new size 300, IMR 0.05 → IM 30_050; the check compares with 9_900.
        vm.prank(alice);
        vm.expectPartialRevert(ICappedPerpsMarket.InsufficientMargin.selector);
        market.commitOrder(ETH, id, 200e18, type(uint256).max);
        uint128 poor = _account(bob, 1e18);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InsufficientMargin.selector, int256(1e18), 5e18));
        market.commitOrder(ETH, poor, 5e18, type(uint256).max); // fee 10_000 × 0.0005 = 5 > 1
    }

    function test_order_maxOpenInterest() public {
        vm.prank(owner);
        market.setMaxMarketSize(ETH, 100e18);
        uint128 id = _account(alice, 1_000_000e18);
        _trade(alice, id, ETH, 100e18);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ICappedPerpsMarket.MaxOpenInterestReached.selector, ETH, 100e18, int256(101e18))
        );
        market.commitOrder(ETH, id, 1e18, type(uint256).max);
        _trade(alice, id, ETH, -10e18); // reducing is always allowed
    }

    function test_order_profitBeyondPool() public {
        uint128 id = _account(alice, 1_000_000e18);
        _trade(alice, id, BTC, 10e18);
        _setPrice(BTC_FEED, 600_000e18); // +5_600_000 against a pool of ~5_000_200
        vm.prank(alice);
        vm.expectPartialRevert(ICappedPerpsMarket.InsufficientPoolBalance.selector);
        market.commitOrder(BTC, id, -10e18, 0);
    }

    function test_config_onlyOwnerAndExistingMarket() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        market.setOrderFees(ETH, 1, 1);
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InvalidMarket.selector, uint128(9)));
        market.setOrderFees(9, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InvalidMarket.selector, ETH));
        market.createMarket(ETH, "again", "X");
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InvalidMarket.selector, uint128(0)));
        market.createMarket(0, "zero", "Z");
        vm.stopPrank();
        (uint256 i, uint256 mi, uint256 s, uint256 f, uint256 mp) = market.getLiquidationParameters(ETH);
        assertEq(i + mi + s + f + mp, 1e18 + 0.02e18 + 0.5e18 + 0.0003e18 + 50e18);
        (uint256 mult, uint256 secs, uint256 pd, address endorsed) = market.getMaxLiquidationParameters(ETH);
        assertEq(mult, 1e18);
        assertEq(secs, 30);
        assertEq(pd, 0);
        assertEq(endorsed, address(0));
        assertEq(market.getMarkets().length, 2);
    }
}
