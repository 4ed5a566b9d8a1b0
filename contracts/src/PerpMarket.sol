// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {MarginMath} from "./MarginMath.sol";
import {IndexPrice} from "./IndexPrice.sol";
import {AdlMath} from "./AdlMath.sol";

/// @title PerpMarket
/// @notice The reference perpetuals market of docs/reference-market.md: oracle-priced perps against a
///         liquidity pool, cross-margin accounts, Binance-style tiered maintenance margin, and
///         partial liquidation sized to restore health with a buffer (Drift), with step caps and a
///         cooldown (Hyperliquid), full close for dust and backstop, a keeper/insurance penalty
///         split, bad debt covered by the insurance fund then recorded, an index mark price over
///         1 to 7 feeds (IndexPrice) and operator-run auto-deleveraging (AdlMath).
/// @dev Value conservation, to the wei:
///      token.balanceOf(this) × 1e12 == totalCollateral + poolBalance + insuranceFund − badDebt.
///      `src/engine/` mirrors the margin rules; see MarginMath.
///      Casts between uint256 and int256 go through SafeCast, unless the value is in range by
///      construction; then the line says why, after the `forge-lint` marker (see MarginMath).
///      Time rules (cooldown, oracle staleness, funding) read block.timestamp by design: a
///      validator can move it by seconds, which shifts those rules by seconds and no more.
contract PerpMarket is Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant PPM = 1e6;
    int256 internal constant SIGNED_PPM = 1e6;
    uint256 public constant TOKEN_SCALE = 1e12; // 6-decimal token → WAD
    uint256 public constant MAX_POSITIONS = 8;
    uint256 public constant MAX_TIERS = 16;
    uint256 public constant MAX_FEEDS = IndexPrice.MAX_FEEDS;

    // ----------------------------------------------------------------------------------------
    // Types
    // ----------------------------------------------------------------------------------------

    struct MarketParams {
        address feed; // Chainlink AggregatorV3-compatible
        uint32 maxStaleness; // seconds
        uint32 tradingFeePpm;
        uint256 lotSize; // WAD; trade and liquidation sizes are multiples of it
    }

    struct LiquidationParams {
        uint32 penaltyPpm; // f: penalty on slice notional
        uint32 targetBufferPpm; // b: a step restores E' ≥ MM' + b × N'
        uint32 maxStepPpm; // cap on one step for positions at or above partialThreshold (1e6 = none)
        bool tierStepDown; // a step takes the position one tier down (Bybit/OKX)
        uint256 partialThreshold; // notional below which a position is closed in full
        uint256 dustNotional; // a remainder below this notional is closed too
        bool adlEnabled; // the ADL operator may deleverage bankrupt positions (see deleverage)
    }

    struct GlobalLiquidationParams {
        uint32 cooldown; // seconds between partial steps on one account
        uint32 backstopPpm; // backstop when E < backstopPpm × ΣMM
        uint32 keeperSharePpm; // keeper's share of the penalty
    }

    struct Market {
        MarketParams params;
        LiquidationParams liq;
        uint8 feedDecimals;
        int256 fundingIndex; // WAD quote per unit of size, at lastFundingTime
        int256 fundingRate; // WAD quote per unit of size per second; > 0: longs pay
        uint64 lastFundingTime;
        uint256 longSize;
        uint256 shortSize;
    }

    /// A market's index (docs/reference-market.md, "Index mark price"); feeds[0] is params.feed.
    struct IndexConfig {
        IndexPrice.Feed[] feeds;
        uint8 minSources;
        uint32 maxDeviationPpm;
    }

    struct Position {
        int256 size;
        uint256 entryPrice;
        int256 entryFundingIndex;
    }

    /// One position valued at the mark.
    struct PositionValue {
        uint256 marketId;
        int256 size;
        uint256 entryPrice;
        uint256 price;
        uint256 notional;
        int256 pnl;
        int256 funding;
        uint256 maintenance;
        uint256 initial;
        uint256 target; // maintenance + buffer × notional
    }

    struct Health {
        int256 collateral;
        int256 equity;
        uint256 maintenance;
        uint256 initial;
        uint256 target;
        bool liquidatable;
        bool backstop;
        uint256 cooldownEndsAt;
    }

    struct LiquidationRequest {
        address account;
        uint256 marketId;
        uint256 size;
    }

    struct LiquidationOutcome {
        bool ok;
        uint256 keeperReward; // tokens (6 decimals)
        bytes revertData; // the item's custom error when !ok
    }

    // ----------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------

    error UnknownMarket(uint256 marketId);
    error StalePrice(uint256 marketId, uint256 updatedAt, uint256 maxStaleness);
    error InvalidPrice(uint256 marketId, int256 answer);
    error FeedDecimalsTooLarge(uint8 decimals);
    error ZeroAmount();
    error ZeroSize();
    error SizeNotLotMultiple(uint256 size, uint256 lotSize);
    error TooManyPositions(uint256 max);
    error InsufficientCollateral(int256 collateral, uint256 requested);
    error InsufficientMargin(int256 equity, uint256 required);
    error WouldBeLiquidatable(int256 equity, uint256 maintenance);
    error InsufficientPoolLiquidity(int256 available, uint256 needed);
    error NoPosition(address account, uint256 marketId);
    error NotLiquidatable(address account, int256 equity, uint256 maintenance);
    error SliceTooLarge(uint256 size, uint256 maxSlice);
    error CooldownActive(address account, uint256 endsAt);
    error OnlySelf();
    error EmptyTiers();
    error TooManyTiers(uint256 count, uint256 max);
    error FirstTierFloorNotZero(uint256 floor);
    error TierFloorsNotIncreasing(uint256 index);
    error TierRatesNotIncreasing(uint256 index);
    error TierLeverageIncreasing(uint256 index);
    error InvalidTierRate(uint256 index, uint256 mmrPpm, uint256 maxLeverage);
    error PenaltyNotBelowTarget(uint256 penaltyPpm, uint256 minTargetRatePpm);
    error InvalidPpm(uint256 value);
    error InvalidLotSize();
    error InvalidStaleness();
    error InvalidFeedCount(uint256 count);
    error InvalidMinSources(uint256 minSources, uint256 feeds);
    error DuplicateFeed(address feed);
    error TooFewFreshFeeds(uint256 marketId, uint256 fresh, uint256 minSources);
    error PriceDeviation(uint256 marketId, uint256 spreadPpm, uint256 maxDeviationPpm);
    error NotAdlOperator(address caller);
    error AdlDisabled(uint256 marketId);
    error AdlNotDue(address account, int256 equity, uint256 insuranceFund);
    error NoBankruptcyPrice(address account, uint256 marketId);
    error AdlNotEligible(address counterparty);
    error AdlRankOrder(uint256 index);
    error AdlNoCounterparty();
    error AdlRequired(address account, uint256 marketId);

    // ----------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------

    event MarketAdded(uint256 indexed marketId, address indexed feed, MarketParams params);
    event MarketParamsUpdated(uint256 indexed marketId, MarketParams params);
    event LiquidationParamsUpdated(uint256 indexed marketId, LiquidationParams params);
    event GlobalLiquidationParamsUpdated(GlobalLiquidationParams params);
    event TiersUpdated(uint256 indexed marketId, MarginMath.Tier[] tiers);
    event FundingRateUpdated(uint256 indexed marketId, int256 rate, int256 index, uint256 timestamp);
    /// Account state for indexers: every change of collateral or position emits the new value.
    event CollateralUpdated(address indexed account, int256 collateral);
    event PositionUpdated(
        address indexed account, uint256 indexed marketId, int256 size, uint256 entryPrice, int256 entryFundingIndex
    );
    event Deposited(address indexed account, uint256 tokens);
    event Withdrawn(address indexed account, uint256 tokens);
    event Traded(
        address indexed account,
        uint256 indexed marketId,
        int256 sizeDelta,
        uint256 price,
        int256 realizedPnl,
        int256 fundingPaid,
        uint256 fee
    );
    event Liquidated(
        address indexed account,
        uint256 indexed marketId,
        address indexed keeper,
        uint256 size,
        uint256 price,
        uint256 penalty,
        uint256 keeperReward, // WAD actually paid (whole tokens × 1e12)
        uint256 insuranceShare, // WAD
        int256 remainingSize,
        bool full
    );
    event BadDebt(address indexed account, uint256 coveredByInsurance, uint256 uncovered);
    event LiquidationFailed(address indexed account, uint256 indexed marketId, bytes reason);
    event PoolFunded(address indexed from, uint256 tokens);
    event PoolWithdrawn(address indexed to, uint256 tokens);
    event InsuranceFunded(address indexed from, uint256 tokens);
    event IndexFeedsUpdated(uint256 indexed marketId, address[] feeds, uint8 minSources, uint32 maxDeviationPpm);
    event AdlOperatorUpdated(address operator);
    /// One per counterparty of a deleverage: `size` closed on both sides at `bankruptcyPrice`.
    event Deleveraged(
        address indexed account,
        address indexed counterparty,
        uint256 indexed marketId,
        uint256 size,
        uint256 bankruptcyPrice,
        uint256 markPrice,
        uint256 score,
        uint256 profitGivenUp
    );

    // ----------------------------------------------------------------------------------------
    // State
    // ----------------------------------------------------------------------------------------

    // forge-lint: disable-next-line(screaming-snake-case-immutable) token() is the market's interface
    IERC20 public immutable token;
    GlobalLiquidationParams public globalLiquidation;

    Market[] internal _markets;
    mapping(uint256 => MarginMath.Tier[]) internal _tiers;
    mapping(uint256 => uint256[]) internal _cums;

    mapping(address => int256) public collateralOf;
    mapping(address => uint64) public lastPartialAt;
    mapping(address => uint256[]) internal _accountMarkets;
    mapping(address => mapping(uint256 => Position)) internal _positions;

    int256 public totalCollateral;
    int256 public poolBalance;
    uint256 public insuranceFund;
    uint256 public badDebt;

    mapping(uint256 => IndexConfig) internal _index;
    /// The only caller of deleverage (unset: nobody); the owner sets it.
    address public adlOperator;

    constructor(IERC20 token_, GlobalLiquidationParams memory global_) Ownable(msg.sender) {
        token = token_;
        _setGlobalLiquidationParams(global_);
    }

    // ----------------------------------------------------------------------------------------
    // Owner: markets and parameters
    // ----------------------------------------------------------------------------------------

    function addMarket(MarketParams calldata params, LiquidationParams calldata liq, MarginMath.Tier[] calldata tiers)
        external
        onlyOwner
        returns (uint256 marketId)
    {
        marketId = _markets.length;
        _markets.push();
        Market storage m = _markets[marketId];
        m.lastFundingTime = uint64(block.timestamp);
        _setMarketParams(marketId, params);
        _setTiersAndLiquidation(marketId, tiers, liq);
        emit MarketAdded(marketId, params.feed, params);
        _resetIndex(marketId);
    }

    /// A new feed resets the index to that one feed; the same first feed keeps the index.
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        _requireMarket(marketId);
        bool sameFeed = _index[marketId].feeds[0].feed == params.feed;
        _setMarketParams(marketId, params);
        if (!sameFeed) _resetIndex(marketId);
    }

    /// The market's index: 1 to MAX_FEEDS distinct feeds, the first becoming params.feed; the mark
    /// needs `minSources` fresh answers and a spread within `maxDeviationPpm` (docs/reference-market.md,
    /// "Index mark price").
    function setIndexFeeds(uint256 marketId, address[] calldata feeds, uint8 minSources, uint32 maxDeviationPpm)
        external
        onlyOwner
    {
        _requireMarket(marketId);
        uint256 n = feeds.length;
        if (n == 0 || n > MAX_FEEDS) revert InvalidFeedCount(n);
        if (minSources == 0 || minSources > n) revert InvalidMinSources(minSources, n);
        IndexConfig storage ix = _index[marketId];
        delete ix.feeds;
        for (uint256 i = 0; i < n; i++) {
            for (uint256 j = 0; j < i; j++) {
                if (feeds[j] == feeds[i]) revert DuplicateFeed(feeds[i]);
            }
            uint8 decimals = AggregatorV3Interface(feeds[i]).decimals();
            if (decimals > 18) revert FeedDecimalsTooLarge(decimals);
            ix.feeds.push(IndexPrice.Feed({feed: feeds[i], decimals: decimals}));
        }
        ix.minSources = minSources;
        ix.maxDeviationPpm = maxDeviationPpm;
        Market storage m = _markets[marketId];
        m.params.feed = feeds[0];
        m.feedDecimals = ix.feeds[0].decimals;
        emit IndexFeedsUpdated(marketId, feeds, minSources, maxDeviationPpm);
    }

    function setAdlOperator(address operator) external onlyOwner {
        adlOperator = operator;
        emit AdlOperatorUpdated(operator);
    }

    function setTiers(uint256 marketId, MarginMath.Tier[] calldata tiers) external onlyOwner {
        _requireMarket(marketId);
        _setTiersAndLiquidation(marketId, tiers, _markets[marketId].liq);
    }

    function setLiquidationParams(uint256 marketId, LiquidationParams calldata liq) external onlyOwner {
        _requireMarket(marketId);
        _setTiersAndLiquidation(marketId, _tiers[marketId], liq);
    }

    function setGlobalLiquidationParams(GlobalLiquidationParams calldata params) external onlyOwner {
        _setGlobalLiquidationParams(params);
    }

    /// Set the funding rate; the index accrues at the old rate up to now first.
    function setFundingRate(uint256 marketId, int256 ratePerSecond) external onlyOwner {
        _requireMarket(marketId);
        Market storage m = _markets[marketId];
        m.fundingIndex = _fundingIndexNow(m);
        m.lastFundingTime = uint64(block.timestamp);
        m.fundingRate = ratePerSecond;
        emit FundingRateUpdated(marketId, ratePerSecond, m.fundingIndex, block.timestamp);
    }

    function withdrawPool(uint256 tokens) external onlyOwner nonReentrant {
        if (tokens == 0) revert ZeroAmount();
        int256 available = poolBalance - badDebt.toInt256();
        int256 amount = (tokens * TOKEN_SCALE).toInt256();
        if (available < amount) revert InsufficientPoolLiquidity(available, tokens * TOKEN_SCALE);
        poolBalance -= amount;
        token.safeTransfer(msg.sender, tokens);
        emit PoolWithdrawn(msg.sender, tokens);
    }

    // ----------------------------------------------------------------------------------------
    // Liquidity providers and insurance
    // ----------------------------------------------------------------------------------------

    function fundPool(uint256 tokens) external nonReentrant {
        if (tokens == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), tokens);
        poolBalance += (tokens * TOKEN_SCALE).toInt256();
        emit PoolFunded(msg.sender, tokens);
    }

    function fundInsurance(uint256 tokens) external nonReentrant {
        if (tokens == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), tokens);
        insuranceFund += tokens * TOKEN_SCALE;
        emit InsuranceFunded(msg.sender, tokens);
    }

    // ----------------------------------------------------------------------------------------
    // Traders
    // ----------------------------------------------------------------------------------------

    /// Deposit `tokens` (6 decimals) as collateral of `account`; credited ×1e12 as WAD.
    function deposit(address account, uint256 tokens) external nonReentrant {
        _deposit(msg.sender, account, tokens);
    }

    /// Withdraw up to `amountWad` of collateral, floored to whole token units; only the floored
    /// amount leaves the account. Requires E ≥ ΣIM afterwards.
    function withdraw(uint256 amountWad) external nonReentrant returns (uint256 tokens) {
        tokens = amountWad / TOKEN_SCALE;
        if (tokens == 0) revert ZeroAmount();
        uint256 debit = tokens * TOKEN_SCALE;
        int256 collateral = collateralOf[msg.sender];
        int256 signedDebit = debit.toInt256();
        if (collateral < signedDebit) revert InsufficientCollateral(collateral, debit);
        int256 available = poolBalance - badDebt.toInt256();
        if (available < 0) revert InsufficientPoolLiquidity(available, debit);
        _addCollateral(msg.sender, -signedDebit);
        Health memory h = _health(msg.sender);
        if (h.equity < h.initial.toInt256()) revert InsufficientMargin(h.equity, h.initial);
        token.safeTransfer(msg.sender, tokens);
        emit Withdrawn(msg.sender, tokens);
    }

    /// Open, increase, reduce, close or flip a position at the mark price, paying the trading fee.
    function trade(uint256 marketId, int256 sizeDelta) external nonReentrant {
        _trade(msg.sender, marketId, sizeDelta);
    }

    // ----------------------------------------------------------------------------------------
    // Liquidation
    // ----------------------------------------------------------------------------------------

    /// Liquidate `size` of `account`'s position in `marketId` at the mark price. `size` must be at
    /// most maxLiquidatable(account, marketId), and a lot multiple unless it closes the position.
    /// The caller receives its share of the penalty in tokens.
    function liquidate(address account, uint256 marketId, uint256 size)
        external
        nonReentrant
        returns (uint256 keeperReward)
    {
        keeperReward = _liquidate(account, marketId, size, msg.sender);
        if (keeperReward != 0) token.safeTransfer(msg.sender, keeperReward);
    }

    /// Liquidate several (account, market) slices in one transaction. A failing item does not
    /// revert the others: its outcome carries the custom error and a LiquidationFailed event is
    /// emitted. Rewards are paid once, at the end.
    function liquidateBatch(LiquidationRequest[] calldata requests)
        external
        nonReentrant
        returns (LiquidationOutcome[] memory outcomes)
    {
        outcomes = new LiquidationOutcome[](requests.length);
        uint256 total;
        for (uint256 i = 0; i < requests.length; i++) {
            LiquidationRequest calldata r = requests[i];
            try this.liquidateFromBatch(r.account, r.marketId, r.size, msg.sender) returns (uint256 reward) {
                outcomes[i] = LiquidationOutcome({ok: true, keeperReward: reward, revertData: ""});
                total += reward;
            } catch (bytes memory reason) {
                outcomes[i] = LiquidationOutcome({ok: false, keeperReward: 0, revertData: reason});
                emit LiquidationFailed(r.account, r.marketId, reason);
            }
        }
        if (total != 0) token.safeTransfer(msg.sender, total);
    }

    /// One batch item; callable only by this contract, so that an item's revert is isolated.
    function liquidateFromBatch(address account, uint256 marketId, uint256 size, address keeper)
        external
        returns (uint256)
    {
        if (msg.sender != address(this)) revert OnlySelf();
        return _liquidate(account, marketId, size, keeper);
    }

    // ----------------------------------------------------------------------------------------
    // Auto-deleveraging (docs/reference-market.md, "Auto-deleveraging")
    // ----------------------------------------------------------------------------------------

    /// Close `account`'s bankrupt position in `marketId` at its bankruptcy price against
    /// `counterparties`, given in rank order (score descending, ties by ascending address): each
    /// closes min(its size, what remains) at the same price. Due when the account is liquidatable,
    /// its equity E < 0 and −E exceeds the insurance fund. No penalty, no keeper reward. Entries
    /// after the position is covered are ignored. Returns the size closed.
    function deleverage(address account, uint256 marketId, address[] calldata counterparties)
        external
        nonReentrant
        returns (uint256 closed)
    {
        if (msg.sender != adlOperator) revert NotAdlOperator(msg.sender);
        (PositionValue memory v, uint256 pb) = _bankruptcy(account, marketId, true);
        Market storage m = _markets[marketId];
        Position storage pos = _positions[account][marketId];
        _settleFunding(account, m, pos);
        closed = MarginMath.abs(v.size) - _deleverageCounterparties(account, v, pb, counterparties);
        if (closed == 0) revert AdlNoCounterparty();
        // forge-lint: disable-next-line(unsafe-typecast) closed ≤ |v.size| ≤ type(int256).max
        int256 closedA = v.size > 0 ? int256(closed) : -int256(closed);
        int256 realized = MarginMath.pnl(closedA, pb, v.entryPrice);
        _addCollateral(account, realized);
        poolBalance -= realized;
        _setSize(account, marketId, m, pos, v.size - closedA);
        if (_accountMarkets[account].length == 0) _settleBadDebt(account);
    }

    // ----------------------------------------------------------------------------------------
    // Internal: traders
    // ----------------------------------------------------------------------------------------

    function _deposit(address payer, address account, uint256 tokens) internal {
        if (tokens == 0) revert ZeroAmount();
        token.safeTransferFrom(payer, address(this), tokens);
        _addCollateral(account, (tokens * TOKEN_SCALE).toInt256());
        emit Deposited(account, tokens);
    }

    function _trade(address account, uint256 marketId, int256 sizeDelta) internal {
        _requireMarket(marketId);
        if (sizeDelta == 0) revert ZeroSize();
        Market storage m = _markets[marketId];
        uint256 absDelta = MarginMath.abs(sizeDelta);
        if (absDelta % m.params.lotSize != 0) revert SizeNotLotMultiple(absDelta, m.params.lotSize);
        uint256 price = _markPrice(marketId);

        Position storage pos = _positions[account][marketId];
        int256 oldSize = pos.size;
        if (oldSize == 0) {
            if (_accountMarkets[account].length >= MAX_POSITIONS) revert TooManyPositions(MAX_POSITIONS);
            _accountMarkets[account].push(marketId);
        }
        int256 fundingPaid = _settleFunding(account, m, pos);
        int256 newSize = oldSize + sizeDelta;

        bool reduces = oldSize != 0 && (oldSize > 0) != (sizeDelta > 0);
        int256 realized = _reprice(pos, reduces, newSize, absDelta, price);
        uint256 fee = MarginMath.ceilDivU(MarginMath.notional(absDelta, price) * m.params.tradingFeePpm, PPM);
        // forge-lint: disable-next-line(unsafe-typecast) fee ≤ notional ≤ (2^256 − 1) / 1e18 + 1 (fee rate < 1)
        int256 signedFee = int256(fee);

        _addCollateral(account, realized - signedFee);
        poolBalance += signedFee - realized;
        _setSize(account, marketId, m, pos, newSize);

        // Opening, increasing, or flipping to the other side (of any size) opens new exposure.
        _requireTradeBacked(account, realized, !reduces || (newSize != 0 && (newSize > 0) != (oldSize > 0)));
        emit Traded(account, marketId, sizeDelta, price, realized, fundingPaid, fee);
    }

    /// The entry price a trade leaves, and the PnL it realises: a reduction realises the PnL of
    /// the part it closes and keeps the entry (0 when closed, the mark when flipped); an increase
    /// averages the entry.
    function _reprice(Position storage pos, bool reduces, int256 newSize, uint256 absDelta, uint256 price)
        internal
        returns (int256 realized)
    {
        int256 oldSize = pos.size;
        if (reduces) {
            uint256 closeAbs = absDelta < MarginMath.abs(oldSize) ? absDelta : MarginMath.abs(oldSize);
            // forge-lint: disable-next-line(unsafe-typecast) closeAbs ≤ |oldSize| ≤ type(int256).max
            realized = MarginMath.pnl(oldSize > 0 ? int256(closeAbs) : -int256(closeAbs), price, pos.entryPrice);
            if (newSize == 0) pos.entryPrice = 0;
            else if ((newSize > 0) != (oldSize > 0)) pos.entryPrice = price;
        } else {
            pos.entryPrice = oldSize == 0 ? price : _averageEntry(oldSize, pos.entryPrice, absDelta, price);
        }
    }

    /// After a trade: the pool still covers the bad debt, and the account meets IM if the trade
    /// opened exposure (`increases`), MM otherwise.
    function _requireTradeBacked(address account, int256 realized, bool increases) internal view {
        int256 available = poolBalance - badDebt.toInt256();
        // forge-lint: disable-next-line(unsafe-typecast) max(realized, 0) ≥ 0
        if (available < 0) revert InsufficientPoolLiquidity(available, uint256(realized > 0 ? realized : int256(0)));

        Health memory h = _health(account);
        if (increases) {
            if (h.equity < h.initial.toInt256()) revert InsufficientMargin(h.equity, h.initial);
        } else if (h.equity < h.maintenance.toInt256()) {
            revert WouldBeLiquidatable(h.equity, h.maintenance);
        }
    }

    function _liquidate(address account, uint256 marketId, uint256 size, address keeper)
        internal
        returns (uint256 keeperTokens)
    {
        _requireMarket(marketId);
        Position storage pos = _positions[account][marketId];
        if (pos.size == 0) revert NoPosition(account, marketId);
        if (size == 0) revert ZeroSize();
        (Health memory h, PositionValue[] memory values) = _healthWithPositions(account);
        if (!h.liquidatable) revert NotLiquidatable(account, h.equity, h.maintenance);

        Market storage m = _markets[marketId];
        PositionValue memory v = values[_indexOf(values, marketId)];
        uint256 absSize = MarginMath.abs(v.size);
        if (size > absSize) revert SliceTooLarge(size, absSize);
        bool full = size == absSize;
        if (!full && size % m.params.lotSize != 0) revert SizeNotLotMultiple(size, m.params.lotSize);
        // forge-lint: disable-next-line(block-timestamp) the cooldown is a time rule (see @dev above)
        if (!full && !h.backstop && block.timestamp < h.cooldownEndsAt) revert CooldownActive(account, h.cooldownEndsAt);
        uint256 maxSlice = _maxSlice(m, marketId, h, v);
        if (size > maxSlice) revert SliceTooLarge(size, maxSlice);

        // Settle funding (already inside E), then realise the slice's PnL at the mark.
        _settleFunding(account, m, pos);
        // forge-lint: disable-next-line(unsafe-typecast) size ≤ |v.size| ≤ type(int256).max (checked above)
        int256 closed = v.size > 0 ? int256(size) : -int256(size);
        int256 realized = MarginMath.pnl(closed, v.price, v.entryPrice);
        uint256 penalty_ = MarginMath.penalty(MarginMath.notional(size, v.price), m.liq.penaltyPpm, h.equity);
        uint256 insuranceShare;
        (keeperTokens, insuranceShare) =
            MarginMath.splitPenalty(penalty_, globalLiquidation.keeperSharePpm, TOKEN_SCALE);

        // forge-lint: disable-next-line(unsafe-typecast) penalty_ ≤ max(E, 0) (MarginMath.penalty caps it)
        _addCollateral(account, realized - int256(penalty_));
        poolBalance -= realized;
        insuranceFund += insuranceShare;
        int256 remaining = v.size - closed;
        if (full) pos.entryPrice = 0;
        _setSize(account, marketId, m, pos, remaining);
        if (!full) lastPartialAt[account] = uint64(block.timestamp);
        bool last = _accountMarkets[account].length == 0;
        if (last) _requireNoAdlDue(account, marketId, m, v.size);

        emit Liquidated(
            account,
            marketId,
            keeper,
            size,
            v.price,
            penalty_,
            keeperTokens * TOKEN_SCALE,
            insuranceShare,
            remaining,
            full
        );
        if (last) _settleBadDebt(account);
    }

    /// ADL acts before bad debt is recorded (docs/reference-market.md, "Auto-deleveraging"): a
    /// liquidation whose last close leaves a deficit beyond the insurance fund, in a market with ADL
    /// on, an ADL operator set and positions open on the other side, reverts; the operator
    /// deleverages the account instead. With nobody on the other side, bad debt is recorded as before.
    function _requireNoAdlDue(address account, uint256 marketId, Market storage m, int256 closedSize) internal view {
        int256 collateral = collateralOf[account];
        if (collateral >= 0 || !m.liq.adlEnabled || adlOperator == address(0)) return;
        uint256 opposite = closedSize > 0 ? m.shortSize : m.longSize;
        // forge-lint: disable-next-line(unsafe-typecast) collateral < 0 here
        if (opposite != 0 && uint256(-collateral) > insuranceFund) revert AdlRequired(account, marketId);
    }

    /// The largest slice a keeper may take now (see docs/reference-market.md, "Liquidation"); 0 when the account is
    /// healthy or when only a partial step is allowed and the cooldown runs.
    function _maxSlice(Market storage m, uint256 marketId, Health memory h, PositionValue memory v)
        internal
        view
        returns (uint256 slice)
    {
        uint256 absSize = MarginMath.abs(v.size);
        if (h.backstop || v.notional < m.liq.partialThreshold) return absSize;
        MarginMath.Tier[] memory tiers = _tiers[marketId];
        uint256 lot = m.params.lotSize;
        if (m.liq.tierStepDown) slice = MarginMath.stepDownSlice(absSize, v.price, lot, tiers);
        if (slice == 0) {
            MarginMath.SliceInput memory s = MarginMath.SliceInput({
                size: absSize,
                price: v.price,
                lotSize: lot,
                equity: h.equity,
                otherTarget: h.target - v.target,
                penaltyPpm: m.liq.penaltyPpm,
                bufferPpm: m.liq.targetBufferPpm
            });
            slice = MarginMath.restoringSlice(s, tiers, _cums[marketId]);
        }
        uint256 cap = MarginMath.stepCap(absSize, m.liq.maxStepPpm, lot);
        if (slice > cap) slice = cap;
        if (slice > absSize) slice = absSize;
        uint256 rest = absSize - slice;
        if (rest != 0 && (rest < lot || MarginMath.notional(rest, v.price) < m.liq.dustNotional)) slice = absSize;
        // forge-lint: disable-next-line(block-timestamp) the cooldown is a time rule (see @dev above)
        if (slice < absSize && block.timestamp < h.cooldownEndsAt) return 0;
    }

    /// Close the counterparties in order until `v` (the bankrupt position) is covered; returns the
    /// size left uncovered.
    function _deleverageCounterparties(
        address account,
        PositionValue memory v,
        uint256 pb,
        address[] calldata counterparties
    ) internal returns (uint256 remaining) {
        remaining = MarginMath.abs(v.size);
        uint256 prevScore;
        address prev;
        for (uint256 i = 0; i < counterparties.length && remaining > 0; i++) {
            address c = counterparties[i];
            if (c == account) revert AdlNotEligible(c);
            (bool eligible, PositionValue memory vc, uint256 score) = _adlCandidate(c, v.marketId);
            if (!eligible || (vc.size > 0) == (v.size > 0)) revert AdlNotEligible(c);
            if (i > 0 && score >= prevScore && (score != prevScore || c <= prev)) revert AdlRankOrder(i);
            uint256 delta = _closeAtBankruptcy(c, vc, pb, remaining);
            emit Deleveraged(
                account, c, v.marketId, delta, pb, v.price, score, AdlMath.profitGivenUp(delta, v.price, pb)
            );
            if (_accountMarkets[c].length == 0) _settleBadDebt(c);
            remaining -= delta;
            prevScore = score;
            prev = c;
        }
    }

    /// Close min(|vc.size|, remaining) of counterparty `c`'s position at the bankruptcy price `pb`,
    /// funding first; the entry price stays on a partial close.
    function _closeAtBankruptcy(address c, PositionValue memory vc, uint256 pb, uint256 remaining)
        internal
        returns (uint256 delta)
    {
        Market storage m = _markets[vc.marketId];
        Position storage pos = _positions[c][vc.marketId];
        uint256 absC = MarginMath.abs(vc.size);
        delta = absC < remaining ? absC : remaining;
        _settleFunding(c, m, pos);
        // forge-lint: disable-next-line(unsafe-typecast) delta ≤ |vc.size| ≤ type(int256).max
        int256 closed = vc.size > 0 ? int256(delta) : -int256(delta);
        int256 realized = MarginMath.pnl(closed, pb, vc.entryPrice);
        _addCollateral(c, realized);
        poolBalance -= realized;
        _setSize(c, vc.marketId, m, pos, vc.size - closed);
    }

    /// The bankrupt position valued at the mark and its bankruptcy price (AdlMath.bankruptcyPrice
    /// with deficit −E). `due`: also require ADL enabled, liquidatable and −E > insurance fund.
    function _bankruptcy(address account, uint256 marketId, bool due)
        internal
        view
        returns (PositionValue memory v, uint256 pb)
    {
        _requireMarket(marketId);
        if (due && !_markets[marketId].liq.adlEnabled) revert AdlDisabled(marketId);
        if (_positions[account][marketId].size == 0) revert NoPosition(account, marketId);
        (Health memory h, PositionValue[] memory values) = _healthWithPositions(account);
        // forge-lint: disable-next-line(unsafe-typecast) h.equity < 0 on the right of ||
        if (h.equity >= 0 || (due && (!h.liquidatable || uint256(-h.equity) <= insuranceFund))) {
            revert AdlNotDue(account, h.equity, insuranceFund);
        }
        v = values[_indexOf(values, marketId)];
        bool ok;
        // forge-lint: disable-next-line(unsafe-typecast) h.equity < 0 here (−type(int256).min reverts)
        (ok, pb) = AdlMath.bankruptcyPrice(v.size, v.price, uint256(-h.equity));
        if (!ok) revert NoBankruptcyPrice(account, marketId);
    }

    /// `c`'s position in `marketId` valued at the mark and its ADL score; eligible when it has a
    /// position there with PnL > 0 and account equity > 0 (the side is the caller's check).
    function _adlCandidate(address c, uint256 marketId)
        internal
        view
        returns (bool eligible, PositionValue memory vc, uint256 score)
    {
        if (_positions[c][marketId].size == 0) return (false, vc, 0);
        (Health memory hc, PositionValue[] memory values) = _healthWithPositions(c);
        vc = values[_indexOf(values, marketId)];
        if (vc.pnl <= 0 || hc.equity <= 0) return (false, vc, 0);
        eligible = true;
        // forge-lint: disable-next-line(unsafe-typecast) vc.pnl > 0 and hc.equity > 0 (checked above)
        score = AdlMath.score(uint256(vc.pnl), MarginMath.abs(vc.size), vc.entryPrice, vc.notional, uint256(hc.equity));
    }

    function _settleBadDebt(address account) internal {
        int256 collateral = collateralOf[account];
        if (collateral >= 0) return;
        // forge-lint: disable-next-line(unsafe-typecast) collateral < 0 here (−type(int256).min reverts)
        uint256 deficit = uint256(-collateral);
        uint256 covered = deficit < insuranceFund ? deficit : insuranceFund;
        insuranceFund -= covered;
        uint256 uncovered = deficit - covered;
        badDebt += uncovered;
        // forge-lint: disable-next-line(unsafe-typecast) deficit = −collateral ≤ type(int256).max
        _addCollateral(account, int256(deficit));
        emit BadDebt(account, covered, uncovered);
    }

    // ----------------------------------------------------------------------------------------
    // Views: what the engine reproduces
    // ----------------------------------------------------------------------------------------

    function marketCount() external view returns (uint256) {
        return _markets.length;
    }

    function getMarket(uint256 marketId) external view returns (Market memory) {
        _requireMarket(marketId);
        return _markets[marketId];
    }

    function getTiers(uint256 marketId) external view returns (MarginMath.Tier[] memory tiers, uint256[] memory cums) {
        _requireMarket(marketId);
        return (_tiers[marketId], _cums[marketId]);
    }

    function getPosition(address account, uint256 marketId) external view returns (Position memory) {
        return _positions[account][marketId];
    }

    function accountMarkets(address account) external view returns (uint256[] memory) {
        return _accountMarkets[account];
    }

    /// Mark price in WAD; reverts with StalePrice or InvalidPrice (one feed), TooFewFreshFeeds or
    /// PriceDeviation (an index of several).
    function markPrice(uint256 marketId) external view returns (uint256) {
        _requireMarket(marketId);
        return _markPrice(marketId);
    }

    function indexFeeds(uint256 marketId)
        external
        view
        returns (address[] memory feeds, uint8 minSources, uint32 maxDeviationPpm)
    {
        _requireMarket(marketId);
        IndexConfig storage ix = _index[marketId];
        feeds = new address[](ix.feeds.length);
        for (uint256 i = 0; i < feeds.length; i++) {
            feeds[i] = ix.feeds[i].feed;
        }
        return (feeds, ix.minSources, ix.maxDeviationPpm);
    }

    /// The ADL ranking score of `account`'s position in `marketId` (PnL% × effective leverage,
    /// WAD); 0 when it has no position there, PnL ≤ 0 or equity ≤ 0.
    function adlScore(address account, uint256 marketId) external view returns (uint256 score) {
        _requireMarket(marketId);
        (,, score) = _adlCandidate(account, marketId);
    }

    /// The price at which `account`'s position in `marketId` would be deleveraged now; reverts
    /// AdlNotDue when the account's equity is not negative, NoBankruptcyPrice for a short whose
    /// deficit reaches zero price.
    function bankruptcyPrice(address account, uint256 marketId) external view returns (uint256 pb) {
        (, pb) = _bankruptcy(account, marketId, false);
    }

    function fundingIndexNow(uint256 marketId) external view returns (int256) {
        _requireMarket(marketId);
        return _fundingIndexNow(_markets[marketId]);
    }

    function maintenanceMargin(uint256 marketId, uint256 notional_) external view returns (uint256) {
        _requireMarket(marketId);
        return MarginMath.maintenanceMargin(_tiers[marketId], _cums[marketId], notional_);
    }

    function initialMargin(uint256 marketId, uint256 notional_) external view returns (uint256) {
        _requireMarket(marketId);
        return MarginMath.initialMargin(_tiers[marketId], notional_);
    }

    function accountHealth(address account) external view returns (Health memory) {
        return _health(account);
    }

    function isLiquidatable(address account) external view returns (bool) {
        return _health(account).liquidatable;
    }

    function positionValues(address account) external view returns (PositionValue[] memory values) {
        (, values) = _healthWithPositions(account);
    }

    /// The largest slice of `account`'s position in `marketId` a keeper may liquidate now.
    function maxLiquidatable(address account, uint256 marketId) external view returns (uint256) {
        _requireMarket(marketId);
        if (_positions[account][marketId].size == 0) return 0;
        (Health memory h, PositionValue[] memory values) = _healthWithPositions(account);
        if (!h.liquidatable) return 0;
        return _maxSlice(_markets[marketId], marketId, h, values[_indexOf(values, marketId)]);
    }

    /// The penalty a slice of `size` would pay now, and its split.
    function quoteLiquidation(address account, uint256 marketId, uint256 size)
        external
        view
        returns (uint256 penalty_, uint256 keeperReward, uint256 insuranceShare)
    {
        _requireMarket(marketId);
        Health memory h = _health(account);
        uint256 price = _markPrice(marketId);
        penalty_ =
            MarginMath.penalty(MarginMath.notional(size, price), _markets[marketId].liq.penaltyPpm, h.equity);
        (keeperReward, insuranceShare) =
            MarginMath.splitPenalty(penalty_, globalLiquidation.keeperSharePpm, TOKEN_SCALE);
    }

    // ----------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------

    function _health(address account) internal view returns (Health memory h) {
        (h,) = _healthWithPositions(account);
    }

    function _healthWithPositions(address account)
        internal
        view
        returns (Health memory h, PositionValue[] memory values)
    {
        uint256[] storage ids = _accountMarkets[account];
        values = new PositionValue[](ids.length);
        h.collateral = collateralOf[account];
        h.equity = h.collateral;
        for (uint256 i = 0; i < ids.length; i++) {
            PositionValue memory v = _value(account, ids[i]);
            values[i] = v;
            h.equity += v.pnl - v.funding;
            h.maintenance += v.maintenance;
            h.initial += v.initial;
            h.target += v.target;
        }
        h.liquidatable = h.equity < h.maintenance.toInt256();
        h.backstop = h.liquidatable
            && (h.equity <= 0
                || h.equity * SIGNED_PPM < (uint256(globalLiquidation.backstopPpm) * h.maintenance).toInt256());
        uint256 last = lastPartialAt[account];
        h.cooldownEndsAt = last == 0 ? 0 : last + globalLiquidation.cooldown;
    }

    function _value(address account, uint256 marketId) internal view returns (PositionValue memory v) {
        Market storage m = _markets[marketId];
        Position storage pos = _positions[account][marketId];
        MarginMath.Tier[] memory tiers = _tiers[marketId];
        uint256[] memory cums = _cums[marketId];
        v.marketId = marketId;
        v.size = pos.size;
        v.entryPrice = pos.entryPrice;
        v.price = _markPrice(marketId);
        v.notional = MarginMath.notional(MarginMath.abs(pos.size), v.price);
        v.pnl = MarginMath.pnl(pos.size, v.price, pos.entryPrice);
        v.funding = MarginMath.fundingOwed(pos.size, _fundingIndexNow(m), pos.entryFundingIndex);
        v.maintenance = MarginMath.maintenanceMargin(tiers, cums, v.notional);
        v.initial = MarginMath.initialMargin(tiers, v.notional);
        v.target = MarginMath.targetRequirement(tiers, cums, m.liq.targetBufferPpm, v.notional);
    }

    function _indexOf(PositionValue[] memory values, uint256 marketId) internal pure returns (uint256 i) {
        while (values[i].marketId != marketId) i++;
    }

    /// One feed: its answer, or StalePrice / InvalidPrice. Several: the index of IndexPrice, or
    /// TooFewFreshFeeds / PriceDeviation (docs/reference-market.md, "Index mark price").
    function _markPrice(uint256 marketId) internal view returns (uint256) {
        Market storage m = _markets[marketId];
        IndexConfig storage ix = _index[marketId];
        if (ix.feeds.length > 1) {
            (uint256[] memory values, uint256 k) = IndexPrice.readFresh(ix.feeds, m.params.maxStaleness);
            if (k < ix.minSources) revert TooFewFreshFeeds(marketId, k, ix.minSources);
            (uint256 mark, uint256 spreadPpm) = IndexPrice.aggregate(values, k);
            if (spreadPpm > ix.maxDeviationPpm) revert PriceDeviation(marketId, spreadPpm, ix.maxDeviationPpm);
            return mark;
        }
        (, int256 answer,, uint256 updatedAt,) = AggregatorV3Interface(m.params.feed).latestRoundData();
        if (answer <= 0) revert InvalidPrice(marketId, answer);
        // forge-lint: disable-next-line(block-timestamp) staleness is a time rule (see @dev above)
        if (updatedAt > block.timestamp || block.timestamp - updatedAt > m.params.maxStaleness) {
            revert StalePrice(marketId, updatedAt, m.params.maxStaleness);
        }
        // forge-lint: disable-next-line(unsafe-typecast) answer > 0 (checked above)
        return uint256(answer) * 10 ** (18 - m.feedDecimals);
    }

    function _fundingIndexNow(Market storage m) internal view returns (int256) {
        return MarginMath.fundingIndexAt(m.fundingIndex, m.fundingRate, m.lastFundingTime, block.timestamp);
    }

    /// Move the funding a position owes into collateral (and the pool) and restart its index.
    function _settleFunding(address account, Market storage m, Position storage pos) internal returns (int256 owed) {
        int256 index = _fundingIndexNow(m);
        owed = MarginMath.fundingOwed(pos.size, index, pos.entryFundingIndex);
        pos.entryFundingIndex = index;
        if (owed != 0) {
            _addCollateral(account, -owed);
            poolBalance += owed;
        }
    }

    /// Size-weighted entry price of an increase; rounded against the trader (up for longs).
    function _averageEntry(int256 oldSize, uint256 entryPrice, uint256 absDelta, uint256 price)
        internal
        pure
        returns (uint256)
    {
        uint256 oldAbs = MarginMath.abs(oldSize);
        uint256 sum = oldAbs * entryPrice + absDelta * price;
        uint256 total = oldAbs + absDelta;
        return oldSize > 0 ? MarginMath.ceilDivU(sum, total) : sum / total;
    }

    function _setSize(address account, uint256 marketId, Market storage m, Position storage pos, int256 newSize)
        internal
    {
        int256 oldSize = pos.size;
        if (oldSize > 0) m.longSize -= MarginMath.abs(oldSize);
        else m.shortSize -= MarginMath.abs(oldSize);
        if (newSize > 0) m.longSize += MarginMath.abs(newSize);
        else m.shortSize += MarginMath.abs(newSize);
        pos.size = newSize;
        if (newSize == 0) {
            pos.entryPrice = 0;
            pos.entryFundingIndex = 0;
            _removeMarket(account, marketId);
        }
        emit PositionUpdated(account, marketId, newSize, pos.entryPrice, pos.entryFundingIndex);
    }

    function _removeMarket(address account, uint256 marketId) internal {
        uint256[] storage ids = _accountMarkets[account];
        for (uint256 i = 0; i < ids.length; i++) {
            if (ids[i] == marketId) {
                ids[i] = ids[ids.length - 1];
                ids.pop();
                return;
            }
        }
    }

    function _addCollateral(address account, int256 delta) internal {
        int256 c = collateralOf[account] + delta;
        collateralOf[account] = c;
        totalCollateral += delta;
        emit CollateralUpdated(account, c);
    }

    function _requireMarket(uint256 marketId) internal view {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
    }

    function _setMarketParams(uint256 marketId, MarketParams calldata params) internal {
        if (params.lotSize == 0) revert InvalidLotSize();
        if (params.maxStaleness == 0) revert InvalidStaleness();
        if (params.tradingFeePpm >= PPM) revert InvalidPpm(params.tradingFeePpm);
        uint8 decimals = AggregatorV3Interface(params.feed).decimals();
        if (decimals > 18) revert FeedDecimalsTooLarge(decimals);
        Market storage m = _markets[marketId];
        m.params = params;
        m.feedDecimals = decimals;
        emit MarketParamsUpdated(marketId, params);
    }

    /// The index of one feed, params.feed: minSources 1, no spread guard.
    function _resetIndex(uint256 marketId) internal {
        Market storage m = _markets[marketId];
        IndexConfig storage ix = _index[marketId];
        delete ix.feeds;
        ix.feeds.push(IndexPrice.Feed({feed: m.params.feed, decimals: m.feedDecimals}));
        ix.minSources = 1;
        ix.maxDeviationPpm = 0;
        address[] memory feeds = new address[](1);
        feeds[0] = m.params.feed;
        emit IndexFeedsUpdated(marketId, feeds, 1, 0);
    }

    /// Tiers and liquidation parameters are checked together: the partial-sizing closed form
    /// needs penalty < mmr_0 + buffer so that every tier line has a positive slope.
    function _setTiersAndLiquidation(uint256 marketId, MarginMath.Tier[] memory tiers, LiquidationParams memory liq)
        internal
    {
        uint256 n = tiers.length;
        if (n == 0) revert EmptyTiers();
        if (n > MAX_TIERS) revert TooManyTiers(n, MAX_TIERS);
        if (tiers[0].floor != 0) revert FirstTierFloorNotZero(tiers[0].floor);
        for (uint256 i = 0; i < n; i++) {
            MarginMath.Tier memory t = tiers[i];
            if (t.mmrPpm == 0 || t.maxLeverage == 0 || uint256(t.mmrPpm) * t.maxLeverage >= PPM) {
                revert InvalidTierRate(i, t.mmrPpm, t.maxLeverage);
            }
            if (i > 0) {
                if (t.floor <= tiers[i - 1].floor) revert TierFloorsNotIncreasing(i);
                if (t.mmrPpm <= tiers[i - 1].mmrPpm) revert TierRatesNotIncreasing(i);
                if (t.maxLeverage > tiers[i - 1].maxLeverage) revert TierLeverageIncreasing(i);
            }
        }
        if (liq.maxStepPpm == 0 || liq.maxStepPpm > PPM) revert InvalidPpm(liq.maxStepPpm);
        if (liq.targetBufferPpm >= PPM) revert InvalidPpm(liq.targetBufferPpm);
        uint256 minRate = uint256(tiers[0].mmrPpm) + liq.targetBufferPpm;
        if (liq.penaltyPpm >= minRate) revert PenaltyNotBelowTarget(liq.penaltyPpm, minRate);

        MarginMath.Tier[] storage stored = _tiers[marketId];
        while (stored.length > 0) stored.pop();
        for (uint256 i = 0; i < n; i++) stored.push(tiers[i]);
        _cums[marketId] = MarginMath.cumAmounts(tiers);
        _markets[marketId].liq = liq;
        emit TiersUpdated(marketId, tiers);
        emit LiquidationParamsUpdated(marketId, liq);
    }

    function _setGlobalLiquidationParams(GlobalLiquidationParams memory params) internal {
        if (params.backstopPpm > PPM) revert InvalidPpm(params.backstopPpm);
        if (params.keeperSharePpm > PPM) revert InvalidPpm(params.keeperSharePpm);
        globalLiquidation = params;
        emit GlobalLiquidationParamsUpdated(params);
    }
}
