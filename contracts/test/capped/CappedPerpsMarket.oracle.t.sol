// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {CappedBase} from "./CappedBase.t.sol";
import {ICappedPerpsMarket} from "../../src/capped/ICappedPerpsMarket.sol";
import {PythPull} from "../../src/capped/PythPull.sol";
import {CappedPerpsMarket} from "../../src/capped/CappedPerpsMarket.sol";
import {CappedMath} from "../../src/capped/CappedMath.sol";
import {CappedAccounts} from "../../src/capped/CappedAccounts.sol";

/// @notice Pyth reads, ERC-7412 and the one-transaction multicall (docs/capped-market.md, "Pyth prices").
contract CappedOracleTest is CappedBase {
    function _stale() internal returns (uint128 id) {
        id = _account(alice, 80_000e18);
        _trade(alice, id, ETH, 500e18);
        vm.warp(block.timestamp + STALENESS + 1);
    }

    function _query(bytes32 feed) internal pure returns (bytes memory) {
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = feed;
        return abi.encode(uint8(1), uint64(STALENESS), ids);
    }

    /// fulfillOracleQuery's report: every feed at its (possibly new) price, published now.
    function _report(uint256 ethPrice) internal view returns (bytes memory) {
        bytes[] memory data = new bytes[](3);
        data[0] = _update(ETH_FEED, ethPrice);
        data[1] = _update(BTC_FEED, lastPrice[BTC_FEED]);
        data[2] = _update(NATIVE_FEED, lastPrice[NATIVE_FEED]);
        return abi.encode(data);
    }

    function test_stalePrice_requestsOracleData() public {
        uint128 id = _stale();
        vm.expectRevert(
            abi.encodeWithSelector(ICappedPerpsMarket.OracleDataRequired.selector, address(market), _query(ETH_FEED))
        );
        market.canLiquidate(id);
        vm.expectRevert(
            abi.encodeWithSelector(ICappedPerpsMarket.OracleDataRequired.selector, address(market), _query(NATIVE_FEED))
        );
        market.getKeeperCosts();
        assertEq(market.oracleId(), bytes32("PYTH"));
    }

    function test_unknownFeed_requestsOracleData() public {
        vm.prank(owner);
        market.updatePriceData(BTC, bytes32(uint256(0xdead)), STALENESS);
        vm.expectPartialRevert(ICappedPerpsMarket.OracleDataRequired.selector);
        market.indexPrice(BTC);
    }

    function test_priceFeedNotSetAndInvalidPrice() public {
        vm.prank(owner);
        market.createMarket(3, "Nothing", "NIL");
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.PriceFeedNotSet.selector, uint128(3)));
        market.indexPrice(3);
        _setPrice(BTC_FEED, 0);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.InvalidPrice.selector, BTC_FEED));
        market.indexPrice(BTC);
    }

    function test_multicall_updatesPricesAndLiquidatesInOneTransaction() public {
        uint128 id = _stale();
        bytes[] memory calls = new bytes[](2);
        calls[0] = abi.encodeCall(PythPull.fulfillOracleQuery, (_report(1900e18)));
        calls[1] = abi.encodeCall(CappedPerpsMarket.liquidate, (id));
        uint256 ethBefore = keeper.balance;
        vm.prank(keeper);
        bytes[] memory results = market.multicall{value: 10}(calls);
        assertEq(abi.decode(results[1], (uint256)), 100e18);
        assertEq(keeper.balance, ethBefore - 3 * PYTH_FEE, "the unspent value comes back");
        assertEq(address(market).balance, 0);
        assertEq(market.getOpenPositionSize(id, ETH), 290e18);
    }

    function test_multicall_valueIsOneBudget() public {
        uint128 id = _stale();
        bytes[] memory calls = new bytes[](3);
        calls[0] = abi.encodeCall(PythPull.fulfillOracleQuery, (_report(1900e18)));
        calls[1] = abi.encodeCall(PythPull.fulfillOracleQuery, (_report(1900e18)));
        calls[2] = abi.encodeCall(CappedPerpsMarket.liquidate, (id));
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.FeeRequired.selector, 3 * PYTH_FEE));
        market.multicall{value: 5}(calls);
        vm.prank(keeper);
        market.multicall{value: 6}(calls);
    }

    function test_fulfillOracleQuery_directRefundsAndRequiresFee() public {
        _stale();
        bytes memory report = _report(2000e18);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.FeeRequired.selector, 3 * PYTH_FEE));
        market.fulfillOracleQuery{value: 2}(report);
        uint256 before = keeper.balance;
        vm.prank(keeper);
        market.fulfillOracleQuery{value: 100}(report);
        assertEq(keeper.balance, before - 3 * PYTH_FEE);
        assertEq(market.indexPrice(ETH), 2000e18);
    }

    function test_valueOutsideMulticall_andNestedMulticall() public {
        uint128 id = _account(alice, 80_000e18);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ICappedPerpsMarket.UnexpectedValue.selector, uint256(1)));
        market.liquidate{value: 1}(id);
        bytes[] memory inner = new bytes[](0);
        bytes[] memory calls = new bytes[](1);
        calls[0] = abi.encodeCall(PythPull.multicall, (inner));
        vm.prank(keeper);
        vm.expectRevert(ICappedPerpsMarket.NestedMulticall.selector);
        market.multicall(calls);
    }

    function test_multicall_keepsSenderForAccountCalls() public {
        uint128 id = _account(alice, 1000e18);
        bytes[] memory calls = new bytes[](2);
        calls[0] = abi.encodeCall(PythPull.fulfillOracleQuery, (_report(2000e18)));
        calls[1] = abi.encodeCall(CappedAccounts.modifyCollateral, (id, 0, -100e18));
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        market.multicall{value: 3}(calls);
        assertEq(susd.balanceOf(alice), 100e18);
    }

    function test_pythToD18_scales() public pure {
        assertEq(CappedMath.pythToD18(2000e8, -8), 2000e18);
        assertEq(CappedMath.pythToD18(5, 2), 500e18);
        assertEq(CappedMath.pythToD18(123_456, -20), 1234, "floored below 18 decimals");
        assertEq(CappedMath.pythToD18(1, -18), 1);
    }
}
