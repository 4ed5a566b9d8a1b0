// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values.
// forge-lint: disable-start(unsafe-typecast)

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {PerpMarket} from "../../src/PerpMarket.sol";
import {ITransferHook, ReentrantToken} from "./ReentrantToken.sol";

/// @notice An attacker account on a PerpMarket whose collateral is a ReentrantToken, and the
///         token's hook: every transfer the market makes (a deposit or fund pulling tokens in, a
///         withdrawal or keeper reward paying out), whoever caused it, calls `onTokenTransfer`,
///         which re-enters the market with the armed action: deposit, withdraw, trade, liquidate,
///         liquidateBatch, fundInsurance, fundPool, or liquidateFromBatch (the one state-changing
///         entry point without nonReentrant). Each reentrant call is made with arguments that
///         would pass every other check when possible (counted as viable), so that only the
///         reentrancy guard can stop it.
///         In "catch" mode the hook records the refusal and lets the outer call finish; in
///         "bubble" mode it re-raises it, so the outer call (the attacker's own) reverts.
///         Ghosts: attempts, refusals by the guard's own error, successes (must stay 0), refusals
///         for another reason (must stay 0), what the market's books looked like mid-call (a
///         deficit of tokens against the books must never show), and the attacker's expected
///         token balance (a reentry that got through would move it).
contract ReentrancyAttacker is CommonBase, StdUtils, ITransferHook {
    uint256 public constant DEPOSIT = 0;
    uint256 public constant WITHDRAW = 1;
    uint256 public constant TRADE = 2;
    uint256 public constant LIQUIDATE = 3;
    uint256 public constant LIQUIDATE_BATCH = 4;
    uint256 public constant FUND_INSURANCE = 5;
    uint256 public constant FUND_POOL = 6;
    uint256 public constant LIQUIDATE_FROM_BATCH = 7;
    uint256 public constant ACTIONS = 8;

    uint256 internal constant SCALE = 1e12;
    uint256 internal constant MARKET_ID = 0;

    error NotToken();

    PerpMarket public immutable market;
    ReentrantToken public immutable token;
    uint256 public immutable lot;
    address[] internal victims;

    uint256 public armed; // the action the hook re-enters with
    bool internal _bubble;

    // ---- ghosts ----
    uint256 public nHookCalls;
    uint256[ACTIONS] public attempts;
    uint256[ACTIONS] public viableAttempts; // would have passed every check but the guard
    uint256[ACTIONS] public refusedByGuard; // refused with ReentrancyGuardReentrantCall (OnlySelf for liquidateFromBatch)
    uint256 public nReentrySucceeded; // must stay 0
    uint256 public nWrongRefusal; // must stay 0
    bytes public wrongRefusalData;
    uint256 public nBooksAheadMidCall; // tokens held > books while the hook ran (a transfer in flight)
    bool public booksDeficitMidCall; // tokens held < books while the hook ran: must stay false
    uint256 public nOuterOk;
    uint256 public nOuterBubbled; // bubble mode: the outer call reverted with the reentrant call's refusal
    uint256 public nOuterUnexpected; // must stay 0
    bytes public outerUnexpectedData;
    int256 public ghostTokens; // expected token balance of this contract

    constructor(PerpMarket market_, ReentrantToken token_, address[] memory victims_, uint256 lot_) {
        market = market_;
        token = token_;
        lot = lot_;
        for (uint256 i = 0; i < victims_.length; i++) {
            victims.push(victims_[i]);
        }
    }

    /// Approve the market and deposit `collateralTokens` (before the hook is set).
    function init(uint256 collateralTokens) external {
        token.approve(address(market), type(uint256).max);
        market.deposit(address(this), collateralTokens);
        ghostTokens = int256(token.balanceOf(address(this)));
    }

    // ----------------------------------------------------------------------------------------
    // The attacker's own calls, each a carrier for a reentry
    // ----------------------------------------------------------------------------------------

    function attackDeposit(uint256 action, bool hookBefore, bool bubble, uint256 tokens) external {
        tokens = bound(tokens, 1, 10_000e6);
        _arm(action, hookBefore, bubble);
        _outer(abi.encodeCall(PerpMarket.deposit, (address(this), tokens)), -int256(tokens), 0);
    }

    function attackWithdraw(uint256 action, bool hookBefore, bool bubble, uint256 tokens) external {
        tokens = bound(tokens, 1, 10_000e6);
        if (market.collateralOf(address(this)) < int256(tokens * SCALE)) return;
        _arm(action, hookBefore, bubble);
        _outer(abi.encodeCall(PerpMarket.withdraw, (tokens * SCALE)), int256(tokens), 0);
    }

    function attackFund(uint256 action, bool hookBefore, bool bubble, uint256 tokens, bool insurance) external {
        tokens = bound(tokens, 1, 10_000e6);
        _arm(action, hookBefore, bubble);
        bytes memory data = insurance
            ? abi.encodeCall(PerpMarket.fundInsurance, (tokens))
            : abi.encodeCall(PerpMarket.fundPool, (tokens));
        _outer(data, -int256(tokens), 0);
    }

    /// Liquidate a liquidatable victim (the max slice; twice in a batch) and re-enter while the
    /// market pays the keeper reward.
    function attackLiquidate(uint256 action, bool hookBefore, bool bubble, uint256 victimSeed, bool batch) external {
        (address v, uint256 size, bool found) = _victim(victimSeed);
        if (!found) return;
        _arm(action, hookBefore, bubble);
        if (!batch) {
            _outer(abi.encodeCall(PerpMarket.liquidate, (v, MARKET_ID, size)), 0, 1);
            return;
        }
        PerpMarket.LiquidationRequest[] memory reqs = new PerpMarket.LiquidationRequest[](2);
        reqs[0] = PerpMarket.LiquidationRequest({account: v, marketId: MARKET_ID, size: size});
        reqs[1] = reqs[0];
        _outer(abi.encodeCall(PerpMarket.liquidateBatch, (reqs)), 0, 2);
    }

    function _arm(uint256 action, bool hookBefore, bool bubble) internal {
        armed = action % ACTIONS;
        token.setHookBeforeUpdate(hookBefore);
        _bubble = bubble;
    }

    /// Make the outer call. `tokenDelta` is its effect on this contract's tokens; `returns_`: 0 none,
    /// 1 a liquidate reward, 2 liquidateBatch outcomes (rewards are added to the delta).
    function _outer(bytes memory data, int256 tokenDelta, uint256 returns_) internal {
        bool bubble = _bubble;
        uint256 balanceBefore = token.balanceOf(address(this));
        (bool ok, bytes memory ret) = address(market).call(data);
        _bubble = false;
        if (ok) {
            nOuterOk++;
            if (returns_ == 1) {
                tokenDelta += int256(abi.decode(ret, (uint256)));
            } else if (returns_ == 2) {
                PerpMarket.LiquidationOutcome[] memory out = abi.decode(ret, (PerpMarket.LiquidationOutcome[]));
                for (uint256 i = 0; i < out.length; i++) {
                    tokenDelta += int256(out[i].keeperReward);
                }
            }
            ghostTokens += tokenDelta;
            if (int256(token.balanceOf(address(this))) - int256(balanceBefore) != tokenDelta) {
                nOuterUnexpected++;
                outerUnexpectedData = "token balance moved by more than the call itself";
            }
        } else if (bubble && ret.length >= 4 && bytes4(ret) == _expectedRefusal(armed)) {
            nOuterBubbled++;
        } else {
            nOuterUnexpected++;
            outerUnexpectedData = ret;
        }
    }

    // ----------------------------------------------------------------------------------------
    // The hook: runs inside a market call
    // ----------------------------------------------------------------------------------------

    function onTokenTransfer(address, address, uint256) external {
        if (msg.sender != address(token)) revert NotToken();
        nHookCalls++;
        _observeBooks();
        uint256 action = armed;
        (bytes memory data, bool viable) = _reentrantCall(action);
        attempts[action]++;
        if (viable) viableAttempts[action]++;
        (bool ok, bytes memory ret) = address(market).call(data);
        if (ok) {
            nReentrySucceeded++;
            return;
        }
        if (ret.length >= 4 && bytes4(ret) == _expectedRefusal(action)) {
            refusedByGuard[action]++;
        } else {
            nWrongRefusal++;
            wrongRefusalData = ret;
        }
        if (_bubble) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function _expectedRefusal(uint256 action) internal pure returns (bytes4) {
        return action == LIQUIDATE_FROM_BATCH
            ? PerpMarket.OnlySelf.selector
            : ReentrancyGuard.ReentrancyGuardReentrantCall.selector;
    }

    /// Read-only reentrancy: what a third party reading the market's views mid-call would see.
    function _observeBooks() internal {
        int256 held = int256(token.balanceOf(address(market)) * SCALE);
        int256 books =
            market.totalCollateral() + market.poolBalance() + int256(market.insuranceFund()) - int256(market.badDebt());
        if (held < books) booksDeficitMidCall = true;
        else if (held > books) nBooksAheadMidCall++;
    }

    /// The reentrant call for `action`, with arguments that would otherwise succeed when the
    /// state allows (then `viable`).
    function _reentrantCall(uint256 action) internal view returns (bytes memory data, bool viable) {
        if (action == DEPOSIT || action == FUND_INSURANCE || action == FUND_POOL) {
            viable = token.balanceOf(address(this)) >= 1e6;
            if (action == DEPOSIT) return (abi.encodeCall(PerpMarket.deposit, (address(this), 1e6)), viable);
            if (action == FUND_INSURANCE) return (abi.encodeCall(PerpMarket.fundInsurance, (1e6)), viable);
            return (abi.encodeCall(PerpMarket.fundPool, (1e6)), viable);
        }
        if (action == WITHDRAW || action == TRADE) {
            PerpMarket.Health memory h = market.accountHealth(address(this));
            bool poolOk = market.poolBalance() >= int256(market.badDebt());
            if (action == WITHDRAW) {
                viable = poolOk && market.collateralOf(address(this)) >= int256(SCALE)
                    && h.equity - int256(SCALE) >= int256(h.initial);
                return (abi.encodeCall(PerpMarket.withdraw, (SCALE)), viable);
            }
            // One lot with at least its full notional of free margin.
            viable = poolOk && h.equity - int256(h.initial) >= int256(lot * market.markPrice(MARKET_ID) / 1e18);
            return (abi.encodeCall(PerpMarket.trade, (MARKET_ID, int256(lot))), viable);
        }
        (address v, uint256 size, bool found) = _victim(action);
        viable = found;
        if (action == LIQUIDATE) return (abi.encodeCall(PerpMarket.liquidate, (v, MARKET_ID, size)), viable);
        if (action == LIQUIDATE_FROM_BATCH) {
            return (abi.encodeCall(PerpMarket.liquidateFromBatch, (v, MARKET_ID, size, address(this))), viable);
        }
        PerpMarket.LiquidationRequest[] memory reqs = new PerpMarket.LiquidationRequest[](1);
        reqs[0] = PerpMarket.LiquidationRequest({account: v, marketId: MARKET_ID, size: size});
        return (abi.encodeCall(PerpMarket.liquidateBatch, (reqs)), viable);
    }

    /// A victim with a slice to take now (its max slice), starting the search at `seed`; else the
    /// first victim and one lot (found = false).
    function _victim(uint256 seed) internal view returns (address v, uint256 size, bool found) {
        for (uint256 k = 0; k < victims.length; k++) {
            v = victims[(seed % victims.length + k) % victims.length];
            if (market.getPosition(v, MARKET_ID).size == 0) continue;
            size = market.maxLiquidatable(v, MARKET_ID);
            if (size != 0) return (v, size, true);
        }
        return (victims[0], lot, false);
    }
}
// forge-lint: disable-end(unsafe-typecast)
