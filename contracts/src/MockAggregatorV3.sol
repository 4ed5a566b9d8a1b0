// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title MockAggregatorV3
/// @notice A Chainlink-compatible price feed for local chains: the owner publishes answers.
///         Emits the same `AnswerUpdated` and `NewRound` events as Chainlink's aggregators, so a
///         keeper that watches a real feed watches this one the same way.
contract MockAggregatorV3 is AggregatorV3Interface, Ownable {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    error NoDataPresent();

    // forge-lint: disable-next-line(screaming-snake-case-immutable) Chainlink's decimals(), by its name
    uint8 public immutable override decimals;
    string public override description;
    // forge-lint: disable-next-line(screaming-snake-case-const) Chainlink's version(), by its name
    uint256 public constant override version = 4;

    uint80 public latestRound;
    mapping(uint80 => Round) private rounds;

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) Ownable(msg.sender) {
        decimals = decimals_;
        description = description_;
        if (initialAnswer != 0) _publish(initialAnswer, block.timestamp);
    }

    /// Publish a new answer, timestamped now.
    function updateAnswer(int256 answer) external onlyOwner {
        _publish(answer, block.timestamp);
    }

    /// Publish a new answer with an explicit timestamp (to model a stale or delayed feed).
    function updateAnswerAt(int256 answer, uint256 updatedAt) external onlyOwner {
        _publish(answer, updatedAt);
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = rounds[roundId];
        if (r.updatedAt == 0) revert NoDataPresent();
        return (roundId, r.answer, r.startedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        uint80 id = latestRound;
        if (id == 0) revert NoDataPresent();
        Round memory r = rounds[id];
        return (id, r.answer, r.startedAt, r.updatedAt, id);
    }

    function latestAnswer() external view returns (int256) {
        return rounds[latestRound].answer;
    }

    function _publish(int256 answer, uint256 updatedAt) private {
        uint80 id = latestRound + 1;
        latestRound = id;
        rounds[id] = Round({answer: answer, startedAt: updatedAt, updatedAt: updatedAt});
        emit NewRound(id, msg.sender, updatedAt);
        emit AnswerUpdated(answer, id, updatedAt);
    }
}
