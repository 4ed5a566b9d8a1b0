/**
 * The market's price feeds as the index holds them. A feed is what the market reads: a Chainlink
 * proxy (its prices come as AnswerUpdated from its current aggregator, and AggregatorConfirmed from
 * the proxy switches that aggregator), or a contract that emits its own AnswerUpdated (no proxy).
 * A proxy's latestRoundData() carries its phase in the round id (bits 64..79; the aggregator's own
 * round id below): the index keeps the round id as the proxy reports it. Pure: no RPC.
 */
import type { Address } from "viem";

export type FeedRound = { answer: bigint; updatedAt: bigint; roundId: bigint };

/** A proxy's current aggregator and phase (the proxy's phaseId(): 1 for its first aggregator). */
export type FeedProxy = { aggregator: Address; phaseId: number };

/** A feed's decimals and latest round (undefined before its first one); `proxy` when it is one. */
export type FeedSnapshot = {
  decimals: number;
  round: FeedRound | undefined;
  proxy?: FeedProxy;
};

const PHASE_OFFSET = 64n;
const AGGREGATOR_ROUND_MASK = (1n << PHASE_OFFSET) - 1n;

/** An aggregator's round id as a proxy in `phaseId` reports it (Chainlink's addPhase). */
export function proxyRoundId(phaseId: number, aggregatorRoundId: bigint): bigint {
  return (BigInt(phaseId) << PHASE_OFFSET) | (aggregatorRoundId & AGGREGATOR_ROUND_MASK);
}

/** The contract whose AnswerUpdated moves `feed`: a proxy's current aggregator, else the feed itself. */
export function emitterOf(feed: Address, f: FeedSnapshot): Address {
  return f.proxy?.aggregator ?? feed;
}

/** `f` after AnswerUpdated(answer, roundId, updatedAt) from its emitter. */
export function withAnswer(f: FeedSnapshot, answer: bigint, aggregatorRoundId: bigint, updatedAt: bigint): FeedSnapshot {
  const roundId = f.proxy ? proxyRoundId(f.proxy.phaseId, aggregatorRoundId) : aggregatorRoundId;
  return { ...f, round: { answer, updatedAt, roundId } };
}

/**
 * A proxy feed after it confirms `aggregator`, from another feed `other` that already follows that
 * aggregator (its round re-phased): for when no seed was read because the aggregator was known.
 */
export function switchedTo(f: FeedSnapshot, aggregator: Address, other: FeedSnapshot): FeedSnapshot {
  const phaseId = (f.proxy?.phaseId ?? 0) + 1;
  const r = other.round;
  return {
    decimals: other.decimals,
    proxy: { aggregator, phaseId },
    round: r && { ...r, roundId: proxyRoundId(phaseId, r.roundId & AGGREGATOR_ROUND_MASK) },
  };
}
