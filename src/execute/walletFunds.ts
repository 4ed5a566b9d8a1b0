/**
 * Whether the keeper's wallet can pay for its transactions. The node's "insufficient funds"
 * answer (viem's InsufficientFundsError, classified in sendError.ts) marks the wallet short: sends
 * back off for `backoffMs` at a time (each retry that fails again extends it), the metric
 * `keeper_wallet_insufficient_funds` is 1, and the daemon reports itself unhealthy, until a send
 * succeeds or the balance covers the send that failed (checked once a block while short).
 */
import type { Address, PublicClient } from "viem";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";

export type WalletFundsStatus =
  | { ok: true }
  | { ok: false; reason: "insufficient_funds"; since: number; neededWei: bigint };

export type WalletFundsInputs = {
  client: Pick<PublicClient, "getBalance">;
  address: Address;
  logger: Logger;
  /** `keeper_wallet_balance_wei` follows every balance read here too (the wallet watch reads it every few heads). */
  metrics: Pick<Metrics, "walletInsufficientFunds" | "walletBalanceWei">;
  now: () => number;
  backoffMs: number;
};

export class WalletFunds {
  private short: { since: number; neededWei: bigint } | undefined;
  private retryAt = -Infinity;

  constructor(private readonly inputs: WalletFundsInputs) {}

  /** A send of worst case `neededWei` was refused for lack of funds: pause sending. */
  markShort(neededWei: bigint): void {
    const now = this.inputs.now();
    const first = this.short === undefined;
    this.short = { since: this.short?.since ?? now, neededWei };
    this.retryAt = now + this.inputs.backoffMs;
    this.inputs.metrics.walletInsufficientFunds.set(1);
    const fields = { keeper: this.inputs.address, neededWei, retryInMs: this.inputs.backoffMs };
    if (first) this.inputs.logger.error({ msg: "the keeper's wallet cannot pay for its transactions: sending paused until it is funded", ...fields });
    else this.inputs.logger.warn({ msg: "still not enough funds to send", ...fields });
  }

  /** A send went through, or the balance covers what failed. */
  markOk(why: string): void {
    if (this.short === undefined) return;
    this.short = undefined;
    this.retryAt = -Infinity;
    this.inputs.metrics.walletInsufficientFunds.set(0);
    this.inputs.logger.info({ msg: "the keeper's wallet can pay again: sending resumed", why });
  }

  /** While short: does the balance now cover the send that failed? (One read; failures are logged.) */
  async recheck(): Promise<void> {
    const needed = this.short?.neededWei;
    if (needed === undefined) return;
    try {
      const balance = await this.inputs.client.getBalance({ address: this.inputs.address });
      this.inputs.metrics.walletBalanceWei.set(Number(balance));
      if (balance >= needed) this.markOk("the balance covers the send that failed");
    } catch (e) {
      this.inputs.logger.warn({ msg: "could not read the keeper's balance", err: e });
    }
  }

  /** Sending is backing off now. */
  backingOff(): boolean {
    return this.short !== undefined && this.inputs.now() < this.retryAt;
  }

  status(): WalletFundsStatus {
    return this.short === undefined ? { ok: true } : { ok: false, reason: "insufficient_funds", ...this.short };
  }
}
