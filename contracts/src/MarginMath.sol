// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title MarginMath
/// @notice The pure margin rules of docs/reference-market.md. `src/engine/` mirrors every function here
///         operation for operation (same order, same rounding), so that the keeper agrees with the
///         contract to the wei. Change one, change both, and the parity tests will tell.
/// @dev Units: prices, sizes and quote amounts are WAD (1e18); rates are ppm (1e6).
///      Rounding favours the protocol: requirements, fees and liquidation sizes round up,
///      credits to traders round down.
///      Casts between uint256 and int256 go through SafeCast (a revert instead of a silent wrap),
///      unless the value is in range by construction; then the line says why, after the
///      `forge-lint` marker that `forge lint` honours.
library MarginMath {
    using SafeCast for uint256;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant PPM = 1e6;
    int256 internal constant SIGNED_WAD = 1e18;
    int256 internal constant SIGNED_PPM = 1e6;

    /// One line of a tier table. `floor` is the notional (WAD quote) where the tier starts.
    struct Tier {
        uint256 floor;
        uint32 mmrPpm;
        uint32 maxLeverage;
    }

    /// What the max-slice rule needs to know about one position and its account.
    struct SliceInput {
        uint256 size; // |size| of the position, WAD
        uint256 price; // mark price, WAD
        uint256 lotSize; // WAD
        int256 equity; // account equity E, WAD
        uint256 otherTarget; // sum over the account's other positions of MM + buffer, WAD
        uint256 penaltyPpm;
        uint256 bufferPpm;
    }

    // ----------------------------------------------------------------------------------------
    // Signed rounding helpers. Solidity `/` truncates toward zero; these round toward -inf/+inf.
    // ----------------------------------------------------------------------------------------

    function floorDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    }

    function ceilDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if ((a % b != 0) && ((a < 0) == (b < 0))) q += 1;
    }

    function ceilDivU(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    function abs(int256 x) internal pure returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast) x ≥ 0, or −x > 0 (−type(int256).min reverts)
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    function roundUpToLot(uint256 size, uint256 lot) internal pure returns (uint256) {
        return ceilDivU(size, lot) * lot;
    }

    // ----------------------------------------------------------------------------------------
    // Position figures
    // ----------------------------------------------------------------------------------------

    /// Notional `|size| × price`, rounded up.
    function notional(uint256 absSize, uint256 price) internal pure returns (uint256) {
        return ceilDivU(absSize * price, WAD);
    }

    /// Unrealised PnL `size × (price − entry)`, rounded down (a credit to the trader).
    function pnl(int256 size, uint256 price, uint256 entryPrice) internal pure returns (int256) {
        return floorDiv(size * (price.toInt256() - entryPrice.toInt256()), SIGNED_WAD);
    }

    /// Funding owed `size × (indexNow − indexAtEntry)`, rounded up (a debit to the trader).
    function fundingOwed(int256 size, int256 indexNow, int256 indexAtEntry) internal pure returns (int256) {
        return ceilDiv(size * (indexNow - indexAtEntry), SIGNED_WAD);
    }

    /// Cumulative funding index at `timestamp`.
    function fundingIndexAt(int256 index, int256 ratePerSecond, uint256 lastUpdate, uint256 timestamp)
        internal
        pure
        returns (int256)
    {
        return index + ratePerSecond * (timestamp - lastUpdate).toInt256();
    }

    // ----------------------------------------------------------------------------------------
    // Tiers
    // ----------------------------------------------------------------------------------------

    /// The "maintenance amounts" of a tier table, scaled by 1e6 to stay exact:
    /// cum_0 = 0, cum_i = cum_{i-1} + floor_i × (mmr_i − mmr_{i-1}).
    function cumAmounts(Tier[] memory tiers) internal pure returns (uint256[] memory cums) {
        cums = new uint256[](tiers.length);
        for (uint256 i = 1; i < tiers.length; i++) {
            cums[i] = cums[i - 1] + tiers[i].floor * (tiers[i].mmrPpm - tiers[i - 1].mmrPpm);
        }
    }

    /// Index of the tier that holds `notional_`: the last one whose floor is at or below it.
    function tierIndex(Tier[] memory tiers, uint256 notional_) internal pure returns (uint256 i) {
        i = tiers.length - 1;
        while (i > 0 && tiers[i].floor > notional_) i--;
    }

    /// MM(N) = N × mmr − cum of N's tier, rounded up. Equals the max over all tier lines.
    function maintenanceMargin(Tier[] memory tiers, uint256[] memory cums, uint256 notional_)
        internal
        pure
        returns (uint256)
    {
        if (notional_ == 0) return 0;
        uint256 t = tierIndex(tiers, notional_);
        return ceilDivU(notional_ * tiers[t].mmrPpm - cums[t], PPM);
    }

    /// IM(N) = N / maxLeverage of N's tier, rounded up.
    function initialMargin(Tier[] memory tiers, uint256 notional_) internal pure returns (uint256) {
        if (notional_ == 0) return 0;
        return ceilDivU(notional_, tiers[tierIndex(tiers, notional_)].maxLeverage);
    }

    /// Target requirement of one position for partial sizing: MM(N) + buffer × N, rounded up.
    function targetRequirement(Tier[] memory tiers, uint256[] memory cums, uint256 bufferPpm, uint256 notional_)
        internal
        pure
        returns (uint256)
    {
        return maintenanceMargin(tiers, cums, notional_) + ceilDivU(notional_ * bufferPpm, PPM);
    }

    // ----------------------------------------------------------------------------------------
    // Liquidation
    // ----------------------------------------------------------------------------------------

    /// penalty = min(ceil(f × sliceNotional), max(E, 0)).
    function penalty(uint256 sliceNotional, uint256 penaltyPpm, int256 equity) internal pure returns (uint256 p) {
        p = ceilDivU(sliceNotional * penaltyPpm, PPM);
        // forge-lint: disable-next-line(unsafe-typecast) equity > 0 on this branch
        uint256 cap = equity > 0 ? uint256(equity) : 0;
        if (p > cap) p = cap;
    }

    /// Whether closing `delta` of the position restores E' ≥ Σ(MM' + buffer × N'), where
    /// E' = E − penalty. Realising the slice splits one floored PnL into two floors, so the
    /// account's equity afterwards can be 1 wei below E − penalty: the check keeps that wei in hand
    /// (E − penalty − 1 ≥ need), so a slice that passes restores the target on the real state.
    function restores(SliceInput memory s, Tier[] memory tiers, uint256[] memory cums, uint256 delta)
        internal
        pure
        returns (bool)
    {
        uint256 pen = penalty(notional(delta, s.price), s.penaltyPpm, s.equity);
        uint256 need = s.otherTarget + targetRequirement(tiers, cums, s.bufferPpm, notional(s.size - delta, s.price));
        // forge-lint: disable-next-line(unsafe-typecast) pen ≤ max(E, 0) ≤ type(int256).max (penalty caps it)
        return s.equity - int256(pen) - 1 >= need.toInt256();
    }

    /// The smallest lot multiple Δ that restores the target, or `s.size` if none below it does.
    /// Closed form: MM is the max of tier lines (N × mmr_i − cum_i), so the target holds after the
    /// slice iff it holds on every line; each line gives
    ///   Δ_i = ((mmr_i + b) × N − cum_i − (E − otherTarget) × 1e6) / ((mmr_i + b − f) × P)
    /// and Δ is the largest Δ_i. Integer rounding can leave that one lot off; a bounded check
    /// against `restores` makes the result exact for the integer rule.
    function restoringSlice(SliceInput memory s, Tier[] memory tiers, uint256[] memory cums)
        internal
        pure
        returns (uint256 delta)
    {
        uint256 n = notional(s.size, s.price);
        int256 reserve = (s.equity - s.otherTarget.toInt256()) * SIGNED_PPM;
        uint256 raw;
        for (uint256 i = 0; i < tiers.length; i++) {
            uint256 rate = tiers[i].mmrPpm + s.bufferPpm;
            int256 num = (n * rate).toInt256() - cums[i].toInt256() - reserve;
            if (num <= 0) continue;
            // Parameter validation guarantees f < mmr_0, so the denominator is positive.
            // forge-lint: disable-next-line(unsafe-typecast) num > 0 here (the line above skips num ≤ 0)
            uint256 d = ceilDivU(uint256(num) * WAD, (rate - s.penaltyPpm) * s.price);
            if (d > raw) raw = d;
        }
        delta = roundUpToLot(raw, s.lotSize);
        if (delta == 0) delta = s.lotSize;
        if (delta >= s.size) return s.size;
        // Rounding correction, at most two lots either way.
        for (uint256 k = 0; k < 2 && !restores(s, tiers, cums, delta); k++) {
            delta += s.lotSize;
            if (delta >= s.size) return s.size;
        }
        for (uint256 k = 0; k < 2 && delta > s.lotSize && restores(s, tiers, cums, delta - s.lotSize); k++) {
            delta -= s.lotSize;
        }
    }

    /// Tier step-down (Bybit/OKX): the smallest lot multiple that takes the position's notional
    /// strictly below the floor of its current tier. Zero when the position is in the first tier.
    function stepDownSlice(uint256 absSize, uint256 price, uint256 lotSize, Tier[] memory tiers)
        internal
        pure
        returns (uint256)
    {
        uint256 t = tierIndex(tiers, notional(absSize, price));
        if (t == 0) return 0;
        // Largest size whose rounded-up notional is below the floor: size × P ≤ (floor − 1) × WAD.
        uint256 keep = ((tiers[t].floor - 1) * WAD) / price;
        if (keep >= absSize) return 0;
        uint256 delta = roundUpToLot(absSize - keep, lotSize);
        return delta > absSize ? absSize : delta;
    }

    /// Step cap: at most `maxStepPpm` of the position, rounded up to a lot.
    function stepCap(uint256 absSize, uint256 maxStepPpm, uint256 lotSize) internal pure returns (uint256) {
        return roundUpToLot(ceilDivU(absSize * maxStepPpm, PPM), lotSize);
    }

    /// Keeper's share of a penalty, paid in 6-decimal tokens, and what goes to the insurance fund.
    /// keeperWad = floor(penalty × share / 1e6); the keeper gets that floored to whole token
    /// units; the insurance fund gets everything else, so nothing is created or lost.
    function splitPenalty(uint256 penalty_, uint256 keeperSharePpm, uint256 tokenScale)
        internal
        pure
        returns (uint256 keeperTokens, uint256 insuranceWad)
    {
        keeperTokens = (penalty_ * keeperSharePpm / PPM) / tokenScale;
        insuranceWad = penalty_ - keeperTokens * tokenScale;
    }
}
