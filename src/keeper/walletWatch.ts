/**
 * The keeper's wallet, watched: its native-token balance read every few heads while the keeper
 * spends (transactions queued or in flight, and once after), else every {@link BALANCE_IDLE_EVERY_BLOCKS}
 * heads, for transfers from outside (one eth_getBalance;
 * the executor's own read while a send was refused for lack of funds sets the same gauge), exported
 * as `keeper_wallet_balance_wei`, against the `--min-balance` floor (the keeper is not ready under
 * it); and, when configured, the reward sweep (sweep.ts). Runs after a tick, never inside one.
 */
import type { Address, PublicClient } from "viem";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { Sweeper } from "./sweep.ts";

/** Default of `WalletWatchInputs.everyBlocks`. */
export const BALANCE_EVERY_BLOCKS = 5;
/** Between reads while the keeper sends nothing: only a transfer from outside can change the balance then. */
export const BALANCE_IDLE_EVERY_BLOCKS = 50;

export type WalletWatchInputs = {
  client: Pick<PublicClient, "getBalance">;
  address: Address;
  logger: Logger;
  metrics: Pick<Metrics, "walletBalanceWei">;
  /** Not ready under this balance (wei); absent: no floor. */
  minBalanceWei?: bigint;
  /** Read the balance once every this many blocks (and at the first head). Default {@link BALANCE_EVERY_BLOCKS}. */
  everyBlocks?: number;
  sweeper?: Sweeper;
};

export class WalletWatch {
  private balance: bigint | undefined;
  private readAt: bigint | undefined;
  private low = false;
  /** A transaction of ours was queued or in flight since the last read: its gas changed the balance. */
  private spentSinceRead = false;

  constructor(private readonly inputs: WalletWatchInputs) {}

  /** The latest balance read (wei); undefined before the first. */
  get balanceWei(): bigint | undefined {
    return this.balance;
  }

  get minBalanceWei(): bigint | undefined {
    return this.inputs.minBalanceWei;
  }

  /** After a tick at `head`: read the balance when due, then let the sweeper act (`idle`: nothing queued or in flight). */
  async onHead(head: { number: bigint }, idle: () => boolean): Promise<void> {
    const busy = !idle();
    if (busy) this.spentSinceRead = true;
    const given = this.inputs.everyBlocks;
    const every = BigInt(given ?? (this.spentSinceRead ? BALANCE_EVERY_BLOCKS : BALANCE_IDLE_EVERY_BLOCKS));
    // A head below the last read is a reorg or a restart on another chain state: read again.
    if (this.readAt === undefined || head.number < this.readAt || head.number - this.readAt >= every) {
      await this.read(head.number);
      this.spentSinceRead = busy;
    }
    try {
      await this.inputs.sweeper?.onHead(head, idle);
    } catch (e) {
      this.inputs.logger.warn({ msg: "sweep failed; retrying on a later head", err: e });
    }
  }

  private async read(block: bigint): Promise<void> {
    const { client, address, logger, metrics, minBalanceWei } = this.inputs;
    try {
      this.balance = await client.getBalance({ address });
      this.readAt = block;
    } catch (e) {
      logger.warn({ msg: "could not read the keeper's balance", err: e });
      return;
    }
    metrics.walletBalanceWei.set(Number(this.balance));
    if (minBalanceWei === undefined) return;
    const low = this.balance < minBalanceWei;
    if (low && !this.low) logger.warn({ msg: "the keeper's balance is under --min-balance: not ready until it is funded", keeper: address, balanceWei: this.balance, minBalanceWei });
    if (!low && this.low) logger.info({ msg: "the keeper's balance is back over --min-balance", keeper: address, balanceWei: this.balance, minBalanceWei });
    this.low = low;
  }
}
