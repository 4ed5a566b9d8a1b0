// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: the casts below build the out-of-range amounts under test.
// forge-lint: disable-start(unsafe-typecast)

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Base} from "./Base.t.sol";

/// @notice Issue 12, defect 9: amounts that do not fit in int256 are refused with SafeCast's
///         error, where a bare `int256(...)` used to wrap them to a negative number. The amounts
///         are real token amounts (MockUSDC mints freely): `tokens × 1e12` just above 2^255 − 1.
contract PerpMarketCastsTest is Base {
    /// The smallest token amount whose WAD value (× 1e12) does not fit in int256.
    uint256 internal constant HUGE_TOKENS = uint256(type(int256).max) / SCALE + 1;

    function _overflow(uint256 wad) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintToInt.selector, wad);
    }

    function _fund(address who, uint256 tokens) internal {
        usdc.mint(who, tokens);
        vm.prank(who);
        usdc.approve(address(market), type(uint256).max);
    }

    /// Before: the deposit went through and credited a negative collateral (the wrapped amount).
    function test_defect9_deposit_wadAboveInt256Max_reverts() public {
        _fund(alice, HUGE_TOKENS);
        vm.expectRevert(_overflow(HUGE_TOKENS * SCALE));
        vm.prank(alice);
        market.deposit(alice, HUGE_TOKENS);
        assertEq(market.collateralOf(alice), 0);
    }

    /// Before: the pool was funded with a negative balance (the wrapped amount).
    function test_defect9_fundPool_wadAboveInt256Max_reverts() public {
        int256 poolBefore = market.poolBalance();
        _fund(lp, HUGE_TOKENS);
        vm.expectRevert(_overflow(HUGE_TOKENS * SCALE));
        vm.prank(lp);
        market.fundPool(HUGE_TOKENS);
        assertEq(market.poolBalance(), poolBefore);
    }

    /// Before: the wrapped debit passed the collateral check, and only the overflow of the
    /// credited (negated) amount stopped it, with a bare arithmetic panic.
    function test_defect9_withdraw_wadAboveInt256Max_reverts() public {
        _deposit(alice, 1_000e6);
        vm.expectRevert(_overflow(HUGE_TOKENS * SCALE));
        vm.prank(alice);
        market.withdraw(HUGE_TOKENS * SCALE);
    }

    /// Before: the wrapped amount passed the liquidity check, and only an arithmetic panic on
    /// the pool balance stopped it.
    function test_defect9_withdrawPool_wadAboveInt256Max_reverts() public {
        vm.expectRevert(_overflow(HUGE_TOKENS * SCALE));
        market.withdrawPool(HUGE_TOKENS);
    }
}
