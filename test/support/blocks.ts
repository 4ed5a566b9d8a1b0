/**
 * Blocks on a test chain: waiting for a transaction, reading the head, Anvil's reorg, and the
 * signed transactions an account has in blocks (to put them back in the pool after a reorg).
 * Every helper takes the clients it works on: the worker chain's, or those of another Anvil (a fork).
 */
import { WaitForTransactionReceiptTimeoutError, serializeTransaction, type Address, type Hex, type TransactionReceipt } from "viem";
import { headOf as headOfBlock, type BlockHead } from "../../src/chain/heads.ts";
import type { ChainClients } from "./anvil.ts";

/** The clients the helpers need: a {@link TestChain}, or {@link createChainClients} of another Anvil. */
export type Clients = Pick<ChainClients, "publicClient" | "testClient" | "wallet">;

/** Waits for `hash` (or the hash it resolves to); throws if it reverted; returns its block. */
export async function mined(chain: Pick<Clients, "publicClient"> & Partial<Pick<Clients, "testClient">>, hash: Hex | Promise<Hex>): Promise<bigint> {
  const r = await receiptOf(chain, await hash);
  if (r.status !== "success") throw new Error(`transaction reverted: ${r.transactionHash}`);
  return r.blockNumber;
}

/**
 * The receipt of `hash`, on a chain that automines. On a loaded 2-core machine Anvil has (about once
 * in a full suite of thousands of transactions, in the parity runs) left an automined transaction in
 * its pool; after 60 s without a receipt, a block is mined explicitly and the receipt read once more.
 * A transaction that still has none fails with viem's timeout error, as before.
 */
export async function receiptOf(chain: Pick<Clients, "publicClient"> & Partial<Pick<Clients, "testClient">>, hash: Hex): Promise<TransactionReceipt> {
  try {
    return await chain.publicClient.waitForTransactionReceipt({ hash, timeout: chain.testClient ? 60_000 : 180_000 });
  } catch (e) {
    if (!(e instanceof WaitForTransactionReceiptTimeoutError) || !chain.testClient) throw e;
    await chain.testClient.mine({ blocks: 1 });
    const r = await chain.publicClient.getTransactionReceipt({ hash }).catch(() => undefined);
    if (!r) throw e;
    return r;
  }
}

/** A head with its base fee, as the keeper's head follower hands it on. */
export type Head = BlockHead & { baseFeePerGas: bigint };

/** The latest block as a head (for the keeper, the indexer and the executor alike). */
export async function headOf(chain: Pick<Clients, "publicClient">): Promise<Head> {
  const b = await chain.publicClient.getBlock({ blockTag: "latest" });
  return { ...headOfBlock(b), baseFeePerGas: b.baseFeePerGas ?? 0n };
}

/** A transaction for {@link anvilReorg} to put into a replacement block. */
export type ReorgTx = { from: Address; to: Address; data: Hex; gas?: Hex };

/**
 * Anvil's anvil_reorg: replaces the last `depth` blocks; each `[tx, offset]` goes into the new
 * block at `offset` (0: the first). Anvil drops the snapshots of the blocks it replaces.
 */
export async function anvilReorg(chain: Pick<Clients, "testClient">, depth: number, txs: [ReorgTx, number][] = []): Promise<void> {
  await chain.testClient.request({ method: "anvil_reorg", params: [depth, txs] } as never);
}

/** The EIP-1559 transactions `from` has in blocks `fromBlock`..`toBlock`, signed and serialized, to send again. */
export async function signedTransactions(chain: Pick<Clients, "publicClient">, from: Address, fromBlock: bigint, toBlock: bigint): Promise<Hex[]> {
  const raws: Hex[] = [];
  for (let b = fromBlock; b <= toBlock; b++) {
    const block = await chain.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (tx.from.toLowerCase() !== from.toLowerCase() || tx.type !== "eip1559") continue;
      const { chainId, nonce, gas, maxFeePerGas, maxPriorityFeePerGas, to, value, input, r, s, yParity } = tx;
      raws.push(serializeTransaction({ type: "eip1559", chainId, nonce, gas, maxFeePerGas, maxPriorityFeePerGas, to: to!, value, data: input }, { r, s, yParity }));
    }
  }
  return raws;
}
