// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Vm} from "forge-std/Vm.sol";
import {Handler} from "./Handler.sol";
import {PerpMarket} from "../../src/PerpMarket.sol";
import {MarginMath} from "../../src/MarginMath.sol";
import {MockAggregatorV3} from "../../src/MockAggregatorV3.sol";
import {MockUSDC} from "../../src/MockUSDC.sol";

/// @notice The Handler's random market plus an attacker keeper (`attacker`, a plain address that
///         holds no tokens of its own) who tries every liquidation the rules refuse, and moves the
///         oracle within one block to make them pass:
///         - `attackSlice`: a slice of 0, 1 wei, one lot over maxLiquidatable, far above it
///           (size + lot, 2 × size, 1000 × max, 2^256 − 1), off-lot, the whole position when only a
///           partial step is allowed, a partial step during the cooldown, an unknown market id, a
///           market the account has no position in, an address with no account, a healthy
///           account; and, as controls, the max slice and a random lot multiple below it;
///         - `attackBatch`: liquidateBatch with 2–6 such items, good and bad mixed, duplicates
///           included. Differential: the batch (run in a call that reverts, so that it leaves no
///           trace) must give the same per-item outcomes, revert data, rewards and end state as
///           the same items sent one by one as liquidate calls, each of which is checked;
///         - `manipulateAndLiquidate`: within one block, move a feed sharply against an account
///           (or to the last healthy tick before its liquidation price, or in its favour),
///           liquidate, and move the feed back; liquidate again at the restored price;
///         - `sandwichTrade`: within one block, move a feed, trade, move it back, and optionally
///           trade back at the restored price.
///         Every liquidation attempt is judged against the rules read just before it, at the price
///         in force (`_expect`): a success the rules refuse, a refusal the rules allow, a refusal
///         that changed state or carried no named error, a penalty or split other than the rules', a
///         settlement at another price, each raises a flag that the invariant test asserts false.
///         A successful step also updates the Handler's own ghosts (cooldown, margin ratio), so
///         the base invariants cover the attacker's steps too.
contract AdversarialHandler is Handler {
    address public immutable attacker;

    /// Tags the revert payload of simulateBatch, so that it cannot be mistaken for an error.
    bytes32 internal constant BATCH_RESULT = keccak256("AdversarialHandler.simulateBatch");

    /// Slice kinds of attackSlice and attackBatch.
    uint256 internal constant ZERO = 0;
    uint256 internal constant ONE_WEI = 1;
    uint256 internal constant ONE_LOT_OVER_MAX = 2;
    uint256 internal constant FAR_ABOVE_MAX = 3;
    uint256 internal constant OFF_LOT = 4;
    uint256 internal constant WHOLE_WHEN_PARTIAL = 5;
    uint256 internal constant DURING_COOLDOWN = 6;
    uint256 internal constant UNKNOWN_MARKET = 7;
    uint256 internal constant NO_POSITION_IN_MARKET = 8;
    uint256 internal constant NO_ACCOUNT = 9;
    uint256 internal constant HEALTHY = 10;
    uint256 internal constant MAX_SLICE = 11;
    uint256 internal constant RANDOM_LOTS = 12;
    uint256 internal constant SLICE_KINDS = 13;

    error NotSelf();

    /// What the rules say about one liquidation call, read just before it.
    struct Pre {
        bool allowed; // every rule lets this call through
        bool liquidatable; // the market's view: E < ΣMM
        bool independentLiquidatable; // the same, recomputed here from raw state and the feed
        bool viewsAgree; // accountHealth's E and ΣMM equal the recomputation, to the wei
        bool backstop;
        uint256 absSize;
        uint256 maxSlice;
        uint256 price; // the feed's answer in WAD (0 for an unknown market)
        int256 equity;
        uint256 maintenance;
        bytes32 state; // _stateHash()
    }

    struct Outcome {
        bool ok;
        uint256 reward;
        bytes reason;
    }

    /// The attacker's Liquidated event of one call (`found`: exactly one Liquidated was emitted).
    struct LiquidatedLog {
        bool found;
        uint256 size;
        uint256 price;
        uint256 penalty;
        uint256 keeperWad;
        uint256 insuranceWad;
    }

    // ---- ghost flags (must stay false) ----
    bool public illegalLiquidationSucceeded; // a call the rules refuse went through
    bool public legalLiquidationRefused; // a call the rules allow was refused
    bool public refusedCallChangedState; // a refused liquidation or trade left a trace
    bool public unnamedRefusal; // a refusal without one of the market's custom errors
    bool public healthViewsDisagree; // accountHealth vs. the recomputation from raw state
    bool public settlementMismatch; // event, price, penalty, split or reward not per the rules
    bool public batchDiverged; // liquidateBatch ≠ the same items one by one
    bool public tradeSettlementMismatch; // a sandwiched trade not settled per the rules at its price
    string public violation; // the first violation, for the failure message

    // ---- attacker accounting ----
    uint256 public ghostAttackerTokens; // Σ rewards the market returned to the attacker
    uint256 public ghostAttackerEventWad; // Σ Liquidated.keeperReward (WAD) where keeper == attacker
    uint256 public ghostAttackerSpecTokens; // Σ floor(floor(penalty × share / 1e6) / 1e12) of those

    // ---- statistics (for the report) ----
    uint256 public nAttempts;
    uint256 public nAttackerSteps;
    uint256 public nAttackerPartialSteps;
    uint256 public nRefusedNotLiquidatable;
    uint256 public nRefusedSliceTooLarge;
    uint256 public nRefusedNotLotMultiple;
    uint256 public nRefusedCooldown;
    uint256 public nRefusedZeroSize;
    uint256 public nRefusedNoPosition;
    uint256 public nRefusedUnknownMarket;
    uint256 public nBatches;
    uint256 public nBatchItems;
    uint256 public nBatchItemsOk;
    uint256 public nBatchDuplicates;
    uint256 public nManipulations;
    uint256 public nBoundaryProbes;
    uint256 public nManipulatedSteps;
    uint256 public nSandwiches;
    uint256 public nSandwichedTrades;

    constructor(
        PerpMarket market_,
        MockUSDC usdc_,
        MockAggregatorV3[] memory feeds_,
        uint256[] memory lots_,
        address[] memory actors_,
        address keeper_,
        address attacker_
    ) Handler(market_, usdc_, feeds_, lots_, actors_, keeper_) {
        attacker = attacker_;
    }

    // ----------------------------------------------------------------------------------------
    // Attacks
    // ----------------------------------------------------------------------------------------

    /// One liquidation of a slice of kind `kind % SLICE_KINDS` (see the constants).
    function attackSlice(uint256 kind, uint256 actorSeed, uint256 marketSeed, uint256 x) external {
        (address a, uint256 id, uint256 size) = _pickSlice(kind % SLICE_KINDS, actorSeed, marketSeed, x);
        _attempt(a, id, size);
    }

    /// A batch of 2–6 items: the max slice of a liquidatable account first (the good item), then
    /// items of random kinds; about one item in four repeats an earlier one.
    function attackBatch(uint256 seed, uint256 count) external {
        count = bound(count, 2, 6);
        PerpMarket.LiquidationRequest[] memory reqs = new PerpMarket.LiquidationRequest[](count);
        for (uint256 i = 0; i < count; i++) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            if (i > 0 && s % 4 == 0) {
                reqs[i] = reqs[(s >> 8) % i];
                nBatchDuplicates++;
                continue;
            }
            uint256 kind = i == 0 ? MAX_SLICE : (s >> 16) % SLICE_KINDS;
            (address a, uint256 id, uint256 size) = _pickSlice(kind, s >> 32, s >> 64, s >> 96);
            reqs[i] = PerpMarket.LiquidationRequest({account: a, marketId: id, size: size});
        }
        nBatches++;
        nBatchItems += count;

        // The batch, in a call that reverts with its results.
        PerpMarket.LiquidationOutcome[] memory batch;
        bytes32 stateAfterBatch;
        bool eventsOk;
        try this.simulateBatch(reqs) {}
        catch (bytes memory r) {
            bytes32 tag;
            if (r.length >= 32) {
                assembly {
                    tag := mload(add(r, 32))
                }
            }
            if (tag != BATCH_RESULT) {
                batchDiverged = true;
                _violate(string.concat("liquidateBatch reverted: ", vm.toString(r)), address(0), 0, 0);
                return;
            }
            (, batch, stateAfterBatch, eventsOk) =
                abi.decode(r, (bytes32, PerpMarket.LiquidationOutcome[], bytes32, bool));
        }
        if (batch.length != count) {
            batchDiverged = true;
            _violate("simulateBatch returned no result", address(0), 0, 0);
            return;
        }
        if (!eventsOk) {
            batchDiverged = true;
            _violate(
                "batch events: one Liquidated per ok item, one LiquidationFailed per failed item, one payment",
                address(0),
                0,
                0
            );
        }

        // The same items one by one, for real, each judged by _attempt.
        for (uint256 i = 0; i < count; i++) {
            Outcome memory o = _attempt(reqs[i].account, reqs[i].marketId, reqs[i].size);
            if (o.ok) nBatchItemsOk++;
            if (
                o.ok != batch[i].ok || o.reward != batch[i].keeperReward
                    || keccak256(o.reason) != keccak256(batch[i].revertData)
            ) {
                batchDiverged = true;
                _violate(
                    "batch item outcome differs from the single call", reqs[i].account, reqs[i].marketId, reqs[i].size
                );
            }
        }
        if (_stateHash() != stateAfterBatch) {
            batchDiverged = true;
            _violate("state after the batch differs from the state after the single calls", address(0), 0, 0);
        }
    }

    /// Run liquidateBatch as the attacker and revert with (BATCH_RESULT, outcomes, state hash,
    /// events consistent), so that the batch leaves no trace. Only callable by this handler.
    function simulateBatch(PerpMarket.LiquidationRequest[] calldata reqs) external {
        if (msg.sender != address(this)) revert NotSelf();
        vm.recordLogs();
        vm.prank(attacker);
        PerpMarket.LiquidationOutcome[] memory out = market.liquidateBatch(reqs);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 okItems;
        uint256 total;
        for (uint256 i = 0; i < out.length; i++) {
            if (out[i].ok) {
                okItems++;
                total += out[i].keeperReward;
            }
        }
        uint256 liquidated;
        uint256 failed;
        uint256 payments;
        bytes32 transferSig = keccak256("Transfer(address,address,uint256)");
        for (uint256 i = 0; i < logs.length; i++) {
            bytes32 t0 = logs[i].topics[0];
            if (logs[i].emitter == address(market)) {
                if (t0 == PerpMarket.LiquidationFailed.selector) failed++;
                if (t0 == PerpMarket.Liquidated.selector && address(uint160(uint256(logs[i].topics[3]))) == attacker) {
                    liquidated++;
                }
            } else if (
                logs[i].emitter == address(usdc) && t0 == transferSig
                    && address(uint160(uint256(logs[i].topics[2]))) == attacker
            ) {
                payments++;
            }
        }
        bool eventsOk = liquidated == okItems && failed == out.length - okItems && payments == (total == 0 ? 0 : 1);
        bytes memory payload = abi.encode(BATCH_RESULT, out, _stateHash(), eventsOk);
        assembly {
            revert(add(payload, 32), mload(payload))
        }
    }

    /// Within one block: move the feed of one of an account's markets (mode % 3: 0 sharply
    /// against the account by 3–30%, 1 to the last healthy tick before its liquidation price and
    /// then one tick into it, 2 sharply in its favour), liquidate at that price, move the feed
    /// back, and liquidate again at the restored price.
    function manipulateAndLiquidate(uint256 actorSeed, uint256 marketSeed, uint256 bps, uint256 mode, uint256 x)
        external
    {
        mode %= 3;
        // An actor with a position (a healthy one for the boundary probe), from the seeds on.
        (bool found, uint256 index, address a, uint256 id) = _findActor(actorSeed, marketSeed, mode == 1);
        if (!found) return;
        MockAggregatorV3 feed = feeds[id];
        int256 p0 = feed.latestAnswer();
        bool long = market.getPosition(a, id).size > 0;
        nManipulations++;

        if (mode == 1) {
            // Handler.movePriceToLiquidation bisects to the first liquidatable answer (depth 0)
            // for the same (actor, market).
            this.movePriceToLiquidation(index, marketSeed, 0);
            if (!market.isLiquidatable(a)) return;
            int256 liq = feed.latestAnswer();
            _setAnswer(id, long ? liq + 1 : liq - 1); // the last healthy tick: every slice is refused
            nBoundaryProbes++;
            _attempt(a, id, lots[id]);
            _attempt(a, id, _abs(market.getPosition(a, id).size));
            _setAnswer(id, liq);
        } else {
            int256 move = int256(bound(bps, 300, 3_000));
            bool down = (mode == 0) == long;
            _publish(id, down ? p0 * (10_000 - move) / 10_000 : p0 * (10_000 + move) / 10_000);
        }

        // At the manipulated price: the max slice, then a lot, the whole position or one lot over
        // the max; then whichever account the move made liquidatable.
        uint256 before = nAttackerSteps;
        _attempt(a, id, _maxOrLot(a, id));
        uint256 absSize = _abs(market.getPosition(a, id).size);
        if (absSize != 0) {
            _attempt(a, id, x % 3 == 0 ? lots[id] : x % 3 == 1 ? absSize : _maxOrLot(a, id) + lots[id]);
        }
        address b;
        uint256 idb;
        (found, b, idb) = _findLiquidatable(x >> 8, x >> 16);
        if (found) _attempt(b, idb, _maxOrLot(b, idb));
        _setAnswer(id, p0); // back, in the same block
        _attempt(a, id, _maxOrLot(a, id));
        nManipulatedSteps += nAttackerSteps - before;
    }

    /// Within one block: move one feed by up to ±30%, trade (Handler.trade's kinds), move it back,
    /// and, if `closeAfter`, close the position at the restored price. Each trade is checked
    /// against the rules at the price in force when it ran.
    function sandwichTrade(
        uint256 actorSeed,
        uint256 marketSeed,
        int256 bps,
        uint256 kind,
        uint256 leverage,
        uint256 fraction,
        bool closeAfter
    ) external {
        uint256 id = marketSeed % feeds.length;
        int256 p0 = feeds[id].latestAnswer();
        bps = bound(bps, -3_000, 3_000);
        _publish(id, p0 * (10_000 + bps) / 10_000);
        _checkedTrade(actorSeed, marketSeed, kind, leverage, fraction);
        _setAnswer(id, p0);
        if (closeAfter) _checkedTrade(actorSeed, marketSeed, 2, 0, 0);
        nSandwiches++;
    }

    // ----------------------------------------------------------------------------------------
    // Choosing a target
    // ----------------------------------------------------------------------------------------

    /// (account, market, size) for a slice of the given kind. Kinds that need a liquidatable
    /// account look for one with a slice to take now; without one, MAX_SLICE always and the
    /// others half the time move a price to create one; then they fall back to a liquidatable
    /// account in its cooldown, then to a healthy account (a healthy-account attack).
    function _pickSlice(uint256 kind, uint256 actorSeed, uint256 marketSeed, uint256 x)
        internal
        returns (address a, uint256 id, uint256 size)
    {
        if (kind == NO_ACCOUNT) {
            return (_nobody(x), marketSeed % feeds.length, lots[marketSeed % feeds.length]);
        }
        if (kind == UNKNOWN_MARKET) {
            return (actors[actorSeed % actors.length], market.marketCount() + x % 3, (x % 5 + 1) * 1e15);
        }
        if (kind == NO_POSITION_IN_MARKET) {
            a = actors[actorSeed % actors.length];
            for (uint256 k = 0; k < feeds.length; k++) {
                id = (marketSeed % feeds.length + k) % feeds.length;
                if (market.getPosition(a, id).size == 0) return (a, id, lots[id]);
            }
            return (_nobody(x), id, lots[id]);
        }
        bool found;
        if (kind == HEALTHY) {
            (found,, a, id) = _findActor(actorSeed, marketSeed, true);
            if (!found) return (_nobody(x), 0, lots[0]);
            uint256 abs_ = _abs(market.getPosition(a, id).size);
            size = x % 3 == 0 ? lots[id] : x % 3 == 1 ? abs_ : abs_ / 2 / lots[id] * lots[id];
            return (a, id, size);
        }

        (found, a, id) = _findSliceable(actorSeed, marketSeed);
        if (!found && (kind == MAX_SLICE || x % 2 == 0)) {
            // Create one: move a healthy account's price into liquidation.
            (bool healthy, uint256 index,,) = _findActor(actorSeed, marketSeed, true);
            if (healthy) this.movePriceToLiquidation(index, marketSeed, x >> 8);
            (found, a, id) = _findSliceable(actorSeed, marketSeed);
        }
        if (!found) (found, a, id) = _findLiquidatable(actorSeed, marketSeed); // in its cooldown
        if (!found) (found,, a, id) = _findActor(actorSeed, marketSeed, true);
        if (!found) return (_nobody(x), 0, lots[0]);

        uint256 lot = lots[id];
        uint256 absSize = _abs(market.getPosition(a, id).size);
        uint256 maxSlice = market.maxLiquidatable(a, id);
        if (kind == ZERO) return (a, id, 0);
        if (kind == ONE_WEI) return (a, id, 1);
        if (kind == ONE_LOT_OVER_MAX) return (a, id, maxSlice + lot);
        if (kind == FAR_ABOVE_MAX) {
            uint256 v = x % 4;
            size = v == 0 ? absSize + lot : v == 1 ? absSize * 2 : v == 2 ? type(uint256).max : maxSlice * 1000 + lot;
            return (a, id, size);
        }
        if (kind == OFF_LOT) {
            uint256 base = maxSlice > lot ? maxSlice : absSize;
            return (a, id, base - 1 - (x >> 8) % (lot - 1));
        }
        if (kind == WHOLE_WHEN_PARTIAL) return (a, id, absSize);
        if (kind == DURING_COOLDOWN) {
            // Start a cooldown with a valid partial step first if none runs.
            if (block.timestamp >= market.accountHealth(a).cooldownEndsAt && maxSlice != 0 && maxSlice < absSize) {
                _attempt(a, id, maxSlice);
            }
            return (a, id, lot);
        }
        if (kind == MAX_SLICE) return (a, id, maxSlice == 0 ? lot : maxSlice);
        // RANDOM_LOTS
        return (a, id, maxSlice >= lot ? bound(x, 1, maxSlice / lot) * lot : lot);
    }

    /// A liquidatable (account, market) with a slice to take now, starting the search at the seeds.
    function _findSliceable(uint256 actorSeed, uint256 marketSeed)
        internal
        view
        returns (bool found, address a, uint256 id)
    {
        for (uint256 k = 0; k < actors.length; k++) {
            a = actors[(actorSeed % actors.length + k) % actors.length];
            uint256[] memory ids = market.accountMarkets(a);
            if (ids.length == 0 || !market.isLiquidatable(a)) continue;
            for (uint256 j = 0; j < ids.length; j++) {
                id = ids[(marketSeed % ids.length + j) % ids.length];
                if (market.maxLiquidatable(a, id) != 0) return (true, a, id);
            }
        }
    }

    /// An actor with a position (a healthy one if `healthy`), starting the search at the seeds;
    /// `index` is its place in `actors`, `id` the market `marketSeed` picks among its positions.
    function _findActor(uint256 actorSeed, uint256 marketSeed, bool healthy)
        internal
        view
        returns (bool found, uint256 index, address a, uint256 id)
    {
        for (uint256 k = 0; k < actors.length; k++) {
            index = (actorSeed % actors.length + k) % actors.length;
            a = actors[index];
            uint256[] memory ids = market.accountMarkets(a);
            if (ids.length == 0 || (healthy && market.isLiquidatable(a))) continue;
            return (true, index, a, ids[marketSeed % ids.length]);
        }
    }

    /// One of four addresses that never had an account.
    function _nobody(uint256 x) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("nobody", x % 4)))));
    }

    function _maxOrLot(address a, uint256 id) internal view returns (uint256) {
        uint256 m = market.maxLiquidatable(a, id);
        return m == 0 ? lots[id] : m;
    }

    // ----------------------------------------------------------------------------------------
    // One judged liquidation
    // ----------------------------------------------------------------------------------------

    /// The rules for liquidate(a, id, size) now, in the order docs/reference-market.md states them; plus the
    /// account's health recomputed independently of accountHealth.
    function _expect(address a, uint256 id, uint256 size) internal view returns (Pre memory p) {
        p.state = _stateHash();
        PerpMarket.Health memory h = market.accountHealth(a);
        p.liquidatable = h.liquidatable;
        p.backstop = h.backstop;
        p.equity = h.equity;
        p.maintenance = h.maintenance;
        (int256 e, uint256 mm) = _independentHealth(a);
        p.independentLiquidatable = e < int256(mm);
        p.viewsAgree = e == h.equity && mm == h.maintenance;
        if (id >= market.marketCount()) return p;
        p.price = _feedPrice(id);
        int256 s = market.getPosition(a, id).size;
        p.absSize = _abs(s);
        if (s == 0 || size == 0 || !h.liquidatable || size > p.absSize) return p;
        p.maxSlice = market.maxLiquidatable(a, id);
        bool full = size == p.absSize;
        if (!full && size % lots[id] != 0) return p;
        if (!full && !h.backstop && block.timestamp < h.cooldownEndsAt) return p;
        p.allowed = size <= p.maxSlice;
    }

    /// The attacker calls liquidate(a, id, size); the outcome is judged against `_expect`.
    function _attempt(address a, uint256 id, uint256 size) internal returns (Outcome memory o) {
        Pre memory p = _expect(a, id, size);
        nAttempts++;
        if (!p.viewsAgree) {
            healthViewsDisagree = true;
            _violate("accountHealth differs from the recomputation from raw state", a, id, size);
        }
        uint256 balanceBefore = usdc.balanceOf(attacker);
        vm.recordLogs();
        vm.prank(attacker);
        try market.liquidate(a, id, size) returns (uint256 reward) {
            o.ok = true;
            o.reward = reward;
            _judgeSuccess(p, a, id, size, reward, vm.getRecordedLogs(), balanceBefore);
        } catch (bytes memory reason) {
            vm.getRecordedLogs();
            o.reason = reason;
            _judgeRefusal(p, a, id, size, reason);
        }
    }

    function _judgeSuccess(
        Pre memory p,
        address a,
        uint256 id,
        uint256 size,
        uint256 reward,
        Vm.Log[] memory logs,
        uint256 balanceBefore
    ) internal {
        nAttackerSteps++;
        if (!p.allowed) {
            illegalLiquidationSucceeded = true;
            _violate("a liquidation the rules refuse went through", a, id, size);
        }
        if (!p.liquidatable || !p.independentLiquidatable) {
            healthyLiquidated = true;
            _violate("an account healthy at the price in force was liquidated", a, id, size);
        }
        if (size > p.maxSlice) {
            partialExceededMax = true;
            _violate("a slice above maxLiquidatable went through", a, id, size);
        }

        // The event, the penalty and its split, per the rules, from the state before the call.
        LiquidatedLog memory ev = _liquidatedEvent(logs, a, id);
        uint256 keeperTokens = _specKeeperTokens(ev.penalty);
        if (ev.penalty > (p.equity > 0 ? uint256(p.equity) : 0)) penaltyExceededEquity = true;
        if (
            !_settledPerSpec(p, id, size, ev, keeperTokens, reward)
                || usdc.balanceOf(attacker) - balanceBefore != reward
        ) {
            settlementMismatch = true;
            _violate("liquidation event, price, penalty or split not per the rules", a, id, size);
        }
        ghostAttackerTokens += reward;
        ghostAttackerEventWad += ev.keeperWad;
        ghostAttackerSpecTokens += keeperTokens;

        // The Handler's partial-step ghosts, so that the base invariants cover this step too.
        if (size == p.absSize) return;
        nAttackerPartialSteps++;
        if (!p.backstop) {
            uint256 last = ghostLastPartial[a];
            if (last != 0 && block.timestamp < last + cooldown) cooldownViolated = true;
            PerpMarket.Health memory afterH = market.accountHealth(a);
            if ((afterH.equity + RATIO_SLACK) * int256(p.maintenance) < p.equity * int256(afterH.maintenance)) {
                partialWorsenedHealth = true;
            }
        }
        ghostLastPartial[a] = block.timestamp;
    }

    uint256 public nRefusedAdlRequired;

    function _judgeRefusal(Pre memory p, address a, uint256 id, uint256 size, bytes memory reason) internal {
        if (_stateHash() != p.state) {
            refusedCallChangedState = true;
            _violate("a refused liquidation changed state", a, id, size);
        }
        bytes4 sel = reason.length >= 4 ? bytes4(reason) : bytes4(0);
        if (sel == PerpMarket.NotLiquidatable.selector) {
            nRefusedNotLiquidatable++;
        } else if (sel == PerpMarket.SliceTooLarge.selector) {
            nRefusedSliceTooLarge++;
        } else if (sel == PerpMarket.SizeNotLotMultiple.selector) {
            nRefusedNotLotMultiple++;
        } else if (sel == PerpMarket.CooldownActive.selector) {
            nRefusedCooldown++;
        } else if (sel == PerpMarket.ZeroSize.selector) {
            nRefusedZeroSize++;
        } else if (sel == PerpMarket.NoPosition.selector) {
            nRefusedNoPosition++;
        } else if (sel == PerpMarket.UnknownMarket.selector) {
            nRefusedUnknownMarket++;
        } else if (sel == PerpMarket.AdlRequired.selector) {
            // ADL acts before bad debt: a last close into a deficit beyond the fund is refused.
            nRefusedAdlRequired++;
            return;
        } else if (sel != PerpMarket.StalePrice.selector && sel != PerpMarket.InvalidPrice.selector) {
            unnamedRefusal = true;
            _violate(string.concat("refusal without a named market error: ", vm.toString(reason)), a, id, size);
        }
        if (p.allowed) {
            legalLiquidationRefused = true;
            _violate(string.concat("a liquidation the rules allow was refused: ", vm.toString(reason)), a, id, size);
        }
    }

    /// The single Liquidated event of one call for (a, id) by the attacker.
    /// The keeper's tokens for `penalty` per the rules: floor(floor(penalty × share / 1e6) / 1e12).
    function _specKeeperTokens(uint256 penalty) internal view returns (uint256) {
        (,, uint32 share) = market.globalLiquidation();
        return (penalty * share / PPM) / SCALE;
    }

    /// The event, the penalty and its split are the rules', computed from the state before the call.
    function _settledPerSpec(
        Pre memory p,
        uint256 id,
        uint256 size,
        LiquidatedLog memory ev,
        uint256 keeperTokens,
        uint256 reward
    ) internal view returns (bool) {
        uint256 positiveEquity = p.equity > 0 ? uint256(p.equity) : 0;
        uint256 expectedPenalty =
            MarginMath.ceilDivU(MarginMath.notional(size, p.price) * market.getMarket(id).liq.penaltyPpm, PPM);
        if (expectedPenalty > positiveEquity) expectedPenalty = positiveEquity;
        return ev.found && ev.size == size && ev.price == p.price && ev.penalty == expectedPenalty
            && ev.keeperWad == keeperTokens * SCALE && ev.keeperWad + ev.insuranceWad == ev.penalty
            && reward == keeperTokens;
    }

    function _liquidatedEvent(Vm.Log[] memory logs, address a, uint256 id)
        internal
        view
        returns (LiquidatedLog memory ev)
    {
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != PerpMarket.Liquidated.selector) continue;
            n++;
            if (
                address(uint160(uint256(logs[i].topics[1]))) != a || uint256(logs[i].topics[2]) != id
                    || address(uint160(uint256(logs[i].topics[3]))) != attacker
            ) continue;
            (ev.size, ev.price, ev.penalty, ev.keeperWad, ev.insuranceWad,,) =
                abi.decode(logs[i].data, (uint256, uint256, uint256, uint256, uint256, int256, bool));
            ev.found = true;
        }
        ev.found = ev.found && n == 1;
    }

    // ----------------------------------------------------------------------------------------
    // One judged trade
    // ----------------------------------------------------------------------------------------

    struct TradePre {
        PerpMarket.Position pos;
        int256 collateral;
        int256 pool;
        uint256 price;
        int256 index;
        uint256 feePpm;
        bytes32 state;
    }

    /// Handler.trade, judged: a trade that happened settled at the price in force with exactly
    /// the rules' realised PnL, fee, funding, entry price and flows; a refused one changed nothing.
    function _checkedTrade(uint256 actorSeed, uint256 marketSeed, uint256 kind, uint256 leverage, uint256 fraction)
        internal
    {
        address a = actors[actorSeed % actors.length];
        uint256 id = marketSeed % feeds.length;
        TradePre memory t;
        t.pos = market.getPosition(a, id);
        t.collateral = market.collateralOf(a);
        t.pool = market.poolBalance();
        t.price = _feedPrice(id);
        PerpMarket.Market memory m = market.getMarket(id);
        t.index = MarginMath.fundingIndexAt(m.fundingIndex, m.fundingRate, m.lastFundingTime, block.timestamp);
        t.feePpm = m.params.tradingFeePpm;
        t.state = _stateHash();

        vm.recordLogs();
        this.trade(actorSeed, marketSeed, kind, leverage, fraction);
        (bool found, int256 delta, uint256 price, int256 realized, int256 funding, uint256 fee) =
            _tradedEvent(vm.getRecordedLogs(), a, id);
        if (!found) {
            if (_stateHash() != t.state) {
                refusedCallChangedState = true;
                _violate("a refused trade changed state", a, id, 0);
            }
            return;
        }
        nSandwichedTrades++;

        int256 oldSize = t.pos.size;
        int256 newSize = oldSize + delta;
        uint256 absDelta = _abs(delta);
        bool reduces = oldSize != 0 && (oldSize > 0) != (delta > 0);
        int256 expRealized;
        uint256 expEntry;
        if (reduces) {
            uint256 closeAbs = absDelta < _abs(oldSize) ? absDelta : _abs(oldSize);
            expRealized = MarginMath.pnl(oldSize > 0 ? int256(closeAbs) : -int256(closeAbs), t.price, t.pos.entryPrice);
            expEntry = newSize == 0 ? 0 : (newSize > 0) != (oldSize > 0) ? t.price : t.pos.entryPrice;
        } else if (oldSize == 0) {
            expEntry = t.price;
        } else {
            uint256 sum = _abs(oldSize) * t.pos.entryPrice + absDelta * t.price;
            uint256 total = _abs(oldSize) + absDelta;
            expEntry = oldSize > 0 ? MarginMath.ceilDivU(sum, total) : sum / total;
        }
        uint256 expFee = MarginMath.ceilDivU(MarginMath.notional(absDelta, t.price) * t.feePpm, PPM);
        int256 expFunding = MarginMath.fundingOwed(oldSize, t.index, t.pos.entryFundingIndex);
        PerpMarket.Position memory after_ = market.getPosition(a, id);
        if (
            price != t.price || realized != expRealized || fee != expFee || funding != expFunding
                || market.collateralOf(a) - t.collateral != expRealized - int256(expFee) - expFunding
                || market.poolBalance() - t.pool != int256(expFee) + expFunding - expRealized || after_.size != newSize
                || after_.entryPrice != expEntry
        ) {
            tradeSettlementMismatch = true;
            _violate("a trade was not settled per the rules at the price in force", a, id, absDelta);
        }
    }

    function _tradedEvent(Vm.Log[] memory logs, address a, uint256 id)
        internal
        view
        returns (bool found, int256 delta, uint256 price, int256 realized, int256 funding, uint256 fee)
    {
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != PerpMarket.Traded.selector) continue;
            if (address(uint160(uint256(logs[i].topics[1]))) != a || uint256(logs[i].topics[2]) != id) continue;
            (delta, price, realized, funding, fee) =
                abi.decode(logs[i].data, (int256, uint256, int256, int256, uint256));
            found = true;
        }
    }

    // ----------------------------------------------------------------------------------------
    // State
    // ----------------------------------------------------------------------------------------

    function _feedPrice(uint256 id) internal view returns (uint256) {
        return uint256(feeds[id].latestAnswer()) * 10 ** (18 - feeds[id].decimals());
    }

    /// E and ΣMM of `a` from raw storage views, the feeds and MarginMath: not from accountHealth.
    function _independentHealth(address a) internal view returns (int256 equity, uint256 mm) {
        equity = market.collateralOf(a);
        for (uint256 id = 0; id < feeds.length; id++) {
            PerpMarket.Position memory pos = market.getPosition(a, id);
            if (pos.size == 0) continue;
            uint256 price = _feedPrice(id);
            PerpMarket.Market memory m = market.getMarket(id);
            int256 index = MarginMath.fundingIndexAt(m.fundingIndex, m.fundingRate, m.lastFundingTime, block.timestamp);
            equity += MarginMath.pnl(pos.size, price, pos.entryPrice)
            - MarginMath.fundingOwed(pos.size, index, pos.entryFundingIndex);
            (MarginMath.Tier[] memory tiers,) = market.getTiers(id);
            mm += MarginMath.maintenanceMargin(
                tiers, MarginMath.cumAmounts(tiers), MarginMath.notional(_abs(pos.size), price)
            );
        }
    }

    /// A fingerprint of everything a call can change: the market's totals and token balance,
    /// each market's open interest and funding, and every account's collateral, cooldown,
    /// position list and positions; and the token balances of attacker and keeper.
    function _stateHash() internal view returns (bytes32 h) {
        h = keccak256(
            abi.encode(
                market.totalCollateral(),
                market.poolBalance(),
                market.insuranceFund(),
                market.badDebt(),
                usdc.balanceOf(address(market)),
                usdc.balanceOf(attacker),
                usdc.balanceOf(keeper)
            )
        );
        for (uint256 id = 0; id < feeds.length; id++) {
            PerpMarket.Market memory m = market.getMarket(id);
            h = keccak256(abi.encode(h, m.longSize, m.shortSize, m.fundingIndex, m.lastFundingTime));
        }
        for (uint256 i = 0; i <= actors.length; i++) {
            address a = i < actors.length ? actors[i] : attacker;
            h = keccak256(abi.encode(h, market.collateralOf(a), market.lastPartialAt(a), market.accountMarkets(a)));
            for (uint256 id = 0; id < feeds.length; id++) {
                PerpMarket.Position memory pos = market.getPosition(a, id);
                h = keccak256(abi.encode(h, pos.size, pos.entryPrice, pos.entryFundingIndex));
            }
        }
    }

    function _violate(string memory what, address a, uint256 id, uint256 size) internal {
        if (bytes(violation).length != 0) return;
        violation = string.concat(
            what, " (account ", vm.toString(a), ", market ", vm.toString(id), ", size ", vm.toString(size), ")"
        );
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
