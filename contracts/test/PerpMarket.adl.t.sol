// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Vm} from "forge-std/Vm.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Base} from "./Base.t.sol";
import {PerpMarket} from "../src/PerpMarket.sol";

/// @notice Unit and fuzz tests of auto-deleveraging (docs/reference-market.md, "Auto-deleveraging"):
///         when it is due, the bankruptcy price, the counterparties' eligibility and rank order,
///         the flows, the events and the rounding. Base's fixture with ADL enabled on BTC (not on
///         ETH), an ADL operator, and an insurance fund of 1,000 so that deficits exceed it.
///         The running example: alice long 10 BTC at 60,000 with 34,000; bob short 4 BTC with
///         20,000; carol short 6 BTC with 50,000; mark 55,000: alice's equity is −16,000 and her
///         bankruptcy price 55,000 + 16,000 / 10 = 56,600.
contract PerpMarketAdlTest is Base {
    address internal operator = makeAddr("operator");
    address internal dave = makeAddr("dave");
    address internal erin = makeAddr("erin");

    function _insuranceTokens() internal pure override returns (uint256) {
        return 1_000e6;
    }

    function setUp() public override {
        super.setUp();
        PerpMarket.LiquidationParams memory p = _liqParams();
        p.adlEnabled = true;
        _setLiq(BTC, p);
        market.setAdlOperator(operator);
    }

    // ----------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------

    /// The running example (see the contract comment).
    function _bankruptLong() internal {
        _open(alice, BTC, 10e18, 34_000e6);
        _open(bob, BTC, -4e18, 20_000e6);
        _open(carol, BTC, -6e18, 50_000e6);
        _setPrice(BTC, 55_000e18);
    }

    function _deleverage(address account, uint256 marketId, address[] memory cps) internal returns (uint256) {
        vm.prank(operator);
        return market.deleverage(account, marketId, cps);
    }

    function _cps(address a) internal pure returns (address[] memory l) {
        l = new address[](1);
        l[0] = a;
    }

    function _cps(address a, address b) internal pure returns (address[] memory l) {
        l = new address[](2);
        l[0] = a;
        l[1] = b;
    }

    function _cps(address a, address b, address c) internal pure returns (address[] memory l) {
        l = new address[](3);
        l[0] = a;
        l[1] = b;
        l[2] = c;
    }

    /// The score of docs/reference-market.md, recomputed here from the views:
    /// ⌊⌊pnl × 1e18 / ⌈|size| × entry / 1e18⌉⌋ × notional / equity⌋.
    function _expectedScore(address c, uint256 marketId) internal view returns (uint256) {
        PerpMarket.PositionValue[] memory vs = market.positionValues(c);
        for (uint256 i = 0; i < vs.length; i++) {
            if (vs[i].marketId != marketId) continue;
            uint256 n0 = _ceilDiv(_abs(vs[i].size) * vs[i].entryPrice, WAD);
            // forge-lint: disable-next-line(divide-before-multiply) the rule floors PnL% first
            return (uint256(vs[i].pnl) * WAD / n0) * vs[i].notional / uint256(_health(c).equity);
        }
        revert("no position");
    }

    function _expectDeleveraged(address c, uint256 size, uint256 pb, uint256 mark) internal {
        vm.expectEmit(address(market));
        emit PerpMarket.Deleveraged(
            alice, c, BTC, size, pb, mark, _expectedScore(c, BTC), size * (pb > mark ? pb - mark : mark - pb) / WAD
        );
    }

    // ----------------------------------------------------------------------------------------
    // The flow
    // ----------------------------------------------------------------------------------------

    function test_adl_bankruptLong_closesAgainstRankedCounterpartiesAtTheBankruptcyPrice() public {
        _bankruptLong();
        assertEq(_health(alice).equity, -16_000e18);
        assertEq(market.bankruptcyPrice(alice, BTC), 56_600e18, "55,000 + 16,000 / 10");
        uint256 bobScore = market.adlScore(bob, BTC);
        uint256 carolScore = market.adlScore(carol, BTC);
        assertEq(bobScore, _expectedScore(bob, BTC));
        assertEq(carolScore, _expectedScore(carol, BTC));
        // bob: 20,000 / 240,000 × 220,000 / 40,000; carol: 30,000 / 360,000 × 330,000 / 80,000.
        assertEq(bobScore, uint256(83_333_333_333_333_333) * 220_000 / 40_000);
        assertEq(carolScore, uint256(83_333_333_333_333_333) * 330_000 / 80_000);
        assertGt(bobScore, carolScore, "bob ranks first");
        int256 pool = market.poolBalance();
        PerpMarket.Market memory before = market.getMarket(BTC);

        _expectDeleveraged(bob, 4e18, 56_600e18, 55_000e18);
        _expectDeleveraged(carol, 6e18, 56_600e18, 55_000e18);
        uint256 closed = _deleverage(alice, BTC, _cps(bob, carol));

        assertEq(closed, 10e18);
        assertEq(_size(alice, BTC), 0);
        assertEq(_size(bob, BTC), 0);
        assertEq(_size(carol, BTC), 0);
        assertEq(market.collateralOf(alice), 0, "34,000 - 10 x 3,400: exactly zero");
        assertEq(market.collateralOf(bob), 20_000e18 + 13_600e18, "4 x (60,000 - 56,600)");
        assertEq(market.collateralOf(carol), 50_000e18 + 20_400e18, "6 x (60,000 - 56,600)");
        assertEq(market.poolBalance(), pool, "-13,600 - 20,400 + 34,000");
        assertEq(market.insuranceFund(), 1_000e18, "insurance untouched");
        assertEq(market.badDebt(), 0, "no bad debt");
        assertEq(market.getMarket(BTC).longSize, before.longSize - 10e18);
        assertEq(market.getMarket(BTC).shortSize, before.shortSize - 10e18);
        assertEq(market.lastPartialAt(alice), 0, "no cooldown");
        assertEq(usdc.balanceOf(operator), 0, "no reward");
        assertConserved();
    }

    function test_adl_bankruptShort_bankruptcyPriceBelowTheMark() public {
        _open(alice, BTC, -10e18, 34_000e6);
        _open(bob, BTC, 10e18, 20_000e6);
        _setPrice(BTC, 65_000e18);
        assertEq(_health(alice).equity, -16_000e18);
        assertEq(market.bankruptcyPrice(alice, BTC), 63_400e18, "65,000 - 16,000 / 10");
        _expectDeleveraged(bob, 10e18, 63_400e18, 65_000e18);
        _deleverage(alice, BTC, _cps(bob));
        assertEq(market.collateralOf(alice), 0);
        assertEq(market.collateralOf(bob), 20_000e18 + 34_000e18, "10 x (63,400 - 60,000)");
        assertConserved();
    }

    function test_revert_adl_noBankruptcyPrice_shortWhoseDeficitReachesZeroPrice() public {
        _deposit(alice, 5_000e6);
        _trade(alice, BTC, -1e15); // short 0.001 BTC: 60 of notional
        _trade(alice, ETH, 50e18); // long 50 ETH at 3,000
        _open(bob, BTC, 1e15, 1_000e6);
        _setPrice(ETH, 2_800e18); // ETH -10,000: equity -5,000
        assertEq(_health(alice).equity, -5_000e18);
        bytes memory err = abi.encodeWithSelector(PerpMarket.NoBankruptcyPrice.selector, alice, BTC);
        vm.expectRevert(err);
        market.bankruptcyPrice(alice, BTC); // gap 5,000 / 0.001 = 5,000,000 >= 60,000
        vm.expectRevert(err);
        _deleverage(alice, BTC, _cps(bob));
        assertEq(market.bankruptcyPrice(alice, ETH), 2_900e18, "the long ETH leg has one: 2,800 + 5,000 / 50");
    }

    function test_adl_oneCounterpartyLargerThanThePosition_keepsItsRestAndEntry() public {
        _open(alice, BTC, 10e18, 34_000e6);
        _open(dave, BTC, -12e18, 100_000e6);
        _setPrice(BTC, 55_000e18);
        _expectDeleveraged(dave, 10e18, 56_600e18, 55_000e18);
        assertEq(_deleverage(alice, BTC, _cps(dave)), 10e18);
        assertEq(_size(dave, BTC), -2e18);
        assertEq(market.getPosition(dave, BTC).entryPrice, 60_000e18, "entry unchanged on a partial close");
        assertEq(market.collateralOf(dave), 100_000e18 + 34_000e18);
        assertConserved();
    }

    function test_adl_partialCover_closesWhatTheCounterpartiesHold() public {
        _bankruptLong();
        uint256 closed = _deleverage(alice, BTC, _cps(bob));
        assertEq(closed, 4e18);
        assertEq(_size(alice, BTC), 6e18);
        assertEq(market.getPosition(alice, BTC).entryPrice, 60_000e18);
        assertEq(market.collateralOf(alice), 34_000e18 - 13_600e18);
        assertEq(_health(alice).equity, -16_000e18 + 4 * 1_600e18, "the closed part moved to zero equity");
        assertEq(market.badDebt(), 0, "no bad debt while a position is open");
        assertEq(market.insuranceFund(), 1_000e18);
        // The rest, later, against carol.
        assertEq(market.bankruptcyPrice(alice, BTC), 56_600e18, "9,600 / 6 above 55,000: the same price");
        assertEq(_deleverage(alice, BTC, _cps(carol)), 6e18);
        assertEq(market.collateralOf(alice), 0);
        assertConserved();
    }

    function test_adl_entriesAfterTheCoverAreIgnored() public {
        _bankruptLong();
        _open(dave, BTC, 1e18, 10_000e6); // same side: ineligible, but never looked at
        assertEq(_deleverage(alice, BTC, _cps(bob, carol, dave)), 10e18);
        assertEq(_size(dave, BTC), 1e18);
    }

    function test_adl_roundingWeiGoToTheInsuranceFund() public {
        _open(alice, BTC, 3e18, 10_000e6);
        _open(bob, BTC, -4e18, 20_000e6);
        _setPrice(BTC, 56_000e18); // equity 10,000 - 12,000 = -2,000; gap 2,000 / 3 floored
        uint256 pb = 56_000e18 + uint256(2_000e18) * WAD / 3e18;
        assertEq(market.bankruptcyPrice(alice, BTC), pb);
        vm.expectEmit(address(market));
        emit PerpMarket.BadDebt(alice, 2, 0); // 3 × (pb - 60,000) is 2 wei below -10,000
        _deleverage(alice, BTC, _cps(bob));
        assertEq(market.collateralOf(alice), 0);
        assertEq(market.insuranceFund(), 1_000e18 - 2);
        assertEq(market.badDebt(), 0);
        assertConserved();
    }

    function test_adl_counterpartyPushedBelowZero_badDebtSettledAsLiquidationDoes() public {
        _open(alice, BTC, 10e18, 34_000e6);
        _setPrice(BTC, 56_000e18);
        _open(bob, BTC, -4e18, 2_300e6); // short at 56,000
        _open(carol, BTC, -6e18, 50_000e6);
        _setPrice(BTC, 55_000e18);
        assertEq(market.bankruptcyPrice(alice, BTC), 56_600e18);
        assertGt(market.adlScore(bob, BTC), market.adlScore(carol, BTC));
        _expectDeleveraged(bob, 4e18, 56_600e18, 55_000e18);
        vm.expectEmit(address(market));
        emit PerpMarket.BadDebt(bob, 100e18, 0); // 2,300 - 4 × 600
        _deleverage(alice, BTC, _cps(bob, carol));
        assertEq(market.collateralOf(bob), 0);
        assertEq(market.insuranceFund(), 900e18);
        assertConserved();
    }

    function test_adl_multiMarketBankrupt_bankruptcyPriceTakesTheWholeDeficit() public {
        _open(alice, BTC, 10e18, 34_000e6);
        _trade(alice, ETH, 50e18);
        _open(bob, BTC, -4e18, 20_000e6);
        _open(carol, BTC, -6e18, 50_000e6);
        _setPrice(BTC, 56_000e18); // -40,000
        _setPrice(ETH, 2_900e18); // -5,000
        assertEq(_health(alice).equity, -11_000e18);
        assertEq(market.bankruptcyPrice(alice, BTC), 57_100e18, "56,000 + 11,000 / 10");
        assertEq(market.bankruptcyPrice(alice, ETH), 3_120e18, "2,900 + 11,000 / 50");
        assertGt(market.adlScore(bob, BTC), market.adlScore(carol, BTC));
        _deleverage(alice, BTC, _cps(bob, carol));

        assertEq(_size(alice, BTC), 0);
        assertEq(_size(alice, ETH), 50e18, "the other market is untouched");
        assertEq(market.collateralOf(alice), 5_000e18, "34,000 - 10 x 2,900; not settled: ETH is open");
        assertEq(_health(alice).equity, 0, "zero equity, other prices held");
        assertEq(market.badDebt(), 0);
        // The ETH leg is then liquidated in full (E <= 0: backstop, no penalty) without bad debt.
        _liquidate(keeper, alice, ETH, 50e18);
        assertEq(market.collateralOf(alice), 0);
        assertEq(market.badDebt(), 0);
        assertEq(market.insuranceFund(), 1_000e18);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Rank order
    // ----------------------------------------------------------------------------------------

    function test_revert_liquidation_intoBadDebtWhileAdlIsDue_adlInstead() public {
        _bankruptLong();
        // Closing alice at the mark would leave 16,000 of deficit against a 1,000 fund.
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlRequired.selector, alice, BTC));
        _liquidate(dave, alice, BTC, 10e18);
        // The operator deleverages her; no bad debt.
        _deleverage(alice, BTC, _cps(bob, carol));
        assertEq(market.badDebt(), 0);
        assertConserved();
    }

    function test_liquidation_intoBadDebt_allowedWithNobodyOnTheOtherSide_orNoOperator_orFundCovers() public {
        // Nobody short: ADL could not act, so the liquidation records bad debt as before.
        _open(alice, BTC, 10e18, 34_000e6);
        _setPrice(BTC, 55_000e18);
        _liquidate(dave, alice, BTC, 10e18);
        assertEq(market.badDebt(), 15_000e18, "16,000 deficit - 1,000 fund");
        // With shorts open but no ADL operator: bad debt again.
        _open(erin, BTC, 10e18, 34_000e6);
        _open(bob, BTC, -4e18, 20_000e6);
        _setPrice(BTC, 50_000e18);
        market.setAdlOperator(address(0));
        _liquidate(dave, erin, BTC, 10e18);
        assertGt(market.badDebt(), 15_000e18);
        assertConserved();
    }

    function test_revert_adl_rankOrder_lowerScoreFirst() public {
        _bankruptLong();
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlRankOrder.selector, 1));
        _deleverage(alice, BTC, _cps(carol, bob));
    }

    function test_adl_equalScores_rankByAscendingAddress() public {
        _open(alice, BTC, 10e18, 34_000e6);
        (address lo, address hi) = dave < erin ? (dave, erin) : (erin, dave);
        _open(lo, BTC, -5e18, 30_000e6);
        _open(hi, BTC, -5e18, 30_000e6);
        _setPrice(BTC, 55_000e18);
        assertEq(market.adlScore(lo, BTC), market.adlScore(hi, BTC), "a tie");
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlRankOrder.selector, 1));
        _deleverage(alice, BTC, _cps(hi, lo));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlNotEligible.selector, lo));
        _deleverage(alice, BTC, _cps(lo, lo)); // twice: closed in full the first time
        assertEq(_deleverage(alice, BTC, _cps(lo, hi)), 10e18);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Eligibility
    // ----------------------------------------------------------------------------------------

    function test_revert_adl_ineligibleCounterparties() public {
        _open(alice, BTC, 10e18, 34_000e6);
        _open(bob, BTC, -4e18, 20_000e6);
        _open(dave, BTC, 1e18, 10_000e6); // same side
        // gina: short 1 BTC (+5,000 at 55,000) but long ETH that costs her 12,000: equity -3,000.
        address gina = makeAddr("gina");
        _open(gina, BTC, -1e18, 4_000e6);
        _trade(gina, ETH, 40e18);
        _setPrice(ETH, 2_700e18);
        _setPrice(BTC, 55_000e18);
        // frank: short at the mark, PnL 0.
        address frank = makeAddr("frank");
        _open(frank, BTC, -1e18, 10_000e6);
        assertLe(_health(gina).equity, 0);

        address[5] memory bad = [alice, erin, dave, frank, gina];
        for (uint256 i = 0; i < bad.length; i++) {
            vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlNotEligible.selector, bad[i]));
            _deleverage(alice, BTC, _cps(bad[i]));
            vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlNotEligible.selector, bad[i]));
            _deleverage(alice, BTC, _cps(bob, bad[i])); // after an eligible one that does not cover
            assertEq(market.adlScore(bad[i], BTC), 0, "the score view answers 0 for the ineligible");
        }
        assertGt(market.adlScore(bob, BTC), 0);
    }

    // ----------------------------------------------------------------------------------------
    // When it is due, and who may call
    // ----------------------------------------------------------------------------------------

    function test_revert_adl_notDue_equityNotNegativeOrDeficitCoveredByInsurance() public {
        _open(alice, BTC, 10e18, 34_000e6);
        _open(bob, BTC, -4e18, 20_000e6);
        _setPrice(BTC, 57_000e18); // liquidatable, E = 4,000
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlNotDue.selector, alice, int256(4_000e18), 1_000e18));
        _deleverage(alice, BTC, _cps(bob));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlNotDue.selector, alice, int256(4_000e18), 1_000e18));
        market.bankruptcyPrice(alice, BTC);

        _setPrice(BTC, 56_500e18); // E = -1,000 = -insurance: the fund covers it
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlNotDue.selector, alice, -int256(1_000e18), 1_000e18));
        _deleverage(alice, BTC, _cps(bob));
        assertEq(market.bankruptcyPrice(alice, BTC), 56_600e18, "the view needs only E < 0");

        _setPrice(BTC, 56_499.99e18); // E = -1,000.1: one step beyond the fund
        assertEq(_deleverage(alice, BTC, _cps(bob)), 4e18);
        assertConserved();
    }

    function test_revert_adl_disabledMarket() public {
        _open(alice, ETH, 100e18, 5_000e6);
        _open(bob, ETH, -100e18, 10_000e6);
        _setPrice(ETH, 2_900e18); // E = -5,000
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.AdlDisabled.selector, ETH));
        _deleverage(alice, ETH, _cps(bob));
        assertEq(market.bankruptcyPrice(alice, ETH), 2_950e18, "the view does not need ADL enabled");
    }

    function test_revert_adl_onlyTheOperator() public {
        _bankruptLong();
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.NotAdlOperator.selector, keeper));
        market.deleverage(alice, BTC, _cps(bob));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.NotAdlOperator.selector, address(this)));
        market.deleverage(alice, BTC, _cps(bob)); // not even the owner

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        market.setAdlOperator(alice);
        vm.expectEmit(address(market));
        emit PerpMarket.AdlOperatorUpdated(keeper);
        market.setAdlOperator(keeper);
        assertEq(market.adlOperator(), keeper);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.NotAdlOperator.selector, operator));
        market.deleverage(alice, BTC, _cps(bob));
        vm.prank(keeper);
        assertEq(market.deleverage(alice, BTC, _cps(bob, carol)), 10e18);
    }

    function test_revert_adl_noPosition_noCounterparty_unknownMarket() public {
        _bankruptLong();
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.NoPosition.selector, erin, BTC));
        _deleverage(erin, BTC, _cps(bob));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.NoPosition.selector, erin, BTC));
        market.bankruptcyPrice(erin, BTC);
        vm.expectRevert(PerpMarket.AdlNoCounterparty.selector);
        _deleverage(alice, BTC, new address[](0));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 9));
        _deleverage(alice, 9, _cps(bob));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 9));
        market.adlScore(bob, 9);
        assertEq(market.adlScore(erin, BTC), 0, "no position: 0");
    }

    // ----------------------------------------------------------------------------------------
    // Fuzz
    // ----------------------------------------------------------------------------------------

    struct FuzzState {
        uint256 absA;
        int256 equity;
        uint256 pb;
        uint256 mark;
        int256 bobEquity;
        int256 carolEquity;
        uint256 insurance;
        uint256 longSize;
        uint256 shortSize;
    }

    /// A position of 1–20 BTC opened at 60,000 with just its initial margin, funding running,
    /// the price moved 5–30% against it: after a deleverage against one or two counterparties
    /// ranked by adlScore that cover it (or, with `partialCover`, all but one lot), the closed part
    /// has moved the bankrupt account to zero equity within 2 wei, never above (a full close: at
    /// most |size| / 1e18 + 2 wei of rounding to the insurance fund, no bad debt); each
    /// counterparty's equity fell by the profit it gave up (± 2 wei); open interest fell by the size
    /// closed on each side; value is conserved to the wei.
    function testFuzz_adl_bankruptcyPriceZeroesTheBankruptAccount(
        uint256 sizeLots,
        bool isLong,
        uint256 movePpm,
        uint256 splitPct,
        int256 rate,
        uint256 dt,
        bool partialCover
    ) public {
        FuzzState memory s;
        sizeLots = bound(sizeLots, 1_000, 20_000);
        s.absA = sizeLots * BTC_LOT;
        int256 side = isLong ? int256(1) : -1;
        _open(alice, BTC, side * int256(s.absA), market.initialMargin(BTC, s.absA * 60_000) / SCALE + 1);
        uint256 bobLots = bound(splitPct, 0, 100) * (sizeLots - 1) / 100;
        uint256 carolLots = partialCover ? sizeLots - 1 - bobLots : sizeLots - bobLots + 3;
        if (bobLots != 0) _open(bob, BTC, -side * int256(bobLots * BTC_LOT), 200_000e6);
        if (carolLots != 0) _open(carol, BTC, -side * int256(carolLots * BTC_LOT), 200_000e6);

        market.setFundingRate(BTC, bound(rate, -1e15, 1e15)); // up to 0.001 per second per unit
        _warp(bound(dt, 0, 3_000));
        movePpm = bound(movePpm, 50_000, 300_000);
        s.mark = isLong ? 60_000e18 * (PPM - movePpm) / PPM : 60_000e18 * (PPM + movePpm) / PPM;
        _setPrice(BTC, s.mark / 1e10 * 1e10);
        s.mark = market.markPrice(BTC);
        s.equity = _health(alice).equity;
        assertLt(s.equity, -int256(market.insuranceFund()), "due");
        s.pb = market.bankruptcyPrice(alice, BTC);

        // Ranked by the contract's own score view, ties by address.
        address[] memory cps;
        if (bobLots == 0) {
            cps = _cps(carol);
        } else if (carolLots == 0) {
            cps = _cps(bob);
        } else {
            uint256 b = market.adlScore(bob, BTC);
            uint256 c = market.adlScore(carol, BTC);
            cps = b > c || (b == c && bob < carol) ? _cps(bob, carol) : _cps(carol, bob);
        }
        s.bobEquity = _health(bob).equity;
        s.carolEquity = _health(carol).equity;
        s.insurance = market.insuranceFund();
        s.longSize = market.getMarket(BTC).longSize;
        s.shortSize = market.getMarket(BTC).shortSize;

        vm.recordLogs();
        uint256 closed = _deleverage(alice, BTC, cps);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        if (partialCover) {
            assertEq(closed, s.absA - BTC_LOT, "all but the lot nobody holds");
            uint256 gap = s.pb > s.mark ? s.pb - s.mark : s.mark - s.pb;
            int256 after_ = _health(alice).equity;
            assertLe(after_, 0, "never above zero");
            assertApproxEqAbs(after_, s.equity + int256(closed * gap / WAD), 2, "the closed part at zero equity");
        } else {
            assertEq(closed, s.absA);
            assertEq(_size(alice, BTC), 0);
            assertEq(market.collateralOf(alice), 0, "settled");
            assertLe(s.insurance - market.insuranceFund(), s.absA / WAD + 2, "a few wei of rounding to insurance");
            assertEq(market.badDebt(), 0);
        }
        _checkCounterparties(s, logs);
        assertEq(market.getMarket(BTC).longSize, s.longSize - closed);
        assertEq(market.getMarket(BTC).shortSize, s.shortSize - closed);
        assertConserved();
    }

    /// Each Deleveraged event's counterparty lost the profit it gave up (± 2 wei of flooring).
    function _checkCounterparties(FuzzState memory s, Vm.Log[] memory logs) internal view {
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].topics[0] != PerpMarket.Deleveraged.selector) continue;
            n++;
            address c = address(uint160(uint256(logs[i].topics[2])));
            (, uint256 pb, uint256 mark,, uint256 givenUp) =
                abi.decode(logs[i].data, (uint256, uint256, uint256, uint256, uint256));
            assertEq(pb, s.pb);
            assertEq(mark, s.mark);
            int256 before = c == bob ? s.bobEquity : s.carolEquity;
            assertApproxEqAbs(before - _health(c).equity, int256(givenUp), 2, "equity fell by the profit given up");
        }
        assertGt(n, 0, "one event per counterparty");
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
