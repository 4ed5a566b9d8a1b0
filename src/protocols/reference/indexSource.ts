/**
 * The reference market's indexing: the market's state events and its feeds' AnswerUpdated,
 * decoded (events.ts) and reduced (state.ts, reduce.ts). A feed a market starts pointing at is
 * seeded with its decimals() and latestRoundData() at the block that introduces it.
 */
import { decodeFunctionResult, encodeFunctionData, getAddress, type Address, type Hex } from "viem";
import { MockAggregatorV3 } from "../../../abi/MockAggregatorV3.ts";
import type { CallAt, IndexSource } from "../../index/source.ts";
import { BaseError } from "../../lib/errors.ts";
import { decodeIndexLog, indexTopics, type IndexLog } from "./events.ts";
import { IndexState, type FeedSnapshot } from "./state.ts";

export class FeedReadError extends BaseError {
  override name = "FeedReadError";
  constructor(feed: Address, blockHash: Hex, cause?: unknown) {
    super(`cannot read decimals() of feed ${feed} at block ${blockHash}`, { cause });
  }
}

/** A feed's decimals and latest round as of the block with `blockHash`. */
export async function readFeed(call: CallAt, feed: Address, blockHash: Hex): Promise<FeedSnapshot> {
  const abi = MockAggregatorV3.abi;
  const [dec, latest] = await Promise.all([
    call(feed, encodeFunctionData({ abi, functionName: "decimals" }), blockHash),
    call(feed, encodeFunctionData({ abi, functionName: "latestRoundData" }), blockHash),
  ]);
  let decimals: number;
  try {
    if (dec === undefined) throw new Error("decimals() reverted");
    decimals = decodeFunctionResult({ abi, functionName: "decimals", data: dec });
  } catch (e) {
    throw new FeedReadError(feed, blockHash, e);
  }
  if (latest === undefined || latest === "0x") return { decimals, round: undefined };
  const [roundId, answer, , updatedAt] = decodeFunctionResult({ abi, functionName: "latestRoundData", data: latest });
  return { decimals, round: { answer, updatedAt, roundId: BigInt(roundId) } };
}

/** The reference market at `market`: what the indexer reads and how it reduces it. */
export function referenceIndexSource(market: Address): IndexSource<IndexState, IndexLog> {
  const m = getAddress(market);
  return {
    contracts: [m],
    topics: indexTopics,
    decode: (raw) => decodeIndexLog(raw, m),
    createState: (startBlock, maxReorgDepth) => new IndexState({ startBlock, maxReorgDepth }),
    stateFromJSON: (json, maxReorgDepth) => IndexState.fromJSON(json, { maxReorgDepth }),
    needsTimestamp: (log) => IndexState.needsTimestamp(log),
    newSourceOf: (state, log) => state.newFeedOf(log),
    readSeed: readFeed,
    describeSource: (log) => ("marketId" in log.args ? { marketId: Number(log.args.marketId) } : {}),
  };
}
