/**
 * Chainlink price feeds as any reader sees them: the AggregatorV3Interface a proxy serves, and the
 * events its aggregators and proxies emit. A proxy (EACAggregatorProxy, DataFeedsLegacyAggregatorProxy)
 * emits no price events itself: its current aggregator emits AnswerUpdated, and the proxy emits
 * AggregatorConfirmed when its owner switches aggregators. Protocol-neutral: the reference market's
 * index and the keeper's native-token price both read feeds through this file.
 */
import { decodeFunctionResult, encodeFunctionData, parseAbi, type Address, type Hex } from "viem";
import { BaseError } from "../lib/errors.ts";

export const CHAINLINK_FEED_ABI = parseAbi([
  "function decimals() view returns (uint8)",
  "function description() view returns (string)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function aggregator() view returns (address)",
  "function phaseId() view returns (uint16)",
  "event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)",
  "event AggregatorConfirmed(address indexed previous, address indexed latest)",
]);

/** One round as latestRoundData() returns it (through a proxy, roundId carries the phase in its top bits). */
export type ChainlinkRound = { roundId: bigint; answer: bigint; updatedAt: bigint };

/** A feed's decimals and latest round; `round` is undefined while the feed has none (or reverts). */
export type ChainlinkSnapshot = { decimals: number; round: ChainlinkRound | undefined };

/** One eth_call at a block of the caller's choosing (a hash, a number, a tag); undefined when it reverted. */
export type FeedCall<B> = (to: Address, data: Hex, block: B) => Promise<Hex | undefined>;

export class FeedReadError extends BaseError {
  override name = "FeedReadError";
  constructor(feed: Address, block: unknown, cause?: unknown) {
    super(`cannot read decimals() of feed ${feed} at block ${String(block)}`, { cause });
  }
}

/** A feed's decimals and latest round as of `block`. A feed without decimals() is not a feed. */
export async function readFeedAt<B>(call: FeedCall<B>, feed: Address, block: B): Promise<ChainlinkSnapshot> {
  const abi = CHAINLINK_FEED_ABI;
  const [dec, round] = await Promise.all([call(feed, encodeFunctionData({ abi, functionName: "decimals" }), block), readRoundAt(call, feed, block)]);
  let decimals: number;
  try {
    if (dec === undefined) throw new Error("decimals() reverted");
    decimals = decodeFunctionResult({ abi, functionName: "decimals", data: dec });
  } catch (e) {
    throw new FeedReadError(feed, block, e);
  }
  return { decimals, round };
}

/** A feed's latest round as of `block` (its decimals do not change: read them once with {@link readFeedAt}); undefined while it has none. */
export async function readRoundAt<B>(call: FeedCall<B>, feed: Address, block: B): Promise<ChainlinkRound | undefined> {
  const abi = CHAINLINK_FEED_ABI;
  const latest = await call(feed, encodeFunctionData({ abi, functionName: "latestRoundData" }), block);
  if (latest === undefined || latest === "0x") return undefined;
  const [roundId, answer, , updatedAt] = decodeFunctionResult({ abi, functionName: "latestRoundData", data: latest });
  return { roundId, answer, updatedAt };
}

/** A proxy's current aggregator as of `block`; undefined when `feed` is not a proxy (no aggregator()). */
export async function readAggregatorAt<B>(call: FeedCall<B>, feed: Address, block: B): Promise<Address | undefined> {
  const data = await call(feed, encodeFunctionData({ abi: CHAINLINK_FEED_ABI, functionName: "aggregator" }), block);
  if (data === undefined || data === "0x") return undefined;
  try {
    return decodeFunctionResult({ abi: CHAINLINK_FEED_ABI, functionName: "aggregator", data });
  } catch {
    return undefined;
  }
}

/** A proxy's phase as of `block` (1 for its first aggregator); undefined when `feed` has no phaseId(). */
export async function readPhaseIdAt<B>(call: FeedCall<B>, feed: Address, block: B): Promise<number | undefined> {
  const data = await call(feed, encodeFunctionData({ abi: CHAINLINK_FEED_ABI, functionName: "phaseId" }), block);
  if (data === undefined || data === "0x") return undefined;
  try {
    return decodeFunctionResult({ abi: CHAINLINK_FEED_ABI, functionName: "phaseId", data });
  } catch {
    return undefined;
  }
}

/**
 * `answer` with `decimals` decimals as a WAD (18 decimals): by multiplication, as the contract
 * normalises (a market takes feeds of at most 18 decimals); a feed of more, truncated.
 */
export function answerToWad(answer: bigint, decimals: number): bigint {
  return decimals <= 18 ? answer * 10n ** BigInt(18 - decimals) : answer / 10n ** BigInt(decimals - 18);
}
