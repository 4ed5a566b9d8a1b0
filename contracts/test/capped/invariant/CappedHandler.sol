// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test code: casts are between bounded test values; timestamps are the subject under test.
// forge-lint: disable-start(unsafe-typecast,block-timestamp)

import {Test} from "forge-std/Test.sol";
import {MockPyth} from "@pythnetwork/pyth-sdk-solidity/MockPyth.sol";
import {CappedPerpsMarket} from "../../../src/capped/CappedPerpsMarket.sol";
import {MockSUSD} from "../../../src/capped/MockSUSD.sol";
import {KeeperReward} from "../../../src/capped/KeeperReward.sol";

/// @notice Drives the capped market with random deposits, withdrawals, trades, price moves, time
///         and liquidations, and records in ghost variables what the invariants check: every token
///         that entered or left, each liquidation against the capacity it found and the sliding
///         window, each flag against eligibility just before, each reward against its caps.
contract CappedHandler is Test {
    CappedPerpsMarket internal market;
    MockSUSD internal susd;
    MockPyth internal pyth;
    address internal keeper;
    bytes32[3] internal feeds;
    uint128[2] internal marketIds;
    uint256 internal constant WINDOW = 30;

    address[] public actors;
    uint128[] public accountIds;
    mapping(bytes32 => uint256) public price;

    // value flows
    uint256 public ghostIn; // deposits + liquidity
    uint256 public ghostOut; // withdrawals + rewards
    uint256 public ghostRewards;
    // violations (must stay 0)
    uint256 public ghostHealthyFlagged;
    uint256 public ghostBeyondCapacity;
    uint256 public ghostWindowExceeded;
    uint256 public ghostRewardAboveCap;
    // coverage
    uint256 public ghostFlags;
    uint256 public ghostLiquidated;

    /// Every size liquidated per market: (timestamp, amount), in time order.
    mapping(uint128 => uint256[]) internal liqTimes;
    mapping(uint128 => uint256[]) internal liqAmounts;

    constructor(
        CappedPerpsMarket market_,
        MockSUSD susd_,
        MockPyth pyth_,
        address keeper_,
        bytes32[3] memory feeds_,
        uint256[3] memory prices_,
        uint256 liquidity
    ) {
        (market, susd, pyth, keeper, feeds) = (market_, susd_, pyth_, keeper_, feeds_);
        marketIds = [uint128(1), uint128(2)];
        for (uint256 i = 0; i < 3; ++i) price[feeds_[i]] = prices_[i];
        ghostIn = liquidity;
        for (uint256 i = 0; i < 4; ++i) {
            address a = makeAddr(string(abi.encodePacked("trader", vm.toString(i))));
            actors.push(a);
            susd_.mint(a, 50_000e18);
            vm.startPrank(a);
            susd.approve(address(market_), type(uint256).max);
            uint128 id = market_.createAccount();
            market_.modifyCollateral(id, 0, 50_000e18);
            accountIds.push(id);
            vm.stopPrank();
            ghostIn += 50_000e18;
        }
    }

    // ---- actions --------------------------------------------------------------------------------

    function deposit(uint256 who, uint256 amount) external {
        who = bound(who, 0, actors.length - 1);
        amount = bound(amount, 1e18, 200_000e18);
        susd.mint(actors[who], amount);
        vm.prank(actors[who]);
        try market.modifyCollateral(accountIds[who], 0, int256(amount)) {
            ghostIn += amount;
        } catch {}
    }

    function withdraw(uint256 who, uint256 amount) external {
        who = bound(who, 0, actors.length - 1);
        amount = bound(amount, 1, 200_000e18);
        vm.prank(actors[who]);
        try market.modifyCollateral(accountIds[who], 0, -int256(amount)) {
            ghostOut += amount;
        } catch {}
    }

    /// An order of 1x to 12x the account's collateral, long or short (many fail the margin check).
    function trade(uint256 who, uint256 m, uint256 leverage, bool long) external {
        who = bound(who, 0, actors.length - 1);
        uint128 marketId = marketIds[bound(m, 0, 1)];
        uint256 notional = market.totalCollateralValue(accountIds[who]) * bound(leverage, 1, 12);
        int256 size = int256(notional * 1e18 / price[feeds[bound(m, 0, 1)]]);
        if (!long) size = -size;
        int128 current = market.getOpenPositionSize(accountIds[who], marketId);
        if (size == 0 || (current != 0 && bound(leverage, 0, 3) == 0)) size = -current; // sometimes close
        if (size == 0) return;
        vm.prank(actors[who]);
        try market.commitOrder(marketId, accountIds[who], int128(size), size > 0 ? type(uint256).max : 0) {} catch {}
    }

    /// Moves one market's price by −40 %…+40 % one to twenty seconds later (all feeds republished).
    function movePrice(uint256 m, uint256 bps, uint256 dt) external {
        bytes32 feed = feeds[bound(m, 0, 1)];
        uint256 p = price[feed] * bound(bps, 6_000, 14_000) / 10_000;
        price[feed] = bound(p, 100e18, 200_000e18);
        _refresh(bound(dt, 1, 20));
    }

    function warp(uint256 dt) external {
        _refresh(bound(dt, 1, 45));
    }

    /// Tries every account, starting at a random one (a keeper scans them all).
    function liquidate(uint256 start) external {
        start = bound(start, 0, actors.length - 1);
        for (uint256 k = 0; k < actors.length; ++k) _liquidate(accountIds[(start + k) % actors.length]);
    }

    function _liquidate(uint128 id) internal {
        bool wasFlagged = _isFlagged(id);
        bool eligible = market.canLiquidate(id);
        if (!wasFlagged && !eligible && id % 2 == 0) return; // half the healthy ones are still tried
        uint256 seized = market.totalCollateralValue(id);
        uint256[2] memory caps = _capacities();
        int128[2] memory before = _sizes(id);
        vm.prank(keeper);
        try market.liquidate(id) returns (uint256 reward) {
            if (!wasFlagged) {
                ghostFlags++;
                if (!eligible) ghostHealthyFlagged++;
            }
            _afterLiquidation(id, caps, before, reward, wasFlagged ? 0 : seized);
        } catch {}
    }

    function liquidateFlagged(uint256 n) external {
        uint256[] memory flagged = market.flaggedAccounts();
        n = bound(n, 0, flagged.length);
        // Only a one-account call is checked against per-account sizes; more would need a snapshot
        // per account, and the window check below covers them anyway.
        if (n != 1) {
            uint256[2] memory capsAll = _capacities();
            vm.prank(keeper);
            uint256 total = market.liquidateFlagged(n);
            ghostRewards += total;
            ghostOut += total;
            _checkCapacityUse(capsAll);
            return;
        }
        uint128 id = uint128(flagged[0]);
        uint256[2] memory caps = _capacities();
        int128[2] memory before = _sizes(id);
        vm.prank(keeper);
        uint256 reward = market.liquidateFlagged(1);
        _afterLiquidation(id, caps, before, reward, 0);
    }

    // ---- checks -----------------------------------------------------------------------------------

    function _afterLiquidation(uint128 id, uint256[2] memory caps, int128[2] memory before, uint256 reward, uint256 seized)
        internal
    {
        ghostRewards += reward;
        ghostOut += reward;
        (,, uint256 maxUsd,) = market.getKeeperRewardGuards();
        KeeperReward.Guards memory g;
        (g.minKeeperRewardUsd, g.minKeeperProfitRatioD18, g.maxKeeperRewardUsd, g.maxKeeperScalingRatioD18) =
            market.getKeeperRewardGuards();
        if (reward > maxUsd || reward > KeeperReward.maximumCap(g, seized)) ghostRewardAboveCap++;
        for (uint256 i = 0; i < 2; ++i) {
            uint256 amount = _abs(before[i]) - _abs(market.getOpenPositionSize(id, marketIds[i]));
            if (amount > caps[i]) ghostBeyondCapacity++;
            _record(marketIds[i], amount);
        }
    }

    /// For calls that liquidate several accounts: the total per market against the capacity found.
    function _checkCapacityUse(uint256[2] memory caps) internal {
        for (uint256 i = 0; i < 2; ++i) {
            (uint256 capNow, uint256 maxInWindow,) = market.liquidationCapacity(marketIds[i]);
            uint256 used = caps[i] - capNow;
            if (used > caps[i] || capNow > maxInWindow) ghostBeyondCapacity++;
            _record(marketIds[i], used);
        }
    }

    /// Appends a liquidated amount and checks the sliding window that ends now.
    function _record(uint128 marketId, uint256 amount) internal {
        if (amount == 0) return;
        ghostLiquidated += amount;
        liqTimes[marketId].push(block.timestamp);
        liqAmounts[marketId].push(amount);
        uint256 sum;
        uint256[] storage ts = liqTimes[marketId];
        for (uint256 i = ts.length; i > 0 && ts[i - 1] + WINDOW > block.timestamp; --i) sum += liqAmounts[marketId][i - 1];
        (, uint256 maxInWindow,) = market.liquidationCapacity(marketId);
        if (sum > maxInWindow) ghostWindowExceeded++;
    }

    // ---- helpers --------------------------------------------------------------------------------

    function _refresh(uint256 dt) internal {
        vm.warp(block.timestamp + dt);
        bytes[] memory data = new bytes[](3);
        for (uint256 i = 0; i < 3; ++i) {
            int64 p = int64(int256(price[feeds[i]] / 1e10));
            data[i] = pyth.createPriceFeedUpdateData(feeds[i], p, 0, -8, p, 0, uint64(block.timestamp), 0);
        }
        pyth.updatePriceFeeds{value: pyth.getUpdateFee(data)}(data);
    }

    function _capacities() internal view returns (uint256[2] memory caps) {
        for (uint256 i = 0; i < 2; ++i) (caps[i],,) = market.liquidationCapacity(marketIds[i]);
    }

    function _sizes(uint128 id) internal view returns (int128[2] memory s) {
        for (uint256 i = 0; i < 2; ++i) s[i] = market.getOpenPositionSize(id, marketIds[i]);
    }

    function _isFlagged(uint128 id) internal view returns (bool) {
        uint256[] memory f = market.flaggedAccounts();
        for (uint256 i = 0; i < f.length; ++i) if (f[i] == id) return true;
        return false;
    }

    function _abs(int128 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(int256(x)) : uint256(-int256(x));
    }

    function accountCount() external view returns (uint256) {
        return accountIds.length;
    }
}
