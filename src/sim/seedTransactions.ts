import {
  ContractFunctionRevertedError,
  BaseError as ViemBaseError,
  testActions,
  type Account as ViemAccount,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { sendRawTransaction } from "viem/actions";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../chain/clients.ts";
import { BaseError } from "../lib/errors.ts";

/**
 * Sending the seeding transactions and checking them: signing ({@link sendCall}), sending all at
 * once or in order ({@link dispatch}), mining, waiting for receipts ({@link settle}) and naming a
 * reverted trade's error ({@link revertReason}).
 */

export class SeedTransactionError extends BaseError {
  override name = "SeedTransactionError";
}

/** A transaction to send, not sent yet. */
export type Unsent = { label: string; send: () => Promise<Hash> };

type CallRequest = { to: Address; data: Hex; nonce: number; gas: bigint; chainId: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

/** Sign locally when the account can (one request to the node), else let the node sign (an impersonated account). */
export function sendCall(c: ChainClients, account: ViemAccount, tx: CallRequest): Promise<Hash> {
  if (account.signTransaction) {
    return account
      .signTransaction({ type: "eip1559", ...tx })
      .then((serializedTransaction) => sendRawTransaction(c.publicClient, { serializedTransaction }));
  }
  return c.walletClient.sendTransaction({ account, chain: c.walletClient.chain, ...tx });
}

/**
 * Send `items`: all at once, or (ordered) one after the other, each accepted by the node before
 * the next is sent, then mine until the pool is empty (automine is off in that mode).
 */
export async function dispatch<T extends Unsent>(c: Pick<ChainClients, "publicClient">, items: readonly T[], ordered: boolean): Promise<(T & { hash: Promise<Hash> })[]> {
  if (!ordered) return items.map((it) => ({ ...it, hash: it.send() }));
  const out: (T & { hash: Promise<Hash> })[] = [];
  for (const it of items) {
    const hash = it.send();
    out.push({ ...it, hash });
    await hash.catch(() => undefined); // reported by settle()
  }
  await mineUntilEmpty(c);
  return out;
}

/** Mine blocks until no transaction is pending (bounded: a block takes at least one). */
export async function mineUntilEmpty(c: Pick<ChainClients, "publicClient">, maxBlocks = 10_000): Promise<number> {
  const test = c.publicClient.extend(testActions({ mode: "anvil" }));
  for (let mined = 0; mined < maxBlocks; mined++) {
    const { pending } = await test.getTxpoolStatus();
    if (pending === 0) return mined;
    await test.mine({ blocks: 1 });
  }
  throw new SeedTransactionError(`seeding: transactions still pending after ${maxBlocks} blocks`);
}

/** Wait for every receipt; a failure names the transaction (and, for trades, the revert reason). */
export async function settle<T extends { label: string; hash: Promise<Hash> }>(
  c: Pick<ChainClients, "publicClient">,
  items: readonly T[],
  pollingInterval: number,
  why?: (item: T, receipt: TransactionReceipt) => Promise<string | undefined>,
): Promise<TransactionReceipt[]> {
  const hashes = await Promise.all(
    items.map((it) =>
      it.hash.catch((e: unknown) => {
        throw new SeedTransactionError(`seeding: ${it.label} was not accepted: ${shortReason(e)}`, { cause: e });
      }),
    ),
  );
  const receipts = await Promise.all(
    hashes.map((hash) => c.publicClient.waitForTransactionReceipt({ hash, pollingInterval, timeout: 60_000 })),
  );
  for (const [i, r] of receipts.entries()) {
    if (r.status === "success") continue;
    const item = items[i]!;
    const reason = why ? await why(item, r).catch(() => undefined) : undefined;
    throw new SeedTransactionError(`seeding: ${item.label} reverted (tx ${r.transactionHash})${reason ? `: ${reason}` : ""}`);
  }
  return receipts;
}

function shortReason(e: unknown): string {
  if (e instanceof ViemBaseError) return e.shortMessage;
  return e instanceof Error ? e.message : String(e);
}

/** Replay a reverted trade as a call on the state before its block, to name the custom error. */
export async function revertReason(
  c: Pick<ChainClients, "publicClient">,
  market: Address,
  from: Address,
  call: { marketId: number; size: bigint },
  blockNumber: bigint,
): Promise<string | undefined> {
  try {
    await c.publicClient.simulateContract({
      address: market,
      abi: PerpMarket.abi,
      functionName: "trade",
      args: [BigInt(call.marketId), call.size],
      account: from,
      blockNumber,
    });
    return undefined;
  } catch (e) {
    const reverted = e instanceof ViemBaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return `${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")})`;
    }
    return shortReason(e);
  }
}
