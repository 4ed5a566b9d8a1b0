/**
 * Protocol duties (protocol.ts `Duty`): transactions the keeper's role owes the venue beside
 * liquidations, the reference market's auto-deleveraging first. Backstop-mode keepers run them.
 *
 * One duty at a time, at the end of a tick: the liquidations the tick queued are sent first (a duty
 * may follow them at the next nonce, Executor.sendOwn `behindInFlight`), then the protocol's best
 * duty goes out if the node's estimate says it succeeds (an estimate that reverts sends nothing).
 * It is followed to its receipt and replaced with higher fees when stuck (ownFollow.ts); the next
 * duty waits for it, since each one changes the state the next is planned on.
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
  private readonly follower: OwnTxFollower<Duty>;

  constructor(private readonly inputs: DutyRunnerInputs) {
    this.follower = new OwnTxFollower({ ...inputs, what: "duty" });
  }

  /** A duty is sent and not yet mined. */
  get inFlight(): boolean {
    return this.follower.inFlight;
  }

  /** At the end of a tick at `head`: follow the duty in flight, or send the best one due for `accounts`. */
  async onHead(head: { number: bigint; timestamp: bigint }, accounts: readonly Address[]): Promise<void> {
    const { book, executor, logger, metrics, address } = this.inputs;
    if (this.follower.inFlight) {
      const end = await this.follower.follow(head);
      if (!end) return;
      const d = end.meta;
      if ("gone" in end) {
        metrics.duties.inc({ kind: d.kind, outcome: "gone" });
        logger.warn({ msg: `${d.kind} gone: its nonce was used by another transaction`, account: d.account, hashes: end.hashes });
      } else {
        const ok = end.receipt.status === "success";
        metrics.duties.inc({ kind: d.kind, outcome: ok ? "mined" : "reverted" });
        const fields = { account: d.account, hash: end.receipt.transactionHash, block: end.receipt.blockNumber, ...d.detail };
        if (ok) logger.info({ msg: `${d.kind} mined`, ...fields });
        else logger.error({ msg: `${d.kind} reverted on chain`, ...fields });
      }
    }
    if (!book.duties || accounts.length === 0) return;
    const duty = book.duties(accounts, head.timestamp, address)[0];
    if (!duty) return;
    await executor.idle();
    let r;
    try {
      r = await executor.sendOwn({ to: duty.to, data: duty.data }, { behindInFlight: true });
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
    this.follower.track(r, { to: duty.to, data: duty.data }, duty, head.number);
    logger.info({ msg: `sending ${duty.kind}`, account: duty.account, hash: r.hash, nonce: r.nonce, block: head.number, ...duty.detail });
  }
}
