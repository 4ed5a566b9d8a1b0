import {
  decodeEventLog,
  getAbiItem,
  getAddress,
  toEventSelector,
  type Address,
  type DecodeEventLogReturnType,
  type Hex,
  type RpcLog,
} from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import { CHAINLINK_FEED_ABI } from "../../chain/chainlink.ts";
import type { LogPosition } from "../../index/source.ts";

/**
 * The reference market's index events: the market's state events, the feeds' AnswerUpdated (from a
 * Chainlink proxy's current aggregator, or a feed that is no proxy) and a proxy's AggregatorConfirmed.
 * Trades, deposits, deleverages and the pool's events are left out: every change they make to an
 * account is also announced by CollateralUpdated / PositionUpdated, with the new value. The
 * insurance fund is followed from InsuranceFunded, Liquidated's insurance share and BadDebt.
 */
export const indexAbi = [
  getAbiItem({ abi: PerpMarket.abi, name: "MarketAdded" }),
  getAbiItem({ abi: PerpMarket.abi, name: "MarketParamsUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "TiersUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "LiquidationParamsUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "GlobalLiquidationParamsUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "FundingRateUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "CollateralUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "PositionUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "Liquidated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "IndexFeedsUpdated" }),
  getAbiItem({ abi: PerpMarket.abi, name: "InsuranceFunded" }),
  getAbiItem({ abi: PerpMarket.abi, name: "BadDebt" }),
  getAbiItem({ abi: PerpMarket.abi, name: "AdlOperatorUpdated" }),
  getAbiItem({ abi: CHAINLINK_FEED_ABI, name: "AnswerUpdated" }),
  getAbiItem({ abi: CHAINLINK_FEED_ABI, name: "AggregatorConfirmed" }),
] as const;

/** A decoded index event: `{ eventName, args }`, discriminated by `eventName`. */
export type IndexEvent = DecodeEventLogReturnType<typeof indexAbi>;
export type IndexEventName = IndexEvent["eventName"];

/** A decoded log the state reducer applies. */
export type IndexLog = IndexEvent & LogPosition;

/** topic0 of every index event, for the `topics` filter of eth_getLogs (one OR-list). */
export const indexTopics: readonly Hex[] = indexAbi.map((e) => toEventSelector(e));
/** The feed events: never the market's. */
const feedTopics = new Set<Hex>([
  toEventSelector(getAbiItem({ abi: CHAINLINK_FEED_ABI, name: "AnswerUpdated" })),
  toEventSelector(getAbiItem({ abi: CHAINLINK_FEED_ABI, name: "AggregatorConfirmed" })),
]);
/** Each index event's ABI by its topic0 (viem's decodeEventLog would re-derive every selector per log). */
const abiByTopic = new Map<Hex, readonly [(typeof indexAbi)[number]]>(indexAbi.map((e) => [toEventSelector(e), [e]] as const));
const collateralUpdatedTopic = toEventSelector(getAbiItem({ abi: PerpMarket.abi, name: "CollateralUpdated" }));
const positionUpdatedTopic = toEventSelector(getAbiItem({ abi: PerpMarket.abi, name: "PositionUpdated" }));

/**
 * Checksummed addresses by their lowercase form. Accounts recur in log after log (a trade's
 * events, a liquidation's), and checksumming costs a keccak each time. Small: cleared at 4,096
 * entries. Holding every account's two strings for good (200,000 strings at 100,000 accounts) kept
 * about 45 MB of old-space pages resident after a backfill for 10 MB of strings.
 */
const checksums = new Map<string, Address>();
function checksummed(a: string): Address {
  const key = a.toLowerCase();
  let c = checksums.get(key);
  if (c === undefined) {
    if (checksums.size >= 4_096) checksums.clear();
    c = getAddress(key);
    checksums.set(key, c);
  }
  return c;
}

/** A 32-byte ABI word as a two's-complement int256. */
function int256(word: string): bigint {
  const u = BigInt(`0x${word}`);
  return u >= 1n << 255n ? u - (1n << 256n) : u;
}

/**
 * The two events that make up nearly every log of a busy market (CollateralUpdated and
 * PositionUpdated), decoded by hand: fixed layouts of static words. Any other event, or a log whose
 * shape does not match (a foreign contract with a colliding selector), is left to viem.
 */
function decodeHot(topic0: Hex, topics: readonly Hex[], data: Hex): IndexEvent | undefined {
  if (topic0 === collateralUpdatedTopic) {
    if (topics.length !== 2 || data.length !== 2 + 64 || !/^0x0{24}/.test(topics[1]!)) return undefined;
    return { eventName: "CollateralUpdated", args: { account: checksummed(`0x${topics[1]!.slice(26)}`), collateral: int256(data.slice(2)) } };
  }
  if (topic0 === positionUpdatedTopic) {
    if (topics.length !== 3 || data.length !== 2 + 3 * 64 || !/^0x0{24}/.test(topics[1]!)) return undefined;
    return {
      eventName: "PositionUpdated",
      args: {
        account: checksummed(`0x${topics[1]!.slice(26)}`),
        marketId: BigInt(topics[2]!),
        size: int256(data.slice(2, 66)),
        entryPrice: BigInt(`0x${data.slice(66, 130)}`),
        entryFundingIndex: int256(data.slice(130, 194)),
      },
    };
  }
  return undefined;
}

/**
 * Decode one raw RPC log. Market events count only when emitted by `market`, feed events
 * (AnswerUpdated, AggregatorConfirmed) only when emitted by another address; anything else, and
 * removed or pending logs, give undefined.
 */
export function decodeIndexLog(raw: RpcLog, market: Address): IndexLog | undefined {
  if (raw.removed || raw.blockNumber === null || raw.blockHash === null || raw.logIndex === null) return undefined;
  const topic0 = raw.topics[0];
  if (topic0 === undefined) return undefined;
  const address = checksummed(raw.address);
  const fromMarket = address === market;
  if (fromMarket === feedTopics.has(topic0)) return undefined;
  let event: IndexEvent | undefined = decodeHot(topic0, raw.topics, raw.data);
  if (event === undefined) {
    const abi = abiByTopic.get(topic0);
    if (abi === undefined) return undefined;
    try {
      event = decodeEventLog({ abi, topics: raw.topics as [Hex, ...Hex[]], data: raw.data, strict: true }) as IndexEvent;
    } catch {
      return undefined; // another contract's event with a colliding selector: not ours
    }
  }
  return {
    ...event,
    address,
    blockNumber: BigInt(raw.blockNumber),
    blockHash: raw.blockHash,
    logIndex: Number(raw.logIndex),
    transactionHash: raw.transactionHash ?? "0x",
  };
}
