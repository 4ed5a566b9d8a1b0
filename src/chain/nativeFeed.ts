/**
 * The native token's USD feed of a local chain (devnet, demo): Chainlink's proxy over an aggregator
 * (chainlinkDeploy.ts), like the ETH / USD pair a real chain has, recorded as the deployment file's
 * `nativeUsdFeed`, which the keeper values gas with when its settings name no feed.
 */
import type { Address } from "viem";
import { deployChainlinkFeed } from "./chainlinkDeploy.ts";
import type { ChainClients } from "./clients.ts";

/** The price a local chain's native token starts at, whole USD. */
export const LOCAL_NATIVE_USD = 3_000n;
const DECIMALS = 8;

/** Deploy an "ETH / USD" feed answering `usd` (8 decimals, as Chainlink's); returns the proxy. */
export async function deployNativeUsdFeed(c: ChainClients, usd: bigint = LOCAL_NATIVE_USD): Promise<Address> {
  const { proxy } = await deployChainlinkFeed(c, { decimals: DECIMALS, description: "ETH / USD", answer: usd * 10n ** BigInt(DECIMALS) });
  return proxy;
}
