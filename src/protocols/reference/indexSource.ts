/**
 * The reference market's indexing: the market's state events and its feeds' events, decoded
 * (events.ts) and reduced (state.ts, reduce.ts). A feed a market starts pointing at is seeded with
 * its decimals() and latestRoundData() at the block that introduces it, and, when it is a Chainlink
 * proxy, its aggregator() and phaseId(): the indexer then reads the proxy's logs (AggregatorConfirmed)
 * and its aggregator's (AnswerUpdated). A proxy that confirms an aggregator no feed follows is
 * seeded again, through the proxy, at the block of the switch.
 */
import { getAddress, type Address, type Hex } from "viem";
import { readAggregatorAt, readFeedAt, readPhaseIdAt } from "../../chain/chainlink.ts";
import type { CallAt, IndexSource } from "../../index/source.ts";
import { decodeIndexLog, indexTopics, type IndexLog } from "./events.ts";
import type { FeedSnapshot } from "./feeds.ts";
import { IndexState } from "./state.ts";

/**
 * A feed's decimals and latest round as of the block with `blockHash`, with its aggregator and phase
 * if it is a proxy. The aggregator is taken for a proxy's only when it answers phaseId() too.
 */
export async function readFeed(call: CallAt, feed: Address, blockHash: Hex): Promise<FeedSnapshot> {
  const [snap, aggregator, phaseId] = await Promise.all([
    readFeedAt(call, feed, blockHash),
    readAggregatorAt(call, feed, blockHash),
    readPhaseIdAt(call, feed, blockHash),
  ]);
  const round = snap.round && { answer: snap.round.answer, updatedAt: snap.round.updatedAt, roundId: snap.round.roundId };
  if (aggregator === undefined || phaseId === undefined) return { decimals: snap.decimals, round };
  return { decimals: snap.decimals, round, proxy: { aggregator: getAddress(aggregator), phaseId } };
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
    newSourcesOf: (state, log) => state.newFeedsOf(log),
    // A switch is read through the proxy that emitted it: the round id as the proxy reports it.
    readSeed: (call, source, blockHash, at) => readFeed(call, at.eventName === "AggregatorConfirmed" ? at.address : source, blockHash),
    seedAddresses: (source, seed) => {
      const aggregator = (seed as FeedSnapshot).proxy?.aggregator;
      return aggregator === undefined || aggregator === source ? [source] : [source, aggregator];
    },
    describeSource: (log) =>
      "marketId" in log.args ? { marketId: Number(log.args.marketId) } : log.eventName === "AggregatorConfirmed" ? { proxy: log.address } : {},
  };
}
