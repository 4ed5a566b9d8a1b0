// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {console} from "forge-std/console.sol";
import {CappedBase} from "./CappedBase.t.sol";
import {CappedHandler} from "./invariant/CappedHandler.sol";

/// @notice Stateful invariants of the capped market under random deposits, withdrawals, trades,
///         price moves, time and liquidations (foundry.toml [invariant]: runs 256, depth 50).
///         No endorsed liquidator and no maxLiquidationPd here: both bypass the capacity on purpose
///         and have their own unit tests.
contract CappedInvariantTest is CappedBase {
    CappedHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new CappedHandler(
            market,
            susd,
            pyth,
            keeper,
            [ETH_FEED, BTC_FEED, NATIVE_FEED],
            [uint256(2000e18), uint256(40_000e18), uint256(2000e18)],
            market.poolBalance()
        );
        vm.deal(address(handler), 100 ether);
        targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](7);
        actions[0] = CappedHandler.deposit.selector;
        actions[1] = CappedHandler.withdraw.selector;
        actions[2] = CappedHandler.trade.selector;
        actions[3] = CappedHandler.movePrice.selector;
        actions[4] = CappedHandler.warp.selector;
        actions[5] = CappedHandler.liquidate.selector;
        actions[6] = CappedHandler.liquidateFlagged.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: actions}));
    }

    /// Every token the market holds is someone's collateral or the pool's.
    function invariant_tokensAreBooked() public view {
        uint256 booked = market.poolBalance();
        for (uint256 i = 0; i < handler.accountCount(); ++i) booked += market.totalCollateralValue(handler.accountIds(i));
        assertEq(susd.balanceOf(address(market)), booked);
    }

    /// What came in (liquidity, deposits) less what went out (withdrawals, rewards) is what it holds,
    /// and the keeper holds exactly the rewards.
    function invariant_valueConserved() public view {
        assertEq(susd.balanceOf(address(market)), handler.ghostIn() - handler.ghostOut());
        assertEq(susd.balanceOf(keeper), handler.ghostRewards());
    }

    function invariant_capacityHonoured() public view {
        assertEq(handler.ghostBeyondCapacity(), 0, "a call liquidated beyond the capacity it found");
        assertEq(handler.ghostWindowExceeded(), 0, "a sliding window holds more than its maximum");
    }

    function invariant_noHealthyAccountFlagged() public view {
        assertEq(handler.ghostHealthyFlagged(), 0);
    }

    function invariant_rewardWithinCaps() public view {
        assertEq(handler.ghostRewardAboveCap(), 0);
    }

    /// Flagged accounts hold no collateral and still have positions.
    function invariant_flaggedAccountsAreSeized() public view {
        uint256[] memory flagged = market.flaggedAccounts();
        for (uint256 i = 0; i < flagged.length; ++i) {
            uint128 id = uint128(flagged[i]);
            assertEq(market.totalCollateralValue(id), 0);
            assertGt(market.getAccountOpenPositions(id).length, 0);
        }
    }

    /// Each market's skew and size are the sum of its positions.
    function invariant_skewAndSizeMatchPositions() public view {
        uint128[2] memory ids = [ETH, BTC];
        for (uint256 m = 0; m < 2; ++m) {
            int256 skewSum;
            uint256 sizeSum;
            for (uint256 i = 0; i < handler.accountCount(); ++i) {
                int128 s = market.getOpenPositionSize(handler.accountIds(i), ids[m]);
                skewSum += s;
                sizeSum += s >= 0 ? uint256(int256(s)) : uint256(-int256(s));
            }
            assertEq(market.skew(ids[m]), skewSum);
            assertEq(market.size(ids[m]), sizeSum);
        }
    }

    /// Coverage of each run, printed with -vv: flags, size liquidated, rewards paid.
    function afterInvariant() public view {
        console.log("flags", handler.ghostFlags(), "liquidated", handler.ghostLiquidated());
        console.log("rewards", handler.ghostRewards());
    }
}
