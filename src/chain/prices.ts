import { type Address } from "viem";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { BaseError } from "../lib/errors.ts";
import type { ChainClients } from "./clients.ts";

/** WAD price → the feed's integer answer (truncated to the feed's decimals). */
export function feedAnswer(priceWad: bigint, decimals: number): bigint {
  return priceWad / 10n ** BigInt(18 - decimals);
}

/** The feed's answer → WAD price, by multiplication only (as the contract normalises). */
export function answerToWad(answer: bigint, decimals: number): bigint {
  return answer * 10n ** BigInt(18 - decimals);
}

/** Publish a new price on a mock feed (owner only); resolves when mined. */
export async function publishPrice(c: ChainClients, feed: Address, priceWad: bigint, decimals: number): Promise<bigint> {
  const hash = await c.walletClient.writeContract({
    address: feed,
    abi: MockAggregatorV3.abi,
    functionName: "updateAnswer",
    args: [feedAnswer(priceWad, decimals)],
  });
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new BaseError(`price update on ${feed} reverted`);
  return r.blockNumber;
}
