// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title EmittingMockV3Aggregator
/// @notice Chainlink's MockV3Aggregator (@chainlink/contracts 1.5.0, src/v0.8/shared/mocks), same
///         storage, same functions, same answers, plus the two events every real Chainlink aggregator
///         emits on a new round (AnswerUpdated, NewRound). Chainlink's mock emits nothing, so a keeper
///         that follows a feed by its logs could not follow it. Deployed behind Chainlink's own
///         DataFeedsLegacyAggregatorProxy, which reads it through the AggregatorV2V3Interface
///         functions below. Anyone may publish (like Chainlink's mock): local chains only. One
///         difference: the description is a constructor argument, not a constant.
contract EmittingMockV3Aggregator is AggregatorV3Interface {
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    // forge-lint: disable-next-line(screaming-snake-case-const) Chainlink's version(), by its name
    uint256 public constant override version = 0;

    uint8 public override decimals;
    string public override description;
    int256 public latestAnswer;
    uint256 public latestTimestamp;
    uint256 public latestRound;

    mapping(uint256 => int256) public getAnswer;
    mapping(uint256 => uint256) public getTimestamp;
    mapping(uint256 => uint256) private getStartedAt;

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        updateAnswer(initialAnswer);
    }

    /// Publish a new answer as the next round, timestamped now.
    function updateAnswer(int256 answer) public {
        // forge-lint: disable-next-line(unsafe-typecast) round ids are uint80 in Chainlink's interface; 2^80 rounds are never reached
        updateRoundData(uint80(latestRound + 1), answer, block.timestamp, block.timestamp);
    }

    /// Publish `answer` as round `roundId` with explicit timestamps (to model a stale or delayed feed).
    function updateRoundData(uint80 roundId, int256 answer, uint256 timestamp, uint256 startedAt) public {
        latestRound = roundId;
        latestAnswer = answer;
        latestTimestamp = timestamp;
        getAnswer[roundId] = answer;
        getTimestamp[roundId] = timestamp;
        getStartedAt[roundId] = startedAt;
        emit NewRound(roundId, msg.sender, startedAt);
        emit AnswerUpdated(answer, roundId, timestamp);
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return (roundId, getAnswer[roundId], getStartedAt[roundId], getTimestamp[roundId], roundId);
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        // forge-lint: disable-next-line(unsafe-typecast) latestRound is only ever set from a uint80 round id
        uint80 id = uint80(latestRound);
        return (id, getAnswer[id], getStartedAt[id], getTimestamp[id], id);
    }
}
