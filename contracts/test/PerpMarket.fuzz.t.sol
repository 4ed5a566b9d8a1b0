// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Base} from "./Base.t.sol";
import {PerpMarket} from "../src/PerpMarket.sol";
import {MarginMath} from "../src/MarginMath.sol";

/// Exposes MarginMath's internal pure functions to fuzzing.
contract MarginMathHarness {
    function floorDiv(int256 a, int256 b) external pure returns (int256) {
        return MarginMath.floorDiv(a, b);
    }

    function ceilDiv(int256 a, int256 b) external pure returns (int256) {
        return MarginMath.ceilDiv(a, b);
    }

    function splitPenalty(uint256 penalty, uint256 share) external pure returns (uint256, uint256) {
        return MarginMath.splitPenalty(penalty, share, 1e12);
    }
}

/// @notice Property tests of the margin and liquidation rules (256 runs, foundry.toml [fuzz]).
contract PerpMarketFuzzTest is Base {
    MarginMathHarness internal math;

    function setUp() public override {
        super.setUp();
        math = new MarginMathHarness();
    }

    // ----------------------------------------------------------------------------------------
    // Scenario: a BTC position (and maybe an ETH one) pushed past its liquidation price
    // ----------------------------------------------------------------------------------------

    struct Scenario {
        uint256 absSize;
        int256 size;
        uint256 lot;
        uint256 cap;
        uint256 maxSlice;
        PerpMarket.Health h;
    }

    /// Opens an optional ETH position (held at 3,000) and a BTC position at 60,000 with
    /// collateral = (1 + extra) × Σ IM, then moves BTC `depthPpm` past the price at which the
    /// account becomes liquidatable (found by bisection on the 8-decimal feed).
    function _liquidatableScenario(uint256 sizeLots, bool isLong, int256 ethLots, uint256 extraPct, uint256 depthPpm)
        internal
        returns (Scenario memory s)
    {
        s.lot = BTC_LOT;
        sizeLots = bound(sizeLots, 1, 30_000); // up to 30 BTC = 1.8M notional
        s.size = isLong ? int256(sizeLots * s.lot) : -int256(sizeLots * s.lot);
        s.absSize = sizeLots * s.lot;
        ethLots = bound(ethLots, -5_000, 5_000); // up to ±50 ETH
        extraPct = bound(extraPct, 0, 300);
        // Depth past the liquidation price, in ppm of price. The backstop begins ~1/3 × MMR
        // (≈ 0.13–0.33%) past it, so most runs stay close to exercise partial sizing.
        depthPpm = depthPpm % 4 == 0 ? bound(depthPpm, 0, 200_000) : bound(depthPpm, 0, 1_500);

        uint256 im = market.initialMargin(BTC, s.absSize * 60_000) + market.initialMargin(ETH, _abs(ethLots) * ETH_LOT * 3_000);
        uint256 collateral = im * (100 + extraPct) / 100;
        _deposit(alice, collateral / SCALE + 1);
        if (ethLots != 0) _trade(alice, ETH, ethLots * int256(ETH_LOT));
        _trade(alice, BTC, s.size);

        // Bisection: `healthy` is a price where alice is not liquidatable, `liq` one where she is.
        uint256 healthy = 60_000e8;
        uint256 liq = isLong ? 1 : 600_000e8;
        btcFeed.updateAnswer(int256(liq));
        if (!market.isLiquidatable(alice)) return s; // (cannot happen with these bounds)
        while (healthy > liq ? healthy - liq > 1 : liq - healthy > 1) {
            uint256 mid = (healthy + liq) / 2;
            btcFeed.updateAnswer(int256(mid));
            if (market.isLiquidatable(alice)) liq = mid;
            else healthy = mid;
        }
        uint256 answer = isLong ? liq * (PPM - depthPpm) / PPM : liq * (PPM + depthPpm) / PPM;
        if (answer == 0) answer = 1;
        btcFeed.updateAnswer(int256(answer));

        s.h = _health(alice);
        assertTrue(s.h.liquidatable, "scenario is liquidatable");
        s.maxSlice = market.maxLiquidatable(alice, BTC);
        PerpMarket.LiquidationParams memory p = market.getMarket(BTC).liq;
        s.cap = MarginMath.stepCap(s.absSize, p.maxStepPpm, s.lot);
    }

    function _restored() internal view returns (bool) {
        PerpMarket.Health memory h = _health(alice);
        return h.equity >= int256(h.target);
    }

    /// Liquidate `size` on a snapshot and report whether the target was restored.
    function _restoresOnSnapshot(uint256 size) internal returns (bool ok) {
        uint256 snap = vm.snapshotState();
        _liquidate(keeper, alice, BTC, size);
        ok = _restored();
        vm.revertToState(snap);
    }

    function _setFuzzLiq(uint256 penaltyPpm, uint256 bufferPpm, uint256 stepPpm, uint256 dust, bool stepDown) internal {
        bufferPpm = bound(bufferPpm, 0, 20_000);
        // The contract requires penalty < mmr_0 + buffer (BTC's mmr_0 = 0.4%).
        penaltyPpm = bound(penaltyPpm, 0, 4_000 + bufferPpm - 1);
        stepPpm = stepPpm % 2 == 0 ? 1_000_000 : bound(stepPpm, 10_000, 1_000_000);
        dust = dust % 2 == 0 ? 0 : bound(dust, 1, 200_000e18);
        PerpMarket.LiquidationParams memory p = PerpMarket.LiquidationParams({
            penaltyPpm: uint32(penaltyPpm),
            targetBufferPpm: uint32(bufferPpm),
            maxStepPpm: uint32(stepPpm),
            tierStepDown: stepDown,
            partialThreshold: 0,
            dustNotional: dust,
            adlEnabled: false
        });
        _setLiq(BTC, p);
        // ETH's mmr_0 is 0.5%: the same penalty is valid there.
        _setLiq(ETH, p);
    }

    // ----------------------------------------------------------------------------------------
    // Partial sizing
    // ----------------------------------------------------------------------------------------

    /// maxLiquidatable's slice restores E − penalty ≥ Σ(MM + buffer·N) after execution unless it
    /// closes the whole position or is capped; one lot less does not (when neither full nor
    /// capped); penalty = min(ceil(f·N_slice), max(E, 0)); value is conserved.
    function testFuzz_maxSlice_restoresTargetAndOneLotLessDoesNot(
        uint256 sizeLots,
        bool isLong,
        int256 ethLots,
        uint256 extraPct,
        uint256 depthPpm,
        uint256 penaltyPpm,
        uint256 bufferPpm,
        uint256 stepPpm,
        uint256 dust
    ) public {
        _setFuzzLiq(penaltyPpm, bufferPpm, stepPpm, dust, false);
        Scenario memory s = _liquidatableScenario(sizeLots, isLong, ethLots, extraPct, depthPpm);
        if (!s.h.liquidatable) return;
        PerpMarket.LiquidationParams memory p = market.getMarket(BTC).liq;

        assertGt(s.maxSlice, 0, "a liquidatable account without cooldown has a slice");
        assertLe(s.maxSlice, s.absSize);
        if (s.h.backstop) assertEq(s.maxSlice, s.absSize, "backstop: full");
        bool full = s.maxSlice == s.absSize;
        bool capped = !s.h.backstop && s.cap < s.absSize && s.maxSlice == s.cap;
        if (!full) assertEq(s.maxSlice % s.lot, 0, "lot multiple");
        if (!full) assertLe(s.maxSlice, s.cap, "never above the step cap");

        if (!full && !capped) {
            if (s.maxSlice > s.lot) assertFalse(_restoresOnSnapshot(s.maxSlice - s.lot), "one lot less restores");
        }
        if (full && !s.h.backstop && p.dustNotional == 0 && s.cap >= s.absSize && s.absSize > s.lot) {
            // Full because no smaller slice restores the target.
            assertFalse(_restoresOnSnapshot(s.absSize - s.lot), "a partial slice would have restored");
        }

        uint256 price = market.markPrice(BTC);
        uint256 expectedPenalty = _ceilDiv(_ceilDiv(s.maxSlice * price, WAD) * p.penaltyPpm, PPM);
        uint256 positiveEquity = s.h.equity > 0 ? uint256(s.h.equity) : 0;
        if (expectedPenalty > positiveEquity) expectedPenalty = positiveEquity;

        vm.recordLogs();
        _liquidate(keeper, alice, BTC, s.maxSlice);
        LiqEvent memory e = _lastLiquidation();
        assertEq(e.penalty, expectedPenalty, "penalty = min(ceil(f N), max(E, 0))");
        assertLe(e.penalty, positiveEquity, "penalty <= max(E, 0)");
        assertEq(e.keeperReward + e.insuranceShare, e.penalty, "split adds up");
        if (!full && !capped) assertTrue(_restored(), "the max slice restores the target");
        if (full) assertEq(_size(alice, BTC), 0);
        assertConserved();
    }

    /// Tier step-down: the max slice is the smallest lot multiple that takes the notional strictly
    /// below the floor of the position's tier (when the account is not in backstop).
    function testFuzz_tierStepDown_takesNotionalJustBelowTierFloor(
        uint256 sizeLots,
        bool isLong,
        uint256 extraPct,
        uint256 depthPpm
    ) public {
        _setFuzzLiq(5000, 5000, 0, 0, true); // no cap, no dust
        sizeLots = bound(sizeLots, 1_000, 30_000); // from 60,000 notional: tier 1 or 2
        Scenario memory s = _liquidatableScenario(sizeLots, isLong, 0, extraPct, depthPpm);
        if (!s.h.liquidatable || s.h.backstop) return;
        PerpMarket.PositionValue[] memory v = market.positionValues(alice);
        (MarginMath.Tier[] memory tiers,) = market.getTiers(BTC);
        uint256 t = tiers.length - 1;
        while (t > 0 && tiers[t].floor > v[0].notional) t--;
        if (t == 0) return; // tier 0: the restoring slice applies (unit-tested)
        if (s.maxSlice == s.absSize) return; // everything must go
        uint256 price = v[0].price;
        uint256 rest = s.absSize - s.maxSlice;
        assertLt(_ceilDiv(rest * price, WAD), tiers[t].floor, "below the tier floor");
        assertGe(_ceilDiv((rest + s.lot) * price, WAD), tiers[t].floor, "one lot less would not be");
        _liquidate(keeper, alice, BTC, s.maxSlice);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Tiers
    // ----------------------------------------------------------------------------------------

    /// A random valid tier table: n tiers, increasing floors and rates, non-increasing leverage.
    function _randomTiers(uint256 seed) internal pure returns (MarginMath.Tier[] memory t) {
        uint256 n = 1 + seed % 6;
        t = new MarginMath.Tier[](n);
        uint256 floor_;
        uint256 mmr = 1 + uint256(keccak256(abi.encode(seed, "mmr0"))) % 50_000;
        uint256 lev = (PPM - 1) / mmr;
        for (uint256 i = 0; i < n; i++) {
            if (i > 0) {
                floor_ += 1 + uint256(keccak256(abi.encode(seed, i, "floor"))) % 1e24;
                mmr += 1 + uint256(keccak256(abi.encode(seed, i, "mmr"))) % 20_000;
                uint256 maxLev = (PPM - 1) / mmr;
                if (lev > maxLev) lev = maxLev;
            }
            t[i] = MarginMath.Tier({floor: floor_, mmrPpm: uint32(mmr), maxLeverage: uint32(lev)});
        }
    }

    function _line(MarginMath.Tier memory t, uint256 cum, uint256 n) internal pure returns (int256) {
        return int256(n * t.mmrPpm) - int256(cum);
    }

    /// MM(N) = ceil(max over tier lines of (N·mmr_i − cum_i) / 1e6); the lines of adjacent tiers
    /// meet exactly at each floor (continuity), and cum follows the reference recurrence.
    function testFuzz_maintenanceMargin_isMaxOverTierLines(uint256 seed, uint256 notional_) public {
        MarginMath.Tier[] memory tiers = _randomTiers(seed);
        market.setTiers(BTC, tiers);
        (, uint256[] memory cums) = market.getTiers(BTC);
        assertEq(cums[0], 0);
        for (uint256 i = 1; i < tiers.length; i++) {
            assertEq(cums[i], cums[i - 1] + tiers[i].floor * (tiers[i].mmrPpm - tiers[i - 1].mmrPpm), "cum recurrence");
            // Continuity: at floor_i both adjacent lines give the same MM.
            assertEq(_line(tiers[i - 1], cums[i - 1], tiers[i].floor), _line(tiers[i], cums[i], tiers[i].floor));
            uint256 atFloor = market.maintenanceMargin(BTC, tiers[i].floor);
            assertEq(atFloor, _ceilDiv(uint256(_line(tiers[i - 1], cums[i - 1], tiers[i].floor)), PPM));
            assertLe(market.maintenanceMargin(BTC, tiers[i].floor - 1), atFloor, "monotone across the floor");
        }

        notional_ = bound(notional_, 0, 1e25);
        int256 best;
        for (uint256 i = 0; i < tiers.length; i++) {
            int256 l = _line(tiers[i], cums[i], notional_);
            if (l > best) best = l;
        }
        assertEq(market.maintenanceMargin(BTC, notional_), _ceilDiv(uint256(best), PPM), "MM = max over lines");
        // IM uses the leverage of N's tier and always exceeds MM for N > 0.
        if (notional_ > 0) assertGe(market.initialMargin(BTC, notional_), market.maintenanceMargin(BTC, notional_));
    }

    // ----------------------------------------------------------------------------------------
    // Rounding helpers, token conversion, penalty split, funding
    // ----------------------------------------------------------------------------------------

    function testFuzz_floorDivCeilDiv_roundTowardInfinities(int256 a, int256 b) public view {
        a = bound(a, -int256(1e36), int256(1e36));
        b = bound(b, -int256(1e24), int256(1e24));
        if (b == 0) b = 1;
        int256 f = math.floorDiv(a, b);
        int256 c = math.ceilDiv(a, b);
        // f ≤ a/b < f + 1 and c − 1 < a/b ≤ c, written without division.
        if (b > 0) {
            assertLe(f * b, a);
            assertGt((f + 1) * b, a);
            assertGe(c * b, a);
            assertLt((c - 1) * b, a);
        } else {
            assertGe(f * b, a);
            assertLt((f + 1) * b, a);
            assertLe(c * b, a);
            assertGt((c - 1) * b, a);
        }
        assertEq(c - f, a % b == 0 ? int256(0) : int256(1));
    }

    function testFuzz_tokenConversion_depositScalesWithdrawFloors(uint256 tokens, uint256 amountWad) public {
        tokens = bound(tokens, 1, 1e15);
        _deposit(alice, tokens);
        assertEq(market.collateralOf(alice), int256(tokens * SCALE));
        amountWad = bound(amountWad, SCALE, tokens * SCALE + SCALE - 1);
        vm.prank(alice);
        uint256 paid = market.withdraw(amountWad);
        assertEq(paid, amountWad / SCALE, "floored to token units");
        assertEq(usdc.balanceOf(alice), paid);
        assertEq(market.collateralOf(alice), int256((tokens - paid) * SCALE), "debited exactly paid x 1e12");
        assertConserved();
    }

    function testFuzz_penaltySplit_keeperFlooredInsuranceGetsRest(uint256 penalty, uint256 share) public view {
        penalty = bound(penalty, 0, 1e30);
        share = bound(share, 0, PPM);
        (uint256 keeperTokens, uint256 insuranceWad) = math.splitPenalty(penalty, share);
        assertEq(keeperTokens, (penalty * share / PPM) / SCALE);
        assertEq(keeperTokens * SCALE + insuranceWad, penalty, "nothing created or lost");
        assertLe(keeperTokens * SCALE, penalty * share / PPM, "keeper never gets more than its share");
    }

    /// fundingIndexNow = rate × dt; a position owes ceil(size × Δindex / 1e18) (signed);
    /// settling on a trade moves exactly that into collateral and the pool.
    function testFuzz_funding_owedRoundsUpAndSettlesExactly(int256 rate, uint256 dt, uint256 sizeLots, bool isLong)
        public
    {
        rate = bound(rate, -1e15, 1e15);
        dt = bound(dt, 1, STALENESS);
        sizeLots = bound(sizeLots, 1, 10_000);
        int256 size = isLong ? int256(sizeLots * BTC_LOT) : -int256(sizeLots * BTC_LOT);
        _open(alice, BTC, size, 200_000e6);
        market.setFundingRate(BTC, rate);
        _warp(dt);
        int256 index = market.fundingIndexNow(BTC);
        assertEq(index, rate * int256(dt));
        int256 owed = MarginMath.ceilDiv(size * index, int256(WAD));
        assertEq(_health(alice).equity, 200_000e18 - owed, "equity drops by owed");
        // owed is the smallest integer with owed × 1e18 ≥ size × Δindex (rounded up, toward +inf).
        assertGe(owed * int256(WAD), size * index, "owed rounds up");
        assertLt((owed - 1) * int256(WAD), size * index, "by less than one wei");

        int256 poolBefore = market.poolBalance();
        _trade(alice, BTC, isLong ? int256(BTC_LOT) : -int256(BTC_LOT));
        assertEq(market.collateralOf(alice), 200_000e18 - owed, "settled into collateral");
        assertEq(market.poolBalance() - poolBefore, owed, "and into the pool");
        assertConserved();
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
