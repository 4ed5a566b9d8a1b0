// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LibZip} from "../../../node_modules/@chainlink/contracts/src/v0.8/vendor/@eth-optimism/contracts-bedrock/v0.17.3/src/deps/LibZip.sol";

/// @title OpGasPriceOracle
/// @notice The L1 data fee of OP Stack's GasPriceOracle predeploy (0x420000000000000000000000000000000000000F),
///         Ecotone and Fjord, for local chains that do not charge one (Anvil): tests place its code at the
///         predeploy's address with anvil_setCode and its parameters with anvil_setStorageAt. The fee
///         functions have OP's names and selectors (getL1Fee, getL1FeeUpperBound, l1BaseFee, …) and OP's
///         formulas; the parameters live in this contract's own storage instead of the L1Block predeploy:
///           slot 0 isEcotone, slot 1 isFjord, slot 2 l1BaseFee, slot 3 blobBaseFee,
///           slot 4 baseFeeScalar, slot 5 blobBaseFeeScalar (each a whole slot).
///         Pre-Ecotone (Bedrock) fees are not modelled: getL1Fee reverts before Ecotone.
contract OpGasPriceOracle {
    /// @notice Number of decimals of the scalars.
    uint256 public constant DECIMALS = 6;

    /// @dev Fjord's linear regression from the FastLZ size to the Brotli size (OP's constants).
    int256 private constant COST_INTERCEPT = -42_585_600;
    uint256 private constant COST_FASTLZ_COEF = 836_500;
    uint256 private constant MIN_TRANSACTION_SIZE = 100;

    uint256 private ecotoneSlot;
    uint256 private fjordSlot;
    uint256 public l1BaseFee;
    uint256 public blobBaseFee;
    uint256 private baseFeeScalarSlot;
    uint256 private blobBaseFeeScalarSlot;

    error EcotoneNotActive();
    error FjordNotActive();

    /// @notice Parameters set on deployment (a test that places the code sets the same slots itself).
    constructor(bool ecotone, bool fjord, uint256 l1BaseFee_, uint256 blobBaseFee_, uint32 baseFeeScalar_, uint32 blobBaseFeeScalar_) {
        ecotoneSlot = ecotone ? 1 : 0;
        fjordSlot = fjord ? 1 : 0;
        l1BaseFee = l1BaseFee_;
        blobBaseFee = blobBaseFee_;
        baseFeeScalarSlot = baseFeeScalar_;
        blobBaseFeeScalarSlot = blobBaseFeeScalar_;
    }

    /// @notice Whether the chain has gone through the Ecotone upgrade.
    function isEcotone() public view returns (bool) {
        return ecotoneSlot != 0;
    }

    /// @notice Whether the chain has gone through the Fjord upgrade.
    function isFjord() public view returns (bool) {
        return fjordSlot != 0;
    }

    /// @notice The current base fee scalar.
    function baseFeeScalar() public view returns (uint32) {
        // forge-lint: disable-next-line(unsafe-typecast) the slot only ever holds a uint32 (constructor, tests)
        return uint32(baseFeeScalarSlot);
    }

    /// @notice The current blob base fee scalar.
    function blobBaseFeeScalar() public view returns (uint32) {
        // forge-lint: disable-next-line(unsafe-typecast) the slot only ever holds a uint32 (constructor, tests)
        return uint32(blobBaseFeeScalarSlot);
    }

    /// @notice The L1 fee of an unsigned, fully RLP-encoded transaction.
    function getL1Fee(bytes memory data) external view returns (uint256) {
        if (isFjord()) return _fjordL1Cost(LibZip.flzCompress(data).length + 68);
        if (!isEcotone()) revert EcotoneNotActive();
        uint256 scaledBaseFee = uint256(baseFeeScalar()) * 16 * l1BaseFee;
        uint256 scaledBlobBaseFee = uint256(blobBaseFeeScalar()) * blobBaseFee;
        return _calldataGas(data) * (scaledBaseFee + scaledBlobBaseFee) / (16 * 10 ** DECIMALS);
    }

    /// @notice Fjord's upper bound of the L1 fee of an unsigned transaction of `unsignedTxSize` bytes.
    function getL1FeeUpperBound(uint256 unsignedTxSize) external view returns (uint256) {
        if (!isFjord()) revert FjordNotActive();
        uint256 txSize = unsignedTxSize + 68;
        return _fjordL1Cost(txSize + txSize / 255 + 16);
    }

    /// @dev 4 gas per zero byte, 16 per other byte, plus 68 non-zero bytes for the signature.
    function _calldataGas(bytes memory data) internal pure returns (uint256 total) {
        uint256 n = data.length;
        for (uint256 i = 0; i < n; ++i) {
            total += data[i] == 0 ? 4 : 16;
        }
        return total + 68 * 16;
    }

    function _fjordL1Cost(uint256 fastLzSize) internal view returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast) sizes of real transactions are far below 2**255
        int256 estimated = COST_INTERCEPT + int256(COST_FASTLZ_COEF * fastLzSize);
        // forge-lint: disable-next-line(unsafe-typecast) a constant
        int256 floor = int256(MIN_TRANSACTION_SIZE * 1e6);
        if (estimated < floor) estimated = floor;
        uint256 feeScaled = uint256(baseFeeScalar()) * 16 * l1BaseFee + uint256(blobBaseFeeScalar()) * blobBaseFee;
        // forge-lint: disable-next-line(unsafe-typecast) at least `floor`, so positive
        return uint256(estimated) * feeScaled / (10 ** (DECIMALS * 2));
    }
}
