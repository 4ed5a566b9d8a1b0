/** Hand-made index logs for reducer tests. */
import { getAddress, pad, toHex, type Address } from "viem";
import type { IndexEvent, IndexLog } from "../../src/protocols/reference/events.ts";

export const MARKET: Address = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
export const FEED_A: Address = getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");
export const FEED_B: Address = getAddress("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0");
export const ALICE: Address = getAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
export const BOB: Address = getAddress("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
export const KEEPER: Address = getAddress("0xa0ee7a142d267c1f36714e4a8f75612f20a79720");

const hashOf = (block: bigint) => pad(toHex(block), { size: 32 });

/** Logs of one block, numbered in order, from the market unless `address` is given. */
export function block(number: bigint, events: (IndexEvent & { address?: Address })[]): IndexLog[] {
  return events.map((e, logIndex) => ({
    ...e,
    address: e.address ?? MARKET,
    blockNumber: number,
    blockHash: hashOf(number),
    logIndex,
    transactionHash: hashOf(number * 1000n + BigInt(logIndex)),
  })) as IndexLog[];
}

export const params = (feed: Address, over: Partial<{ maxStaleness: number; tradingFeePpm: number; lotSize: bigint }> = {}) => ({
  feed,
  maxStaleness: over.maxStaleness ?? 3600,
  tradingFeePpm: over.tradingFeePpm ?? 500,
  lotSize: over.lotSize ?? 10n ** 15n,
});

export const TIERS = [
  { floor: 0n, mmrPpm: 4_000, maxLeverage: 125 },
  { floor: 50_000n * 10n ** 18n, mmrPpm: 5_000, maxLeverage: 100 },
  { floor: 250_000n * 10n ** 18n, mmrPpm: 10_000, maxLeverage: 50 },
] as const;

export const LIQ = {
  penaltyPpm: 2_500,
  targetBufferPpm: 2_500,
  maxStepPpm: 200_000,
  tierStepDown: false,
  partialThreshold: 100_000n * 10n ** 18n,
  dustNotional: 10n * 10n ** 18n,
  adlEnabled: false,
};

/** The five events addMarket emits, in the contract's order. */
export function addMarket(id: bigint, feed: Address, over: Parameters<typeof params>[1] = {}): IndexEvent[] {
  const p = params(feed, over);
  return [
    { eventName: "MarketParamsUpdated", args: { marketId: id, params: p } },
    { eventName: "TiersUpdated", args: { marketId: id, tiers: TIERS } },
    { eventName: "LiquidationParamsUpdated", args: { marketId: id, params: LIQ } },
    { eventName: "MarketAdded", args: { marketId: id, feed, params: p } },
    { eventName: "IndexFeedsUpdated", args: { marketId: id, feeds: [feed], minSources: 1, maxDeviationPpm: 0 } },
  ];
}

export const collateral = (account: Address, value: bigint): IndexEvent => ({
  eventName: "CollateralUpdated",
  args: { account, collateral: value },
});

export const position = (account: Address, marketId: bigint, size: bigint, entryPrice = 60_000n * 10n ** 18n, entryFundingIndex = 0n): IndexEvent => ({
  eventName: "PositionUpdated",
  args: { account, marketId, size, entryPrice, entryFundingIndex },
});

export const answer = (feed: Address, current: bigint, roundId: bigint, updatedAt: bigint): IndexEvent & { address: Address } => ({
  eventName: "AnswerUpdated",
  address: feed,
  args: { current, roundId, updatedAt },
});

export const liquidated = (account: Address, marketId: bigint, full: boolean, remainingSize: bigint): IndexEvent => ({
  eventName: "Liquidated",
  args: {
    account,
    marketId,
    keeper: KEEPER,
    size: 10n ** 18n,
    price: 59_000n * 10n ** 18n,
    penalty: 1n,
    keeperReward: 0n,
    insuranceShare: 1n,
    remainingSize,
    full,
  },
});

export const global = (cooldown: number, backstopPpm = 666_667, keeperSharePpm = 500_000): IndexEvent => ({
  eventName: "GlobalLiquidationParamsUpdated",
  args: { params: { cooldown, backstopPpm, keeperSharePpm } },
});
