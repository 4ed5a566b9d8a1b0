// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICappedPerpsMarket
/// @notice Events and errors of the capped market (docs/capped-market.md). Those that Synthetix v3
///         perps also has keep its exact signatures (sources: markets/perps-market/contracts/
///         interfaces/ILiquidationModule.sol, IAsyncOrderSettlementPythModule.sol, ICollateralModule.sol,
///         IMarketEvents.sol; core IAccountModule.sol; ERC-7412 for the oracle errors).
interface ICappedPerpsMarket {
    // ---- events (Synthetix signatures) --------------------------------------------------------
    event AccountCreated(uint128 indexed accountId, address indexed owner);
    event CollateralModified(
        uint128 indexed accountId, uint128 indexed collateralId, int256 amountDelta, address indexed sender
    );
    event MarketUpdated(
        uint128 marketId,
        uint256 price,
        int256 skew,
        uint256 size,
        int256 sizeDelta,
        int256 currentFundingRate,
        int256 currentFundingVelocity,
        uint128 interestRate
    );
    event OrderSettled(
        uint128 indexed marketId,
        uint128 indexed accountId,
        uint256 fillPrice,
        int256 pnl,
        int256 accruedFunding,
        int128 sizeDelta,
        int128 newSize,
        uint256 totalFees,
        uint256 referralFees,
        uint256 collectedFees,
        uint256 settlementReward,
        bytes32 indexed trackingCode,
        address settler
    );
    event PositionLiquidated(
        uint128 indexed accountId, uint128 indexed marketId, uint256 amountLiquidated, int128 currentPositionSize
    );
    event AccountFlaggedForLiquidation(
        uint128 indexed accountId,
        int256 availableMargin,
        uint256 requiredMaintenanceMargin,
        uint256 liquidationReward,
        uint256 flagReward
    );
    event AccountLiquidationAttempt(uint128 indexed accountId, uint256 reward, bool fullLiquidation);

    // ---- events (ours) --------------------------------------------------------------------------
    event MarketCreated(uint128 indexed marketId, string name, string symbol);
    event LiquidityDeposited(address indexed sender, uint256 amount);

    // ---- errors (Synthetix names) ---------------------------------------------------------------
    error NotEligibleForLiquidation(uint128 accountId);
    error AccountLiquidatable(uint128 accountId);
    error InvalidMarket(uint128 marketId);
    error PriceFeedNotSet(uint128 marketId);
    error InvalidAmountDelta(int256 amountDelta);
    error InsufficientSynthCollateral(uint128 collateralId, uint256 collateralAmount, uint256 withdrawAmount);
    error InsufficientCollateralAvailableForWithdraw(int256 withdrawableMarginUsd, uint256 requestedMarginUsd);
    error ZeroSizeOrder();
    error AcceptablePriceExceeded(uint256 fillPrice, uint256 acceptablePrice);
    error InsufficientMargin(int256 availableMargin, uint256 minMargin);
    error MaxOpenInterestReached(uint128 marketId, uint256 maxMarketSize, int256 newSideSize);
    error InsufficientAccountMargin(uint256 leftover);

    // ---- errors (ERC-7412) ----------------------------------------------------------------------
    error OracleDataRequired(address oracleContract, bytes oracleQuery);
    error FeeRequired(uint256 feeAmount);

    // ---- errors (ours) --------------------------------------------------------------------------
    error AccountNotFound(uint128 accountId);
    error PermissionDenied(uint128 accountId, address sender);
    error UnsupportedCollateral(uint128 collateralId);
    error InsufficientPoolBalance(uint256 required, uint256 available);
    error InvalidPrice(bytes32 feedId);
    error NestedMulticall();
    error UnexpectedValue(uint256 value);
    error RefundFailed();
}
