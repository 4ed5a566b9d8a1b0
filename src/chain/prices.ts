import { type Address, type Hex } from "viem";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { BaseError } from "../lib/errors.ts";
import { readAggregatorAt } from "./chainlink.ts";
import type { ChainClients } from "./clients.ts";
import { ethCallAt } from "./ethCall.ts";

/** WAD price → the feed's integer answer (truncated to the feed's decimals). */
export function feedAnswer(priceWad: bigint, decimals: number): bigint {
  return priceWad / 10n ** BigInt(18 - decimals);
}

/**
 * The contract a price for `feed` is published on: a Chainlink proxy's current aggregator (read at
 * `blockNumber`, default latest), else the feed itself (a feed that takes updateAnswer directly).
 */
export async function publisherOf(c: Pick<ChainClients, "publicClient">, feed: Address, blockNumber?: bigint): Promise<Address> {
  // aggregator() reverted: not a proxy. Any other failure is thrown (ethCallAt): taken for "not a
  // proxy", it would send the update to the proxy, which reverts it.
  return (await readAggregatorAt(ethCallAt(c.publicClient), feed, blockNumber)) ?? feed;
}

/**
 * Gas limit of a price update. eth_estimateGas is exact at the state it runs on, and an update
 * writing the timestamp or answer already stored there costs less than one mined a block later
 * (a no-op SSTORE): estimated, some updates ran out of gas by a few thousand. An aggregator's new
 * round costs about 104k; this leaves room.
 */
export const PRICE_UPDATE_GAS = 200_000n;

/**
 * Publish a new price for `feed` (a Chainlink proxy: on its current aggregator, which anyone may
 * update; a feed of its own: its owner only); resolves when mined, with the block.
 */
export async function publishPrice(c: ChainClients, feed: Address, priceWad: bigint, decimals: number): Promise<bigint> {
  const hash = await c.walletClient.writeContract({
    address: await publisherOf(c, feed),
    abi: EmittingMockV3Aggregator.abi,
    functionName: "updateAnswer",
    args: [feedAnswer(priceWad, decimals)],
    gas: PRICE_UPDATE_GAS,
  });
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new BaseError(`price update on ${feed} reverted`);
  return r.blockNumber;
}
