/**
 * Chainlink feeds on a local chain, as they stand on a real one: Chainlink's own proxy
 * (DataFeedsLegacyAggregatorProxy, @chainlink/contracts) in front of an aggregator. The aggregator is
 * Chainlink's MockV3Aggregator plus the AnswerUpdated/NewRound events real aggregators emit
 * (contracts/src/EmittingMockV3Aggregator.sol). Readers use the proxy; publishers write to the
 * proxy's current aggregator; the deployer owns the proxy and may switch its aggregator.
 */
import { getAddress, type Address, type Hash } from "viem";
import { DataFeedsLegacyAggregatorProxy } from "../../abi/DataFeedsLegacyAggregatorProxy.ts";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { BaseError } from "../lib/errors.ts";
import type { ChainClients } from "./clients.ts";

export type ChainlinkFeedParameters = {
  decimals: number;
  /** What the aggregator's (and so the proxy's) description() returns, e.g. "ETH / USD". */
  description: string;
  /** The first answer, in the feed's decimals. */
  answer: bigint;
};

/** A deployed feed: readers call `proxy`, publishers call `aggregator` (the proxy's current one). */
export type ChainlinkFeed = { proxy: Address; aggregator: Address };

export type SwitchAggregatorReturnType = {
  previous: Address;
  aggregator: Address;
  /** The block of confirmAggregator (the proxy's AggregatorConfirmed). */
  block: bigint;
};

/** A feed deployment or switch transaction failed or reverted. */
export class ChainlinkDeployError extends BaseError {
  override name = "ChainlinkDeployError";
}

async function mined(c: ChainClients, hash: Promise<Hash>, what: string) {
  const h = await hash;
  const r = await c.publicClient.waitForTransactionReceipt({ hash: h });
  if (r.status !== "success") throw new ChainlinkDeployError(`${what}: transaction ${h} reverted`);
  return r;
}

/** Deploy an aggregator holding `answer` as its round 1. */
export async function deployAggregator(c: ChainClients, p: ChainlinkFeedParameters): Promise<Address> {
  const r = await mined(
    c,
    c.walletClient.deployContract({
      abi: EmittingMockV3Aggregator.abi,
      bytecode: EmittingMockV3Aggregator.bytecode,
      args: [p.decimals, p.description, p.answer],
    }),
    "aggregator deployment",
  );
  if (!r.contractAddress) throw new ChainlinkDeployError(`aggregator deployment ${r.transactionHash} created no contract`);
  return getAddress(r.contractAddress);
}

/** Deploy an aggregator and Chainlink's proxy over it; the signer owns the proxy. Addresses checksummed. */
export async function deployChainlinkFeed(c: ChainClients, p: ChainlinkFeedParameters): Promise<ChainlinkFeed> {
  const aggregator = await deployAggregator(c, p);
  const r = await mined(
    c,
    c.walletClient.deployContract({
      abi: DataFeedsLegacyAggregatorProxy.abi,
      bytecode: DataFeedsLegacyAggregatorProxy.bytecode,
      args: [aggregator],
    }),
    "proxy deployment",
  );
  if (!r.contractAddress) throw new ChainlinkDeployError(`proxy deployment ${r.transactionHash} created no contract`);
  return { proxy: getAddress(r.contractAddress), aggregator };
}

/** The proxy's current aggregator (the one a publisher must write to). */
export async function currentAggregator(c: Pick<ChainClients, "publicClient">, proxy: Address): Promise<Address> {
  return getAddress(await c.publicClient.readContract({ address: proxy, abi: DataFeedsLegacyAggregatorProxy.abi, functionName: "aggregator" }));
}

/**
 * Switch `proxy` to a new aggregator holding `answer` (same decimals as the current one):
 * deploy it, proposeAggregator, confirmAggregator. The signer must own the proxy (the deployer).
 */
export async function switchAggregator(
  c: ChainClients,
  proxy: Address,
  p: { answer: bigint; description?: string },
): Promise<SwitchAggregatorReturnType> {
  const abi = DataFeedsLegacyAggregatorProxy.abi;
  const [previous, decimals, description] = await Promise.all([
    currentAggregator(c, proxy),
    c.publicClient.readContract({ address: proxy, abi, functionName: "decimals" }),
    c.publicClient.readContract({ address: proxy, abi, functionName: "description" }),
  ]);
  const aggregator = await deployAggregator(c, { decimals, description: p.description ?? description, answer: p.answer });
  const w = c.walletClient;
  await mined(c, w.writeContract({ address: proxy, abi, functionName: "proposeAggregator", args: [aggregator] }), "proposeAggregator");
  const r = await mined(c, w.writeContract({ address: proxy, abi, functionName: "confirmAggregator", args: [aggregator] }), "confirmAggregator");
  return { previous, aggregator, block: r.blockNumber };
}
