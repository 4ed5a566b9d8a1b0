// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {CappedMath} from "./CappedMath.sol";
import {KeeperReward} from "./KeeperReward.sol";
import {ICappedPerpsMarket} from "./ICappedPerpsMarket.sol";

/// @title CappedConfig
/// @notice The owner's configuration of the capped market, with Synthetix v3 perps' setter and
///         getter names and argument orders (markets/perps-market/contracts/interfaces/
///         IMarketConfigurationModule.sol, IGlobalPerpsMarketModule.sol, IPerpsMarketFactoryModule.sol).
///         Values are stored as given, as Synthetix does; docs/capped-market.md says how each is used.
abstract contract CappedConfig is ICappedPerpsMarket, Ownable {
    /// storage/PerpsMarketConfiguration.sol Data, the fields this market uses, plus the price data.
    struct MarketConfig {
        bytes32 feedId;
        uint256 strictStalenessTolerance;
        uint256 makerFee;
        uint256 takerFee;
        uint256 skewScale;
        uint256 maxFundingVelocity; // stored and returned, not applied: this market has no funding
        uint256 initialMarginRatioD18;
        uint256 minimumInitialMarginRatioD18;
        uint256 maintenanceMarginScalarD18;
        uint256 flagRewardRatioD18;
        uint256 minimumPositionMargin;
        uint256 maxLiquidationLimitAccumulationMultiplier;
        uint256 maxSecondsInLiquidationWindow;
        uint256 maxLiquidationPd;
        address endorsedLiquidator;
        uint256 maxMarketSize;
    }

    /// What a keeper's transaction costs in USD (our stand-in for Synthetix's KeeperCosts node).
    struct KeeperCostConfig {
        bytes32 nativePriceFeedId; // 0: costs are 0
        uint256 nativeStalenessTolerance;
        uint256 flagGasUnits;
        uint256 liquidateGasUnits;
    }

    mapping(uint128 marketId => MarketConfig) internal _config;
    mapping(uint128 marketId => bool) internal _marketExists;
    uint256[] internal _marketIds;
    KeeperReward.Guards internal _guards;
    KeeperCostConfig internal _keeperCosts;

    constructor(address owner_) Ownable(owner_) {}

    // ---- markets --------------------------------------------------------------------------------

    /// IPerpsMarketFactoryModule.createMarket: ids are chosen by the owner, > 0 and unused.
    function createMarket(uint128 requestedMarketId, string calldata name, string calldata symbol)
        external
        onlyOwner
        returns (uint128)
    {
        if (requestedMarketId == 0 || _marketExists[requestedMarketId]) revert InvalidMarket(requestedMarketId);
        _marketExists[requestedMarketId] = true;
        _marketIds.push(requestedMarketId);
        emit MarketCreated(requestedMarketId, name, symbol);
        return requestedMarketId;
    }

    function getMarkets() external view returns (uint256[] memory marketIds) {
        return _marketIds;
    }

    function updatePriceData(uint128 marketId, bytes32 feedId, uint256 strictStalenessTolerance)
        external
        onlyOwner
    {
        MarketConfig storage c = _validConfig(marketId);
        c.feedId = feedId;
        c.strictStalenessTolerance = strictStalenessTolerance;
    }

    function getPriceData(uint128 marketId) external view returns (bytes32 feedId, uint256 strictStalenessTolerance) {
        MarketConfig storage c = _config[marketId];
        return (c.feedId, c.strictStalenessTolerance);
    }

    function setOrderFees(uint128 marketId, uint256 makerFeeRatio, uint256 takerFeeRatio) external onlyOwner {
        MarketConfig storage c = _validConfig(marketId);
        c.makerFee = makerFeeRatio;
        c.takerFee = takerFeeRatio;
    }

    function getOrderFees(uint128 marketId) external view returns (uint256 makerFee, uint256 takerFee) {
        return (_config[marketId].makerFee, _config[marketId].takerFee);
    }

    function setFundingParameters(uint128 marketId, uint256 skewScale, uint256 maxFundingVelocity)
        external
        onlyOwner
    {
        MarketConfig storage c = _validConfig(marketId);
        c.skewScale = skewScale;
        c.maxFundingVelocity = maxFundingVelocity;
    }

    function getFundingParameters(uint128 marketId)
        external
        view
        returns (uint256 skewScale, uint256 maxFundingVelocity)
    {
        return (_config[marketId].skewScale, _config[marketId].maxFundingVelocity);
    }

    function setLiquidationParameters(
        uint128 marketId,
        uint256 initialMarginRatioD18,
        uint256 minimumInitialMarginRatioD18,
        uint256 maintenanceMarginScalarD18,
        uint256 flagRewardRatioD18,
        uint256 minimumPositionMargin
    ) external onlyOwner {
        MarketConfig storage c = _validConfig(marketId);
        c.initialMarginRatioD18 = initialMarginRatioD18;
        c.minimumInitialMarginRatioD18 = minimumInitialMarginRatioD18;
        c.maintenanceMarginScalarD18 = maintenanceMarginScalarD18;
        c.flagRewardRatioD18 = flagRewardRatioD18;
        c.minimumPositionMargin = minimumPositionMargin;
    }

    function getLiquidationParameters(uint128 marketId)
        external
        view
        returns (
            uint256 initialMarginRatioD18,
            uint256 minimumInitialMarginRatioD18,
            uint256 maintenanceMarginScalarD18,
            uint256 flagRewardRatioD18,
            uint256 minimumPositionMargin
        )
    {
        MarketConfig storage c = _config[marketId];
        return (
            c.initialMarginRatioD18,
            c.minimumInitialMarginRatioD18,
            c.maintenanceMarginScalarD18,
            c.flagRewardRatioD18,
            c.minimumPositionMargin
        );
    }

    function setMaxLiquidationParameters(
        uint128 marketId,
        uint256 maxLiquidationLimitAccumulationMultiplier,
        uint256 maxSecondsInLiquidationWindow,
        uint256 maxLiquidationPd,
        address endorsedLiquidator
    ) external onlyOwner {
        MarketConfig storage c = _validConfig(marketId);
        c.maxLiquidationLimitAccumulationMultiplier = maxLiquidationLimitAccumulationMultiplier;
        c.maxSecondsInLiquidationWindow = maxSecondsInLiquidationWindow;
        c.maxLiquidationPd = maxLiquidationPd;
        c.endorsedLiquidator = endorsedLiquidator;
    }

    function getMaxLiquidationParameters(uint128 marketId)
        external
        view
        returns (
            uint256 maxLiquidationLimitAccumulationMultiplier,
            uint256 maxSecondsInLiquidationWindow,
            uint256 maxLiquidationPd,
            address endorsedLiquidator
        )
    {
        MarketConfig storage c = _config[marketId];
        return (
            c.maxLiquidationLimitAccumulationMultiplier,
            c.maxSecondsInLiquidationWindow,
            c.maxLiquidationPd,
            c.endorsedLiquidator
        );
    }

    function setMaxMarketSize(uint128 marketId, uint256 maxMarketSize) external onlyOwner {
        _validConfig(marketId).maxMarketSize = maxMarketSize;
    }

    function getMaxMarketSize(uint128 marketId) external view returns (uint256 maxMarketSize) {
        return _config[marketId].maxMarketSize;
    }

    // ---- global ---------------------------------------------------------------------------------

    function setKeeperRewardGuards(
        uint256 minKeeperRewardUsd,
        uint256 minKeeperProfitRatioD18,
        uint256 maxKeeperRewardUsd,
        uint256 maxKeeperScalingRatioD18
    ) external onlyOwner {
        _guards = KeeperReward.Guards({
            minKeeperRewardUsd: minKeeperRewardUsd,
            minKeeperProfitRatioD18: minKeeperProfitRatioD18,
            maxKeeperRewardUsd: maxKeeperRewardUsd,
            maxKeeperScalingRatioD18: maxKeeperScalingRatioD18
        });
    }

    function getKeeperRewardGuards()
        external
        view
        returns (
            uint256 minKeeperRewardUsd,
            uint256 minKeeperProfitRatioD18,
            uint256 maxKeeperRewardUsd,
            uint256 maxKeeperScalingRatioD18
        )
    {
        KeeperReward.Guards storage g = _guards;
        return (g.minKeeperRewardUsd, g.minKeeperProfitRatioD18, g.maxKeeperRewardUsd, g.maxKeeperScalingRatioD18);
    }

    function setKeeperCostParameters(
        bytes32 nativePriceFeedId,
        uint256 nativeStalenessTolerance,
        uint256 flagGasUnits,
        uint256 liquidateGasUnits
    ) external onlyOwner {
        _keeperCosts = KeeperCostConfig({
            nativePriceFeedId: nativePriceFeedId,
            nativeStalenessTolerance: nativeStalenessTolerance,
            flagGasUnits: flagGasUnits,
            liquidateGasUnits: liquidateGasUnits
        });
    }

    function getKeeperCostParameters()
        external
        view
        returns (
            bytes32 nativePriceFeedId,
            uint256 nativeStalenessTolerance,
            uint256 flagGasUnits,
            uint256 liquidateGasUnits
        )
    {
        KeeperCostConfig storage k = _keeperCosts;
        return (k.nativePriceFeedId, k.nativeStalenessTolerance, k.flagGasUnits, k.liquidateGasUnits);
    }

    // ---- helpers --------------------------------------------------------------------------------

    function _validConfig(uint128 marketId) internal view returns (MarketConfig storage) {
        if (!_marketExists[marketId]) revert InvalidMarket(marketId);
        return _config[marketId];
    }

    function _maxInWindow(MarketConfig storage c) internal view returns (uint256) {
        return CappedMath.maxLiquidationAmountInWindow(
            c.makerFee, c.takerFee, c.skewScale, c.maxLiquidationLimitAccumulationMultiplier,
            c.maxSecondsInLiquidationWindow
        );
    }

    function _marginParams(MarketConfig storage c) internal view returns (CappedMath.MarginParams memory) {
        return CappedMath.MarginParams({
            skewScale: c.skewScale,
            initialMarginRatioD18: c.initialMarginRatioD18,
            minimumInitialMarginRatioD18: c.minimumInitialMarginRatioD18,
            maintenanceMarginScalarD18: c.maintenanceMarginScalarD18,
            flagRewardRatioD18: c.flagRewardRatioD18,
            minimumPositionMargin: c.minimumPositionMargin,
            maxLiquidationAmountInWindow: _maxInWindow(c)
        });
    }
}
