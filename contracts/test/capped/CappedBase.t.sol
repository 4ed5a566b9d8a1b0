// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Test} from "forge-std/Test.sol";
import {MockPyth} from "@pythnetwork/pyth-sdk-solidity/MockPyth.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {CappedPerpsMarket} from "../../src/capped/CappedPerpsMarket.sol";
import {MockSUSD} from "../../src/capped/MockSUSD.sol";

/// @notice Shared fixture for the capped market: MockSUSD, Pyth's MockPyth (60 s valid period,
///         1 wei per update), and a market with ETH (id 1) and BTC (id 2) configured as the worked
///         example of docs/capped-market.md, a native-token feed for keeper costs, a funded pool,
///         and helpers to publish prices and act as traders and keepers.
abstract contract CappedBase is Test {
    uint256 internal constant UNIT = 1e18;
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant STALENESS = 60;
    uint256 internal constant PYTH_FEE = 1;
    uint128 internal constant ETH = 1;
    uint128 internal constant BTC = 2;
    bytes32 internal constant ETH_FEED = bytes32(uint256(0xe7));
    bytes32 internal constant BTC_FEED = bytes32(uint256(0xb7));
    bytes32 internal constant NATIVE_FEED = bytes32(uint256(0x4a));

    MockSUSD internal susd;
    MockPyth internal pyth;
    CappedPerpsMarket internal market;

    address internal owner = makeAddr("owner");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal keeper = makeAddr("keeper");
    address internal lp = makeAddr("lp");

    /// The D18 price last published per feed (re-published by `_refresh`).
    mapping(bytes32 => uint256) internal lastPrice;

    function setUp() public virtual {
        vm.warp(T0);
        vm.fee(1 gwei);
        susd = new MockSUSD();
        pyth = new MockPyth(STALENESS, PYTH_FEE);
        market = new CappedPerpsMarket(IERC20(address(susd)), IPyth(address(pyth)), owner);
        vm.startPrank(owner);
        _createMarket(ETH, "Ether", "ETH", ETH_FEED);
        _createMarket(BTC, "Bitcoin", "BTC", BTC_FEED);
        market.setKeeperRewardGuards(1e18, 0.05e18, 100e18, 0.01e18);
        market.setKeeperCostParameters(NATIVE_FEED, STALENESS, 400_000, 600_000);
        vm.stopPrank();
        _publish(ETH_FEED, 2000e18);
        _publish(BTC_FEED, 40_000e18);
        _publish(NATIVE_FEED, 2000e18);
        susd.mint(lp, 10_000_000e18);
        vm.startPrank(lp);
        susd.approve(address(market), type(uint256).max);
        market.depositLiquidity(5_000_000e18);
        vm.stopPrank();
        vm.deal(keeper, 1 ether);
    }

    /// The worked example's ETH parameters; BTC gets the same ratios over its own skew scale.
    function _createMarket(uint128 id, string memory name, string memory symbol, bytes32 feed) internal {
        market.createMarket(id, name, symbol);
        market.updatePriceData(id, feed, STALENESS);
        market.setOrderFees(id, 0.0002e18, 0.0005e18);
        market.setFundingParameters(id, id == ETH ? 10_000e18 : 500e18, 0);
        market.setLiquidationParameters(id, 1e18, 0.02e18, 0.5e18, 0.0003e18, 50e18);
        market.setMaxLiquidationParameters(id, 1e18, 30, 0, address(0));
        market.setMaxMarketSize(id, id == ETH ? 1_000_000e18 : 50_000e18);
    }

    // ---- prices ---------------------------------------------------------------------------------

    /// Pyth update data for a D18 price, as 8-decimal Pyth (expo −8), published now.
    function _update(bytes32 feed, uint256 price18) internal view returns (bytes memory) {
        int64 p = int64(int256(price18 / 1e10));
        return pyth.createPriceFeedUpdateData(feed, p, 0, -8, p, 0, uint64(block.timestamp), 0);
    }

    /// Publishes directly on MockPyth (no keeper involved).
    function _publish(bytes32 feed, uint256 price18) internal {
        bytes[] memory data = new bytes[](1);
        data[0] = _update(feed, price18);
        pyth.updatePriceFeeds{value: PYTH_FEE}(data);
        lastPrice[feed] = price18;
    }

    /// Moves time one second forward (MockPyth keeps only newer publish times) and publishes
    /// `price18` on `feed` and every other feed at its last price.
    function _setPrice(bytes32 feed, uint256 price18) internal {
        lastPrice[feed] = price18;
        _warpAndRefresh(1);
    }

    /// Moves time forward and republishes every feed at its last price (so nothing is stale).
    function _warpAndRefresh(uint256 secondsForward) internal {
        vm.warp(block.timestamp + secondsForward);
        _publish(ETH_FEED, lastPrice[ETH_FEED]);
        _publish(BTC_FEED, lastPrice[BTC_FEED]);
        _publish(NATIVE_FEED, lastPrice[NATIVE_FEED]);
    }

    // ---- traders --------------------------------------------------------------------------------

    function _account(address who, uint256 deposit) internal returns (uint128 id) {
        susd.mint(who, deposit);
        vm.startPrank(who);
        susd.approve(address(market), type(uint256).max);
        id = market.createAccount();
        if (deposit > 0) market.modifyCollateral(id, 0, int256(deposit));
        vm.stopPrank();
    }

    function _trade(address who, uint128 id, uint128 marketId, int128 sizeDelta) internal {
        vm.prank(who);
        market.commitOrder(marketId, id, sizeDelta, sizeDelta > 0 ? type(uint256).max : 0);
    }

    /// Σ collateral over `ids` plus the pool: what the market must hold.
    function _booked(uint128[] memory ids) internal view returns (uint256 total) {
        total = market.poolBalance();
        for (uint256 i = 0; i < ids.length; ++i) total += market.totalCollateralValue(ids[i]);
    }
}
