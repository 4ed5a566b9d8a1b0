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
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";

/**
 * The events the index is rebuilt from: the market's state events and the feeds' AnswerUpdated.
 * Trades, deposits and the pool's events are left out: every change they make to an account is
 * also announced by CollateralUpdated / PositionUpdated, with the new value.
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
  getAbiItem({ abi: MockAggregatorV3.abi, name: "AnswerUpdated" }),
] as const;

/** A decoded index event: `{ eventName, args }`, discriminated by `eventName`. */
export type IndexEvent = DecodeEventLogReturnType<typeof indexAbi>;
export type IndexEventName = IndexEvent["eventName"];

/** Where a log sits in the chain; logs are applied in (blockNumber, logIndex) order. */
export type LogPosition = {
  /** The emitting contract, checksummed. */
  address: Address;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
  transactionHash: Hex;
};

/** A decoded log the state reducer applies. */
export type IndexLog = IndexEvent & LogPosition;

/** topic0 of every index event, for the `topics` filter of eth_getLogs (one OR-list). */
export const indexTopics: readonly Hex[] = indexAbi.map((e) => toEventSelector(e));
const answerUpdatedTopic = toEventSelector(getAbiItem({ abi: MockAggregatorV3.abi, name: "AnswerUpdated" }));

/**
 * Decode one raw RPC log. Market events count only when emitted by `market`, AnswerUpdated only
 * when emitted by another address (a feed); anything else, and removed or pending logs, give
 * undefined.
 */
export function decodeIndexLog(raw: RpcLog, market: Address): IndexLog | undefined {
  if (raw.removed || raw.blockNumber === null || raw.blockHash === null || raw.logIndex === null) return undefined;
  const topic0 = raw.topics[0];
  if (topic0 === undefined) return undefined;
  const address = getAddress(raw.address);
  const fromMarket = address === market;
  if (fromMarket === (topic0 === answerUpdatedTopic)) return undefined;
  let event: IndexEvent;
  try {
    event = decodeEventLog({ abi: indexAbi, topics: raw.topics as [Hex, ...Hex[]], data: raw.data, strict: true });
  } catch {
    return undefined; // another contract's event with a colliding selector: not ours
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

/** (blockNumber, logIndex) order. */
export function compareLogs(a: Pick<LogPosition, "blockNumber" | "logIndex">, b: Pick<LogPosition, "blockNumber" | "logIndex">): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  return a.logIndex - b.logIndex;
}
