// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title IndexPrice
/// @notice The index mark price of docs/reference-market.md, "Index mark price": the median of the
///         fresh answers of 1 to 7 Chainlink-compatible feeds, with a spread guard. PerpMarket keeps
///         the one-feed path of before (InvalidPrice, StalePrice) and calls this library when a
///         market reads several feeds. `src/engine/` mirrors `aggregate` (indexMark) operation for
///         operation.
/// @dev Units: values are WAD (1e18), the spread is ppm (1e6), both floored.
library IndexPrice {
    uint256 internal constant PPM = 1e6;
    uint256 internal constant MAX_FEEDS = 7;

    /// One source of a market's index, with the decimals read when it was set.
    struct Feed {
        address feed;
        uint8 decimals;
    }

    /// The WAD answers of the fresh feeds, in list order, in `values[0 .. k)`. A feed is fresh when
    /// answer > 0 and 0 ≤ now − updatedAt ≤ maxStaleness; other feeds are skipped, not reverted on.
    function readFresh(Feed[] storage feeds, uint256 maxStaleness)
        internal
        view
        returns (uint256[] memory values, uint256 k)
    {
        uint256 n = feeds.length;
        values = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            Feed storage f = feeds[i];
            (, int256 answer,, uint256 updatedAt,) = AggregatorV3Interface(f.feed).latestRoundData();
            // forge-lint: disable-next-line(block-timestamp) staleness is a time rule (see PerpMarket's @dev)
            if (answer <= 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > maxStaleness) continue;
            // forge-lint: disable-next-line(unsafe-typecast) answer > 0 (checked above)
            values[k++] = uint256(answer) * 10 ** (18 - f.decimals);
        }
    }

    /// Median of `values[0 .. k)` (k ≥ 1): the middle value when k is odd, the floor of the mean of
    /// the two middle ones when k is even; and the spread (max − min) × 1e6 / mark, floored (0 when
    /// k = 1). Sorts `values[0 .. k)` in place, ascending.
    function aggregate(uint256[] memory values, uint256 k) internal pure returns (uint256 mark, uint256 spreadPpm) {
        for (uint256 i = 1; i < k; i++) {
            uint256 x = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > x) {
                values[j] = values[j - 1];
                j--;
            }
            values[j] = x;
        }
        uint256 mid = k / 2;
        mark = k % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
        if (k >= 2) spreadPpm = (values[k - 1] - values[0]) * PPM / mark;
    }
}
