// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Vm} from "forge-std/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Base} from "./Base.t.sol";
import {PerpMarket} from "../src/PerpMarket.sol";
import {MarginMath} from "../src/MarginMath.sol";
import {MockAggregatorV3} from "../src/MockAggregatorV3.sol";

/// @notice Unit tests of PerpMarket against docs/reference-market.md. Unless a test says otherwise the
///         fixture is Base's: the reference tiers on BTC (lot 0.001), penalty 0.5%, buffer 0.5%, no step
///         cap, no partial threshold, no dust rule, trading fee 0, cooldown 30 s, backstop 2/3,
///         keeper share 50%, insurance fund 50,000.
contract PerpMarketTest is Base {
    // ----------------------------------------------------------------------------------------
    // Fixtures
    // ----------------------------------------------------------------------------------------

    /// The worked example (docs/reference-market.md): long 10 BTC at 60,000 with collateral exactly 34,000; mark 57,000.
    function _workedExample(address who) internal {
        _open(who, BTC, 10e18, 34_000e6);
        _setPrice(BTC, 57_000e18);
    }

    function _liqWith(uint32 maxStepPpm, bool stepDown, uint256 threshold, uint256 dust)
        internal
        view
        returns (PerpMarket.LiquidationParams memory p)
    {
        p = _liqParams();
        p.maxStepPpm = maxStepPpm;
        p.tierStepDown = stepDown;
        p.partialThreshold = threshold;
        p.dustNotional = dust;
    }

    // ----------------------------------------------------------------------------------------
    // The worked example
    // ----------------------------------------------------------------------------------------

    function test_workedExample_figuresAtMark57000() public {
        _workedExample(alice);
        assertEq(market.collateralOf(alice), 34_000e18, "collateral stays exactly 34,000 (fee 0)");
        PerpMarket.PositionValue[] memory v = market.positionValues(alice);
        assertEq(v.length, 1);
        assertEq(v[0].notional, 570_000e18, "N");
        assertEq(v[0].maintenance, 4_400e18, "MM = 570,000 x 1% - 1,300");
        assertEq(v[0].pnl, -30_000e18, "pnl");
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, 4_000e18, "E");
        assertEq(h.maintenance, 4_400e18, "sum MM");
        assertTrue(h.liquidatable, "E < MM");
        assertFalse(h.backstop, "4,000 >= 2/3 x 4,400");
        assertTrue(market.isLiquidatable(alice));
        assertConserved();
    }

    function test_workedExample_sliceIs110Over19() public {
        _workedExample(alice);
        // 110/19 = 5.78947... BTC, rounded up to the 0.001 lot.
        assertEq(market.maxLiquidatable(alice, BTC), 5.790e18, "max slice");

        (uint256 pen, uint256 keeperTokens, uint256 insuranceShare) = market.quoteLiquidation(alice, BTC, 5.790e18);
        assertEq(pen, 1_650.15e18, "penalty = 0.5% x 330,030");
        assertEq(keeperTokens, 825_075_000, "keeper: 825.075 USDC");
        assertEq(insuranceShare, 825.075e18, "insurance: the rest");

        uint256 insuranceBefore = market.insuranceFund();
        vm.expectEmit(address(market));
        emit PerpMarket.Liquidated(
            alice, BTC, keeper, 5.790e18, 57_000e18, 1_650.15e18, 825.075e18, 825.075e18, 4.210e18, false
        );
        uint256 reward = _liquidate(keeper, alice, BTC, 5.790e18);
        assertEq(reward, 825_075_000);
        assertEq(usdc.balanceOf(keeper), 825_075_000, "keeper paid in tokens");
        assertEq(market.insuranceFund() - insuranceBefore, 825.075e18, "insurance share");

        PerpMarket.Health memory h = _health(alice);
        // N' = 4.21 x 57,000 = 239,970 (tier 2): MM' = 1,199.85 - 50 = 1,149.85; buffer 1,199.85.
        assertEq(h.equity, 2_349.85e18, "E' = 4,000 - 1,650.15");
        assertEq(h.maintenance, 1_149.85e18, "MM'");
        assertEq(h.target, 2_349.70e18, "MM' + 0.5% x N'");
        assertFalse(h.liquidatable, "healthy");
        assertGe(h.equity, int256(h.target), "at or above the buffer target");
        assertEq(_size(alice, BTC), 4.21e18);
        assertEq(market.getPosition(alice, BTC).entryPrice, 60_000e18, "entry of the rest unchanged");
        assertEq(market.lastPartialAt(alice), block.timestamp, "cooldown starts");
        assertConserved();
    }

    function test_workedExample_oneLotLessDoesNotRestoreTarget() public {
        _workedExample(alice);
        _liquidate(keeper, alice, BTC, 5.789e18);
        PerpMarket.Health memory h = _health(alice);
        // E' = 4,000 - 1,649.865 = 2,350.135 < MM' 1,150.135 + buffer 1,200.135 = 2,350.27
        assertEq(h.equity, 2_350.135e18);
        assertEq(h.target, 2_350.27e18);
        assertLt(h.equity, int256(h.target), "5.789 falls short of the target: 5.790 is the smallest slice");
        assertConserved();
    }

    function test_workedExample_stepCap25pct_sliceIs2p5() public {
        _setLiq(BTC, _liqWith(250_000, false, 0, 0));
        _workedExample(alice);
        assertEq(market.maxLiquidatable(alice, BTC), 2.5e18, "25% of 10 BTC");
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.SliceTooLarge.selector, 2.501e18, 2.5e18));
        _liquidate(keeper, alice, BTC, 2.501e18);

        _liquidate(keeper, alice, BTC, 2.5e18);
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, 3_287.5e18, "E' = 4,000 - 712.5");
        assertEq(h.maintenance, 2_975e18, "MM' = 427,500 x 1% - 1,300");
        assertFalse(h.liquidatable, "healthy again");
        assertLt(h.equity, int256(h.target), "though under the buffer target");
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Tiers
    // ----------------------------------------------------------------------------------------

    function test_cumAmounts_are0_50_1300() public view {
        (MarginMath.Tier[] memory tiers, uint256[] memory cums) = market.getTiers(BTC);
        assertEq(tiers.length, 3);
        assertEq(cums.length, 3);
        // Stored scaled by 1e6 (floor x ppm), exact.
        assertEq(cums[0], 0);
        assertEq(cums[1], 50_000e18 * 1000);
        assertEq(cums[2], 50_000e18 * 1000 + 250_000e18 * 5000);
        assertEq(cums[0] / PPM, 0);
        assertEq(cums[1] / PPM, 50e18);
        assertEq(cums[2] / PPM, 1_300e18);
    }

    function test_maintenanceMargin_isContinuousAtTierFloors() public view {
        // At each floor both adjacent tier lines give the same MM.
        assertEq(market.maintenanceMargin(BTC, 50_000e18), 200e18, "50k x 0.4% = 50k x 0.5% - 50");
        assertEq(market.maintenanceMargin(BTC, 50_000e18 - 1), _ceilDiv((50_000e18 - 1) * 4000, PPM));
        assertEq(market.maintenanceMargin(BTC, 250_000e18), 1_200e18, "250k x 0.5% - 50 = 250k x 1% - 1,300");
        assertEq(market.maintenanceMargin(BTC, 250_000e18 - 1), _ceilDiv((250_000e18 - 1) * 5000 - 5e25, PPM));
        assertEq(market.maintenanceMargin(BTC, 0), 0);
        assertEq(market.maintenanceMargin(BTC, 1), 1, "rounds up");
    }

    function test_initialMargin_usesLeverageOfTheNotionalsTier() public view {
        assertEq(market.initialMargin(BTC, 50_000e18 - 125), 400e18 - 1, "125x in tier 0");
        assertEq(market.initialMargin(BTC, 50_000e18), 500e18, "100x in tier 1");
        assertEq(market.initialMargin(BTC, 600_000e18), 12_000e18, "50x in tier 2");
        assertEq(market.initialMargin(BTC, 1), 1, "rounds up");
    }

    // ----------------------------------------------------------------------------------------
    // Token conversion (6-decimal token, WAD inside)
    // ----------------------------------------------------------------------------------------

    function test_deposit_oneTokenUnitCredits1e12Wei() public {
        int256 totalBefore = market.totalCollateral();
        _deposit(alice, 1);
        assertEq(market.collateralOf(alice), 1e12);
        assertEq(market.totalCollateral() - totalBefore, 1e12);
        assertConserved();
    }

    function test_withdraw_floorsToWholeTokenUnits() public {
        _deposit(alice, 10);
        vm.prank(alice);
        uint256 paid = market.withdraw(1.5e12 + 7);
        assertEq(paid, 1, "1 token unit paid");
        assertEq(usdc.balanceOf(alice), 1);
        assertEq(market.collateralOf(alice), 9e12, "debited exactly 1e12 wei");
        assertConserved();
    }

    function test_withdraw_belowOneTokenUnit_reverts() public {
        _deposit(alice, 10);
        vm.expectRevert(PerpMarket.ZeroAmount.selector);
        vm.prank(alice);
        market.withdraw(1e12 - 1);
        assertConserved();
    }

    function test_withdraw_moreThanCollateral_reverts() public {
        _deposit(alice, 10);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientCollateral.selector, int256(10e12), 11e12));
        vm.prank(alice);
        market.withdraw(11e12);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Parameter validation
    // ----------------------------------------------------------------------------------------

    function _tiers2(uint256 floor1, uint32 mmr0, uint32 lev0, uint32 mmr1, uint32 lev1)
        internal
        pure
        returns (MarginMath.Tier[] memory t)
    {
        t = new MarginMath.Tier[](2);
        t[0] = MarginMath.Tier({floor: 0, mmrPpm: mmr0, maxLeverage: lev0});
        t[1] = MarginMath.Tier({floor: floor1, mmrPpm: mmr1, maxLeverage: lev1});
    }

    function test_revert_tierRatesNotIncreasing() public {
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.TierRatesNotIncreasing.selector, 1));
        market.setTiers(BTC, _tiers2(50_000e18, 4000, 125, 4000, 100));
        assertConserved();
    }

    function test_revert_tierFloorsNotIncreasing() public {
        MarginMath.Tier[] memory t = _btcTiers();
        t[2].floor = t[1].floor;
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.TierFloorsNotIncreasing.selector, 2));
        market.setTiers(BTC, t);
        assertConserved();
    }

    function test_revert_firstTierFloorNotZero() public {
        MarginMath.Tier[] memory t = _btcTiers();
        t[0].floor = 1e18;
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.FirstTierFloorNotZero.selector, 1e18));
        market.setTiers(BTC, t);
        assertConserved();
    }

    function test_revert_leverageTimesMmrAtLeastOne() public {
        // 0.4% x 250 = 1: the initial margin would not exceed the maintenance margin.
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidTierRate.selector, 0, 4000, 250));
        market.setTiers(BTC, _tiers2(50_000e18, 4000, 250, 5000, 100));
        assertConserved();
    }

    function test_revert_tierLeverageIncreasing() public {
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.TierLeverageIncreasing.selector, 1));
        market.setTiers(BTC, _tiers2(50_000e18, 4000, 100, 5000, 125));
        assertConserved();
    }

    function test_revert_emptyTiers() public {
        vm.expectRevert(PerpMarket.EmptyTiers.selector);
        market.setTiers(BTC, new MarginMath.Tier[](0));
        assertConserved();
    }

    function test_revert_penaltyNotBelowTarget() public {
        PerpMarket.LiquidationParams memory p = _liqParams();
        p.penaltyPpm = 9000; // = mmr_0 0.4% + buffer 0.5%
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PenaltyNotBelowTarget.selector, 9000, 9000));
        _setLiq(BTC, p);
        p.penaltyPpm = 8999;
        _setLiq(BTC, p);
        assertConserved();
    }

    function test_revert_invalidPpmParameters() public {
        PerpMarket.LiquidationParams memory p = _liqParams();
        p.maxStepPpm = 0;
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPpm.selector, 0));
        _setLiq(BTC, p);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPpm.selector, 1_000_001));
        _setGlobal(30, 1_000_001, 500_000);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPpm.selector, 1_000_001));
        _setGlobal(30, 666_667, 1_000_001);
        assertConserved();
    }

    function test_revert_onlyOwnerSetsParameters() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        market.setFundingRate(BTC, 1);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Mark price
    // ----------------------------------------------------------------------------------------

    function test_markPrice_normalisesFeedDecimalsByMultiplication() public {
        assertEq(market.markPrice(BTC), 60_000e18, "8 decimals");
        MockAggregatorV3 f6 = new MockAggregatorV3(6, "X / USD", 1_234_567);
        uint256 id = _addMarket(f6, 1e18, _btcTiers());
        assertEq(market.markPrice(id), 1.234567e18, "6 decimals");
        MockAggregatorV3 f19 = new MockAggregatorV3(19, "Y / USD", 1);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.FeedDecimalsTooLarge.selector, uint8(19)));
        market.addMarket(_marketParams(f19, 1e18), _liqParams(), _btcTiers());
        assertConserved();
    }

    function test_revert_zeroPrice() public {
        _workedExample(alice);
        _setPrice(BTC, 0);
        _deposit(bob, 10_000e6);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPrice.selector, BTC, int256(0)));
        _trade(bob, BTC, 1e15);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPrice.selector, BTC, int256(0)));
        _liquidate(keeper, alice, BTC, 1e15);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPrice.selector, BTC, int256(0)));
        market.maxLiquidatable(alice, BTC);
        assertConserved();
    }

    function test_revert_negativePrice() public {
        _workedExample(alice);
        btcFeed.updateAnswer(-1);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPrice.selector, BTC, int256(-1)));
        _liquidate(keeper, alice, BTC, 1e15);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPrice.selector, BTC, int256(-1)));
        market.markPrice(BTC);
        assertConserved();
    }

    function test_revert_stalePrice() public {
        _workedExample(alice);
        uint256 publishedAt = T0; // (via-IR re-reads block.timestamp after vm.warp: use the constant)
        vm.warp(publishedAt + STALENESS); // exactly maxStaleness old: still fresh
        assertEq(market.maxLiquidatable(alice, BTC), 5.790e18);
        vm.warp(publishedAt + STALENESS + 1);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.StalePrice.selector, BTC, publishedAt, STALENESS));
        _liquidate(keeper, alice, BTC, 5.790e18);
        _deposit(bob, 10_000e6);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.StalePrice.selector, BTC, publishedAt, STALENESS));
        _trade(bob, BTC, 1e15);
        assertConserved();
    }

    function test_revert_priceFromTheFuture() public {
        btcFeed.updateAnswerAt(60_000e8, block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.StalePrice.selector, BTC, block.timestamp + 1, STALENESS));
        market.markPrice(BTC);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Trading
    // ----------------------------------------------------------------------------------------

    function test_revert_openWithoutInitialMargin() public {
        _deposit(alice, 1_000e6);
        // 2 BTC = 120,000 notional, tier 1 (100x): IM 1,200 > E 1,000.
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientMargin.selector, int256(1_000e18), 1_200e18));
        _trade(alice, BTC, 2e18);
        _trade(alice, BTC, 1e18); // 60,000 at 100x: IM 600
        assertConserved();
    }

    function test_revert_tradeNotLotMultiple_andZero() public {
        _deposit(alice, 1_000e6);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.SizeNotLotMultiple.selector, 1e15 + 1, BTC_LOT));
        _trade(alice, BTC, 1e15 + 1);
        vm.expectRevert(PerpMarket.ZeroSize.selector);
        _trade(alice, BTC, 0);
        assertConserved();
    }

    function test_revert_tooManyPositions() public {
        uint256 max = market.MAX_POSITIONS();
        _deposit(alice, 1_000_000e6);
        _trade(alice, BTC, 1e15);
        _trade(alice, ETH, 1e16);
        for (uint256 i = 2; i <= max; i++) {
            MockAggregatorV3 f = new MockAggregatorV3(8, "X / USD", 100e8);
            uint256 id = _addMarket(f, 1e18, _btcTiers());
            if (i < max) _trade(alice, id, 1e18);
            else {
                vm.expectRevert(abi.encodeWithSelector(PerpMarket.TooManyPositions.selector, max));
                _trade(alice, id, 1e18);
            }
        }
        assertEq(market.accountMarkets(alice).length, max);
        assertConserved();
    }

    function test_revert_withdrawThatWouldBreakInitialMargin() public {
        _open(alice, BTC, 1e18, 1_000e6); // IM 600 (100x on 60,000)
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientMargin.selector, int256(399e18), 600e18));
        vm.prank(alice);
        market.withdraw(601e18);
        vm.prank(alice);
        market.withdraw(400e18);
        assertEq(market.collateralOf(alice), 600e18);
        assertConserved();
    }

    function test_revert_unknownMarket() public {
        _deposit(alice, 1_000e6);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 7));
        _trade(alice, 7, 1e15);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 7));
        _liquidate(keeper, alice, 7, 1e15);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 7));
        market.maxLiquidatable(alice, 7);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 7));
        market.markPrice(7);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 7));
        market.setFundingRate(7, 1);
        assertConserved();
    }

    function test_revert_reduceThatLeavesAccountLiquidatable() public {
        _workedExample(alice);
        // Closing 0.1 BTC keeps E = 4,000 but MM only falls to 564,300 x 1% - 1,300 = 4,343.
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.WouldBeLiquidatable.selector, int256(4_000e18), 4_343e18));
        _trade(alice, BTC, -0.1e18);
        // Closing 1 BTC brings MM to 3,830 <= 4,000: allowed (a trader may de-risk).
        _trade(alice, BTC, -1e18);
        assertEq(market.collateralOf(alice), 31_000e18, "realised -3,000");
        assertEq(market.getPosition(alice, BTC).entryPrice, 60_000e18, "entry of the rest unchanged");
        assertConserved();
    }

    function test_trade_feeRoundedUpToPool() public {
        // An 18-decimal feed and a 1-wei lot, so that notional and fee both need rounding up.
        MockAggregatorV3 f = new MockAggregatorV3(18, "X / USD", 3e18 + 1);
        uint256 id = _addMarket(f, 1, _btcTiers());
        _setFee(id, 500); // 0.05%
        _deposit(alice, 10_000e6);
        int256 poolBefore = market.poolBalance();
        _trade(alice, id, 1e18 + 1);
        uint256 n = _ceilDiv((1e18 + 1) * (3e18 + 1), WAD);
        assertEq(n, 3e18 + 5, "notional rounded up");
        uint256 fee = _ceilDiv(n * 500, PPM);
        assertEq(fee, 1.5e15 + 1, "fee rounded up");
        assertEq(market.collateralOf(alice), 10_000e18 - int256(fee));
        assertEq(market.poolBalance() - poolBefore, int256(fee));
        assertConserved();
    }

    function test_trade_reduceRealisesPnlIntoCollateral_flipResetsEntry() public {
        _open(alice, BTC, 2e18, 10_000e6);
        _setPrice(BTC, 61_000e18);
        int256 poolBefore = market.poolBalance();
        _trade(alice, BTC, -0.5e18);
        assertEq(market.collateralOf(alice), 10_500e18, "+500 realised");
        assertEq(market.poolBalance(), poolBefore - 500e18, "paid by the pool");
        assertEq(market.getPosition(alice, BTC).entryPrice, 60_000e18);
        // Flip to a larger short: the new short is opened at the mark and needs IM.
        _trade(alice, BTC, -3.5e18);
        assertEq(_size(alice, BTC), -2e18);
        assertEq(market.getPosition(alice, BTC).entryPrice, 61_000e18);
        assertEq(market.collateralOf(alice), 12_000e18, "+1,500 realised on the closed 1.5 long");
        assertConserved();
    }

    function test_revert_tradeThePoolCannotBack() public {
        market.withdrawPool(9_990_000e6); // leave 10,000 in the pool
        assertEq(market.poolBalance(), 10_000e18);
        _open(alice, BTC, 1e18, 1_000e6);
        _setPrice(BTC, 71_000e18); // +11,000 unrealised
        vm.expectRevert(
            abi.encodeWithSelector(PerpMarket.InsufficientPoolLiquidity.selector, -int256(1_000e18), 11_000e18)
        );
        _trade(alice, BTC, -1e18);
        _trade(alice, BTC, -0.9e18); // +9,900: the pool can back it
        assertEq(market.poolBalance(), 100e18);
        assertConserved();
    }

    /// BUG (PerpMarket.sol:353): a flip to a *smaller* opposite position is treated as a reduction,
    /// so the new opposite position is only checked against maintenance margin, not initial
    /// margin. The rules: opening or increasing requires E >= sum IM after the trade; closing then
    /// opening the same short reverts with InsufficientMargin (see the next test), the one-step
    /// flip does not. Here the flip opens a 0.99 BTC short at ~196x (E 300 vs IM 587.07).
    function test_trade_flipToSmallerOppositePosition_requiresInitialMargin() public {
        _open(alice, BTC, 1e18, 1_000e6);
        _setPrice(BTC, 59_300e18); // E = 300; MM of a 0.99 short = 243.535, IM = 587.07
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientMargin.selector, int256(300e18), 587.07e18));
        _trade(alice, BTC, -1.99e18);
        assertConserved();
    }

    function test_trade_closeThenOpenSmallerShort_requiresInitialMargin() public {
        _open(alice, BTC, 1e18, 1_000e6);
        _setPrice(BTC, 59_300e18);
        _trade(alice, BTC, -1e18);
        assertEq(market.collateralOf(alice), 300e18);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InsufficientMargin.selector, int256(300e18), 587.07e18));
        _trade(alice, BTC, -0.99e18);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Liquidation: bad input
    // ----------------------------------------------------------------------------------------

    function test_revert_sliceAboveMax() public {
        _workedExample(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.SliceTooLarge.selector, 5.791e18, 5.790e18));
        _liquidate(keeper, alice, BTC, 5.791e18);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.SliceTooLarge.selector, 10.001e18, 10e18));
        _liquidate(keeper, alice, BTC, 10.001e18);
        assertConserved();
    }

    function test_revert_sliceNotLotMultiple() public {
        _workedExample(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.SizeNotLotMultiple.selector, 5e18 + 1, BTC_LOT));
        _liquidate(keeper, alice, BTC, 5e18 + 1);
        assertConserved();
    }

    function test_revert_healthyAccountNotLiquidatable() public {
        _open(alice, BTC, 10e18, 34_000e6);
        // E = 34,000 and MM = 600,000 x 1% - 1,300 = 4,700 at 60,000.
        assertEq(market.maxLiquidatable(alice, BTC), 0);
        vm.expectRevert(
            abi.encodeWithSelector(PerpMarket.NotLiquidatable.selector, alice, int256(34_000e18), 4_700e18)
        );
        _liquidate(keeper, alice, BTC, 1e15);
        assertConserved();
    }

    function test_revert_noPositionOrZeroSize() public {
        _workedExample(alice);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.NoPosition.selector, alice, ETH));
        _liquidate(keeper, alice, ETH, 1e16);
        vm.expectRevert(PerpMarket.ZeroSize.selector);
        _liquidate(keeper, alice, BTC, 0);
        assertConserved();
    }

    function test_revert_liquidateFromBatchIsSelfOnly() public {
        _workedExample(alice);
        vm.expectRevert(PerpMarket.OnlySelf.selector);
        market.liquidateFromBatch(alice, BTC, 1e15, keeper);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Cooldown
    // ----------------------------------------------------------------------------------------

    /// After a 25% step at 57,000 the price slips to `price`. Collateral is 25,787.5 and the
    /// position 7.5 BTC entered at 60,000.
    function _afterCappedStep(uint256 price) internal {
        _setLiq(BTC, _liqWith(250_000, false, 0, 0));
        _workedExample(alice);
        _liquidate(keeper, alice, BTC, 2.5e18);
        assertEq(market.collateralOf(alice), 25_787.5e18);
        _setPrice(BTC, price);
    }

    function test_cooldown_secondPartialStepReverts_thenAllowedAfterCooldown() public {
        uint256 stepAt = T0;
        _afterCappedStep(56_900e18); // E = 2,537.5 < MM 2,967.5, not backstop
        PerpMarket.Health memory h = _health(alice);
        assertTrue(h.liquidatable && !h.backstop);
        assertEq(h.cooldownEndsAt, stepAt + 30);
        assertEq(market.maxLiquidatable(alice, BTC), 0, "keepers see 0 during the cooldown");

        vm.expectRevert(abi.encodeWithSelector(PerpMarket.CooldownActive.selector, alice, stepAt + 30));
        _liquidate(keeper, alice, BTC, 1e15);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.SliceTooLarge.selector, 7.5e18, 0));
        _liquidate(keeper, alice, BTC, 7.5e18);

        _warp(29);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.CooldownActive.selector, alice, stepAt + 30));
        _liquidate(keeper, alice, BTC, 1e15);

        _warp(1); // cooldown over at exactly lastPartialAt + cooldown
        assertEq(market.maxLiquidatable(alice, BTC), 1.875e18, "25% of 7.5");
        _liquidate(keeper, alice, BTC, 1.875e18);
        assertEq(market.lastPartialAt(alice), stepAt + 30);
        assertConserved();
    }

    function test_cooldown_backstopAllowsFullCloseDuringCooldown() public {
        _afterCappedStep(56_600e18); // E = 287.5 < 2/3 x 2,945
        PerpMarket.Health memory h = _health(alice);
        assertTrue(h.backstop, "backstop");
        assertGt(h.cooldownEndsAt, block.timestamp, "cooldown running");
        assertEq(market.maxLiquidatable(alice, BTC), 7.5e18, "full, uncapped");
        _liquidate(keeper, alice, BTC, 7.5e18);
        assertEq(_size(alice, BTC), 0);
        assertConserved();
    }

    function test_cooldown_backstopAllowsPartialStepDuringCooldown() public {
        _afterCappedStep(56_600e18);
        uint256 reward = _liquidate(keeper, alice, BTC, 1e18);
        assertGt(reward, 0);
        assertEq(_size(alice, BTC), 6.5e18);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Sizing rules: cap, dust, threshold, backstop, E <= 0, tier step-down
    // ----------------------------------------------------------------------------------------

    function test_stepCap_limitsSliceToMaxStepOfPosition() public {
        _setLiq(BTC, _liqWith(200_000, false, 0, 0));
        _workedExample(alice);
        assertEq(market.maxLiquidatable(alice, BTC), 2e18, "20% (Hyperliquid)");
        assertConserved();
    }

    function test_stepCap_roundsUpToLot() public {
        _setLiq(BTC, _liqWith(200_000, false, 0, 0));
        _open(alice, BTC, 10.001e18, 34_100e6);
        _setPrice(BTC, 57_000e18);
        assertTrue(market.isLiquidatable(alice));
        // 20% of 10.001 = 2.0002, rounded up to 2.001.
        assertEq(market.maxLiquidatable(alice, BTC), 2.001e18);
        assertConserved();
    }

    function test_stepCap_appliesAtOrAbovePartialThreshold() public {
        _setLiq(BTC, _liqWith(250_000, false, 570_000e18, 0)); // N = 570,000: at the threshold
        _workedExample(alice);
        assertEq(market.maxLiquidatable(alice, BTC), 2.5e18);
        assertConserved();
    }

    function test_partialThreshold_positionBelowThresholdClosesWhole() public {
        _setLiq(BTC, _liqWith(250_000, false, 570_000e18 + 1, 0)); // N just below the threshold
        _workedExample(alice);
        assertEq(market.maxLiquidatable(alice, BTC), 10e18, "full, cap ignored");
        _liquidate(keeper, alice, BTC, 10e18);
        assertEq(_size(alice, BTC), 0);
        assertEq(market.lastPartialAt(alice), 0, "a full close starts no cooldown");
        assertConserved();
    }

    function test_dust_remainderBelowDustNotional_closesWholePosition() public {
        // The 5.790 slice leaves 239,970 of notional.
        _setLiq(BTC, _liqWith(1_000_000, false, 0, 239_970e18 + 1));
        _workedExample(alice);
        assertEq(market.maxLiquidatable(alice, BTC), 10e18, "remainder is dust");
        _setLiq(BTC, _liqWith(1_000_000, false, 0, 239_970e18));
        assertEq(market.maxLiquidatable(alice, BTC), 5.790e18, "remainder at the dust notional stays");
        assertConserved();
    }

    function test_dust_remainderBelowOneLot_closesWholePosition() public {
        _workedExample(alice);
        PerpMarket.MarketParams memory p = market.getMarket(BTC).params;
        p.lotSize = 4e18; // the restoring slice becomes 8 BTC and would leave 2 < one lot
        market.setMarketParams(BTC, p);
        assertEq(market.maxLiquidatable(alice, BTC), 10e18);
        _liquidate(keeper, alice, BTC, 10e18); // full: no lot multiple needed
        assertEq(_size(alice, BTC), 0);
        assertConserved();
    }

    function test_backstop_fullCloseWithoutCap_penaltyCappedAtEquity() public {
        _setLiq(BTC, _liqWith(250_000, false, 0, 0));
        _workedExample(alice);
        _setPrice(BTC, 56_800e18); // E = 2,000 < 2/3 x MM 4,380
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, 2_000e18);
        assertEq(h.maintenance, 4_380e18);
        assertTrue(h.backstop);
        assertEq(market.maxLiquidatable(alice, BTC), 10e18, "backstop: full, no cap");

        // 0.5% x 568,000 = 2,840 > E: the penalty is E.
        (uint256 pen,,) = market.quoteLiquidation(alice, BTC, 10e18);
        assertEq(pen, 2_000e18);
        uint256 insuranceBefore = market.insuranceFund();
        vm.recordLogs();
        _liquidate(keeper, alice, BTC, 10e18);
        LiqEvent memory e = _lastLiquidation();
        assertTrue(e.full);
        assertEq(e.penalty, 2_000e18, "penalty never exceeds max(E, 0)");
        assertEq(usdc.balanceOf(keeper), 1_000e6);
        assertEq(market.insuranceFund() - insuranceBefore, 1_000e18);
        assertEq(market.collateralOf(alice), 0, "34,000 - 32,000 - 2,000");
        assertEq(market.badDebt(), 0);
        assertConserved();
    }

    function test_nonPositiveEquity_fullClose_noPenalty() public {
        _setLiq(BTC, _liqWith(250_000, false, 0, 0));
        _workedExample(alice);
        _setPrice(BTC, 56_600e18); // E = 34,000 - 34,000 = 0
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, 0);
        assertTrue(h.backstop, "E <= 0 is backstop");
        assertEq(market.maxLiquidatable(alice, BTC), 10e18);
        vm.recordLogs();
        uint256 reward = _liquidate(keeper, alice, BTC, 10e18);
        assertEq(_lastLiquidation().penalty, 0);
        assertEq(reward, 0);
        assertEq(usdc.balanceOf(keeper), 0);
        assertEq(market.collateralOf(alice), 0);
        assertConserved();
    }

    function test_tierStepDown_sliceTakesNotionalJustBelowTierFloor() public {
        _setLiq(BTC, _liqWith(1_000_000, true, 0, 0));
        _workedExample(alice);
        // Keep at most (250,000 - 1 wei) / 57,000 = 4.385964... BTC: the slice is 5.615 (lot up).
        assertEq(market.maxLiquidatable(alice, BTC), 5.615e18);
        _liquidate(keeper, alice, BTC, 5.615e18);
        PerpMarket.PositionValue[] memory v = market.positionValues(alice);
        assertEq(v[0].notional, 249_945e18);
        assertLt(v[0].notional, 250_000e18, "one tier down");
        assertGe(v[0].notional + BTC_LOT * 57_000, 250_000e18, "and not one lot more than needed");
        assertConserved();
    }

    function test_tierStepDown_inFirstTierFallsBackToRestoringSlice() public {
        _setLiq(BTC, _liqWith(1_000_000, true, 0, 0));
        _open(alice, BTC, 0.5e18, 300e6); // N = 30,000, tier 0 (125x: IM 240)
        _setPrice(BTC, 59_600e18); // E = 100 < MM = 29,800 x 0.4% = 119.2
        assertTrue(market.isLiquidatable(alice));
        uint256 slice = market.maxLiquidatable(alice, BTC);
        assertGt(slice, 0);
        _liquidate(keeper, alice, BTC, slice);
        PerpMarket.Health memory h = _health(alice);
        if (_size(alice, BTC) != 0) assertGe(h.equity, int256(h.target), "restoring slice");
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Penalty split
    // ----------------------------------------------------------------------------------------

    function test_penaltySplit_keeperFlooredToTokenUnits_restToInsurance() public {
        _setGlobal(30, 666_667, 333_333);
        _workedExample(alice);
        uint256 pen = 1_650.15e18;
        uint256 keeperWad = pen * 333_333 / PPM; // 550.04944995e18
        uint256 keeperTokens = keeperWad / SCALE; // 550.049449 USDC
        assertEq(keeperTokens, 550_049_449);
        uint256 insuranceBefore = market.insuranceFund();
        uint256 keeperBefore = usdc.balanceOf(keeper);
        vm.recordLogs();
        _liquidate(keeper, alice, BTC, 5.790e18);
        LiqEvent memory e = _lastLiquidation();
        assertEq(e.penalty, pen);
        assertEq(usdc.balanceOf(keeper) - keeperBefore, keeperTokens, "keeper: floor to whole token units");
        assertEq(e.keeperReward, keeperTokens * SCALE);
        assertEq(market.insuranceFund() - insuranceBefore, pen - keeperTokens * SCALE, "insurance: the rest");
        assertEq(e.insuranceShare, 1_100.100551e18);
        assertEq(e.keeperReward + e.insuranceShare, e.penalty, "nothing created or lost");
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Bad debt
    // ----------------------------------------------------------------------------------------

    function test_badDebt_insuranceCoversThenRestIsRecorded() public {
        _workedExample(alice);
        _setPrice(BTC, 50_000e18); // E = 34,000 - 100,000 = -66,000; insurance holds 50,000
        int256 poolBefore = market.poolBalance();
        assertEq(market.insuranceFund(), 50_000e18);
        vm.expectEmit(address(market));
        emit PerpMarket.BadDebt(alice, 50_000e18, 16_000e18);
        _liquidate(keeper, alice, BTC, 10e18);
        assertEq(market.collateralOf(alice), 0);
        assertEq(market.insuranceFund(), 0);
        assertEq(market.badDebt(), 16_000e18);
        assertEq(market.poolBalance() - poolBefore, 100_000e18, "the pool realised the trader's loss");
        assertEq(usdc.balanceOf(keeper), 0, "no penalty on negative equity");
        assertConserved();

        // The pool cannot pay out what the bad debt has eaten.
        int256 available = market.poolBalance() - 16_000e18;
        uint256 tooMuch = uint256(market.poolBalance()) / SCALE;
        vm.expectRevert(
            abi.encodeWithSelector(PerpMarket.InsufficientPoolLiquidity.selector, available, tooMuch * SCALE)
        );
        market.withdrawPool(tooMuch);
    }

    function test_badDebt_smallDeficitFullyCoveredByInsurance() public {
        _workedExample(alice);
        _setPrice(BTC, 56_500e18); // E = -1,000
        vm.expectEmit(address(market));
        emit PerpMarket.BadDebt(alice, 1_000e18, 0);
        _liquidate(keeper, alice, BTC, 10e18);
        assertEq(market.insuranceFund(), 49_000e18);
        assertEq(market.badDebt(), 0);
        assertEq(market.collateralOf(alice), 0);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Funding
    // ----------------------------------------------------------------------------------------

    function test_funding_indexAccruesAtOldRateBeforeRateChange() public {
        market.setFundingRate(BTC, 5);
        _warp(100);
        market.setFundingRate(BTC, -3);
        assertEq(market.getMarket(BTC).fundingIndex, 500);
        assertEq(market.getMarket(BTC).lastFundingTime, block.timestamp);
        _warp(50);
        assertEq(market.fundingIndexNow(BTC), 350);
        assertConserved();
    }

    function test_funding_equityDropsBySizeTimesIndexRoundedUp() public {
        _open(alice, BTC, 1.001e18, 10_000e6); // long
        _open(bob, BTC, -1.001e18, 10_000e6); // short
        market.setFundingRate(BTC, 7); // longs pay
        _warp(1);
        assertEq(market.fundingIndexNow(BTC), 7);
        // owed = size x 7 / 1e18: long owes ceil(7.007) = 8 wei; short receives -ceil(-7.007) = 7 wei.
        assertEq(_health(alice).equity, 10_000e18 - 8);
        assertEq(_health(bob).equity, 10_000e18 + 7);
        PerpMarket.PositionValue[] memory v = market.positionValues(alice);
        assertEq(v[0].funding, 8);

        _warp(999);
        market.setFundingRate(BTC, 1e14);
        _warp(1000); // index = 7,000 + 1e17
        assertEq(market.fundingIndexNow(BTC), 7_000 + 1e17);
        assertEq(_health(alice).equity, 10_000e18 - int256(_ceilDiv(1.001e18 * (7_000 + 1e17), WAD)));
        assertConserved();
    }

    function test_funding_settledIntoCollateralAndPoolOnTrade() public {
        _open(alice, BTC, 1.001e18, 10_000e6);
        market.setFundingRate(BTC, 7);
        _warp(1);
        int256 equityBefore = _health(alice).equity;
        int256 poolBefore = market.poolBalance();
        vm.expectEmit(address(market));
        emit PerpMarket.Traded(alice, BTC, 1e15, 60_000e18, 0, 8, 0);
        _trade(alice, BTC, 1e15);
        assertEq(market.collateralOf(alice), 10_000e18 - 8, "funding moved into collateral");
        assertEq(market.poolBalance() - poolBefore, 8, "and to the pool");
        assertEq(market.getPosition(alice, BTC).entryFundingIndex, 7, "index restarts");
        assertEq(_health(alice).equity, equityBefore, "equity unchanged by settlement");
        assertConserved();
    }

    function test_funding_settledOnLiquidation() public {
        _workedExample(alice);
        market.setFundingRate(BTC, 1e15); // 0.001 per BTC per second
        _warp(10); // owes 10 x 0.01 = 0.1
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, 4_000e18 - 0.1e18);
        uint256 slice = market.maxLiquidatable(alice, BTC);
        _liquidate(keeper, alice, BTC, slice);
        assertEq(market.getPosition(alice, BTC).entryFundingIndex, 1e16);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Batch
    // ----------------------------------------------------------------------------------------

    function test_batch_validItemsExecute_invalidItemsReportTheirError() public {
        _open(alice, BTC, 10e18, 34_000e6);
        _open(carol, BTC, 10e18, 34_000e6);
        _open(bob, BTC, 1e18, 10_000e6);
        _setPrice(BTC, 57_000e18);
        PerpMarket.Health memory hb = _health(bob); // E 7,000, MM 57,000 x 0.5% - 50 = 235

        PerpMarket.LiquidationRequest[] memory r = new PerpMarket.LiquidationRequest[](6);
        r[0] = PerpMarket.LiquidationRequest(alice, BTC, 5.790e18);
        r[1] = PerpMarket.LiquidationRequest(bob, BTC, 1e15);
        r[2] = PerpMarket.LiquidationRequest(carol, BTC, 5.791e18);
        r[3] = PerpMarket.LiquidationRequest(carol, 99, 1e15);
        r[4] = PerpMarket.LiquidationRequest(carol, BTC, 5.790e18);
        r[5] = PerpMarket.LiquidationRequest(alice, BTC, 1e15); // healthy after item 0

        bytes memory notLiqBob =
            abi.encodeWithSelector(PerpMarket.NotLiquidatable.selector, bob, hb.equity, hb.maintenance);
        vm.expectEmit(address(market));
        emit PerpMarket.LiquidationFailed(bob, BTC, notLiqBob);

        vm.recordLogs();
        vm.prank(keeper);
        PerpMarket.LiquidationOutcome[] memory o = market.liquidateBatch(r);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(o.length, 6);
        assertTrue(o[0].ok && o[4].ok, "valid items execute");
        assertEq(o[0].keeperReward, 825_075_000);
        assertEq(o[4].keeperReward, 825_075_000);
        assertFalse(o[1].ok || o[2].ok || o[3].ok || o[5].ok, "invalid items fail alone");
        assertEq(o[1].revertData, notLiqBob);
        assertEq(
            o[2].revertData, abi.encodeWithSelector(PerpMarket.SliceTooLarge.selector, 5.791e18, 5.790e18)
        );
        assertEq(o[3].revertData, abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 99));
        assertEq(bytes4(o[5].revertData), PerpMarket.NotLiquidatable.selector);
        assertEq(o[2].keeperReward + o[1].keeperReward, 0);

        // Events: one LiquidationFailed per failed item; rewards paid in a single transfer.
        uint256 failed;
        uint256 transfersToKeeper;
        uint256 paid;
        bytes32 transferSig = keccak256("Transfer(address,address,uint256)");
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].topics[0] == PerpMarket.LiquidationFailed.selector) failed++;
            if (
                logs[i].emitter == address(usdc) && logs[i].topics[0] == transferSig
                    && address(uint160(uint256(logs[i].topics[2]))) == keeper
            ) {
                transfersToKeeper++;
                paid += abi.decode(logs[i].data, (uint256));
            }
        }
        assertEq(failed, 4);
        assertEq(transfersToKeeper, 1, "rewards paid once, at the end");
        assertEq(paid, 2 * 825_075_000);
        assertEq(usdc.balanceOf(keeper), 2 * 825_075_000);
        assertEq(_size(alice, BTC), 4.21e18);
        assertEq(_size(carol, BTC), 4.21e18);
        assertEq(_size(bob, BTC), 1e18);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Cross margin
    // ----------------------------------------------------------------------------------------

    /// alice: 33,000 collateral, long 10 BTC and short 50 ETH; bob: 33,000, long 10 BTC only.
    function _crossFixture() internal {
        _open(alice, BTC, 10e18, 33_000e6);
        _trade(alice, ETH, -50e18); // N 150,000, ETH tier 1 (66x)
        _open(bob, BTC, 10e18, 33_000e6);
        _setPrice(BTC, 57_000e18);
    }

    function test_crossMargin_profitInOneMarketSupportsLossInAnother() public {
        _crossFixture();
        _setPrice(ETH, 2_900e18); // alice's short gains 5,000
        PerpMarket.Health memory ha = _health(alice);
        PerpMarket.Health memory hb = _health(bob);
        assertEq(ha.equity, 8_000e18, "33,000 - 30,000 + 5,000");
        // MM = 4,400 + (145,000 x 0.75% - 250) = 5,237.5
        assertEq(ha.maintenance, 5_237.5e18);
        assertFalse(ha.liquidatable, "the ETH profit carries the BTC loss");
        assertEq(hb.equity, 3_000e18);
        assertTrue(hb.liquidatable, "the same BTC position alone is liquidatable");
        assertEq(market.maxLiquidatable(alice, BTC), 0);
        assertConserved();
    }

    function test_crossMargin_sliceInOneMarketRestoresAccountTarget() public {
        _crossFixture();
        _setPrice(ETH, 2_960e18); // ETH profit 2,000: E = 5,000 < MM 4,400 + 860
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, 5_000e18);
        assertEq(h.maintenance, 5_260e18);
        assertTrue(h.liquidatable && !h.backstop);
        uint256 slice = market.maxLiquidatable(alice, BTC);
        assertEq(slice, 7.895e18, "sized against the account-wide target (ETH's MM + buffer 1,600 included)");

        uint256 snap = vm.snapshotState();
        _liquidate(keeper, alice, BTC, slice - BTC_LOT);
        h = _health(alice);
        assertLt(h.equity, int256(h.target), "one lot less falls short");
        vm.revertToState(snap);

        _liquidate(keeper, alice, BTC, slice);
        h = _health(alice);
        assertEq(h.equity, 2_749.925e18);
        assertEq(h.target, 2_749.85e18, "sum over BTC and ETH of MM + 0.5% N");
        assertGe(h.equity, int256(h.target), "account-wide target restored");
        assertEq(_size(alice, ETH), -50e18, "ETH untouched");
        assertConserved();
    }

    function test_crossMargin_badDebtSettledOnlyAfterLastPosition() public {
        _crossFixture();
        _setPrice(ETH, 3_400e18); // ETH loss 20,000: E = 33,000 - 30,000 - 20,000 = -17,000
        PerpMarket.Health memory h = _health(alice);
        assertEq(h.equity, -17_000e18);
        assertTrue(h.backstop);
        _liquidate(keeper, alice, BTC, 10e18);
        assertEq(market.collateralOf(alice), 3_000e18, "33,000 - 30,000, no penalty at E <= 0");
        assertEq(market.badDebt(), 0);
        _liquidate(keeper, alice, ETH, 50e18);
        assertEq(market.collateralOf(alice), 0);
        assertEq(market.insuranceFund(), 33_000e18, "insurance covered the 17,000 deficit");
        assertConserved();
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
