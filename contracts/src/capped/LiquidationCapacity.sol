// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CappedMath} from "./CappedMath.sol";

/// @title LiquidationCapacity
/// @notice The per-market liquidation window of docs/capped-market.md, after Synthetix's
///         storage/PerpsMarket.sol (maxLiquidatableAmount, _updateLiquidationData,
///         currentLiquidationCapacity): a list of (timestamp, amount) entries; what was liquidated
///         in the last `maxSecondsInLiquidationWindow` seconds counts against the window's maximum.
library LiquidationCapacity {
    using CappedMath for uint256;

    /// One block timestamp's liquidations in a market (Synthetix storage/Liquidation.sol).
    struct Entry {
        uint128 timestamp;
        uint128 amount;
    }

    /// What the decision needs besides the entries.
    struct Rules {
        uint256 maxLiquidationInWindow;
        uint256 maxSecondsInLiquidationWindow;
        uint256 maxLiquidationPd;
        uint256 skewScale;
        bool endorsed; // the caller is the market's endorsed liquidator
    }

    /// The capacity left now, the window's maximum, and the timestamp of the last entry (0 if none).
    function current(Entry[] storage entries, uint256 maxInWindow, uint256 maxSeconds)
        internal
        view
        returns (uint256 capacity, uint256 maxLiquidationInWindow, uint256 latestLiquidationTimestamp)
    {
        maxLiquidationInWindow = maxInWindow;
        uint256 n = entries.length;
        if (n == 0) return (maxInWindow, maxInWindow, 0);
        latestLiquidationTimestamp = entries[n - 1].timestamp;
        uint256 accumulated = accumulatedInWindow(entries, maxSeconds);
        capacity = accumulated >= maxInWindow ? 0 : maxInWindow - accumulated;
    }

    /// Σ amount of the entries with timestamp > now − maxSeconds (newest first; stops at the first
    /// older one, entries being in time order).
    function accumulatedInWindow(Entry[] storage entries, uint256 maxSeconds) internal view returns (uint256 sum) {
        // Synthetix computes now − maxSeconds, which reverts while the chain is younger than the
        // window; here the window then starts at 0 (same sum, no revert).
        // forge-lint: disable-next-line(block-timestamp) the window is a time rule by design
        uint256 windowStart = block.timestamp > maxSeconds ? block.timestamp - maxSeconds : 0;
        for (uint256 i = entries.length; i > 0; --i) {
            Entry storage e = entries[i - 1];
            if (e.timestamp <= windowStart) break;
            sum += e.amount;
        }
    }

    /// The entries still inside the window, oldest first.
    function inWindow(Entry[] storage entries, uint256 maxSeconds)
        internal
        view
        returns (uint256[] memory timestamps, uint256[] memory amounts)
    {
        // forge-lint: disable-next-line(block-timestamp) the window is a time rule by design
        uint256 windowStart = block.timestamp > maxSeconds ? block.timestamp - maxSeconds : 0;
        uint256 n = entries.length;
        uint256 first = n;
        while (first > 0 && entries[first - 1].timestamp > windowStart) --first;
        timestamps = new uint256[](n - first);
        amounts = new uint256[](n - first);
        for (uint256 i = first; i < n; ++i) {
            timestamps[i - first] = entries[i].timestamp;
            amounts[i - first] = entries[i].amount;
        }
    }

    /// How much of a position of |size| `requested` one liquidation may close now, and records it.
    /// `skew` is the market's skew before the position is reduced.
    function take(Entry[] storage entries, Rules memory r, uint256 requested, int256 skew)
        internal
        returns (uint256 amount)
    {
        if (r.endorsed) {
            record(entries, requested);
            return requested;
        }
        (uint256 capacity, uint256 maxInWindow, uint256 latest) =
            current(entries, r.maxLiquidationInWindow, r.maxSecondsInLiquidationWindow);
        // A misconfigured market (no fees, no skew scale, no window) liquidates in full, unrecorded.
        if (maxInWindow == 0) return requested;
        if (capacity != 0) {
            amount = CappedMath.min(capacity, requested);
        // forge-lint: disable-next-line(block-timestamp) once per block, as Synthetix
        } else if (r.maxLiquidationPd != 0 && latest != block.timestamp) {
            // Capacity is used up, but a market whose premium/discount is small enough may take one
            // more window's worth, once per block.
            if (CappedMath.abs(skew).divDecimal(r.skewScale) < r.maxLiquidationPd) {
                amount = CappedMath.min(maxInWindow, requested);
            }
        }
        if (amount > 0) record(entries, amount);
    }

    /// Adds `amount` to this timestamp's entry, or starts one.
    function record(Entry[] storage entries, uint256 amount) internal {
        uint256 n = entries.length;
        // forge-lint: disable-next-line(block-timestamp) one entry per block timestamp
        if (n > 0 && entries[n - 1].timestamp == block.timestamp) {
            entries[n - 1].amount += SafeCast.toUint128(amount);
        } else {
            entries.push(
                Entry({timestamp: SafeCast.toUint128(block.timestamp), amount: SafeCast.toUint128(amount)})
            );
        }
    }
}
