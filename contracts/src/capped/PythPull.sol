// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {CappedMath} from "./CappedMath.sol";
import {ICappedPerpsMarket} from "./ICappedPerpsMarket.sol";

/// @title PythPull
/// @notice Pull-oracle plumbing of the capped market (docs/capped-market.md, "Pyth prices"): Pyth
///         reads that revert with ERC-7412's `OracleDataRequired` when stale, the market's own
///         ERC-7412 `fulfillOracleQuery`, and a payable self-`multicall` so that a keeper can update
///         the prices and liquidate in one transaction.
/// @dev ERC-7412: https://eips.ethereum.org/EIPS/eip-7412. The query format is Synthetix's
///      (markets/perps-market/contracts/external/PythERC7412WrapperModule.sol getLatestPrice).
abstract contract PythPull is ICappedPerpsMarket, ReentrancyGuardTransient {
    /// ERC-7412 query tag for "the latest price, no older than a tolerance" (Synthetix's tag 1).
    uint8 internal constant QUERY_LATEST_PRICE = 1;

    /// The Pyth contract prices are read from and updates are sent to.
    // forge-lint: disable-next-line(screaming-snake-case-immutable) pyth() is the market's interface
    IPyth public immutable pyth;

    /// Set while a multicall runs: its delegatecalls share one msg.value budget.
    bool private transient _inMulticall;
    /// Wei of msg.value already spent on Pyth fees in this call or multicall.
    uint256 private transient _valueSpent;

    constructor(IPyth pyth_) {
        pyth = pyth_;
    }

    /// @dev A delegatecall inherits msg.value, so functions a multicall may carry are payable;
    ///      outside a multicall they take no value.
    modifier noValueOutsideMulticall() {
        _checkValue();
        _;
    }

    /// ERC-7412: the oracle this contract answers queries for.
    function oracleId() external pure returns (bytes32) {
        // forge-lint: disable-next-line(unsafe-typecast) a 4-byte literal, left-aligned in 32 bytes
        return bytes32("PYTH");
    }

    /// ERC-7412: `signedOfflineReport` is `abi.encode(bytes[] updateData)`, Pyth update data (from
    /// Hermes, or MockPyth.createPriceFeedUpdateData in tests). Pays Pyth's fee out of msg.value.
    function fulfillOracleQuery(bytes calldata signedOfflineReport) external payable nonReentrant {
        bytes[] memory updateData = abi.decode(signedOfflineReport, (bytes[]));
        uint256 fee = pyth.getUpdateFee(updateData);
        if (fee > msg.value - _valueSpent) revert FeeRequired(fee);
        _valueSpent += fee;
        pyth.updatePriceFeeds{value: fee}(updateData);
        if (!_inMulticall) _refundUnspent();
    }

    /// Runs each call as a delegatecall to this contract (same sender), reverting with the first
    /// failure's data; refunds the part of msg.value no fulfillOracleQuery spent.
    function multicall(bytes[] calldata calls) external payable returns (bytes[] memory results) {
        if (_inMulticall) revert NestedMulticall();
        _inMulticall = true;
        results = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            results[i] = Address.functionDelegateCall(address(this), calls[i]);
        }
        _inMulticall = false;
        _refundUnspent();
    }

    /// A D18 price no older than `tolerance` seconds, or an ERC-7412 request for one.
    function _pythPrice(bytes32 feedId, uint256 tolerance) internal view returns (uint256) {
        try pyth.getPriceNoOlderThan(feedId, tolerance) returns (PythStructs.Price memory p) {
            if (p.price <= 0) revert InvalidPrice(feedId);
            return CappedMath.pythToD18(p.price, p.expo);
        } catch {
            bytes32[] memory ids = new bytes32[](1);
            ids[0] = feedId;
            revert OracleDataRequired(
                address(this), abi.encode(QUERY_LATEST_PRICE, SafeCast.toUint64(tolerance), ids)
            );
        }
    }

    function _checkValue() internal view {
        if (msg.value != 0 && !_inMulticall) revert UnexpectedValue(msg.value);
    }

    function _refundUnspent() private {
        uint256 rest = msg.value - _valueSpent;
        _valueSpent = 0;
        if (rest == 0) return;
        (bool ok,) = msg.sender.call{value: rest}("");
        if (!ok) revert RefundFailed();
    }
}
