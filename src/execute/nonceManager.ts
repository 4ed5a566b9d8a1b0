/**
 * A local nonce counter for one key, so that sends need no `eth_getTransactionCount` round trip.
 *
 * - Starts from the node's `pending` count (`init()`), which includes our transactions still in the
 *   pool: a restarted keeper continues after them instead of replacing them.
 * - `next()` hands out a nonce; after the broadcast, `confirm()` (the node took it) or `release()`
 *   (it did not: the nonce is handed out again, so no gap is left).
 * - `resync()` re-reads the pending count: after "nonce too low" / "already known" /
 *   "replacement transaction underpriced" on a new nonce (another process uses the key), after a
 *   "nonce too high" (a gap), and when a nonce we sent at was consumed by a transaction we do not
 *   know.
 * - Never below `floor()`: the nonce after our own transactions still in flight. A node that does not
 *   see our pending transactions (they went to a private relay, which keeps them out of the public
 *   pool) reports a pending count that stops at the chain's; re-reading it must not hand out a nonce
 *   we are still waiting on.
 * - `exclusive()` serialises reserve → sign → broadcast → confirm/release and resyncs, so two
 *   sends never get the same nonce and a resync never runs in the middle of a send. Call
 *   `next`/`confirm`/`release`/`resync` only inside it.
 */
import type { Address, Chain, PublicClient, Transport } from "viem";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";

export class NonceManagerNotReadyError extends BaseError {
  override name = "NonceManagerNotReadyError";
  constructor() {
    super("the nonce manager is not initialised: await init() first");
  }
}

export type NonceManagerInputs = {
  publicClient: Pick<PublicClient<Transport, Chain>, "getTransactionCount">;
  address: Address;
  logger: Logger;
  /** The lowest nonce still free by our own records (the nonce after our highest in flight); default 0. */
  floor?: () => number;
};

export class NonceManager {
  private readonly publicClient: NonceManagerInputs["publicClient"];
  readonly address: Address;
  private readonly logger: Logger;
  private readonly floor: () => number;
  /** The nonce the next send gets; undefined before init(). */
  private nextNonce: number | undefined;
  /** Highest nonce the node accepted from us (−1: none yet). */
  private lastConfirmed = -1;
  private initialising: Promise<void> | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(inputs: NonceManagerInputs) {
    this.publicClient = inputs.publicClient;
    this.address = inputs.address;
    this.logger = inputs.logger;
    this.floor = inputs.floor ?? (() => 0);
  }

  /** Read the pending count once; later calls return the same promise. A failed read is retried. */
  init(): Promise<void> {
    if (this.nextNonce !== undefined) return Promise.resolve();
    this.initialising ??= this.readPending().then(
      (n) => {
        this.nextNonce ??= n;
        this.logger.debug({ msg: "nonce manager initialised", address: this.address, nonce: n });
      },
      (e: unknown) => {
        this.initialising = undefined;
        throw e;
      },
    );
    return this.initialising;
  }

  get ready(): boolean {
    return this.nextNonce !== undefined;
  }

  /** Highest nonce the node accepted from us since start (−1: none). */
  get highestConfirmed(): number {
    return this.lastConfirmed;
  }

  /** The nonce `next()` would hand out (throws before init). */
  peek(): number {
    if (this.nextNonce === undefined) throw new NonceManagerNotReadyError();
    return this.nextNonce;
  }

  /** Reserve the next nonce. */
  next(): number {
    const n = this.peek();
    this.nextNonce = n + 1;
    return n;
  }

  /** The node accepted a transaction at `nonce`. */
  confirm(nonce: number): void {
    if (nonce > this.lastConfirmed) this.lastConfirmed = nonce;
  }

  /**
   * The broadcast at `nonce` failed without using it: hand it out again. Under `exclusive()` it is
   * always the last one reserved; if it is not (a resync ran in between), the counter is left alone.
   */
  release(nonce: number): void {
    if (this.nextNonce === nonce + 1) this.nextNonce = nonce;
  }

  /** Re-read the node's pending count and continue from it. Returns the new next nonce. */
  async resync(reason: string): Promise<number> {
    const n = await this.readPending();
    const before = this.nextNonce;
    this.nextNonce = n;
    if (before !== n) this.logger.warn({ msg: "nonce resynced", address: this.address, reason, from: before, to: n });
    else this.logger.debug({ msg: "nonce resync: unchanged", address: this.address, reason, nonce: n });
    return n;
  }

  /** Run `fn` after every earlier exclusive section has finished (a FIFO lock). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The node's pending count, raised to {@link NonceManagerInputs.floor} when the node cannot see our transactions. */
  private async readPending(): Promise<number> {
    const n = await this.publicClient.getTransactionCount({ address: this.address, blockTag: "pending" });
    const floor = this.floor();
    if (floor > n) this.logger.debug({ msg: "pending count below our own transactions in flight (sent through a private relay?)", address: this.address, pending: n, floor });
    return Math.max(n, floor);
  }
}
