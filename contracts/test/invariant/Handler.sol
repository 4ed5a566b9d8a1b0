// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";
import {PerpMarket} from "../../src/PerpMarket.sol";
import {MockAggregatorV3} from "../../src/MockAggregatorV3.sol";
import {MockUSDC} from "../../src/MockUSDC.sol";

/// @notice Drives PerpMarket through random traders, prices, time, funding and keepers, and
///         records in ghost variables every rule that a single call could break:
///         - a healthy account was liquidated (adversarial attempt succeeded),
///         - a slice above maxLiquidatable went through (adversarial attempt succeeded),
///         - a partial step during the cooldown went through outside backstop,
///         - a partial step left the account less healthy (margin ratio E/ΣMM fell),
///         - a penalty exceeded the account's positive equity,
///         - a keeper-sized liquidation (≤ maxLiquidatable) reverted for another reason than the
///           cooldown.
///         The handler owns the market and the feeds (ownership is transferred to it in setUp).
///         With `registerIndexFeeds`, each market also has two more feeds that publish the answer
///         × (1 ± offset) whenever its own feed publishes, and `setIndexFeeds` switches the market
///         between its one feed and an index of the three in any order: the median of the three
///         is the handler's answer, exactly, so every rule reads the same mark either way.
contract Handler is CommonBase, StdCheats, StdUtils {
    uint256 internal constant PPM = 1e6;
    uint256 internal constant SCALE = 1e12;
    /// Rounding slack of the margin-ratio check, in wei of equity: the penalty rounds up (1 wei)
    /// and the realised + remaining PnL are floored separately (≤ 1 wei).
    int256 internal constant RATIO_SLACK = 2;

    PerpMarket public immutable market;
    MockUSDC public immutable usdc;
    address public immutable keeper;
    uint256 public immutable cooldown;

    MockAggregatorV3[] internal feeds; // by market id
    uint256[] internal lots; // by market id
    int256[] internal initialAnswers; // by market id
    address[] internal actors;
    MockAggregatorV3[] internal upFeeds; // by market id: answer × (1e6 + offset) / 1e6
    MockAggregatorV3[] internal downFeeds; // by market id: answer × (1e6 − offset) / 1e6
    uint256[] internal offsetPpm; // by market id

    // ---- ghost flags (must stay false) ----
    bool public healthyLiquidated;
    bool public aboveMaxSucceeded;
    bool public partialExceededMax;
    bool public cooldownBypassed;
    bool public cooldownViolated;
    bool public partialWorsenedHealth;
    bool public penaltyExceededEquity;
    bool public unexpectedLiquidationRevert;
    bytes public unexpectedRevertData;

    // ---- ghost accounting ----
    mapping(address => uint256) public ghostLastPartial; // timestamp of the last partial step
    uint256 public ghostKeeperTokens; // Σ rewards the market reported

    // ---- statistics (for the report) ----
    uint256 public nDeposits;
    uint256 public nWithdrawals;
    uint256 public nTrades;
    uint256 public nTradeReverts;
    uint256 public nPriceMoves;
    uint256 public nWarps;
    uint256 public nFundingChanges;
    uint256 public nIndexChanges;
    uint256 public nPartialSteps;
    uint256 public nPartialStepsOutsideBackstop;
    uint256 public nFullCloses;
    uint256 public nBackstopLiquidations;
    uint256 public nCooldownReverts;
    uint256 public nHealthyAttempts;
    uint256 public nAboveMaxAttempts;
    uint256 public nCooldownAttempts;

    constructor(
        PerpMarket market_,
        MockUSDC usdc_,
        MockAggregatorV3[] memory feeds_,
        uint256[] memory lots_,
        address[] memory actors_,
        address keeper_
    ) {
        market = market_;
        usdc = usdc_;
        keeper = keeper_;
        (uint32 cooldown_,,) = market_.globalLiquidation();
        cooldown = cooldown_;
        for (uint256 i = 0; i < feeds_.length; i++) {
            feeds.push(feeds_[i]);
            lots.push(lots_[i]);
            initialAnswers.push(feeds_[i].latestAnswer());
        }
        for (uint256 i = 0; i < actors_.length; i++) {
            actors.push(actors_[i]);
        }
    }

    /// Setup only (not a campaign selector): the two index feeds of each market, owned by this
    /// handler and already at the answer × (1 ± offset).
    function registerIndexFeeds(MockAggregatorV3[] memory up, MockAggregatorV3[] memory down, uint256[] memory offsets)
        external
    {
        require(upFeeds.length == 0, "registered");
        for (uint256 i = 0; i < up.length; i++) {
            upFeeds.push(up[i]);
            downFeeds.push(down[i]);
            offsetPpm.push(offsets[i]);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actorAt(uint256 i) external view returns (address) {
        return actors[i];
    }

    // ----------------------------------------------------------------------------------------
    // Traders
    // ----------------------------------------------------------------------------------------

    function deposit(uint256 actorSeed, uint256 tokens) external {
        address a = actors[actorSeed % actors.length];
        tokens = bound(tokens, 1, 100_000e6);
        usdc.mint(a, tokens);
        vm.startPrank(a);
        usdc.approve(address(market), tokens);
        market.deposit(a, tokens);
        vm.stopPrank();
        nDeposits++;
    }

    function withdraw(uint256 actorSeed, uint256 amountWad) external {
        address a = actors[actorSeed % actors.length];
        int256 c = market.collateralOf(a);
        if (c < int256(SCALE)) return;
        amountWad = bound(amountWad, SCALE, uint256(c));
        vm.prank(a);
        try market.withdraw(amountWad) {
            nWithdrawals++;
        } catch {}
    }

    /// kind % 4: 0 open or increase, 1 reduce, 2 close, 3 flip. Sizes come from the account's free
    /// margin and a leverage of 1–45x, so trades are mostly valid and often highly levered.
    function trade(uint256 actorSeed, uint256 marketSeed, uint256 kind, uint256 leverage, uint256 fraction)
        external
    {
        address a = actors[actorSeed % actors.length];
        uint256 id = marketSeed % feeds.length;
        uint256 lot = lots[id];
        int256 size = market.getPosition(a, id).size;
        uint256 absSize = size >= 0 ? uint256(size) : uint256(-size);
        int256 delta;
        kind %= 4;
        if (kind == 0 || size == 0) {
            PerpMarket.Health memory h = market.accountHealth(a);
            if (h.equity <= int256(h.initial)) return;
            uint256 notional = (uint256(h.equity) - h.initial) * bound(leverage, 1, 45);
            if (notional > 5_000_000e18) notional = 5_000_000e18;
            uint256 amount = notional * 1e18 / market.markPrice(id) / lot * lot;
            if (amount == 0) return;
            bool long = size != 0 ? size > 0 : fraction % 2 == 0;
            delta = long ? int256(amount) : -int256(amount);
        } else if (kind == 1) {
            uint256 amount = absSize * bound(fraction, 1, 99) / 100 / lot * lot;
            if (amount == 0) return;
            delta = size > 0 ? -int256(amount) : int256(amount);
        } else if (kind == 2) {
            delta = -size;
        } else {
            uint256 to = absSize * bound(fraction, 1, 200) / 100 / lot * lot;
            if (to == 0) to = lot;
            delta = size > 0 ? -size - int256(to) : -size + int256(to);
        }
        vm.prank(a);
        try market.trade(id, delta) {
            nTrades++;
        } catch {
            nTradeReverts++;
        }
    }

    // ----------------------------------------------------------------------------------------
    // Oracle, time, funding (the handler owns feeds and market)
    // ----------------------------------------------------------------------------------------

    /// Move one market's price: mostly by up to ±0.5% (the backstop band is only ~1/3 of the
    /// maintenance rate wide), one call in eight by up to ±8% and one in eight by up to ±20% (gaps
    /// that skip the backstop and create bad debt); within [1/3, 3] × its initial price.
    function movePrice(uint256 marketSeed, int256 bps) external {
        uint256 id = marketSeed % feeds.length;
        uint256 mode = (marketSeed / feeds.length) % 8;
        bps = mode == 0 ? bound(bps, -2_000, 2_000) : mode == 1 ? bound(bps, -800, 800) : bound(bps, -50, 50);
        _publish(id, feeds[id].latestAnswer() * (10_000 + bps) / 10_000);
        nPriceMoves++;
    }

    /// Move the price of one of an account's markets against it until the account is just
    /// liquidatable (bisection on the feed), then `depthPpm` (0–0.3%) further: the partial-step
    /// region that random walks rarely land in.
    function movePriceToLiquidation(uint256 actorSeed, uint256 marketSeed, uint256 depthPpm) external {
        address a = actors[actorSeed % actors.length];
        uint256[] memory ids = market.accountMarkets(a);
        if (ids.length == 0 || market.isLiquidatable(a)) return;
        uint256 id = ids[marketSeed % ids.length];
        bool long = market.getPosition(a, id).size > 0;
        int256 healthy = feeds[id].latestAnswer();
        int256 liq = long ? initialAnswers[id] / 3 : initialAnswers[id] * 3;
        _setAnswer(id, liq);
        if (!market.isLiquidatable(a)) {
            _setAnswer(id, healthy); // out of range: leave the price as it was
            return;
        }
        while (healthy > liq ? healthy - liq > 1 : liq - healthy > 1) {
            int256 mid = (healthy + liq) / 2;
            _setAnswer(id, mid);
            if (market.isLiquidatable(a)) liq = mid;
            else healthy = mid;
        }
        int256 depth = int256(bound(depthPpm, 0, 3_000));
        _publish(id, long ? liq * (1e6 - depth) / 1e6 : liq * (1e6 + depth) / 1e6);
        nPriceMoves++;
    }

    function _publish(uint256 id, int256 answer) internal {
        int256 lo = initialAnswers[id] / 3;
        int256 hi = initialAnswers[id] * 3;
        if (answer < lo) answer = lo;
        if (answer > hi) answer = hi;
        _setAnswer(id, answer);
    }

    /// Publish `answer` on the market's feed and, if registered, its two index feeds.
    function _setAnswer(uint256 id, int256 answer) internal {
        feeds[id].updateAnswer(answer);
        if (id >= upFeeds.length) return;
        int256 offset = int256(offsetPpm[id]);
        upFeeds[id].updateAnswer(answer * (1e6 + offset) / 1e6);
        downFeeds[id].updateAnswer(answer * (1e6 - offset) / 1e6);
    }

    /// Switch a market between its one feed (layout 0) and an index of its three feeds in one of
    /// the six orders (layouts 1–6), minSources 1–3, a spread guard just above 2 × offset.
    function setIndexFeeds(uint256 marketSeed, uint256 layout, uint256 minSeed) external {
        uint256 id = marketSeed % feeds.length;
        if (id >= upFeeds.length) return;
        layout %= 7;
        address[] memory list = new address[](layout == 0 ? 1 : 3);
        list[0] = address(feeds[id]);
        if (layout != 0) {
            address[3] memory three = [address(feeds[id]), address(upFeeds[id]), address(downFeeds[id])];
            uint256 r = layout - 1; // the permutation: first index r / 2, then the other two in order or swapped
            uint256 first = r / 2;
            uint256 a = first == 0 ? 1 : 0;
            uint256 b = first == 2 ? 1 : 2;
            (list[0], list[1], list[2]) = r % 2 == 0 ? (three[first], three[a], three[b]) : (three[first], three[b], three[a]);
        }
        uint8 minSources = uint8(bound(minSeed, 1, list.length));
        market.setIndexFeeds(id, list, minSources, uint32(2 * offsetPpm[id] + 10));
        nIndexChanges++;
    }

    /// Advance 1–120 s (well within maxStaleness) and re-publish every feed so prices stay fresh.
    function warp(uint256 secs) external {
        secs = bound(secs, 1, 120);
        vm.warp(block.timestamp + secs);
        for (uint256 i = 0; i < feeds.length; i++) {
            _setAnswer(i, feeds[i].latestAnswer());
        }
        nWarps++;
    }

    /// Funding up to ±1% of the initial price per hour, per unit of size.
    function setFundingRate(uint256 marketSeed, int256 rate) external {
        uint256 id = marketSeed % feeds.length;
        int256 maxRate = initialAnswers[id] * 1e10 / 360_000;
        rate = bound(rate, -maxRate, maxRate);
        market.setFundingRate(id, rate);
        nFundingChanges++;
    }

    // ----------------------------------------------------------------------------------------
    // Keeper
    // ----------------------------------------------------------------------------------------

    /// A liquidatable (account, market), starting the search at the seeds; found = false if none.
    function _findLiquidatable(uint256 actorSeed, uint256 marketSeed)
        internal
        view
        returns (bool found, address a, uint256 id)
    {
        for (uint256 k = 0; k < actors.length; k++) {
            a = actors[(actorSeed % actors.length + k) % actors.length];
            uint256[] memory ids = market.accountMarkets(a);
            if (ids.length == 0 || !market.isLiquidatable(a)) continue;
            return (true, a, ids[marketSeed % ids.length]);
        }
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    function _penaltyOf(Vm.Log[] memory logs) internal view returns (uint256 penalty, bool found) {
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter == address(market) && logs[i].topics[0] == PerpMarket.Liquidated.selector) {
                (,, penalty,,,,) = abi.decode(logs[i].data, (uint256, uint256, uint256, uint256, uint256, int256, bool));
                found = true;
            }
        }
    }

    /// Acting as keeper: liquidate the max slice, or a random smaller lot multiple of it.
    /// Liquidations refused because ADL must act first (docs/reference-market.md, "Auto-deleveraging").
    uint256 public nAdlRequired;

    /// The contract may refuse a close with AdlRequired only for an account in deficit beyond the insurance fund.
    function _adlRequired(address a, PerpMarket.Health memory before) internal view returns (bool) {
        return before.equity < 0 && uint256(-before.equity) > market.insuranceFund() && market.adlOperator() != address(0)
            && market.accountMarkets(a).length == 1;
    }

    function liquidate(uint256 actorSeed, uint256 marketSeed, uint256 sliceSeed) external {
        (bool found, address a, uint256 id) = _findLiquidatable(actorSeed, marketSeed);
        if (!found) return;
        uint256 maxSlice = market.maxLiquidatable(a, id);
        if (maxSlice == 0) return; // cooldown: a keeper that knows the rules does not try
        uint256 absSize = _abs(market.getPosition(a, id).size);
        uint256 lot = lots[id];
        uint256 size = maxSlice;
        if (sliceSeed % 2 == 1 && maxSlice >= lot) {
            size = bound(sliceSeed / 2, 1, maxSlice / lot) * lot;
        }

        PerpMarket.Health memory before = market.accountHealth(a);
        uint256 keeperBefore = usdc.balanceOf(keeper);
        vm.recordLogs();
        vm.prank(keeper);
        try market.liquidate(a, id, size) returns (uint256 reward) {
            (uint256 penalty,) = _penaltyOf(vm.getRecordedLogs());
            ghostKeeperTokens += reward;
            if (usdc.balanceOf(keeper) - keeperBefore != reward) unexpectedLiquidationRevert = true;
            if (size > maxSlice) partialExceededMax = true;
            uint256 positiveEquity = before.equity > 0 ? uint256(before.equity) : 0;
            if (penalty > positiveEquity) penaltyExceededEquity = true;
            if (before.backstop) nBackstopLiquidations++;

            if (size == absSize) {
                nFullCloses++;
                return;
            }
            nPartialSteps++;
            if (!before.backstop) {
                nPartialStepsOutsideBackstop++;
                uint256 last = ghostLastPartial[a];
                if (last != 0 && block.timestamp < last + cooldown) cooldownViolated = true;
                // Margin ratio E/ΣMM must not fall. From E ≥ β·MM (not backstop), a step of
                // notional X lowers MM by at least mmr_0·X and E by the penalty f·X, so
                // E'/MM' ≥ E/MM ⟺ E·mmr_0 ≥ f·MM, which holds when f ≤ β·mmr_0 for every
                // market (β = backstopPpm): the invariant test's parameters satisfy it.
                PerpMarket.Health memory afterH = market.accountHealth(a);
                if ((afterH.equity + RATIO_SLACK) * int256(before.maintenance) < before.equity * int256(afterH.maintenance))
                {
                    partialWorsenedHealth = true;
                }
            }
            ghostLastPartial[a] = block.timestamp;
        } catch (bytes memory reason) {
            vm.getRecordedLogs();
            // A smaller slice than the max during the cooldown of a position that may be closed in
            // full (below partialThreshold or dust) is the one legitimate refusal.
            if (bytes4(reason) == PerpMarket.CooldownActive.selector && size < absSize) {
                nCooldownReverts++;
            } else if (bytes4(reason) == PerpMarket.AdlRequired.selector && _adlRequired(a, before)) {
                // The last close would record bad debt that ADL covers: the operator acts instead.
                nAdlRequired++;
            } else {
                unexpectedLiquidationRevert = true;
                unexpectedRevertData = reason;
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Adversarial attempts: each must revert
    // ----------------------------------------------------------------------------------------

    /// Liquidate an account that is not liquidatable.
    function attackHealthy(uint256 actorSeed, uint256 marketSeed, bool full) external {
        for (uint256 k = 0; k < actors.length; k++) {
            address a = actors[(actorSeed % actors.length + k) % actors.length];
            uint256[] memory ids = market.accountMarkets(a);
            if (ids.length == 0 || market.isLiquidatable(a)) continue;
            uint256 id = ids[marketSeed % ids.length];
            uint256 size = full ? _abs(market.getPosition(a, id).size) : lots[id];
            nHealthyAttempts++;
            vm.prank(keeper);
            try market.liquidate(a, id, size) {
                healthyLiquidated = true;
            } catch {}
            return;
        }
    }

    /// Liquidate one lot more than maxLiquidatable (or more than the whole position).
    function attackAboveMax(uint256 actorSeed, uint256 marketSeed) external {
        (bool found, address a, uint256 id) = _findLiquidatable(actorSeed, marketSeed);
        if (!found) return;
        uint256 maxSlice = market.maxLiquidatable(a, id);
        uint256 size = maxSlice + lots[id];
        nAboveMaxAttempts++;
        vm.prank(keeper);
        try market.liquidate(a, id, size) {
            aboveMaxSucceeded = true;
        } catch {}
    }

    /// A partial step on an account in its cooldown and not in backstop.
    function attackCooldown(uint256 actorSeed, uint256 marketSeed) external {
        (bool found, address a, uint256 id) = _findLiquidatable(actorSeed, marketSeed);
        if (!found) return;
        PerpMarket.Health memory h = market.accountHealth(a);
        if (h.backstop || block.timestamp >= h.cooldownEndsAt) return;
        uint256 lot = lots[id];
        if (_abs(market.getPosition(a, id).size) <= lot) return;
        nCooldownAttempts++;
        vm.prank(keeper);
        try market.liquidate(a, id, lot) {
            cooldownBypassed = true;
        } catch {}
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
