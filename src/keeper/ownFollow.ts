/**
 * Following one own transaction (not a liquidation: the reward sweep, a protocol duty) to its
 * receipt. Each head, every hash sent at its nonce is looked up; once `replaceAfterBlocks` heads pass
 * without one, the same call goes out again at the nonce with higher fees (Executor.replaceOwn).
 * When a replacement finds the nonce used and, a head later, none of our hashes has a receipt,
 * another transaction took the nonce: the transaction is gone.
 */
import { TransactionReceiptNotFoundError, type Hex, type PublicClient, type TransactionReceipt } from "viem";
import type { Executor } from "../execute/executor.ts";
import type { OwnSent, OwnTransaction } from "../execute/ownTransaction.ts";
import { SendNonceTooLowError } from "../execute/sendError.ts";
import type { Logger } from "../lib/logger.ts";

export type FollowerInputs = {
  client: Pick<PublicClient, "getTransactionReceipt">;
  executor: Pick<Executor, "replaceOwn">;
  logger: Logger;
  /** Blocks a transaction may wait unmined before it is replaced with higher fees. */
  replaceAfterBlocks: number;
  /** What the transaction is, for log lines ("sweep", "deleverage"). */
  what: string;
};

type Pending<T> = OwnSent & { tx: OwnTransaction; meta: T; sentAtBlock: bigint; hashes: Hex[]; nonceUsed?: boolean };

/** How a followed transaction ended: mined (successfully or reverted), or its nonce taken by another. */
export type FollowEnd<T> = { meta: T; receipt: TransactionReceipt } | { meta: T; gone: true; hashes: Hex[] };

export class OwnTxFollower<T> {
  private pending: Pending<T> | undefined;

  constructor(private readonly inputs: FollowerInputs) {}

  /** A transaction is sent and not yet mined. */
  get inFlight(): boolean {
    return this.pending !== undefined;
  }

  /** Follow `sent` (the call `tx`, sent at block `block`) from now on. */
  track(sent: OwnSent, tx: OwnTransaction, meta: T, block: bigint): void {
    this.pending = { ...sent, tx, meta, sentAtBlock: block, hashes: [sent.hash] };
  }

  /** At `head`: how the transaction ended, or undefined while it is still pending (replaced when stuck). */
  async follow(head: { number: bigint }): Promise<FollowEnd<T> | undefined> {
    const p = this.pending;
    if (!p) return undefined;
    const { logger, what } = this.inputs;
    for (const hash of p.hashes) {
      const receipt = await this.receipt(hash);
      if (!receipt) continue;
      this.pending = undefined;
      return { meta: p.meta, receipt };
    }
    if (p.nonceUsed) {
      this.pending = undefined;
      return { meta: p.meta, gone: true, hashes: p.hashes };
    }
    if (head.number - p.sentAtBlock < BigInt(this.inputs.replaceAfterBlocks)) return undefined;
    const r = await this.inputs.executor.replaceOwn(p.tx, p);
    if (!r.sent) {
      // The nonce is used: by our transaction just mined (the next head's receipt says), or by another.
      if (r.error instanceof SendNonceTooLowError) p.nonceUsed = true;
      else logger.warn({ msg: `stuck ${what} could not be replaced; retrying next head`, nonce: p.nonce, reason: r.reason });
      return undefined;
    }
    this.pending = { ...p, hash: r.hash, fees: r.fees, sentAtBlock: head.number, hashes: [...p.hashes, r.hash] };
    logger.info({ msg: `stuck ${what} replaced with higher fees`, nonce: p.nonce, hash: r.hash, maxFeePerGas: r.fees.maxFeePerGas });
    return undefined;
  }

  private async receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.inputs.client.getTransactionReceipt({ hash });
    } catch (e) {
      if (e instanceof TransactionReceiptNotFoundError) return undefined;
      throw e;
    }
  }
}
