// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Vm} from "forge-std/Vm.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Base} from "./Base.t.sol";
import {PerpMarket} from "../src/PerpMarket.sol";
import {MockAggregatorV3} from "../src/MockAggregatorV3.sol";

/// @notice Unit tests of the index mark price (docs/reference-market.md, "Index mark price"):
///         median of the fresh feeds, the minSources and spread guards, setIndexFeeds and the
///         setMarketParams reset rule. Base's fixture: BTC on one 8-decimal feed at 60,000.
contract PerpMarketIndexTest is Base {
    /// A fresh 18-decimal feed at `priceWad`, so that answers are exact to the wei.
    function _feed18(uint256 priceWad) internal returns (MockAggregatorV3) {
        return new MockAggregatorV3(18, "BTC / USD (18)", int256(priceWad));
    }

    function _list(MockAggregatorV3 a, MockAggregatorV3 b) internal pure returns (address[] memory l) {
        l = new address[](2);
        l[0] = address(a);
        l[1] = address(b);
    }

    function _list(MockAggregatorV3 a, MockAggregatorV3 b, MockAggregatorV3 c) internal pure returns (address[] memory l) {
        l = new address[](3);
        l[0] = address(a);
        l[1] = address(b);
        l[2] = address(c);
    }

    function _setIndex(address[] memory feeds, uint8 minSources, uint32 maxDeviationPpm) internal {
        market.setIndexFeeds(BTC, feeds, minSources, maxDeviationPpm);
    }

    // ----------------------------------------------------------------------------------------
    // Median
    // ----------------------------------------------------------------------------------------

    function test_median_oddCount_isTheMiddleAnswer_acrossDecimals() public {
        // 8 decimals at 60,000 (btcFeed), 18 decimals at 60,100, 6 decimals at 59,950.
        MockAggregatorV3 f6 = new MockAggregatorV3(6, "BTC / USD (6)", 59_950e6);
        _setIndex(_list(_feed18(60_100e18), btcFeed, f6), 1, 100_000);
        assertEq(market.markPrice(BTC), 60_000e18, "median of 59,950 / 60,000 / 60,100");
        btcFeed.updateAnswer(59_000e8);
        assertEq(market.markPrice(BTC), 59_950e18, "the middle one moves with the answers");
    }

    function test_median_evenCount_isTheFloorOfTheMeanOfTheMiddleTwo() public {
        address[] memory l = new address[](4);
        l[0] = address(_feed18(60_010e18));
        l[1] = address(_feed18(60_000e18 + 1));
        l[2] = address(_feed18(59_990e18));
        l[3] = address(_feed18(60_000e18));
        _setIndex(l, 4, 10_000);
        assertEq(market.markPrice(BTC), 60_000e18, "floor((60,000e18 + 60,000e18 + 1) / 2)");
        _setIndex(_list(_feed18(60_000e18), _feed18(60_000e18 + 3)), 2, 10_000);
        assertEq(market.markPrice(BTC), 60_000e18 + 1, "floor(3 / 2) = 1 wei above");
    }

    function test_median_tradesAtTheIndex() public {
        _setIndex(_list(btcFeed, _feed18(60_200e18), _feed18(59_800e18)), 2, 10_000);
        _open(alice, BTC, 10e18, 34_000e6);
        assertEq(market.getPosition(alice, BTC).entryPrice, 60_000e18, "entry at the median");
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Freshness and minSources
    // ----------------------------------------------------------------------------------------

    function test_staleZeroAndFutureFeeds_areExcluded() public {
        MockAggregatorV3 stale = _feed18(10_000e18);
        MockAggregatorV3 zero = _feed18(1);
        MockAggregatorV3 future = _feed18(90_000e18);
        MockAggregatorV3 fresh = _feed18(60_100e18);
        address[] memory l = new address[](5);
        l[0] = address(btcFeed);
        l[1] = address(stale);
        l[2] = address(zero);
        l[3] = address(future);
        l[4] = address(fresh);
        _setIndex(l, 2, 1_000_000);
        stale.updateAnswerAt(10_000e18, T0 - STALENESS - 1);
        zero.updateAnswer(0);
        future.updateAnswerAt(90_000e18, T0 + 1);
        assertEq(market.markPrice(BTC), 60_050e18, "mean of the two fresh ones: 60,000 and 60,100");

        stale.updateAnswerAt(10_000e18, T0 - STALENESS); // exactly maxStaleness old: fresh again
        assertEq(market.markPrice(BTC), 60_000e18, "median of 10,000 / 60,000 / 60,100");
    }

    function test_revert_tooFewFreshFeeds_onEveryValuation() public {
        MockAggregatorV3 b = _feed18(60_000e18);
        MockAggregatorV3 c = _feed18(60_000e18);
        _setIndex(_list(btcFeed, b, c), 2, 10_000);
        _open(alice, BTC, 10e18, 34_000e6);
        _deposit(bob, 10_000e6);
        vm.warp(T0 + 100);
        b.updateAnswer(57_000e18); // one fresh feed of the three
        bytes memory err = abi.encodeWithSelector(PerpMarket.TooFewFreshFeeds.selector, BTC, 1, 2);
        vm.warp(T0 + STALENESS + 1);
        vm.expectRevert(err);
        market.markPrice(BTC);
        vm.expectRevert(err);
        _trade(bob, BTC, 1e15);
        vm.expectRevert(err);
        _liquidate(keeper, alice, BTC, 1e15);
        vm.expectRevert(err);
        market.accountHealth(alice);
        c.updateAnswer(57_000e18); // a second fresh one
        assertEq(market.markPrice(BTC), 57_000e18, "two fresh: their mean");
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // Spread guard
    // ----------------------------------------------------------------------------------------

    function test_priceDeviation_spreadEqualToMaxPasses_oneMoreFails() public {
        MockAggregatorV3 lo = _feed18(59_970e18);
        MockAggregatorV3 hi = _feed18(60_030e18);
        // spread = 60 × 1e6 / 60,000 = 1,000 ppm exactly.
        _setIndex(_list(lo, hi), 2, 1_000);
        assertEq(market.markPrice(BTC), 60_000e18, "spread == max passes");
        // 60.06 × 1e6 / 60,000 = 1,001 ppm.
        lo.updateAnswer(59_969.97e18);
        hi.updateAnswer(60_030.03e18);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PriceDeviation.selector, BTC, 1_001, 1_000));
        market.markPrice(BTC);
        _setIndex(_list(lo, hi), 2, 1_001);
        assertEq(market.markPrice(BTC), 60_000e18, "the same spread under a max of 1,001");
        // Just above 1,000 ppm before flooring still floors to 1,000.
        _setIndex(_list(lo, hi), 2, 1_000);
        lo.updateAnswer(59_970e18 - 1);
        hi.updateAnswer(60_030e18 + 1);
        assertEq(market.markPrice(BTC), 60_000e18, "floor(1,000.00000...) = 1,000 passes");
    }

    function test_priceDeviation_overFreshFeedsOnly_andRevertsTrades() public {
        MockAggregatorV3 wick = _feed18(40_000e18);
        _setIndex(_list(btcFeed, _feed18(60_060e18), wick), 2, 2_000);
        _deposit(bob, 10_000e6);
        // (60,060 - 40,000) × 1e6 / 60,000 = 334,333.3 ppm, floored.
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.PriceDeviation.selector, BTC, 334_333, 2_000));
        _trade(bob, BTC, 1e15);
        wick.updateAnswerAt(40_000e18, T0 - STALENESS - 1); // the wick goes stale: out of the spread
        assertEq(market.markPrice(BTC), 60_030e18, "mean of the two fresh ones");
        _trade(bob, BTC, 1e15);
        assertConserved();
    }

    // ----------------------------------------------------------------------------------------
    // One feed: the behaviour of before
    // ----------------------------------------------------------------------------------------

    function test_oneFeed_keepsInvalidAndStalePriceErrors() public {
        MockAggregatorV3 f = _feed18(61_000e18);
        address[] memory one = new address[](1);
        one[0] = address(f);
        _setIndex(one, 1, 0);
        assertEq(market.markPrice(BTC), 61_000e18);
        assertEq(market.getMarket(BTC).params.feed, address(f), "params.feed is the first feed");
        assertEq(market.getMarket(BTC).feedDecimals, 18, "with its decimals");
        f.updateAnswer(0);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidPrice.selector, BTC, int256(0)));
        market.markPrice(BTC);
        f.updateAnswerAt(61_000e18, T0 - STALENESS - 1);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.StalePrice.selector, BTC, T0 - STALENESS - 1, STALENESS));
        market.markPrice(BTC);
    }

    function test_severalFeeds_zeroAnswerIsStaleNotInvalid() public {
        MockAggregatorV3 b = _feed18(60_000e18);
        _setIndex(_list(btcFeed, b), 2, 0);
        b.updateAnswer(-5);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.TooFewFreshFeeds.selector, BTC, 1, 2));
        market.markPrice(BTC);
    }

    // ----------------------------------------------------------------------------------------
    // setIndexFeeds, addMarket, setMarketParams
    // ----------------------------------------------------------------------------------------

    function test_setIndexFeeds_storesTheListAndEmits() public {
        MockAggregatorV3 b = _feed18(60_000e18);
        address[] memory l = _list(b, btcFeed);
        vm.expectEmit(address(market));
        emit PerpMarket.IndexFeedsUpdated(BTC, l, 2, 500);
        _setIndex(l, 2, 500);
        (address[] memory feeds, uint8 minSources, uint32 maxDev) = market.indexFeeds(BTC);
        assertEq(feeds, l);
        assertEq(minSources, 2);
        assertEq(maxDev, 500);
        assertEq(market.getMarket(BTC).params.feed, address(b), "params.feed = feeds[0]");
    }

    function test_revert_setIndexFeeds_badInput() public {
        address[] memory none = new address[](0);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidFeedCount.selector, 0));
        _setIndex(none, 1, 0);
        address[] memory eight = new address[](8);
        for (uint256 i = 0; i < 8; i++) {
            eight[i] = address(_feed18(60_000e18));
        }
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidFeedCount.selector, 8));
        _setIndex(eight, 1, 0);
        address[] memory seven = new address[](7);
        for (uint256 i = 0; i < 7; i++) {
            seven[i] = eight[i];
        }
        _setIndex(seven, 7, 0); // MAX_FEEDS is allowed
        assertEq(market.MAX_FEEDS(), 7);

        address[] memory two = _list(btcFeed, _feed18(60_000e18));
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidMinSources.selector, 0, 2));
        _setIndex(two, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.InvalidMinSources.selector, 3, 2));
        _setIndex(two, 3, 0);

        address[] memory dup = _list(btcFeed, _feed18(1), btcFeed);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.DuplicateFeed.selector, address(btcFeed)));
        _setIndex(dup, 1, 0);

        MockAggregatorV3 f19 = new MockAggregatorV3(19, "Z / USD", 1);
        vm.expectRevert(abi.encodeWithSelector(PerpMarket.FeedDecimalsTooLarge.selector, uint8(19)));
        _setIndex(_list(btcFeed, f19), 1, 0);

        vm.expectRevert(abi.encodeWithSelector(PerpMarket.UnknownMarket.selector, 9));
        market.setIndexFeeds(9, two, 1, 0);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        market.setIndexFeeds(BTC, two, 1, 0);

        (address[] memory feeds,,) = market.indexFeeds(BTC);
        assertEq(feeds, seven, "failed calls changed nothing");
    }

    function test_addMarket_setsAOneFeedIndex_afterMarketAdded() public {
        MockAggregatorV3 f = new MockAggregatorV3(8, "SOL / USD", 150e8);
        vm.recordLogs();
        uint256 id = _addMarket(f, 1e17, _btcTiers());
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 added = type(uint256).max;
        uint256 index = type(uint256).max;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].topics[0] == PerpMarket.MarketAdded.selector) added = i;
            if (logs[i].topics[0] == PerpMarket.IndexFeedsUpdated.selector) index = i;
        }
        assertGt(index, added, "IndexFeedsUpdated after MarketAdded");
        assertEq(index, logs.length - 1, "and last");
        (address[] memory feeds, uint8 minSources, uint32 maxDev) = abi.decode(logs[index].data, (address[], uint8, uint32));
        assertEq(feeds.length, 1);
        assertEq(feeds[0], address(f));
        assertEq(minSources, 1);
        assertEq(maxDev, 0);
        (feeds,,) = market.indexFeeds(id);
        assertEq(feeds[0], address(f));
    }

    function test_setMarketParams_sameFirstFeedKeepsTheIndex_otherFeedResetsIt() public {
        MockAggregatorV3 b = _feed18(60_000e18);
        address[] memory l = _list(btcFeed, b);
        _setIndex(l, 2, 300);

        vm.recordLogs();
        _setFee(BTC, 100); // params.feed is still btcFeed
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i = 0; i < logs.length; i++) {
            assertTrue(logs[i].topics[0] != PerpMarket.IndexFeedsUpdated.selector, "no index event");
        }
        (address[] memory feeds, uint8 minSources, uint32 maxDev) = market.indexFeeds(BTC);
        assertEq(feeds, l, "index unchanged");
        assertEq(minSources, 2);
        assertEq(maxDev, 300);

        PerpMarket.MarketParams memory p = market.getMarket(BTC).params;
        p.feed = address(b);
        address[] memory one = new address[](1);
        one[0] = address(b);
        vm.expectEmit(address(market));
        emit PerpMarket.IndexFeedsUpdated(BTC, one, 1, 0);
        market.setMarketParams(BTC, p);
        (feeds, minSources, maxDev) = market.indexFeeds(BTC);
        assertEq(feeds, one, "reset to the new feed");
        assertEq(minSources, 1);
        assertEq(maxDev, 0);
        assertEq(market.getMarket(BTC).feedDecimals, 18);
        assertEq(market.markPrice(BTC), 60_000e18);
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
