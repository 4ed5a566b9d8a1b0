// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {console} from "forge-std/console.sol";
import {Base} from "./Base.t.sol";
import {Handler} from "./invariant/Handler.sol";
import {AdlHandler} from "./invariant/AdlHandler.sol";
import {PerpMarket} from "../src/PerpMarket.sol";
import {MarginMath} from "../src/MarginMath.sol";
import {MockAggregatorV3} from "../src/MockAggregatorV3.sol";

/// @notice Stateful invariants of PerpMarket under random deposits, withdrawals, trades, price
///         moves, time, funding and liquidations (foundry.toml [invariant]: runs 256, depth 50).
/// @dev Hyperliquid-like parameters: penalty 0.25%, buffer 0.5%, step cap 20% above 100,000 of
///      notional, cooldown 30 s, backstop 2/3, dust 100, trading fee 0.05%, ADL enabled (AdlHandler
///      is the operator), and each market's index switching between one feed and three (Handler).
///      The "a partial step never leaves the account less healthy" invariant needs
///      penaltyPpm ≤ backstopPpm × mmr_0 / 1e6 on every market: outside backstop E ≥ β·ΣMM, a
///      step of notional X costs f·X of equity and frees at least mmr_0·X of MM, and
///      (E − fX)/(ΣMM − mmr_0·X) ≥ E/ΣMM ⟺ E·mmr_0 ≥ f·ΣMM, implied by β·mmr_0 ≥ f.
///      Here 0.25% ≤ 2/3 × 0.40% (BTC) = 0.2667%, ≤ 2/3 × 0.50% (ETH), ≤ 2/3 × 0.60% (SOL).
contract PerpMarketInvariantTest is Base {
    Handler internal handler;
    AdlHandler internal adl;
    MockAggregatorV3 internal solFeed;
    uint256 internal SOL;
    address[] internal actors;

    function _globalParams() internal pure override returns (PerpMarket.GlobalLiquidationParams memory) {
        return PerpMarket.GlobalLiquidationParams({cooldown: 30, backstopPpm: 666_667, keeperSharePpm: 500_000});
    }

    function _liqParams() internal pure override returns (PerpMarket.LiquidationParams memory) {
        return PerpMarket.LiquidationParams({
            penaltyPpm: 2_500,
            targetBufferPpm: 5_000,
            maxStepPpm: 200_000,
            tierStepDown: false,
            partialThreshold: 100_000e18,
            dustNotional: 100e18,
            adlEnabled: true
        });
    }

    function _tradingFeePpm() internal pure override returns (uint32) {
        return 500;
    }

    function _poolTokens() internal pure override returns (uint256) {
        return 1_000_000_000e6;
    }

    /// A small insurance fund, so that deficits beyond it become recorded bad debt.
    function _insuranceTokens() internal pure override returns (uint256) {
        return 1_000e6;
    }

    /// 0–20k at 0.6% (50x), 20k–100k at 1% (25x), 100k+ at 2% (20x).
    function _solTiers() internal pure returns (MarginMath.Tier[] memory t) {
        t = new MarginMath.Tier[](3);
        t[0] = MarginMath.Tier({floor: 0, mmrPpm: 6_000, maxLeverage: 50});
        t[1] = MarginMath.Tier({floor: 20_000e18, mmrPpm: 10_000, maxLeverage: 25});
        t[2] = MarginMath.Tier({floor: 100_000e18, mmrPpm: 20_000, maxLeverage: 20});
    }

    function setUp() public virtual override {
        super.setUp();
        solFeed = new MockAggregatorV3(8, "SOL / USD", 150e8);
        SOL = _addMarket(solFeed, 1e17, _solTiers());

        // The condition behind invariant_partialStepNeverLessHealthy (see the contract comment).
        (, uint32 backstopPpm,) = market.globalLiquidation();
        for (uint256 i = 0; i < allMarkets.length; i++) {
            (MarginMath.Tier[] memory tiers,) = market.getTiers(allMarkets[i]);
            uint256 f = market.getMarket(allMarkets[i]).liq.penaltyPpm;
            require(f * PPM <= uint256(backstopPpm) * tiers[0].mmrPpm, "penalty > backstop x mmr_0");
        }

        // Five traders with collateral and levered positions to start from.
        actors.push(alice);
        actors.push(bob);
        actors.push(carol);
        actors.push(makeAddr("dave"));
        actors.push(makeAddr("erin"));
        _deposit(actors[0], 40_000e6);
        _trade(actors[0], BTC, 10e18); // 600k at 60,000: 15x
        _deposit(actors[1], 20_000e6);
        _trade(actors[1], BTC, -4e18); // 240k: 12x
        _trade(actors[1], ETH, 30e18); // + 90k
        _deposit(actors[2], 10_000e6);
        _trade(actors[2], ETH, -80e18); // 240k: 24x
        _deposit(actors[3], 5_000e6);
        _trade(actors[3], SOL, 400e18); // 60k at 150: 12x
        _deposit(actors[4], 3_000e6);
        _trade(actors[4], BTC, 1e18); // 60k: 20x
        _trade(actors[4], SOL, -100e18); // 15k

        MockAggregatorV3[] memory feeds = new MockAggregatorV3[](3);
        feeds[BTC] = btcFeed;
        feeds[ETH] = ethFeed;
        feeds[SOL] = solFeed;
        uint256[] memory lots = new uint256[](3);
        lots[BTC] = BTC_LOT;
        lots[ETH] = ETH_LOT;
        lots[SOL] = 1e17;
        handler = _newHandler(feeds, lots);
        _registerIndexFeeds(feeds);
        adl = new AdlHandler(market, handler, actors);
        market.setAdlOperator(address(adl));
        market.transferOwnership(address(handler));
        btcFeed.transferOwnership(address(handler));
        ethFeed.transferOwnership(address(handler));
        solFeed.transferOwnership(address(handler));

        targetSelector(FuzzSelector({addr: address(handler), selectors: _handlerSelectors()}));
        targetContract(address(handler));
        bytes4[] memory adlSelectors = new bytes4[](1);
        adlSelectors[0] = AdlHandler.deleverage.selector;
        targetSelector(FuzzSelector({addr: address(adl), selectors: adlSelectors}));
        targetContract(address(adl));
    }

    /// Two more feeds per market at the answer × (1 ± offset), owned by the handler, which moves
    /// them with the market's own feed (offsets 0.05%, 0.1%, 0.2%).
    function _registerIndexFeeds(MockAggregatorV3[] memory feeds) internal {
        MockAggregatorV3[] memory up = new MockAggregatorV3[](feeds.length);
        MockAggregatorV3[] memory down = new MockAggregatorV3[](feeds.length);
        uint256[] memory offsets = new uint256[](feeds.length);
        for (uint256 i = 0; i < feeds.length; i++) {
            offsets[i] = 500 * 2 ** i;
            int256 answer = feeds[i].latestAnswer();
            up[i] = new MockAggregatorV3(8, "index up", answer * int256(1e6 + offsets[i]) / 1e6);
            down[i] = new MockAggregatorV3(8, "index down", answer * int256(1e6 - offsets[i]) / 1e6);
            up[i].transferOwnership(address(handler));
            down[i].transferOwnership(address(handler));
        }
        handler.registerIndexFeeds(up, down, offsets);
    }

    /// The handler the campaign drives (a derived suite deploys an extended one).
    function _newHandler(MockAggregatorV3[] memory feeds, uint256[] memory lots) internal virtual returns (Handler) {
        return new Handler(market, usdc, feeds, lots, actors, keeper);
    }

    /// The handler functions the campaign calls (a derived suite adds its own).
    function _handlerSelectors() internal pure virtual returns (bytes4[] memory selectors) {
        selectors = new bytes4[](12);
        selectors[0] = Handler.deposit.selector;
        selectors[1] = Handler.withdraw.selector;
        selectors[2] = Handler.trade.selector;
        selectors[3] = Handler.movePrice.selector;
        selectors[4] = Handler.warp.selector;
        selectors[5] = Handler.setFundingRate.selector;
        selectors[6] = Handler.liquidate.selector;
        selectors[7] = Handler.attackHealthy.selector;
        selectors[8] = Handler.attackAboveMax.selector;
        selectors[9] = Handler.attackCooldown.selector;
        selectors[10] = Handler.movePriceToLiquidation.selector;
        selectors[11] = Handler.setIndexFeeds.selector;
    }

    // ----------------------------------------------------------------------------------------
    // Invariants
    // ----------------------------------------------------------------------------------------

    /// Every rule below, checked after every call of one campaign (256 runs × depth 50). One
    /// campaign instead of one per rule: forge replays the same seed for each invariant function,
    /// so separate functions would re-run identical call sequences eight times.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_marketRules() public view virtual {
        check_valueConserved();
        check_healthyAccountNeverLiquidated();
        check_stepNeverExceedsMaxSlice();
        check_partialStepNeverLessHealthy();
        check_cooldownHonoured();
        check_penaltyNeverExceedsPositiveEquity();
        check_liquidatableAccountsCanBeLiquidated();
        check_noNegativeCollateralWithoutPositions();
        check_adlRules();
    }

    /// tokens × 1e12 == Σ collateral + pool + insurance − bad debt, to the wei; and the tokens
    /// that left to the keeper are exactly the rewards the market reported.
    function check_valueConserved() internal view {
        assertConserved();
        int256 sum;
        for (uint256 i = 0; i < actors.length; i++) {
            sum += market.collateralOf(actors[i]);
        }
        assertEq(sum, market.totalCollateral(), "totalCollateral = sum of accounts");
        assertEq(usdc.balanceOf(keeper), handler.ghostKeeperTokens(), "keeper paid exactly the reported rewards");
    }

    /// No liquidation of a healthy account ever succeeded.
    function check_healthyAccountNeverLiquidated() internal view {
        assertFalse(handler.healthyLiquidated(), "a healthy account was liquidated");
    }

    /// No step ever exceeded maxLiquidatable computed just before it.
    function check_stepNeverExceedsMaxSlice() internal view {
        assertFalse(handler.partialExceededMax(), "a step exceeded the max slice");
        assertFalse(handler.aboveMaxSucceeded(), "a slice above maxLiquidatable went through");
    }

    /// (E_after + 2) × ΣMM_before ≥ E_before × ΣMM_after for every partial step outside backstop.
    function check_partialStepNeverLessHealthy() internal view {
        assertFalse(handler.partialWorsenedHealth(), "a partial step lowered E / sum MM");
    }

    /// No two partial steps on one account within the cooldown unless in backstop; the market's
    /// lastPartialAt matches the ghost record.
    function check_cooldownHonoured() internal view {
        assertFalse(handler.cooldownViolated(), "two partial steps within the cooldown");
        assertFalse(handler.cooldownBypassed(), "a partial step during the cooldown went through");
        for (uint256 i = 0; i < actors.length; i++) {
            assertEq(market.lastPartialAt(actors[i]), handler.ghostLastPartial(actors[i]), "lastPartialAt");
        }
    }

    /// penalty ≤ max(E, 0) for every liquidation.
    function check_penaltyNeverExceedsPositiveEquity() internal view {
        assertFalse(handler.penaltyExceededEquity(), "penalty > max(E, 0)");
    }

    /// A keeper that sizes by maxLiquidatable never hits an unexpected revert, and a liquidatable
    /// account always offers a slice unless a partial-only step waits for the cooldown.
    function check_liquidatableAccountsCanBeLiquidated() internal view {
        assertFalse(handler.unexpectedLiquidationRevert(), string(handler.unexpectedRevertData()));
        for (uint256 i = 0; i < actors.length; i++) {
            PerpMarket.Health memory h = market.accountHealth(actors[i]);
            if (!h.liquidatable) continue;
            uint256[] memory ids = market.accountMarkets(actors[i]);
            assertGt(ids.length, 0, "liquidatable with no position (unsettled bad debt)");
            for (uint256 k = 0; k < ids.length; k++) {
                if (market.maxLiquidatable(actors[i], ids[k]) == 0) {
                    assertFalse(h.backstop, "backstop account without a slice");
                    assertLt(block.timestamp, h.cooldownEndsAt, "no slice outside the cooldown");
                }
            }
        }
    }

    /// An account without positions never holds negative collateral (bad debt is settled).
    function check_noNegativeCollateralWithoutPositions() internal view {
        for (uint256 i = 0; i < actors.length; i++) {
            if (market.accountMarkets(actors[i]).length == 0) {
                assertGe(market.collateralOf(actors[i]), 0, "unsettled negative collateral");
            }
        }
    }

    /// Every deleverage processed the ranked counterparties in rank order (none skipped, scores as
    /// adlScore read before), closed min(|size|, what they hold) on both sides, and left the
    /// bankrupt account at or just below zero equity; every misordered list, ineligible
    /// counterparty and account not due was refused; a well-formed deleverage never reverted.
    function check_adlRules() internal view {
        assertFalse(adl.rankOrderBroken(), "a deleverage broke the rank order");
        assertFalse(adl.closedMismatch(), "a deleverage closed another size than its counterparties cover");
        assertFalse(adl.bankruptMisvalued(), "a deleverage left the bankrupt account off zero equity");
        assertFalse(adl.misorderAccepted(), "a list out of rank order went through");
        assertFalse(adl.ineligibleAccepted(), "an ineligible counterparty went through");
        assertFalse(adl.notDueAccepted(), "an account not due was deleveraged");
        assertFalse(adl.unexpectedAdlRevert(), string(adl.unexpectedAdlRevertData()));
    }

    function afterInvariant() public view virtual {
        console.log("trades ok/reverted", handler.nTrades(), handler.nTradeReverts());
        console.log("deposits/withdrawals", handler.nDeposits(), handler.nWithdrawals());
        console.log("price moves/warps/funding", handler.nPriceMoves(), handler.nWarps(), handler.nFundingChanges());
        console.log("partial steps (outside backstop)", handler.nPartialSteps(), handler.nPartialStepsOutsideBackstop());
        console.log("full closes/backstop liquidations", handler.nFullCloses(), handler.nBackstopLiquidations());
        console.log("attacks healthy/aboveMax/cooldown", handler.nHealthyAttempts(), handler.nAboveMaxAttempts());
        console.log("cooldown attacks, cooldown reverts", handler.nCooldownAttempts(), handler.nCooldownReverts());
        console.log("badDebt", market.badDebt());
        console.log("index changes", handler.nIndexChanges());
        console.log("deleverages/counterparties/partial", adl.nDeleverages(), adl.nCounterpartiesClosed(), adl.nPartialCovers());
        console.log("ADL gaps/no candidates/no bankruptcy price", adl.nGaps(), adl.nNoCandidates(), adl.nNoBankruptcyPrice());
        console.log("ADL refusals rank/ineligible/not due", adl.nRankOrderRefusals(), adl.nIneligibleRefusals(), adl.nNotDueRefusals());
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
