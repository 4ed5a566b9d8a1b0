// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {CappedConfig} from "./CappedConfig.sol";
import {CappedMath} from "./CappedMath.sol";
import {KeeperReward} from "./KeeperReward.sol";
import {LiquidationCapacity} from "./LiquidationCapacity.sol";
import {PythPull} from "./PythPull.sol";

/// @title CappedAccounts
/// @notice Accounts, collateral, the pool and the account valuation of the capped market
///         (docs/capped-market.md, "Accounts and collateral", "The margin model"), after Synthetix's
///         storage/PerpsAccount.sol and modules/PerpsAccountModule.sol. Orders and liquidations are
///         in CappedPerpsMarket.
abstract contract CappedAccounts is CappedConfig, PythPull {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.UintSet;

    /// The only collateral: sUSD, Synthetix's SNX_USD_MARKET_ID.
    uint128 public constant USD_COLLATERAL_ID = 0;

    struct Account {
        address owner;
        uint256 collateral;
        EnumerableSet.UintSet openPositionMarketIds;
    }

    /// storage/Position.sol, without funding and interest.
    struct Position {
        int128 size;
        uint128 latestInteractionPrice;
    }

    /// storage/PerpsMarket.sol: skew, size and the liquidation window's entries.
    struct MarketState {
        int256 skew;
        uint256 size;
        LiquidationCapacity.Entry[] liquidationData;
    }

    /// One position with the price it is valued at (PerpsAccount.MemoryContext).
    struct PositionCtx {
        uint128 marketId;
        int256 size;
        uint256 entryPrice;
        uint256 price;
    }

    /// An account's valuation; `traded*` are one market's figures (the order check needs them).
    struct Margins {
        int256 available;
        uint256 initial;
        uint256 maintenance;
        uint256 reward;
        uint256 tradedInitial;
        uint256 tradedMaintenance;
        bool hasPositions;
        bool eligible;
    }

    /// The collateral token (18 decimals, counted 1:1 as D18 USD).
    // forge-lint: disable-next-line(screaming-snake-case-immutable) collateralToken() is the market's interface
    IERC20 public immutable collateralToken;
    /// Tokens of the pool: fees, trader losses, seized collateral; pays profits and keeper rewards.
    uint256 public poolBalance;

    uint128 internal _lastAccountId;
    mapping(uint128 accountId => Account) internal _accounts;
    mapping(uint128 marketId => mapping(uint128 accountId => Position)) internal _positions;
    mapping(uint128 marketId => MarketState) internal _markets;
    /// GlobalPerpsMarket.liquidatableAccounts.
    EnumerableSet.UintSet internal _flagged;

    constructor(IERC20 token) {
        collateralToken = token;
    }

    // ---- accounts and collateral ----------------------------------------------------------------

    function createAccount() external returns (uint128 accountId) {
        accountId = ++_lastAccountId;
        _accounts[accountId].owner = msg.sender;
        emit AccountCreated(accountId, msg.sender);
    }

    function getAccountOwner(uint128 accountId) external view returns (address) {
        return _accounts[accountId].owner;
    }

    /// ICollateralModule.modifyCollateral: deposit (> 0) or withdraw (< 0) sUSD.
    function modifyCollateral(uint128 accountId, uint128 collateralId, int256 amountDelta)
        external
        payable
        nonReentrant
        noValueOutsideMulticall
    {
        Account storage a = _ownedAccount(accountId);
        if (collateralId != USD_COLLATERAL_ID) revert UnsupportedCollateral(collateralId);
        if (amountDelta == 0) revert InvalidAmountDelta(amountDelta);
        if (_flagged.contains(accountId)) revert AccountLiquidatable(accountId);
        if (amountDelta > 0) {
            uint256 amount = SafeCast.toUint256(amountDelta);
            a.collateral += amount;
            collateralToken.safeTransferFrom(msg.sender, address(this), amount);
        } else {
            uint256 amount = CappedMath.abs(amountDelta);
            _checkWithdrawable(accountId, a, amount);
            a.collateral -= amount;
            collateralToken.safeTransfer(msg.sender, amount);
        }
        emit CollateralModified(accountId, collateralId, amountDelta, msg.sender);
    }

    /// Adds tokens to the pool (the LPs' side of every trade).
    function depositLiquidity(uint256 amount) external nonReentrant {
        poolBalance += amount;
        collateralToken.safeTransferFrom(msg.sender, address(this), amount);
        emit LiquidityDeposited(msg.sender, amount);
    }

    // ---- account views (IPerpsAccountModule names) ----------------------------------------------

    function getCollateralAmount(uint128 accountId, uint128 collateralId) external view returns (uint256) {
        return collateralId == USD_COLLATERAL_ID ? _accounts[accountId].collateral : 0;
    }

    function totalCollateralValue(uint128 accountId) external view returns (uint256) {
        return _accounts[accountId].collateral;
    }

    function getAvailableMargin(uint128 accountId) external view returns (int256 availableMargin) {
        return _valuation(accountId, 0).available;
    }

    function getWithdrawableMargin(uint128 accountId) external view returns (int256 withdrawableMargin) {
        return _withdrawable(_accounts[accountId], _valuation(accountId, 0));
    }

    function getRequiredMargins(uint128 accountId)
        external
        view
        returns (uint256 requiredInitialMargin, uint256 requiredMaintenanceMargin, uint256 maxLiquidationReward)
    {
        Margins memory m = _valuation(accountId, 0);
        return (m.initial, m.maintenance, m.reward);
    }

    /// ILiquidationModule.canLiquidate.
    function canLiquidate(uint128 accountId) external view returns (bool isEligible) {
        return _valuation(accountId, 0).eligible;
    }

    function flaggedAccounts() external view returns (uint256[] memory accountIds) {
        return _flagged.values();
    }

    function getAccountOpenPositions(uint128 accountId) external view returns (uint256[] memory) {
        return _accounts[accountId].openPositionMarketIds.values();
    }

    function getOpenPosition(uint128 accountId, uint128 marketId)
        external
        view
        returns (int256 totalPnl, int256 accruedFunding, int128 positionSize, uint256 owedInterest)
    {
        Position storage p = _positions[marketId][accountId];
        positionSize = p.size;
        if (positionSize != 0) totalPnl = CappedMath.pnl(positionSize, _marketPrice(marketId), p.latestInteractionPrice);
        return (totalPnl, 0, positionSize, 0);
    }

    function getOpenPositionSize(uint128 accountId, uint128 marketId) external view returns (int128 positionSize) {
        return _positions[marketId][accountId].size;
    }

    /// Ours: the stored position, for indexers that value it themselves.
    function getPosition(uint128 accountId, uint128 marketId)
        external
        view
        returns (int128 positionSize, uint256 latestInteractionPrice)
    {
        Position storage p = _positions[marketId][accountId];
        return (p.size, p.latestInteractionPrice);
    }

    // ---- market views ---------------------------------------------------------------------------

    function skew(uint128 marketId) external view returns (int256) {
        return _markets[marketId].skew;
    }

    function size(uint128 marketId) external view returns (uint256) {
        return _markets[marketId].size;
    }

    /// The market's D18 Pyth price (reverts OracleDataRequired when stale).
    function indexPrice(uint128 marketId) external view returns (uint256) {
        return _marketPrice(marketId);
    }

    /// Ours: the USD costs of a flag and of a liquidation call at this block's base fee.
    function getKeeperCosts() external view returns (uint256 flagCostUsd, uint256 liquidateCostUsd) {
        return _costs();
    }

    /// ILiquidationModule.liquidationCapacity.
    function liquidationCapacity(uint128 marketId)
        external
        view
        returns (uint256 capacity, uint256 maxLiquidationInWindow, uint256 latestLiquidationTimestamp)
    {
        MarketConfig storage c = _config[marketId];
        return LiquidationCapacity.current(
            _markets[marketId].liquidationData, _maxInWindow(c), c.maxSecondsInLiquidationWindow
        );
    }

    /// Ours: the window's entries, oldest first; capacity returns by amounts[i] at
    /// timestamps[i] + maxSecondsInLiquidationWindow.
    function liquidationWindowEntries(uint128 marketId)
        external
        view
        returns (uint256[] memory timestamps, uint256[] memory amounts)
    {
        return LiquidationCapacity.inWindow(
            _markets[marketId].liquidationData, _config[marketId].maxSecondsInLiquidationWindow
        );
    }

    // ---- valuation ------------------------------------------------------------------------------

    /// The account's open positions at current prices.
    function _context(uint128 accountId) internal view returns (PositionCtx[] memory ps) {
        uint256[] memory ids = _accounts[accountId].openPositionMarketIds.values();
        ps = new PositionCtx[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            uint128 marketId = SafeCast.toUint128(ids[i]);
            Position storage p = _positions[marketId][accountId];
            ps[i] = PositionCtx({
                marketId: marketId, size: p.size, entryPrice: p.latestInteractionPrice, price: _marketPrice(marketId)
            });
        }
    }

    function _valuation(uint128 accountId, uint128 tradedMarketId) internal view returns (Margins memory) {
        return _margins(_context(accountId), _accounts[accountId].collateral, tradedMarketId);
    }

    /// PerpsAccount.getAvailableMargin, getAccountRequiredMargins, isEligibleForLiquidation.
    function _margins(PositionCtx[] memory ps, uint256 collateral, uint128 tradedMarketId)
        internal
        view
        returns (Margins memory m)
    {
        m.available = SafeCast.toInt256(collateral);
        uint256 totalFlagRewards;
        uint256 maxWindows;
        for (uint256 i = 0; i < ps.length; ++i) {
            PositionCtx memory p = ps[i];
            if (p.size == 0) continue;
            m.available += CappedMath.pnl(p.size, p.price, p.entryPrice);
            m.hasPositions = true;
            CappedMath.MarginParams memory params = _marginParams(_config[p.marketId]);
            (uint256 im, uint256 mm) = CappedMath.requiredMargins(params, p.size, p.price);
            m.initial += im;
            m.maintenance += mm;
            if (p.marketId == tradedMarketId) (m.tradedInitial, m.tradedMaintenance) = (im, mm);
            totalFlagRewards += CappedMath.flagReward(params, p.size, p.price);
            maxWindows = CappedMath.max(maxWindows, CappedMath.liquidationWindows(params, p.size));
        }
        if (!m.hasPositions) return m;
        (uint256 costFlag, uint256 costLiq) = _costs();
        m.reward = KeeperReward.possibleLiquidationReward(_guards, totalFlagRewards, maxWindows, collateral, costFlag, costLiq);
        m.eligible = SafeCast.toInt256(m.maintenance + m.reward) > m.available;
    }

    /// PerpsAccount.getWithdrawableMargin.
    function _withdrawable(Account storage a, Margins memory m) internal view returns (int256) {
        if (!m.hasPositions) return SafeCast.toInt256(a.collateral);
        return m.available - SafeCast.toInt256(m.initial + m.reward);
    }

    function _checkWithdrawable(uint128 accountId, Account storage a, uint256 amount) private view {
        if (amount > a.collateral) revert InsufficientSynthCollateral(USD_COLLATERAL_ID, a.collateral, amount);
        int256 withdrawable = _withdrawable(a, _valuation(accountId, 0));
        if (withdrawable < 0) revert AccountLiquidatable(accountId);
        if (SafeCast.toInt256(amount) > withdrawable) {
            revert InsufficientCollateralAvailableForWithdraw(withdrawable, amount);
        }
    }

    /// Keeper costs in USD: (flag, liquidate), 0 without a native price feed.
    function _costs() internal view returns (uint256 costFlag, uint256 costLiq) {
        KeeperCostConfig storage k = _keeperCosts;
        if (k.nativePriceFeedId == bytes32(0)) return (0, 0);
        uint256 nativePrice = _pythPrice(k.nativePriceFeedId, k.nativeStalenessTolerance);
        costFlag = KeeperReward.costUsd(k.flagGasUnits, block.basefee, nativePrice);
        costLiq = KeeperReward.costUsd(k.liquidateGasUnits, block.basefee, nativePrice);
    }

    function _marketPrice(uint128 marketId) internal view returns (uint256) {
        MarketConfig storage c = _config[marketId];
        if (c.feedId == bytes32(0)) revert PriceFeedNotSet(marketId);
        return _pythPrice(c.feedId, c.strictStalenessTolerance);
    }

    function _ownedAccount(uint128 accountId) internal view returns (Account storage a) {
        a = _accounts[accountId];
        if (a.owner == address(0)) revert AccountNotFound(accountId);
        if (a.owner != msg.sender) revert PermissionDenied(accountId, msg.sender);
    }

    /// Pays `amount` out of the pool (Synthetix: PerpsMarketFactory.withdrawMarketUsd).
    function _payFromPool(address to, uint256 amount) internal {
        if (amount > poolBalance) revert InsufficientPoolBalance(amount, poolBalance);
        poolBalance -= amount;
        collateralToken.safeTransfer(to, amount);
    }
}
