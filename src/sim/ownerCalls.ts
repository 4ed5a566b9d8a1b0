import { encodeFunctionData, type Address, type Hash, type Hex } from "viem";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import type { ChainClients } from "../chain/clients.ts";
import { PRICE_UPDATE_GAS, feedAnswer } from "../chain/prices.ts";
import { SimulationError } from "./simulationError.ts";

/**
 * The lab's owner transactions: market setters and feed updates, sent by the market's owner (a
 * fork's impersonated owner) with explicit nonces and a zero tip, so that in a block they sort after
 * every keeper transaction, and checked to be mined where they were meant to be.
 */

const ORACLE_GAS = PRICE_UPDATE_GAS;
const OWNER_GAS = 500_000n;

/** An owner transaction (a market setter or a feed update), encoded. */
export type OwnerCall = { to: Address; data: Hex; gas: bigint };

export function marketCall(market: Address, data: Hex): OwnerCall {
  return { to: market, data, gas: OWNER_GAS };
}

/** A price update on `publisher`, a feed's aggregator (updateAnswer(int256): the same call on either kind of feed). */
export function oracleUpdate(publisher: Address, price: bigint, decimals: number): OwnerCall {
  return { to: publisher, data: encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(price, decimals)] }), gas: ORACLE_GAS };
}

/**
 * Send the owner's calls with a zero tip (they sort after every keeper transaction of the block)
 * and explicit nonces, in order; resolves with their hashes once the node has them all.
 */
export async function sendOwnerCalls(owner: ChainClients, calls: readonly OwnerCall[], nonce: { next: number }): Promise<Hash[]> {
  if (calls.length === 0) return [];
  const block = await owner.publicClient.getBlock({ blockTag: "latest" });
  const maxFeePerGas = (block.baseFeePerGas ?? 0n) * 2n + 1_000_000_000n;
  const hashes: Hash[] = [];
  for (const c of calls) {
    hashes.push(await owner.walletClient.sendTransaction({ ...c, nonce: nonce.next++, maxFeePerGas, maxPriorityFeePerGas: 0n }));
  }
  return hashes;
}

/** Owner calls outside the run (automine is on): sent in order, then checked. */
export async function sendAndMine(reader: ChainClients, owner: ChainClients, calls: readonly OwnerCall[]): Promise<void> {
  if (calls.length === 0) return;
  const nonce = { next: await reader.publicClient.getTransactionCount({ address: owner.walletClient.account.address, blockTag: "pending" }) };
  const hashes = await sendOwnerCalls(owner, calls, nonce);
  for (const hash of hashes) {
    const r = await reader.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 30_000 });
    if (r.status !== "success") throw new SimulationError(`owner transaction ${hash} reverted`);
  }
}

/** Every owner transaction of the step made it into `block`, and none reverted. */
export async function checkMined(c: ChainClients, hashes: readonly Hash[], block: bigint): Promise<void> {
  const receipts = await Promise.all(hashes.map((hash) => c.publicClient.getTransactionReceipt({ hash })));
  for (const r of receipts) {
    if (r.blockNumber !== block) throw new SimulationError(`oracle/owner transaction ${r.transactionHash} was not in block ${block}`);
    if (r.status !== "success") throw new SimulationError(`oracle/owner transaction ${r.transactionHash} reverted in block ${block}`);
  }
}
