/**
 * Protocol duties (protocol.ts `Duty`): transactions the keeper's role owes the venue beside
 * liquidations, the reference market's auto-deleveraging first. Backstop-mode keepers run them.
 *
 * At the end of a tick: the liquidations the tick queued are sent first (duties may follow them at
 * the next nonces, Executor.sendOwn `behindInFlight`), then the protocol's duties go out in its
 * order, each planned on the state the ones before it leave (the first only if the node's estimate
 * says it succeeds). Each is followed to its receipt and replaced with higher fees when stuck
 * (ownFollow.ts); no new duty is planned while one is in flight, since the index does not yet
 * show what it changed.
 */
import type { Address, PublicClient } from "viem";
import type { Executor } from "../execute/executor.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { OwnTxFollower } from "./ownFollow.ts";
import type { Book, Duty } from "./protocol.ts";

export type DutyRunnerInputs = {
  book: Pick<Book, "duties">;
  executor: Pick<Executor, "sendOwn" | "replaceOwn" | "idle">;
  client: Pick<PublicClient, "getTransactionReceipt">;
  /** The keeper's address: the role the protocol checks. */
  address: Address;
  logger: Logger;
  metrics: Pick<Metrics, "duties">;
  replaceAfterBlocks: number;
};

export class DutyRunner {
  /** The duties sent and not yet settled, each followed to its receipt. */
  private followers: OwnTxFollower<Duty>[] = [];

  constructor(private readonly inputs: DutyRunnerInputs) {}

  /**
   * At the end of a tick at `head`: follow the duties in flight; once all have settled, send the
   * ones due for `accounts`, in the protocol's order. The first goes out only if the node's
   * estimate succeeds; the next ones are valid only on the state the first leaves, so they carry
   * the protocol's gas limit instead, and none goes out after a refusal.
   */
  async onHead(head: { number: bigint; timestamp: bigint }, accounts: readonly Address[]): Promise<void> {
    const { book, executor, logger, metrics, address } = this.inputs;
    for (const f of [...this.followers]) {
      const end = await f.follow(head);
      if (!end) continue;
      this.followers = this.followers.filter((x) => x !== f);
      const d = end.meta;
      if ("gone" in end) {
        metrics.duties.inc({ kind: d.kind, outcome: "gone" });
        logger.warn({ msg: `${d.kind} gone: its nonce was used by another transaction`, account: d.account, hashes: end.hashes });
        continue;
      }
      const ok = end.receipt.status === "success";
      metrics.duties.inc({ kind: d.kind, outcome: ok ? "mined" : "reverted" });
      const fields = { account: d.account, hash: end.receipt.transactionHash, block: end.receipt.blockNumber, gasUsed: end.receipt.gasUsed, ...d.detail };
      if (ok) logger.info({ msg: `${d.kind} mined`, ...fields });
      else logger.error({ msg: `${d.kind} reverted on chain`, ...fields });
    }
    if (this.followers.length > 0 || !book.duties || accounts.length === 0) return;
    const duties = book.duties(accounts, head.timestamp, address);
    if (duties.length === 0) return;
    await executor.idle();
    for (const [i, duty] of duties.entries()) {
      const tx = { to: duty.to, data: duty.data };
      let r;
      try {
        r = await executor.sendOwn(tx, { behindInFlight: true, ...(i > 0 && duty.gas !== undefined ? { gas: duty.gas } : {}) });
      } catch (e) {
        // The node's estimate reverted: the state moved since the index saw it. Planned again next head.
        metrics.duties.inc({ kind: duty.kind, outcome: "refused" });
        logger.warn({ msg: `${duty.kind} not sent: the node says it would fail`, account: duty.account, err: e, ...duty.detail });
        return;
      }
      if (!r.sent) {
        metrics.duties.inc({ kind: duty.kind, outcome: "refused" });
        logger.warn({ msg: `${duty.kind} not sent`, reason: r.reason, account: duty.account, ...duty.detail });
        return;
      }
      metrics.duties.inc({ kind: duty.kind, outcome: "sent" });
      const f = new OwnTxFollower<Duty>({ ...this.inputs, what: duty.kind });
      f.track(r, tx, duty, head.number);
      this.followers.push(f);
      logger.info({ msg: `sending ${duty.kind}`, account: duty.account, hash: r.hash, nonce: r.nonce, gas: r.gas, block: head.number, ...duty.detail });
    }
  }
}
