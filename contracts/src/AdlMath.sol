// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MarginMath} from "./MarginMath.sol";

/// @title AdlMath
/// @notice The pure auto-deleveraging rules of docs/reference-market.md, "Auto-deleveraging": the
///         bankruptcy price and the counterparty ranking score. `src/engine/adl.ts` mirrors every
///         function here operation for operation (same order, same rounding).
/// @dev Units: prices, sizes and quote amounts are WAD (1e18). `Math.mulDiv` floors at full
///      precision; the engine's plain bigint `a * b / c` on non-negative values is the same.
library AdlMath {
    uint256 internal constant WAD = 1e18;

    /// The price at which closing the whole position (signed `size`, valued at `mark`) brings the
    /// account's equity from −deficit to zero, other prices held; rounded toward the mark, so the
    /// account ends at ≤ 0 and the rounding wei fall to the insurance fund, then to bad debt:
    /// gap = ⌊deficit × 1e18 / |size|⌋; long: mark + gap; short: mark − gap, none (ok = false)
    /// when gap ≥ mark.
    function bankruptcyPrice(int256 size, uint256 mark, uint256 deficit) internal pure returns (bool ok, uint256 price) {
        uint256 gap = deficit * WAD / MarginMath.abs(size);
        if (size > 0) return (true, mark + gap);
        if (gap >= mark) return (false, 0);
        return (true, mark - gap);
    }

    /// Ranking score, PnL% × effective leverage, both in WAD and floored:
    /// ⌊⌊pnl × 1e18 / notional(|size|, entry)⌋ × notional / equity⌋. Callers pass pnl > 0 and
    /// equity > 0 (the eligibility rule); entry > 0 for any open position.
    function score(uint256 pnl, uint256 absSize, uint256 entryPrice, uint256 notional_, uint256 equity)
        internal
        pure
        returns (uint256)
    {
        uint256 pnlPct = Math.mulDiv(pnl, WAD, MarginMath.notional(absSize, entryPrice));
        return Math.mulDiv(pnlPct, notional_, equity);
    }

    /// The profit a counterparty gives up by closing `size` at the bankruptcy price instead of the
    /// mark: ⌊size × |mark − bankruptcyPrice| / 1e18⌋ (for the event; the flows use MarginMath.pnl).
    function profitGivenUp(uint256 size, uint256 mark, uint256 bankruptcyPrice_) internal pure returns (uint256) {
        uint256 diff = mark > bankruptcyPrice_ ? mark - bankruptcyPrice_ : bankruptcyPrice_ - mark;
        return size * diff / WAD;
    }
}
