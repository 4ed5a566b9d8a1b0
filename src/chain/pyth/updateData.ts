/**
 * Pyth update data in MockPyth's format: what `MockPyth.createPriceFeedUpdateData` returns and what
 * its `updatePriceFeeds` / `parsePriceFeedUpdates` decode. MockPyth's format is its own (the real
 * Pyth contract takes signed Wormhole/accumulator messages): one ABI-encoded
 * `(PythStructs.PriceFeed, uint64 prevPublishTime)` per feed. Built here without a contract call, so
 * tests, devnets and the lab make updates as cheaply as Hermes serves them.
 */
import { encodeAbiParameters, type Hex } from "viem";

/** PythStructs.Price: `price × 10^expo`, ± `conf × 10^expo`, published at `publishTime` (unix s). */
export type PythPrice = {
  /** int64 */
  price: bigint;
  /** uint64 */
  conf: bigint;
  /** int32 */
  expo: number;
  /** uint256 in the struct; a uint64 in the update encoder's arguments. */
  publishTime: bigint;
};

/** The arguments of MockPyth.createPriceFeedUpdateData, by name. */
export type PriceFeedUpdateParameters = {
  id: Hex;
  price: bigint;
  conf: bigint;
  expo: number;
  emaPrice: bigint;
  emaConf: bigint;
  publishTime: bigint;
  prevPublishTime: bigint;
};

const PRICE = {
  type: "tuple",
  components: [
    { name: "price", type: "int64" },
    { name: "conf", type: "uint64" },
    { name: "expo", type: "int32" },
    { name: "publishTime", type: "uint256" },
  ],
} as const;

/** `abi.encode(PythStructs.PriceFeed, uint64)`: the layout MockPyth decodes. */
export const PRICE_FEED_UPDATE_PARAMETERS = [
  {
    name: "priceFeed",
    type: "tuple",
    components: [
      { name: "id", type: "bytes32" },
      { name: "price", ...PRICE },
      { name: "emaPrice", ...PRICE },
    ],
  },
  { name: "prevPublishTime", type: "uint64" },
] as const;

/** The bound MockPyth's encoder puts on `publishTime` (its argument is a uint64). */
const UINT64_MAX = 2n ** 64n - 1n;

export class PriceFeedUpdateRangeError extends Error {
  override name = "PriceFeedUpdateRangeError";
}

/**
 * MockPyth.createPriceFeedUpdateData, byte for byte: the EMA price shares the price's `expo` and
 * `publishTime`, as the contract's encoder sets them. Values outside their Solidity types throw
 * (viem checks int64/uint64/int32; publishTime is a uint64 argument widened to the struct's uint256).
 */
export function createPriceFeedUpdateData(p: PriceFeedUpdateParameters): Hex {
  if (p.publishTime < 0n || p.publishTime > UINT64_MAX) {
    throw new PriceFeedUpdateRangeError(`publishTime ${p.publishTime} is not a uint64`);
  }
  const price = { price: p.price, conf: p.conf, expo: p.expo, publishTime: p.publishTime };
  const emaPrice = { price: p.emaPrice, conf: p.emaConf, expo: p.expo, publishTime: p.publishTime };
  return encodeAbiParameters(PRICE_FEED_UPDATE_PARAMETERS, [{ id: p.id, price, emaPrice }, p.prevPublishTime]);
}

/** One feed's update with its EMA equal to the price (what a devnet or a lab step usually wants). */
export function priceUpdate(id: Hex, price: PythPrice, prevPublishTime = 0n): Hex {
  return createPriceFeedUpdateData({
    id,
    price: price.price,
    conf: price.conf,
    expo: price.expo,
    emaPrice: price.price,
    emaConf: price.conf,
    publishTime: price.publishTime,
    prevPublishTime,
  });
}
