// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MockUSDC} from "../../src/MockUSDC.sol";

/// @notice What ReentrantToken calls during a transfer.
interface ITransferHook {
    function onTokenTransfer(address from, address to, uint256 value) external;
}

/// @title ReentrantToken
/// @notice Test-only 6-decimal collateral token whose transfers call back into a hook, the way an
///         ERC-777 / ERC-1363 token or a malicious collateral would: every balance change made by
///         `trigger` (the market under attack: its `transfer` and `transferFrom` calls) calls
///         `hook.onTokenTransfer` either before the balances move (ERC-777 `tokensToSend`) or
///         after (`tokensReceived`). Mints and transfers made by anyone else do not call the hook,
///         so every hook call runs inside a market call: each one is a genuine reentry.
/// @dev Anyone may set the hook: this token exists only to attack a market in tests.
contract ReentrantToken is MockUSDC {
    address public hook;
    address public trigger;
    bool public hookBeforeUpdate;
    bool private _inHook;

    function setHook(address hook_, address trigger_) external {
        hook = hook_;
        trigger = trigger_;
    }

    function setHookBeforeUpdate(bool before) external {
        hookBeforeUpdate = before;
    }

    function _update(address from, address to, uint256 value) internal override {
        bool fire = hook != address(0) && msg.sender == trigger && !_inHook;
        if (fire && hookBeforeUpdate) _callHook(from, to, value);
        super._update(from, to, value);
        if (fire && !hookBeforeUpdate) _callHook(from, to, value);
    }

    /// One hook call per transfer: a transfer made by a reentrant call that got through does not
    /// call the hook again (no unbounded recursion; the first reentry is the attack).
    function _callHook(address from, address to, uint256 value) private {
        _inHook = true;
        ITransferHook(hook).onTokenTransfer(from, to, value);
        _inHook = false;
    }
}
