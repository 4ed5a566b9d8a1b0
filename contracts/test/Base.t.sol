// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PerpMarket} from "../src/PerpMarket.sol";
import {MarginMath} from "../src/MarginMath.sol";
import {MockAggregatorV3} from "../src/MockAggregatorV3.sol";
import {MockUSDC} from "../src/MockUSDC.sol";

/// @notice Shared fixture: a MockUSDC, 8-decimal mock feeds, and a PerpMarket with two markets
///         (BTC with the reference tier table, ETH with a second table), a funded pool and insurance
///         fund, and helpers to act as traders and keepers.
/// @dev Derived suites change parameters by overriding the virtual `_…()` hooks before setUp runs.
abstract contract Base is Test {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant PPM = 1e6;
    uint256 internal constant SCALE = 1e12; // token unit (1e-6) → WAD
    uint32 internal constant STALENESS = 3600;
    uint256 internal constant T0 = 1_700_000_000;

    uint256 internal constant BTC_LOT = 1e15; // 0.001 BTC
    uint256 internal constant ETH_LOT = 1e16; // 0.01 ETH

    MockUSDC internal usdc;
    PerpMarket internal market;
    MockAggregatorV3 internal btcFeed;
    MockAggregatorV3 internal ethFeed;
    uint256 internal BTC;
    uint256 internal ETH;

    /// Feed of each market id, for `_setPrice`.
    mapping(uint256 => MockAggregatorV3) internal feedOf;
    uint256[] internal allMarkets;

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal keeper = makeAddr("keeper");
    address internal lp = makeAddr("lp");

    // ----------------------------------------------------------------------------------------
    // Parameter hooks (override to change the fixture)
    // ----------------------------------------------------------------------------------------

    function _globalParams() internal view virtual returns (PerpMarket.GlobalLiquidationParams memory) {
        return PerpMarket.GlobalLiquidationParams({cooldown: 30, backstopPpm: 666_667, keeperSharePpm: 500_000});
    }

    /// the worked-example liquidation parameters: penalty 0.5%, buffer 0.5%, no step cap,
    /// no partial threshold, no dust rule.
    function _liqParams() internal view virtual returns (PerpMarket.LiquidationParams memory) {
        return PerpMarket.LiquidationParams({
            penaltyPpm: 5000,
            targetBufferPpm: 5000,
            maxStepPpm: 1_000_000,
            tierStepDown: false,
            partialThreshold: 0,
            dustNotional: 0,
            adlEnabled: false
        });
    }

    function _tradingFeePpm() internal view virtual returns (uint32) {
        return 0;
    }

    function _poolTokens() internal view virtual returns (uint256) {
        return 10_000_000e6;
    }

    function _insuranceTokens() internal view virtual returns (uint256) {
        return 50_000e6;
    }

    /// the reference tier table: 0–50k at 0.40% (125x), 50k–250k at 0.50% (100x), 250k+ at 1.00% (50x).
    function _btcTiers() internal pure returns (MarginMath.Tier[] memory t) {
        t = new MarginMath.Tier[](3);
        t[0] = MarginMath.Tier({floor: 0, mmrPpm: 4000, maxLeverage: 125});
        t[1] = MarginMath.Tier({floor: 50_000e18, mmrPpm: 5000, maxLeverage: 100});
        t[2] = MarginMath.Tier({floor: 250_000e18, mmrPpm: 10_000, maxLeverage: 50});
    }

    /// A second table: 0–100k at 0.50% (100x), 100k–500k at 0.75% (66x), 500k+ at 1.50% (33x).
    function _ethTiers() internal pure returns (MarginMath.Tier[] memory t) {
        t = new MarginMath.Tier[](3);
        t[0] = MarginMath.Tier({floor: 0, mmrPpm: 5000, maxLeverage: 100});
        t[1] = MarginMath.Tier({floor: 100_000e18, mmrPpm: 7500, maxLeverage: 66});
        t[2] = MarginMath.Tier({floor: 500_000e18, mmrPpm: 15_000, maxLeverage: 33});
    }

    // ----------------------------------------------------------------------------------------
    // Fixture
    // ----------------------------------------------------------------------------------------

    function setUp() public virtual {
        vm.warp(T0);
        usdc = new MockUSDC();
        market = new PerpMarket(IERC20(address(usdc)), _globalParams());
        btcFeed = new MockAggregatorV3(8, "BTC / USD", 60_000e8);
        ethFeed = new MockAggregatorV3(8, "ETH / USD", 3_000e8);
        BTC = _addMarket(btcFeed, BTC_LOT, _btcTiers());
        ETH = _addMarket(ethFeed, ETH_LOT, _ethTiers());

        usdc.mint(lp, _poolTokens() + _insuranceTokens());
        vm.startPrank(lp);
        usdc.approve(address(market), type(uint256).max);
        market.fundPool(_poolTokens());
        market.fundInsurance(_insuranceTokens());
        vm.stopPrank();

        vm.label(address(market), "PerpMarket");
        vm.label(address(usdc), "USDC");
    }

    function _addMarket(MockAggregatorV3 feed, uint256 lot, MarginMath.Tier[] memory tiers)
        internal
        returns (uint256 id)
    {
        id = market.addMarket(_marketParams(feed, lot), _liqParams(), tiers);
        feedOf[id] = feed;
        allMarkets.push(id);
    }

    function _marketParams(MockAggregatorV3 feed, uint256 lot) internal view returns (PerpMarket.MarketParams memory) {
        return PerpMarket.MarketParams({
            feed: address(feed),
            maxStaleness: STALENESS,
            tradingFeePpm: _tradingFeePpm(),
            lotSize: lot
        });
    }

    // ----------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------

    /// Mint `tokens` (6 decimals) to `who` and deposit them as `who`'s collateral.
    function _deposit(address who, uint256 tokens) internal {
        usdc.mint(who, tokens);
        vm.startPrank(who);
        usdc.approve(address(market), tokens);
        market.deposit(who, tokens);
        vm.stopPrank();
    }

    function _trade(address who, uint256 marketId, int256 sizeDelta) internal {
        vm.prank(who);
        market.trade(marketId, sizeDelta);
    }

    /// Deposit `collateralTokens` and open `size` in `marketId` at the current mark.
    function _open(address who, uint256 marketId, int256 size, uint256 collateralTokens) internal {
        if (collateralTokens != 0) _deposit(who, collateralTokens);
        _trade(who, marketId, size);
    }

    /// Publish `priceWad` (18 decimals) on the market's 8-decimal feed, timestamped now.
    function _setPrice(uint256 marketId, uint256 priceWad) internal {
        require(priceWad % 1e10 == 0, "price not representable with 8 decimals");
        feedOf[marketId].updateAnswer(int256(priceWad / 1e10));
    }

    /// Advance time and re-publish every feed's last answer so that prices stay fresh.
    function _warp(uint256 secs) internal {
        vm.warp(block.timestamp + secs);
        for (uint256 i = 0; i < allMarkets.length; i++) {
            MockAggregatorV3 f = feedOf[allMarkets[i]];
            f.updateAnswer(f.latestAnswer());
        }
    }

    function _liquidate(address as_, address account, uint256 marketId, uint256 size) internal returns (uint256) {
        vm.prank(as_);
        return market.liquidate(account, marketId, size);
    }

    function _setLiq(uint256 marketId, PerpMarket.LiquidationParams memory p) internal {
        market.setLiquidationParams(marketId, p);
    }

    function _setGlobal(uint32 cooldown, uint32 backstopPpm, uint32 keeperSharePpm) internal {
        market.setGlobalLiquidationParams(
            PerpMarket.GlobalLiquidationParams({
                cooldown: cooldown,
                backstopPpm: backstopPpm,
                keeperSharePpm: keeperSharePpm
            })
        );
    }

    function _setFee(uint256 marketId, uint32 feePpm) internal {
        PerpMarket.MarketParams memory p = market.getMarket(marketId).params;
        p.tradingFeePpm = feePpm;
        market.setMarketParams(marketId, p);
    }

    function _health(address account) internal view returns (PerpMarket.Health memory) {
        return market.accountHealth(account);
    }

    function _size(address account, uint256 marketId) internal view returns (int256) {
        return market.getPosition(account, marketId).size;
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    /// Value conservation, to the wei:
    /// tokens held × 1e12 == Σ collateral + pool + insurance fund − bad debt.
    function assertConserved() internal view {
        int256 held = int256(usdc.balanceOf(address(market)) * SCALE);
        int256 accounted = market.totalCollateral() + market.poolBalance() + int256(market.insuranceFund())
            - int256(market.badDebt());
        assertEq(held, accounted, "value conservation: tokens x 1e12 != collateral + pool + insurance - badDebt");
    }

    /// The liquidation event of the last call recorded with vm.recordLogs (reverts if none).
    struct LiqEvent {
        address account;
        uint256 marketId;
        address keeper;
        uint256 size;
        uint256 price;
        uint256 penalty;
        uint256 keeperReward;
        uint256 insuranceShare;
        int256 remainingSize;
        bool full;
    }

    function _lastLiquidation() internal returns (LiqEvent memory e) {
        return _decodeLiquidation(vm.getRecordedLogs());
    }

    function _decodeLiquidation(Vm.Log[] memory logs) internal view returns (LiqEvent memory e) {
        bool found;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != PerpMarket.Liquidated.selector) continue;
            e.account = address(uint160(uint256(logs[i].topics[1])));
            e.marketId = uint256(logs[i].topics[2]);
            e.keeper = address(uint160(uint256(logs[i].topics[3])));
            (e.size, e.price, e.penalty, e.keeperReward, e.insuranceShare, e.remainingSize, e.full) =
                abi.decode(logs[i].data, (uint256, uint256, uint256, uint256, uint256, int256, bool));
            found = true;
        }
        require(found, "no Liquidated event");
    }
}
// forge-lint: disable-end(unsafe-typecast,block-timestamp)
