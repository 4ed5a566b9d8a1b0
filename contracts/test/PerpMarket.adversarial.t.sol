// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {console} from "forge-std/console.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {PerpMarketInvariantTest} from "./PerpMarket.invariant.t.sol";
import {Handler} from "./invariant/Handler.sol";
import {AdversarialHandler} from "./invariant/AdversarialHandler.sol";
import {ReentrancyAttacker} from "./invariant/ReentrancyAttacker.sol";
import {ReentrantToken} from "./invariant/ReentrantToken.sol";
import {PerpMarket} from "../src/PerpMarket.sol";
import {MockAggregatorV3} from "../src/MockAggregatorV3.sol";
import {MockUSDC} from "../src/MockUSDC.sol";

/// @notice The invariant campaign of PerpMarketInvariantTest (same markets, traders and
///         parameters, every one of its rules still asserted) with adversaries added:
///         - on the first market, an attacker keeper (AdversarialHandler) that liquidates healthy
///           accounts, sends wrong slices alone and in mixed batches with duplicates, and moves
///           the oracle within one block around its liquidations and around trades;
///         - a second PerpMarket whose collateral is a ReentrantToken: every transfer the market
///           makes calls back into a ReentrancyAttacker that re-enters the market (deposit,
///           withdraw, trade, liquidate, liquidateBatch, fundInsurance, fundPool,
///           liquidateFromBatch) while the market's own random traders and keeper (a plain
///           Handler) and the attacker's calls run.
contract PerpMarketAdversarialTest is PerpMarketInvariantTest {
    AdversarialHandler internal adv;
    address internal attacker = makeAddr("attacker");

    ReentrantToken internal rtoken;
    PerpMarket internal market2;
    MockAggregatorV3 internal feed2;
    Handler internal handler2;
    ReentrancyAttacker internal reentrant;
    address[] internal victims;
    address internal keeper2 = makeAddr("keeper2");

    // ----------------------------------------------------------------------------------------
    // Fixture
    // ----------------------------------------------------------------------------------------

    function _newHandler(MockAggregatorV3[] memory feeds, uint256[] memory lots) internal override returns (Handler) {
        adv = new AdversarialHandler(market, usdc, feeds, lots, actors, keeper, attacker);
        return adv;
    }

    function _handlerSelectors() internal pure override returns (bytes4[] memory selectors) {
        bytes4[] memory base = super._handlerSelectors();
        selectors = new bytes4[](base.length + 4);
        for (uint256 i = 0; i < base.length; i++) {
            selectors[i] = base[i];
        }
        selectors[base.length] = AdversarialHandler.attackSlice.selector;
        selectors[base.length + 1] = AdversarialHandler.attackBatch.selector;
        selectors[base.length + 2] = AdversarialHandler.manipulateAndLiquidate.selector;
        selectors[base.length + 3] = AdversarialHandler.sandwichTrade.selector;
    }

    function setUp() public override {
        super.setUp();
        _setUpReentrantMarket();
    }

    /// A second market (BTC tiers, the same liquidation parameters) on a ReentrantToken, with
    /// three levered traders, its own keeper, and the attacker holding 1,000,000 of collateral.
    function _setUpReentrantMarket() internal {
        rtoken = new ReentrantToken();
        market2 = new PerpMarket(IERC20(address(rtoken)), _globalParams());
        feed2 = new MockAggregatorV3(8, "BTC / USD (reentrant collateral)", 60_000e8);
        PerpMarket.MarketParams memory p = _marketParams(feed2, BTC_LOT);
        // The first market's handler warps time without refreshing this feed.
        p.maxStaleness = type(uint32).max;
        market2.addMarket(p, _liqParams(), _btcTiers());

        rtoken.mint(lp, _poolTokens() + _insuranceTokens());
        vm.startPrank(lp);
        rtoken.approve(address(market2), type(uint256).max);
        market2.fundPool(_poolTokens());
        market2.fundInsurance(_insuranceTokens());
        vm.stopPrank();

        victims.push(alice);
        victims.push(bob);
        victims.push(carol);
        _open2(alice, 10e18, 40_000e6); // 600k: 15x
        _open2(bob, -4e18, 20_000e6); // 240k: 12x
        _open2(carol, 1e18, 3_000e6); // 60k: 20x

        reentrant = new ReentrancyAttacker(market2, rtoken, victims, BTC_LOT);
        rtoken.mint(address(reentrant), 10_000_000e6);
        reentrant.init(1_000_000e6);
        rtoken.setHook(address(reentrant), address(market2));

        MockAggregatorV3[] memory feeds = new MockAggregatorV3[](1);
        feeds[0] = feed2;
        uint256[] memory lots = new uint256[](1);
        lots[0] = BTC_LOT;
        handler2 = new Handler(market2, MockUSDC(address(rtoken)), feeds, lots, victims, keeper2);
        market2.transferOwnership(address(handler2));
        feed2.transferOwnership(address(handler2));

        bytes4[] memory s2 = new bytes4[](6);
        s2[0] = Handler.deposit.selector;
        s2[1] = Handler.withdraw.selector;
        s2[2] = Handler.trade.selector;
        s2[3] = Handler.movePrice.selector;
        s2[4] = Handler.movePriceToLiquidation.selector;
        s2[5] = Handler.liquidate.selector;
        targetSelector(FuzzSelector({addr: address(handler2), selectors: s2}));
        targetContract(address(handler2));

        bytes4[] memory s3 = new bytes4[](4);
        s3[0] = ReentrancyAttacker.attackDeposit.selector;
        s3[1] = ReentrancyAttacker.attackWithdraw.selector;
        s3[2] = ReentrancyAttacker.attackFund.selector;
        s3[3] = ReentrancyAttacker.attackLiquidate.selector;
        targetSelector(FuzzSelector({addr: address(reentrant), selectors: s3}));
        targetContract(address(reentrant));
    }

    function _open2(address who, int256 size, uint256 tokens) internal {
        rtoken.mint(who, tokens);
        vm.startPrank(who);
        rtoken.approve(address(market2), type(uint256).max);
        market2.deposit(who, tokens);
        market2.trade(0, size);
        vm.stopPrank();
    }

    // ----------------------------------------------------------------------------------------
    // Invariants
    // ----------------------------------------------------------------------------------------

    /// PerpMarketInvariantTest's rules (conservation, no healthy account liquidated, no step above
    /// the max, partial steps never less healthy, cooldown, penalty ≤ max(E, 0), liquidatable
    /// accounts can be liquidated, bad debt settled), now also over the attacker's steps, plus
    /// the adversarial rules below; one campaign, checked after every call.
    /// forge-config: default.invariant.runs = 48
    /// forge-config: default.invariant.depth = 80
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_marketRules() public view override {
        super.invariant_marketRules();
        check_attackerEarnsExactlyTheKeeperShare();
        check_refusedLiquidationsLeaveNoTrace();
        check_settlementAtThePriceInForce();
        check_batchEqualsSingleCalls();
        check_reentrantMarketConserved();
        check_everyReentryRefused();
    }

    /// The attacker's tokens are exactly the rewards the market returned to it, which are
    /// exactly the keeperReward of its Liquidated events, which are exactly the market's split
    /// floor(floor(penalty × keeperShare / 1e6) / 1e12) of their penalties: moving the oracle
    /// within a block, batching, duplicating, or slicing wrongly extracts nothing more.
    function check_attackerEarnsExactlyTheKeeperShare() internal view {
        assertEq(usdc.balanceOf(attacker), adv.ghostAttackerTokens(), "attacker tokens = rewards returned");
        assertEq(adv.ghostAttackerEventWad(), adv.ghostAttackerTokens() * SCALE, "rewards = Liquidated.keeperReward");
        assertEq(adv.ghostAttackerSpecTokens(), adv.ghostAttackerTokens(), "rewards = the rules' split of the penalties");
    }

    /// No liquidation the rules refuse went through (healthy account, zero, 1 wei, above the max,
    /// off-lot, whole when only partial, during the cooldown, unknown market, no position); none
    /// they allow was refused; every refusal carried a named market error and left the market,
    /// every account and every balance exactly as before (ghost snapshot of the state).
    function check_refusedLiquidationsLeaveNoTrace() internal view {
        string memory v = adv.violation();
        assertFalse(adv.illegalLiquidationSucceeded(), v);
        assertFalse(adv.legalLiquidationRefused(), v);
        assertFalse(adv.refusedCallChangedState(), v);
        assertFalse(adv.unnamedRefusal(), v);
    }

    /// Under price moves within one block, each liquidation ran against the health at the price
    /// in force when it ran (accountHealth agrees with a recomputation from raw state and the
    /// feed, to the wei), settled at that price with the rules' penalty and split; each sandwiched
    /// trade settled at that price with the rules' PnL, fee, funding, entry and pool flows.
    function check_settlementAtThePriceInForce() internal view {
        string memory v = adv.violation();
        assertFalse(adv.healthViewsDisagree(), v);
        assertFalse(adv.settlementMismatch(), v);
        assertFalse(adv.tradeSettlementMismatch(), v);
    }

    /// liquidateBatch with good, bad and duplicate items gives the same per-item outcomes, revert
    /// data and rewards, and the same end state, as the same items sent one by one; it emits one
    /// Liquidated per executed item, one LiquidationFailed per failed item, and pays once.
    function check_batchEqualsSingleCalls() internal view {
        assertFalse(adv.batchDiverged(), adv.violation());
    }

    /// The reentrant-collateral market conserves value to the wei, its accounts sum to its total,
    /// its keeper was paid exactly the reported rewards, no account without positions holds
    /// negative collateral, and its Handler saw no rule broken.
    function check_reentrantMarketConserved() internal view {
        int256 held = int256(rtoken.balanceOf(address(market2)) * SCALE);
        int256 books = market2.totalCollateral() + market2.poolBalance() + int256(market2.insuranceFund())
            - int256(market2.badDebt());
        assertEq(held, books, "market 2: tokens x 1e12 != collateral + pool + insurance - badDebt");
        int256 sum = market2.collateralOf(address(reentrant));
        for (uint256 i = 0; i < victims.length; i++) {
            sum += market2.collateralOf(victims[i]);
            if (market2.accountMarkets(victims[i]).length == 0) {
                assertGe(market2.collateralOf(victims[i]), 0, "market 2: unsettled negative collateral");
            }
        }
        assertEq(sum, market2.totalCollateral(), "market 2: totalCollateral = sum of accounts");
        assertEq(rtoken.balanceOf(keeper2), handler2.ghostKeeperTokens(), "market 2: keeper paid the rewards");
        assertFalse(handler2.healthyLiquidated(), "market 2: a healthy account was liquidated");
        assertFalse(handler2.aboveMaxSucceeded() || handler2.partialExceededMax(), "market 2: step above the max");
        assertFalse(handler2.cooldownBypassed(), "market 2: partial step during the cooldown");
        assertFalse(handler2.partialWorsenedHealth(), "market 2: a partial step lowered E / sum MM");
        assertFalse(handler2.penaltyExceededEquity(), "market 2: penalty > max(E, 0)");
        assertFalse(handler2.unexpectedLiquidationRevert(), string(handler2.unexpectedRevertData()));
    }

    /// Every reentrant call into the market (during deposits, withdrawals, funding and keeper
    /// rewards, the attacker's or anyone's) was refused, by the reentrancy guard's own error
    /// (OnlySelf for liquidateFromBatch), never for another reason; the attacker's token balance
    /// moved only by its own outer calls; and no view read mid-call showed fewer tokens than the
    /// books (a transfer in flight may only show more).
    function check_everyReentryRefused() internal view {
        assertEq(reentrant.nReentrySucceeded(), 0, "a reentrant call went through");
        assertEq(reentrant.nWrongRefusal(), 0, string(reentrant.wrongRefusalData()));
        assertEq(reentrant.nOuterUnexpected(), 0, string(reentrant.outerUnexpectedData()));
        assertFalse(reentrant.booksDeficitMidCall(), "mid-call views showed tokens below the books");
        assertEq(int256(rtoken.balanceOf(address(reentrant))), reentrant.ghostTokens(), "attacker token balance");
    }

    function afterInvariant() public view override {
        super.afterInvariant();
        console.log(
            "attacker: attempts/steps/partial", adv.nAttempts(), adv.nAttackerSteps(), adv.nAttackerPartialSteps()
        );
        console.log(
            "refused: notLiquidatable/sliceTooLarge/notLot",
            adv.nRefusedNotLiquidatable(),
            adv.nRefusedSliceTooLarge(),
            adv.nRefusedNotLotMultiple()
        );
        console.log(
            "refused: cooldown/zero/noPosition",
            adv.nRefusedCooldown(),
            adv.nRefusedZeroSize(),
            adv.nRefusedNoPosition()
        );
        console.log("refused: unknownMarket", adv.nRefusedUnknownMarket(), "attacker tokens", usdc.balanceOf(attacker));
        console.log("batches/items/ok", adv.nBatches(), adv.nBatchItems(), adv.nBatchItemsOk());
        console.log("batch duplicates", adv.nBatchDuplicates());
        console.log(
            "manipulations/boundary probes/steps", adv.nManipulations(), adv.nBoundaryProbes(), adv.nManipulatedSteps()
        );
        console.log("sandwiches/trades settled", adv.nSandwiches(), adv.nSandwichedTrades());
        console.log(
            "reentry: hook calls/outer ok/outer bubbled",
            reentrant.nHookCalls(),
            reentrant.nOuterOk(),
            reentrant.nOuterBubbled()
        );
        for (uint256 a = 0; a < reentrant.ACTIONS(); a++) {
            console.log(
                "reentry action attempts/viable/refused",
                reentrant.attempts(a),
                reentrant.viableAttempts(a),
                reentrant.refusedByGuard(a)
            );
        }
        console.log("mid-call views with tokens ahead of the books", reentrant.nBooksAheadMidCall());
        console.log(
            "market 2: keeper liquidations, badDebt",
            handler2.nPartialSteps() + handler2.nFullCloses(),
            market2.badDebt()
        );
    }

    // ----------------------------------------------------------------------------------------
    // Deterministic reentry: each entry point, each carrier, both hook positions
    // ----------------------------------------------------------------------------------------

    /// During a deposit's transferFrom and a withdrawal's transfer, hook before or after the
    /// balances move, each of the eight reentrant calls is refused by the guard (OnlySelf for
    /// liquidateFromBatch), and the outer call completes with exact accounting.
    function test_reentry_duringDepositAndWithdraw_everyEntryPointRefused() public {
        for (uint256 a = 0; a < reentrant.ACTIONS(); a++) {
            for (uint256 k = 0; k < 4; k++) {
                bool hookBefore = k % 2 == 0;
                if (k < 2) reentrant.attackDeposit(a, hookBefore, false, 1_000e6);
                else reentrant.attackWithdraw(a, hookBefore, false, 1_000e6);
            }
            assertEq(reentrant.attempts(a), 4, "one reentry per transfer");
            assertEq(reentrant.refusedByGuard(a), 4, "refused by the guard");
        }
        assertEq(reentrant.nReentrySucceeded(), 0);
        assertEq(reentrant.nWrongRefusal(), 0);
        assertEq(reentrant.nOuterOk(), 4 * reentrant.ACTIONS());
        assertEq(int256(rtoken.balanceOf(address(reentrant))), reentrant.ghostTokens());
        assertFalse(reentrant.booksDeficitMidCall());
        // Tokens in flight: after the pull of a deposit, before the push of a withdrawal.
        assertEq(reentrant.nBooksAheadMidCall(), 2 * reentrant.ACTIONS());
        check_reentrantMarketConserved();
    }

    /// Re-entering while the market pays a keeper reward (liquidate and liquidateBatch), in
    /// bubble mode: the refusal propagates, the whole liquidation reverts, nothing changes.
    function test_reentry_duringKeeperReward_refusalRevertsTheLiquidation() public {
        vm.prank(address(handler2));
        feed2.updateAnswer(56_400e8); // alice: E 3,700 < MM 4,340, not in backstop
        assertTrue(market2.isLiquidatable(alice));
        uint256 maxSlice = market2.maxLiquidatable(alice, 0);
        assertGt(maxSlice, 0);
        for (uint256 a = 0; a < reentrant.ACTIONS(); a++) {
            for (uint256 k = 0; k < 2; k++) {
                reentrant.attackLiquidate(a, false, true, 0, k == 1);
                assertEq(market2.getPosition(alice, 0).size, 10e18, "liquidation reverted with the reentry");
            }
        }
        assertEq(reentrant.nOuterBubbled(), 2 * reentrant.ACTIONS());
        assertEq(reentrant.nOuterOk(), 0);
        // In catch mode the liquidation goes through and pays exactly its reward.
        reentrant.attackLiquidate(reentrant.LIQUIDATE(), true, false, 0, false);
        assertEq(market2.getPosition(alice, 0).size, 10e18 - int256(maxSlice));
        assertEq(reentrant.refusedByGuard(reentrant.LIQUIDATE()), 1);
        // carol (long 1 BTC on 2,970 at 56,400: E < 0) was liquidatable: only the guard stopped it.
        assertEq(reentrant.viableAttempts(reentrant.LIQUIDATE()), 1, "the reentrant liquidation was viable");
        assertEq(int256(rtoken.balanceOf(address(reentrant))), reentrant.ghostTokens());
        check_reentrantMarketConserved();
        check_everyReentryRefused();
    }

    /// The guard is what refuses: the same liquidation, made directly, goes through.
    function test_reentry_refusalIsTheGuardsError() public {
        vm.prank(address(handler2));
        feed2.updateAnswer(56_400e8);
        uint256 maxSlice = market2.maxLiquidatable(alice, 0);
        reentrant.attackDeposit(reentrant.LIQUIDATE(), false, true, 1e6);
        assertEq(reentrant.nOuterBubbled(), 1);
        assertEq(bytes4(ReentrancyGuard.ReentrancyGuardReentrantCall.selector), bytes4(0x3ee5aeb5));
        vm.prank(keeper2);
        market2.liquidate(alice, 0, maxSlice);
        assertEq(market2.getPosition(alice, 0).size, 10e18 - int256(maxSlice));
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
