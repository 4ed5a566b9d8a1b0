/**
 * The reward sweep: the keeper is paid in the market's collateral token (an ERC-20, named by the
 * deployment); when the wallet holds more of it than `--sweep-above`, the excess goes to the cold
 * address `--sweep-to` in one `transfer`. Off the hot path: the keeper asks after a tick, and only
 * while no liquidation is queued or in flight; the transfer goes through the executor's nonce lock
 * (Executor.sendOwn). One sweep at a time: it is followed to its receipt, replaced with higher fees
 * at its nonce if it waits `replaceAfterBlocks`, and counted in `keeper_swept_tokens_total` once mined.
 */
import { encodeFunctionData, erc20Abi, type Address, type PublicClient } from "viem";
import type { Executor } from "../execute/executor.ts";
import type { OwnTransaction } from "../execute/ownTransaction.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { OwnTxFollower } from "./ownFollow.ts";

export type SweepSettings = {
  /** The cold address the excess goes to. */
  to: Address;
  /** The reward token (the deployment's collateral token). */
  token: Address;
  /** Keep this much in the wallet, in whole tokens as 18-decimal fixed point (scaled to the token's decimals). */
  aboveWad: bigint;
};

export type SweeperInputs = {
  client: Pick<PublicClient, "readContract" | "getTransactionReceipt">;
  executor: Pick<Executor, "sendOwn" | "replaceOwn">;
  /** The keeper's address (whose balance is swept). */
  address: Address;
  settings: SweepSettings;
  logger: Logger;
  metrics: Pick<Metrics, "sweptTokens">;
  /** Blocks a sweep may wait unmined before it is replaced with higher fees. */
  replaceAfterBlocks: number;
};

export class Sweeper {
  private decimals: number | undefined;
  /** The sweep in flight; its meta is the amount. */
  private readonly follower: OwnTxFollower<bigint>;

  constructor(private readonly inputs: SweeperInputs) {
    this.follower = new OwnTxFollower({ ...inputs, what: "sweep" });
  }

  /** The threshold in token base units (read the token's decimals once). */
  async thresholdUnits(): Promise<bigint> {
    const { client, settings } = this.inputs;
    this.decimals ??= await client.readContract({ address: settings.token, abi: erc20Abi, functionName: "decimals" });
    const d = this.decimals;
    return d <= 18 ? settings.aboveWad / 10n ** BigInt(18 - d) : settings.aboveWad * 10n ** BigInt(d - 18);
  }

  /** A sweep is sent and not yet mined. */
  get inFlight(): boolean {
    return this.follower.inFlight;
  }

  /** After a tick at `head`: follow the sweep in flight, or send one if the balance is over the threshold and `idle()`. */
  async onHead(head: { number: bigint }, idle: () => boolean): Promise<void> {
    if (this.follower.inFlight) return this.follow(head);
    if (!idle()) return;
    const { client, settings, address, logger } = this.inputs;
    const above = await this.thresholdUnits();
    const balance = await client.readContract({ address: settings.token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
    if (balance <= above) return;
    const amount = balance - above;
    const tx: OwnTransaction = { to: settings.token, data: encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [settings.to, amount] }) };
    if (!idle()) return;
    const r = await this.inputs.executor.sendOwn(tx);
    if (!r.sent) {
      const fields = { reason: r.reason, amount, to: settings.to, ...(r.error === undefined ? {} : { err: r.error }) };
      if (r.reason === "busy") logger.debug({ msg: "sweep deferred: liquidations in flight", ...fields });
      else logger.warn({ msg: "sweep not sent", ...fields });
      return;
    }
    this.follower.track(r, tx, amount, head.number);
    logger.info({ msg: "sweeping rewards to the cold address", hash: r.hash, nonce: r.nonce, amount, keep: above, to: settings.to, token: settings.token });
  }

  private async follow(head: { number: bigint }): Promise<void> {
    const end = await this.follower.follow(head);
    if (!end) return;
    const { logger, metrics } = this.inputs;
    const amount = end.meta;
    if ("gone" in end) {
      logger.warn({ msg: "sweep gone: its nonce was used by another transaction", hashes: end.hashes });
      return;
    }
    const { transactionHash: hash, blockNumber: block } = end.receipt;
    if (end.receipt.status === "success") {
      metrics.sweptTokens.inc(Number(amount));
      logger.info({ msg: "rewards swept", hash, block, amount, to: this.inputs.settings.to });
    } else {
      logger.warn({ msg: "sweep reverted on chain", hash, block, amount });
    }
  }
}
