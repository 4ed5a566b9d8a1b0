/**
 * What the soak measures from the chain, never from the keeper's account of itself, with the fault
 * matrix's definitions (test/faults/harness.ts imports vitest, so a script cannot import it:
 * `ourTx` below is its `ourTransactions`; `duplicates` here is the one both use):
 *
 * - reverted: our mined transactions whose receipt says reverted;
 * - duplicate: an item of ours that did nothing on a target whose last effective liquidation
 *   before it was ours (sent while our own was pending, or after it was mined);
 * - missed: harness.ts counts a target missed when it is not liquidated within RECOVERY_BLOCKS of
 *   the fault clearing. A soak has no single shock, so: an account the contract lets anyone
 *   liquidate now (maxLiquidatable > 0 in one of its markets; not during a cooldown) that is
 *   still so, with no liquidation of it by anyone, `k` blocks later, counting only blocks during
 *   which the keeper was up and no blocking fault was on.
 */
import { decodeFunctionData, getAddress, parseEventLogs, type Address, type Transaction, type TransactionReceipt } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { Liquidation } from "../../test/support/market.ts";
import type { SoakWorld } from "./world.ts";

export type OurTx = { tx: Transaction; receipt: TransactionReceipt; targets: string[]; effective: Set<string>; failed: Set<string> };

/** A Liquidated event, as the test world reads it (a type only: nothing of the test world runs here). */
export type { Liquidation };

/** One transaction of ours with an item that did nothing (or reverted), and what the chain said about it. */
export type Failure = {
  hash: string;
  block: number;
  status: string;
  targets: { target: string; liquidatableBefore: boolean; maxSliceBefore: string }[];
  /** Transactions the block ran before ours: from→to:selector. */
  before: string[];
};

export type Missed = { account: Address; since: bigint; at: bigint; cleanBlocks: number };

const key = (account: string, marketId: number | bigint) => `${getAddress(account)}:${Number(marketId)}`;

/**
 * Blocks in which a miss does not count: the daemon down or catching up after a (re)start, a
 * blocking fault on, and `graceBlocks` after each.
 */
export class Windows {
  private readonly closed: { from: bigint; to: bigint }[] = [];
  private openFrom: bigint | undefined;
  /** Reasons open now (a restart during a blocking fault phase: both must end). */
  private depth = 0;

  constructor(private readonly graceBlocks: number) {}

  /** From `block` on, misses do not count, until every open() has its close(). */
  open(block: bigint): void {
    if (this.depth++ === 0) this.openFrom = block;
  }

  /** When the last reason ends: they count again `graceBlocks` after `block`. */
  close(block: bigint): void {
    if (this.depth === 0 || --this.depth > 0 || this.openFrom === undefined) return;
    this.closed.push({ from: this.openFrom, to: block + BigInt(this.graceBlocks) });
    this.openFrom = undefined;
  }

  /** Blocks in (from, to] outside every window. */
  cleanBlocks(from: bigint, to: bigint): number {
    let n = Number(to - from);
    const spans = [...this.closed, ...(this.openFrom === undefined ? [] : [{ from: this.openFrom, to }])];
    // Overlapping windows would be subtracted twice: merge them first.
    spans.sort((a, b) => (a.from < b.from ? -1 : 1));
    let lo = from;
    for (const s of spans) {
      const a = s.from > lo ? s.from : lo;
      const b = s.to < to ? s.to : to;
      if (b > a) {
        n -= Number(b - a);
        lo = b;
      }
    }
    return Math.max(0, n);
  }
}

export class Audit {
  readonly ours: OurTx[] = [];
  readonly missed: Missed[] = [];
  readonly failures: Failure[] = [];
  /** Blocks from first seen liquidatable to no longer so, per episode (every account, any cause). */
  readonly episodeBlocks: number[] = [];
  checks = 0;
  private scanned: bigint;
  private readonly actionable = new Map<Address, { since: bigint; counted: boolean }>();
  /** The block of each account's latest Liquidated event (anyone's). */
  private readonly lastLiquidated = new Map<Address, bigint>();

  constructor(
    private readonly world: SoakWorld,
    private readonly windows: Windows,
    private readonly k: number,
    fromBlock: bigint,
  ) {
    this.scanned = fromBlock - 1n;
  }

  /** Read blocks up to `toBlock`: every transaction the keeper's address sent, with its receipt. */
  async scan(toBlock: bigint): Promise<void> {
    const read = this.world.reader;
    const numbers: bigint[] = [];
    for (let b = this.scanned + 1n; b <= toBlock; b++) numbers.push(b);
    if (numbers.length === 0) return;
    const [blocks, logs] = await Promise.all([
      Promise.all(numbers.map((blockNumber) => read.getBlock({ blockNumber, includeTransactions: true }))),
      read.getLogs({ address: this.world.deployment.contracts.market, fromBlock: numbers[0]!, toBlock }),
    ]);
    for (const l of parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" })) this.lastLiquidated.set(getAddress(l.args.account), l.blockNumber);
    const mine = blocks.flatMap((b) => b.transactions.filter((t) => getAddress(t.from) === this.world.keeper));
    const receipts = await Promise.all(mine.map((t) => read.getTransactionReceipt({ hash: t.hash })));
    for (const [i, t] of mine.entries()) {
      const our = this.ourTx(t as Transaction, receipts[i]!);
      this.ours.push(our);
      if (our.failed.size > 0 || our.receipt.status !== "success") this.failures.push(await this.diagnose(our, blocks.find((b) => b.number === our.receipt.blockNumber)!.transactions as Transaction[]));
    }
    this.scanned = toBlock;
  }

  /**
   * Why an item of ours did nothing, read while Anvil still holds the state: the contract's word
   * on each failed target at the block before (the state the keeper planned on, at the latest),
   * and what the block ran before ours.
   */
  private async diagnose(our: OurTx, txs: readonly Transaction[]): Promise<Failure> {
    const read = this.world.reader;
    const market = this.world.deployment.contracts.market;
    const parent = { blockNumber: our.receipt.blockNumber - 1n };
    const targets = await Promise.all(
      [...our.failed, ...(our.receipt.status === "success" ? [] : our.targets)].map(async (t) => {
        const [account, id] = t.split(":") as [Address, string];
        const [liquidatable, slice] = await Promise.all([
          read.readContract({ address: market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [account], ...parent }),
          read.readContract({ address: market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [account, BigInt(id)], ...parent }),
        ]);
        return { target: t, liquidatableBefore: liquidatable, maxSliceBefore: slice.toString() };
      }),
    );
    const before = txs.filter((t) => t.transactionIndex !== null && t.transactionIndex < our.receipt.transactionIndex).map((t) => `${t.from.slice(0, 10)}→${t.to?.slice(0, 10) ?? "create"}:${t.input.slice(0, 10)}`);
    return { hash: our.tx.hash, block: Number(our.receipt.blockNumber), status: our.receipt.status, targets, before };
  }

  private ourTx(tx: Transaction, receipt: TransactionReceipt): OurTx {
    return ourTxOf(this.world.deployment.contracts.market, tx, receipt);
  }

  /** At `block` (the head): which of `population` anyone may liquidate now; misses and finished episodes. */
  async check(block: bigint, population: Iterable<Address>): Promise<void> {
    const read = this.world.reader;
    const market = this.world.deployment.contracts.market;
    const at = { blockNumber: block };
    const accounts = [...population];
    const flags = await Promise.all(accounts.map((a) => read.readContract({ address: market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [a], ...at })));
    const liquidatable = accounts.filter((_, i) => flags[i]);
    const now = new Set<Address>();
    await Promise.all(
      liquidatable.map(async (a) => {
        const ids = await read.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [a], ...at });
        const slices = await Promise.all(ids.map((id) => read.readContract({ address: market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [a, id], ...at })));
        if (slices.some((s) => s > 0n)) now.add(a);
      }),
    );
    this.checks++;
    for (const [a, e] of this.actionable) {
      if (now.has(a)) continue;
      this.episodeBlocks.push(Number(block - e.since));
      this.actionable.delete(a);
    }
    for (const a of now) {
      const e = this.actionable.get(a);
      if (!e) {
        this.actionable.set(a, { since: block, counted: false });
        continue;
      }
      // A liquidation is progress: a position taken in 20% steps, a cooldown apart, stays
      // liquidatable for many blocks while the keeper does all it may. The wait counts from the last.
      const last = this.lastLiquidated.get(a);
      if (last !== undefined && last > e.since) e.since = last;
      const clean = this.windows.cleanBlocks(e.since, block);
      if (!e.counted && clean > this.k) {
        e.counted = true;
        this.missed.push({ account: a, since: e.since, at: block, cleanBlocks: clean });
      }
    }
  }

  /** The market's Liquidated events in [fromBlock, toBlock], in chain order (support/market.ts's `liquidations`). */
  async liquidations(fromBlock: bigint, toBlock: bigint): Promise<Liquidation[]> {
    const out: Liquidation[] = [];
    const CHUNK = 5_000n;
    for (let lo = fromBlock; lo <= toBlock; lo += CHUNK) {
      const hi = lo + CHUNK - 1n < toBlock ? lo + CHUNK - 1n : toBlock;
      const logs = await this.world.reader.getLogs({ address: this.world.deployment.contracts.market, fromBlock: lo, toBlock: hi });
      for (const l of parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" })) {
        out.push({
          account: getAddress(l.args.account),
          marketId: Number(l.args.marketId),
          keeper: getAddress(l.args.keeper),
          size: l.args.size,
          full: l.args.full,
          remainingSize: l.args.remainingSize,
          block: l.blockNumber,
          txIndex: l.transactionIndex,
          txHash: l.transactionHash,
        });
      }
    }
    return out.sort((a, b) => (a.block === b.block ? a.txIndex - b.txIndex : a.block < b.block ? -1 : 1));
  }
}

/** Duplicates: the fault matrix's definition (test/faults/harness.ts uses this one). */
export function duplicates(ours: readonly OurTx[], all: readonly Liquidation[]): string[] {
  const out: string[] = [];
  for (const t of ours) {
    for (const target of t.targets) {
      if (t.effective.has(target)) continue;
      const before = all.filter(
        (l) => key(l.account, l.marketId) === target && (l.block < t.receipt.blockNumber || (l.block === t.receipt.blockNumber && l.txIndex < t.receipt.transactionIndex)),
      );
      const last = before[before.length - 1];
      if (last && last.keeper === getAddress(t.tx.from)) out.push(`${target} in ${t.tx.hash} (block ${t.receipt.blockNumber}) after ours in ${last.txHash}`);
    }
  }
  return out;
}

/** One transaction of ours as the chain tells it (the fault matrix's reading, harness.ts uses it too): the targets its calldata names, what it liquidated for its sender, which batch items failed. */
export function ourTxOf(market: Address, tx: Transaction, receipt: TransactionReceipt): OurTx {
  let targets: string[] = [];
  if (tx.to && getAddress(tx.to) === getAddress(market)) {
    try {
      const d = decodeFunctionData({ abi: PerpMarket.abi, data: tx.input });
      if (d.functionName === "liquidate") targets = [key(d.args[0], d.args[1])];
      else if (d.functionName === "liquidateBatch") targets = d.args[0].map((i) => key(i.account, i.marketId));
    } catch {
      // not a liquidation
    }
  }
  const events = parseEventLogs({ abi: PerpMarket.abi, logs: receipt.logs, eventName: ["Liquidated", "LiquidationFailed"] });
  const effective = new Set<string>();
  const failed = new Set<string>();
  for (const e of events) {
    if (e.eventName === "Liquidated" && getAddress(e.args.keeper) === getAddress(tx.from)) effective.add(key(e.args.account, e.args.marketId));
    if (e.eventName === "LiquidationFailed") failed.add(key(e.args.account, e.args.marketId));
  }
  return { tx, receipt, targets, effective, failed };
}
