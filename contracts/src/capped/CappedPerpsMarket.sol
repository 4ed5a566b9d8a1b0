// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {CappedAccounts} from "./CappedAccounts.sol";
import {CappedConfig} from "./CappedConfig.sol";
import {CappedMath} from "./CappedMath.sol";
import {KeeperReward} from "./KeeperReward.sol";
import {LiquidationCapacity} from "./LiquidationCapacity.sol";
import {PythPull} from "./PythPull.sol";

/// @title CappedPerpsMarket
/// @notice A perpetuals market in the style of Synthetix v3 perps, priced by Pyth: accounts by id,
///         a size-dependent margin over a skew scale, flagging before liquidation, a liquidation
///         capacity per market and time window, and a keeper reward indexed to gas cost.
///         The rules, their Synthetix sources and the deviations: docs/capped-market.md.
/// @dev Orders and liquidations here; accounts and valuation in CappedAccounts; configuration in
///      CappedConfig; Pyth, ERC-7412 and multicall in PythPull.
contract CappedPerpsMarket is CappedAccounts {
    using EnumerableSet for EnumerableSet.UintSet;

    /// Per-position state of one liquidation call (LiquidationModule.LiquidateAccountRuntime).
    struct LiquidationRun {
        uint256 totalFlagRewards;
        uint256 totalLiquidated;
    }

    constructor(IERC20 token, IPyth pyth_, address owner_) CappedConfig(owner_) PythPull(pyth_) CappedAccounts(token) {}

    // ---- orders ---------------------------------------------------------------------------------

    /// Executes at once at the Pyth price (Synthetix commits, then settles: AsyncOrder.validateRequest,
    /// AsyncOrderSettlementPythModule). Fees and margin as docs/capped-market.md "Positions, orders".
    function commitOrder(uint128 marketId, uint128 accountId, int128 sizeDelta, uint256 acceptablePrice)
        external
        payable
        nonReentrant
        noValueOutsideMulticall
    {
        Account storage a = _ownedAccount(accountId);
        if (sizeDelta == 0) revert ZeroSizeOrder();
        MarketConfig storage c = _validConfig(marketId);
        if (_flagged.contains(accountId)) revert AccountLiquidatable(accountId);
        PositionCtx[] memory ps = _context(accountId);
        Margins memory before = _margins(ps, a.collateral, 0);
        if (before.eligible) revert AccountLiquidatable(accountId);

        uint256 fillPrice = _marketPrice(marketId);
        if ((sizeDelta > 0 && fillPrice > acceptablePrice) || (sizeDelta < 0 && fillPrice < acceptablePrice)) {
            revert AcceptablePriceExceeded(fillPrice, acceptablePrice);
        }
        MarketState storage m = _markets[marketId];
        uint256 fee = CappedMath.orderFee(sizeDelta, fillPrice, m.skew, c.makerFee, c.takerFee);
        if (before.available < SafeCast.toInt256(fee)) revert InsufficientMargin(before.available, fee);

        Position storage pos = _positions[marketId][accountId];
        int128 oldSize = pos.size;
        int128 newSize = SafeCast.toInt128(int256(oldSize) + sizeDelta);
        _validatePositionSize(marketId, m, c.maxMarketSize, oldSize, newSize);

        // The traded position at initial margin, the others at maintenance, the reward of the new set.
        Margins memory next = _margins(_withPosition(ps, marketId, newSize, fillPrice), a.collateral, marketId);
        uint256 required = next.maintenance - next.tradedMaintenance + next.tradedInitial + next.reward + fee;
        if (before.available < SafeCast.toInt256(required)) revert InsufficientMargin(before.available, required);

        int256 pnl = oldSize == 0 ? int256(0) : CappedMath.pnl(oldSize, fillPrice, pos.latestInteractionPrice);
        _settle(a, pnl, fee);
        _setPosition(accountId, marketId, m, oldSize, newSize, fillPrice);
        emit OrderSettled(
            marketId, accountId, fillPrice, pnl, 0, sizeDelta, newSize, fee, 0, fee, 0, bytes32(0), msg.sender
        );
    }

    /// AsyncOrder.calculateOrderFee at the current price (IAsyncOrderModule.computeOrderFees).
    function computeOrderFees(uint128 marketId, int128 sizeDelta)
        external
        view
        returns (uint256 orderFees, uint256 fillPrice)
    {
        MarketConfig storage c = _validConfig(marketId);
        fillPrice = _marketPrice(marketId);
        orderFees = CappedMath.orderFee(sizeDelta, fillPrice, _markets[marketId].skew, c.makerFee, c.takerFee);
    }

    // ---- liquidation (ILiquidationModule) -------------------------------------------------------

    /// Flags an eligible account (seizing its collateral) and liquidates what the windows allow;
    /// continues a flagged one.
    function liquidate(uint128 accountId)
        external
        payable
        nonReentrant
        noValueOutsideMulticall
        returns (uint256 liquidationReward)
    {
        if (_flagged.contains(accountId)) return _liquidateAccount(accountId, 0, 0, false);
        Margins memory m = _valuation(accountId, 0);
        if (!m.eligible) revert NotEligibleForLiquidation(accountId);
        // PerpsAccount.flagForLiquidation: the flag cost, the set, the collateral seized.
        (uint256 costFlag,) = _costs();
        _flagged.add(accountId);
        Account storage a = _accounts[accountId];
        uint256 seized = a.collateral;
        a.collateral = 0;
        poolBalance += seized;
        emit AccountFlaggedForLiquidation(accountId, m.available, m.maintenance, m.reward, costFlag);
        return _liquidateAccount(accountId, costFlag, seized, true);
    }

    /// Liquidates the first `maxNumberOfAccounts` flagged accounts.
    function liquidateFlagged(uint256 maxNumberOfAccounts)
        external
        payable
        nonReentrant
        noValueOutsideMulticall
        returns (uint256 liquidationReward)
    {
        uint256[] memory ids = _flagged.values();
        uint256 n = CappedMath.min(maxNumberOfAccounts, ids.length);
        for (uint256 i = 0; i < n; ++i) {
            liquidationReward += _liquidateAccount(SafeCast.toUint128(ids[i]), 0, 0, false);
        }
    }

    /// Liquidates the listed accounts, skipping those not flagged.
    function liquidateFlaggedAccounts(uint128[] calldata accountIds)
        external
        payable
        nonReentrant
        noValueOutsideMulticall
        returns (uint256 liquidationReward)
    {
        for (uint256 i = 0; i < accountIds.length; ++i) {
            if (!_flagged.contains(accountIds[i])) continue;
            liquidationReward += _liquidateAccount(accountIds[i], 0, 0, false);
        }
    }

    /// LiquidationModule._liquidateAccount: each position as far as its market's window allows,
    /// then the keeper reward (flag rewards only on the flagging call).
    function _liquidateAccount(uint128 accountId, uint256 costFlag, uint256 seized, bool flagged)
        private
        returns (uint256 reward)
    {
        Account storage a = _accounts[accountId];
        uint256[] memory ids = a.openPositionMarketIds.values();
        LiquidationRun memory run;
        for (uint256 i = 0; i < ids.length; ++i) {
            uint128 marketId = SafeCast.toUint128(ids[i]);
            MarketConfig storage c = _config[marketId];
            uint256 price = _marketPrice(marketId);
            int128 oldSize = _positions[marketId][accountId].size;
            uint256 absSize = CappedMath.abs(oldSize);
            bool endorsed = msg.sender == c.endorsedLiquidator;
            if (!endorsed) {
                run.totalFlagRewards += CappedMath.mulDecimal(CappedMath.mulDecimal(absSize, price), c.flagRewardRatioD18);
            }
            MarketState storage m = _markets[marketId];
            uint256 amount = LiquidationCapacity.take(
                m.liquidationData,
                LiquidationCapacity.Rules({
                    maxLiquidationInWindow: _maxInWindow(c),
                    maxSecondsInLiquidationWindow: c.maxSecondsInLiquidationWindow,
                    maxLiquidationPd: c.maxLiquidationPd,
                    skewScale: c.skewScale,
                    endorsed: endorsed
                }),
                absSize,
                m.skew
            );
            if (amount == 0) continue;
            run.totalLiquidated += amount;
            int128 amountInt = SafeCast.toInt128(SafeCast.toInt256(amount));
            int128 newSize = oldSize > 0 ? oldSize - amountInt : oldSize + amountInt;
            _setPosition(accountId, marketId, m, oldSize, newSize, price);
            emit PositionLiquidated(accountId, marketId, amount, newSize);
        }

        bool fullLiquidation;
        if (flagged || run.totalLiquidated > 0) {
            (, uint256 costLiq) = _costs();
            uint256 cost = costLiq + costFlag;
            uint256 rewards = flagged ? run.totalFlagRewards : 0;
            if (rewards + cost != 0) reward = KeeperReward.keeperReward(_guards, rewards, cost, seized);
            if (reward > 0) _payFromPool(msg.sender, reward);
            fullLiquidation = a.openPositionMarketIds.length() == 0;
            if (fullLiquidation) _flagged.remove(accountId);
        }
        emit AccountLiquidationAttempt(accountId, reward, fullLiquidation);
    }

    // ---- position bookkeeping -------------------------------------------------------------------

    /// PerpsMarket.updatePositionData: the position, the account's market set, skew and size.
    function _setPosition(
        uint128 accountId,
        uint128 marketId,
        MarketState storage m,
        int128 oldSize,
        int128 newSize,
        uint256 price
    ) private {
        Position storage pos = _positions[marketId][accountId];
        pos.size = newSize;
        pos.latestInteractionPrice = newSize == 0 ? 0 : SafeCast.toUint128(price);
        EnumerableSet.UintSet storage open = _accounts[accountId].openPositionMarketIds;
        if (newSize == 0) open.remove(marketId);
        else open.add(marketId);
        int256 sizeDelta = int256(newSize) - int256(oldSize);
        m.skew += sizeDelta;
        m.size = m.size + CappedMath.abs(newSize) - CappedMath.abs(oldSize);
        emit MarketUpdated(marketId, price, m.skew, m.size, sizeDelta, 0, 0, 0);
    }

    /// Realises `pnl` and charges `fee`: collateral += pnl − fee, pool += fee − pnl.
    function _settle(Account storage a, int256 pnl, uint256 fee) private {
        int256 delta = pnl - SafeCast.toInt256(fee);
        if (delta >= 0) {
            uint256 gain = SafeCast.toUint256(delta);
            if (gain > poolBalance) revert InsufficientPoolBalance(gain, poolBalance);
            poolBalance -= gain;
            a.collateral += gain;
        } else {
            uint256 loss = CappedMath.abs(delta);
            if (loss > a.collateral) revert InsufficientAccountMargin(loss - a.collateral);
            a.collateral -= loss;
            poolBalance += loss;
        }
    }

    /// PerpsMarket.validatePositionSize: the side the order ends on stays within maxMarketSize,
    /// unless the order only reduces the position.
    function _validatePositionSize(uint128 marketId, MarketState storage m, uint256 maxSize, int128 oldSize, int128 newSize)
        private
        view
    {
        if (CappedMath.sameSide(oldSize, newSize) && CappedMath.abs(newSize) < CappedMath.abs(oldSize)) return;
        int256 newSkew = m.skew - oldSize + newSize;
        int256 newMarketSize = SafeCast.toInt256(m.size) - SafeCast.toInt256(CappedMath.abs(oldSize))
            + SafeCast.toInt256(CappedMath.abs(newSize));
        int256 newSideSize = newSize > 0 ? newMarketSize + newSkew : newMarketSize - newSkew;
        if (maxSize < CappedMath.abs(newSideSize / 2)) revert MaxOpenInterestReached(marketId, maxSize, newSideSize / 2);
    }

    /// `ps` with market `marketId` at `newSize` (added if the account had no position there).
    function _withPosition(PositionCtx[] memory ps, uint128 marketId, int128 newSize, uint256 price)
        private
        pure
        returns (PositionCtx[] memory out)
    {
        for (uint256 i = 0; i < ps.length; ++i) {
            if (ps[i].marketId == marketId) {
                ps[i].size = newSize;
                return ps;
            }
        }
        out = new PositionCtx[](ps.length + 1);
        for (uint256 i = 0; i < ps.length; ++i) out[i] = ps[i];
        out[ps.length] = PositionCtx({marketId: marketId, size: newSize, entryPrice: price, price: price});
    }
}
