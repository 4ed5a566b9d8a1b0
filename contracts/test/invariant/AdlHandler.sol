// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values.
// forge-lint: disable-start(unsafe-typecast)

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Vm} from "forge-std/Vm.sol";
import {PerpMarket} from "../../src/PerpMarket.sol";
import {Handler} from "./Handler.sol";

/// @notice The market's ADL operator in the invariant campaign (docs/reference-market.md,
///         "Auto-deleveraging"). It finds an account whose deficit exceeds the insurance fund (or
///         makes one with a 20% gap through the Handler), ranks every eligible counterparty by the
///         contract's own `adlScore` view (ties by ascending address), and deleverages; or sends a
///         list out of rank order, an ineligible counterparty, or an account that is not due. Ghost
///         flags (must stay false):
///         - a processed counterparty is not the next one of the ranking (a worse-ranked one went
///           before a better one, or a better one was skipped), or its event score differs from
///           adlScore read just before, or the events' scores are not in rank order;
///         - the size closed is not min(|size|, what the ranked counterparties hold), or open
///           interest did not fall by it on each side;
///         - the bankrupt account ends above zero equity, or (fully covered) more than
///           |size| / 1e18 + 2 wei below it;
///         - a list out of rank order, an ineligible counterparty or an account not due went
///           through; a well-formed deleverage reverted for another reason than NoBankruptcyPrice.
///         A separate contract from the Handler (which owns the market and feeds): the
///         AdversarialHandler that extends the Handler is already above 38 kB of runtime code.
contract AdlHandler is CommonBase, StdUtils {
    PerpMarket public immutable market;
    Handler public immutable handler;
    address[] internal actors;

    // ---- ghost flags (must stay false) ----
    bool public rankOrderBroken;
    bool public closedMismatch;
    bool public bankruptMisvalued;
    bool public misorderAccepted;
    bool public ineligibleAccepted;
    bool public notDueAccepted;
    bool public unexpectedAdlRevert;
    bytes public unexpectedAdlRevertData;

    // ---- statistics (for the report) ----
    uint256 public nDeleverages;
    uint256 public nCounterpartiesClosed;
    uint256 public nPartialCovers;
    uint256 public nNoBankruptcyPrice;
    uint256 public nNoCandidates;
    uint256 public nRankOrderRefusals;
    uint256 public nIneligibleRefusals;
    uint256 public nNotDueRefusals;
    uint256 public nGaps;

    /// What a deleverage is checked against, read just before it.
    struct Pre {
        address account;
        uint256 id;
        int256 size;
        bool priced; // bankruptcyPrice answered
        uint256 pb;
        address[] ranked;
        uint256[] scores;
        uint256 cover; // min(|size|, Σ |size| of the ranked)
        uint256 longSize;
        uint256 shortSize;
    }

    constructor(PerpMarket market_, Handler handler_, address[] memory actors_) {
        market = market_;
        handler = handler_;
        for (uint256 i = 0; i < actors_.length; i++) {
            actors.push(actors_[i]);
        }
    }

    /// mode % 4: 0 the ranking, 1 its first two swapped, 2 an ineligible account first, 3 an
    /// account that is not due. `gap`: without a due account, first move a price 20% against one.
    function deleverage(uint256 actorSeed, uint256 marketSeed, uint256 mode, bool gap) external {
        mode %= 4;
        if (mode == 3) return _attackNotDue(actorSeed, marketSeed);
        (bool found, address a, uint256 id) = _findDue(actorSeed, marketSeed);
        if (!found && gap) {
            _gap(actorSeed, marketSeed);
            (found, a, id) = _findDue(actorSeed, marketSeed);
        }
        if (!found) return;
        Pre memory p = _pre(a, id);
        if (p.ranked.length == 0) {
            nNoCandidates++;
            return;
        }
        if (mode == 0) return _deleverageRanked(p);
        if (mode == 1) return _attackMisorder(p);
        _attackIneligible(p, actorSeed);
    }

    // ----------------------------------------------------------------------------------------
    // The operator's deleverage, checked
    // ----------------------------------------------------------------------------------------

    function _deleverageRanked(Pre memory p) internal {
        vm.recordLogs();
        try market.deleverage(p.account, p.id, p.ranked) returns (uint256 closed) {
            Vm.Log[] memory logs = vm.getRecordedLogs();
            nDeleverages++;
            if (closed != p.cover) closedMismatch = true;
            if (closed < _abs(p.size)) nPartialCovers++;
            PerpMarket.Market memory m = market.getMarket(p.id);
            if (p.longSize - m.longSize != closed || p.shortSize - m.shortSize != closed) closedMismatch = true;
            _checkEvents(p, logs, closed);
            _checkBankrupt(p, logs, closed);
        } catch (bytes memory reason) {
            vm.getRecordedLogs();
            if (!p.priced && bytes4(reason) == PerpMarket.NoBankruptcyPrice.selector) {
                nNoBankruptcyPrice++;
            } else {
                unexpectedAdlRevert = true;
                unexpectedAdlRevertData = reason;
            }
        }
    }

    /// The k-th Deleveraged event is the k-th ranked counterparty, with its score and the
    /// bankruptcy price read before; the scores run in rank order; the sizes add up to `closed`.
    function _checkEvents(Pre memory p, Vm.Log[] memory logs, uint256 closed) internal {
        uint256 k;
        uint256 sum;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != PerpMarket.Deleveraged.selector) continue;
            address c = address(uint160(uint256(logs[i].topics[2])));
            (uint256 size, uint256 pb,, uint256 score,) =
                abi.decode(logs[i].data, (uint256, uint256, uint256, uint256, uint256));
            if (k >= p.ranked.length || c != p.ranked[k] || score != p.scores[k]) rankOrderBroken = true;
            if (k > 0 && !(score < p.scores[k - 1] || (score == p.scores[k - 1] && c > p.ranked[k - 1]))) {
                rankOrderBroken = true;
            }
            if (pb != p.pb) bankruptMisvalued = true;
            sum += size;
            k++;
            nCounterpartiesClosed++;
        }
        if (sum != closed) closedMismatch = true;
    }

    /// Above zero never; fully covered, within |size| / 1e18 + 2 wei of zero (read from the
    /// account's equity if it still has positions, from its BadDebt event if not).
    function _checkBankrupt(Pre memory p, Vm.Log[] memory logs, uint256 closed) internal {
        bool full = closed == _abs(p.size);
        uint256 slack = _abs(p.size) / 1e18 + 2;
        if (market.accountMarkets(p.account).length != 0) {
            int256 e = market.accountHealth(p.account).equity;
            if (e > 0 || (full && e < -int256(slack))) bankruptMisvalued = true;
            return;
        }
        if (market.collateralOf(p.account) != 0) bankruptMisvalued = true;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != PerpMarket.BadDebt.selector) continue;
            if (address(uint160(uint256(logs[i].topics[1]))) != p.account) continue;
            (uint256 covered, uint256 uncovered) = abi.decode(logs[i].data, (uint256, uint256));
            if (covered + uncovered > slack) bankruptMisvalued = true;
        }
    }

    // ----------------------------------------------------------------------------------------
    // Attempts that must revert
    // ----------------------------------------------------------------------------------------

    /// The ranking with its first two swapped, when the second alone does not cover the position
    /// (so that the first is reached): AdlRankOrder.
    function _attackMisorder(Pre memory p) internal {
        if (p.ranked.length < 2 || _abs(market.getPosition(p.ranked[1], p.id).size) >= _abs(p.size)) return;
        (p.ranked[0], p.ranked[1]) = (p.ranked[1], p.ranked[0]);
        try market.deleverage(p.account, p.id, p.ranked) {
            misorderAccepted = true;
        } catch (bytes memory reason) {
            if (bytes4(reason) == PerpMarket.AdlRankOrder.selector) nRankOrderRefusals++;
        }
    }

    /// The bankrupt account itself, an account on its side, or one without a position in the
    /// market, put first: AdlNotEligible.
    function _attackIneligible(Pre memory p, uint256 seed) internal {
        address bad = p.account;
        for (uint256 k = 0; k < actors.length && seed % 2 == 1; k++) {
            address c = actors[(seed / 2 % actors.length + k) % actors.length];
            int256 s = market.getPosition(c, p.id).size;
            if (c != p.account && (s == 0 || (s > 0) == (p.size > 0))) {
                bad = c;
                break;
            }
        }
        address[] memory list = new address[](p.ranked.length + 1);
        list[0] = bad;
        for (uint256 i = 0; i < p.ranked.length; i++) {
            list[i + 1] = p.ranked[i];
        }
        try market.deleverage(p.account, p.id, list) {
            ineligibleAccepted = true;
        } catch (bytes memory reason) {
            if (bytes4(reason) == PerpMarket.AdlNotEligible.selector) nIneligibleRefusals++;
        }
    }

    /// An account with a position whose deficit the insurance fund covers (or no deficit).
    function _attackNotDue(uint256 actorSeed, uint256 marketSeed) internal {
        for (uint256 k = 0; k < actors.length; k++) {
            address a = actors[(actorSeed % actors.length + k) % actors.length];
            uint256[] memory ids = market.accountMarkets(a);
            if (ids.length == 0 || _due(a)) continue;
            uint256 id = ids[marketSeed % ids.length];
            try market.deleverage(a, id, actors) {
                notDueAccepted = true;
            } catch (bytes memory reason) {
                if (bytes4(reason) == PerpMarket.AdlNotDue.selector) nNotDueRefusals++;
            }
            return;
        }
    }

    // ----------------------------------------------------------------------------------------
    // Finding and ranking
    // ----------------------------------------------------------------------------------------

    function _due(address a) internal view returns (bool) {
        int256 e = market.accountHealth(a).equity;
        return e < 0 && uint256(-e) > market.insuranceFund();
    }

    function _findDue(uint256 actorSeed, uint256 marketSeed) internal view returns (bool, address, uint256) {
        for (uint256 k = 0; k < actors.length; k++) {
            address a = actors[(actorSeed % actors.length + k) % actors.length];
            uint256[] memory ids = market.accountMarkets(a);
            if (ids.length != 0 && _due(a)) return (true, a, ids[marketSeed % ids.length]);
        }
        return (false, address(0), 0);
    }

    /// A 20% move against one position of an actor (Handler.movePrice with a market seed that
    /// selects its widest mode).
    function _gap(uint256 actorSeed, uint256 marketSeed) internal {
        address a = actors[actorSeed % actors.length];
        uint256[] memory ids = market.accountMarkets(a);
        if (ids.length == 0) return;
        uint256 id = ids[marketSeed % ids.length];
        handler.movePrice(id, market.getPosition(a, id).size > 0 ? int256(-2_000) : int256(2_000));
        nGaps++;
    }

    /// The bankruptcy price, and every eligible counterparty (opposite side, PnL > 0, equity > 0),
    /// sorted by adlScore descending then address ascending.
    function _pre(address a, uint256 id) internal view returns (Pre memory p) {
        p.account = a;
        p.id = id;
        p.size = market.getPosition(a, id).size;
        try market.bankruptcyPrice(a, id) returns (uint256 pb) {
            p.priced = true;
            p.pb = pb;
        } catch {}
        PerpMarket.Market memory m = market.getMarket(id);
        p.longSize = m.longSize;
        p.shortSize = m.shortSize;
        p.ranked = new address[](actors.length);
        p.scores = new uint256[](actors.length);
        uint256 n;
        uint256 held;
        for (uint256 k = 0; k < actors.length; k++) {
            address c = actors[k];
            if (c == a || !_eligible(c, id, p.size)) continue;
            uint256 score = market.adlScore(c, id);
            uint256 j = n++;
            while (j > 0 && (p.scores[j - 1] < score || (p.scores[j - 1] == score && p.ranked[j - 1] > c))) {
                p.ranked[j] = p.ranked[j - 1];
                p.scores[j] = p.scores[j - 1];
                j--;
            }
            p.ranked[j] = c;
            p.scores[j] = score;
            held += _abs(market.getPosition(c, id).size);
        }
        address[] memory ranked = p.ranked;
        uint256[] memory scores = p.scores;
        assembly ("memory-safe") {
            mstore(ranked, n)
            mstore(scores, n)
        }
        p.cover = held < _abs(p.size) ? held : _abs(p.size);
    }

    /// Eligibility recomputed from the position and health views (not from adlScore).
    function _eligible(address c, uint256 id, int256 bankruptSize) internal view returns (bool) {
        int256 s = market.getPosition(c, id).size;
        if (s == 0 || (s > 0) == (bankruptSize > 0)) return false;
        PerpMarket.PositionValue[] memory vs = market.positionValues(c);
        for (uint256 i = 0; i < vs.length; i++) {
            if (vs[i].marketId == id) return vs[i].pnl > 0 && market.accountHealth(c).equity > 0;
        }
        return false;
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }
}
// forge-lint: disable-end(unsafe-typecast)
