// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PerpMarket} from "../PerpMarket.sol";

/// @title SeedablePerpMarket — BENCHMARKS AND TESTS ONLY
/// @notice The reference market plus one owner-only entry point that opens many accounts in one
/// transaction, so a benchmark can seed 100,000 traders in minutes instead of hours. Each account
/// goes through the market's own deposit and trade paths (`_deposit`, `_trade`): every rule is
/// checked (lots, initial margin, pool backing) and every event a keeper indexes is emitted
/// exactly as for a trader's own transactions. The owner pays the deposits. Never deploy this
/// contract anywhere but a local test chain: the owner can open positions for any address.
contract SeedablePerpMarket is PerpMarket {
    struct SeedTrade {
        uint256 marketId;
        int256 sizeDelta;
    }

    struct SeedAccount {
        address account;
        uint256 tokens;
        SeedTrade[] trades;
    }

    constructor(IERC20 token_, GlobalLiquidationParams memory global_) PerpMarket(token_, global_) {}

    /// Deposit `tokens` for each account (paid by the owner), then make its trades as if it sent them.
    function seedAccounts(SeedAccount[] calldata accounts) external onlyOwner nonReentrant {
        for (uint256 i = 0; i < accounts.length; i++) {
            SeedAccount calldata a = accounts[i];
            _deposit(msg.sender, a.account, a.tokens);
            for (uint256 j = 0; j < a.trades.length; j++) {
                _trade(a.account, a.trades[j].marketId, a.trades[j].sizeDelta);
            }
        }
    }
}
