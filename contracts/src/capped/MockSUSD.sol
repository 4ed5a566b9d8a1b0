// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockSUSD
/// @notice An 18-decimal USD token, the collateral of the capped market (Synthetix v3 perps count
///         snxUSD 1:1 as D18 USD; MockUSDC's 6 decimals would not). Anyone may mint: it is a faucet
///         for Anvil and tests, never a token to deploy where value is real.
contract MockSUSD is ERC20 {
    constructor() ERC20("Mock Synthetix USD", "sUSD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
