import type { Address, Hex, RpcLog } from "viem";
import { bloomMayContainAny } from "../chain/bloom.ts";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { compareLogs, type LogPosition } from "./source.ts";
import { LogRangeTooLargeError, type IndexRpc } from "./rpc.ts";

/**
 * Reading a protocol's logs: one eth_getLogs per range for its contracts and every price source at
 * once (an address array, and a topic OR-list of the protocol's index events only), in adaptive chunks.
 *
 * Chunk sizing: start at `chunkSize` blocks; when a provider refuses a range as too large, retry
 * with the size it suggests or half the range; after every two full-size successes, double (up
 * to `maxChunkSize`). Growth stays below the last size refused: for good when the provider
 * limits blocks (a fixed limit: one refusal, not one every few chunks), for 8 successes when it
 * limits results (that depends on how dense the logs are, so sparse blocks later may take more).
 * A single block that is still refused cannot be split: {@link LogRangeUnsplittableError}.
 *
 * Results are bounded too, by the keeper itself: a node without limits (Anvil) answers any range,
 * and 500,000 logs in one answer hold ~500 MB of JSON in memory at once. Without a configured
 * `chunkSize` the first range is a few blocks and grows ×4 while answers stay small (six requests
 * to reach 4,096 blocks on a sparse chain); an answer above `targetLogs` shrinks the next range in
 * proportion, and growth waits until answers are at most half the target.
 */

export type LogSourceInputs<L extends LogPosition> = {
  rpc: IndexRpc;
  /** The protocol's log topics and decoder (see IndexSource). */
  topics: readonly Hex[];
  decode: (raw: RpcLog) => L | undefined;
  logger: Logger;
  /** First chunk size, in blocks. Default 2,000. */
  chunkSize?: number;
  /** Chunks never grow beyond this. Default max(10,000, chunkSize). */
  maxChunkSize?: number;
  /** Logs one answer should hold at most (ranges are sized for it). Default 10,000. */
  targetLogs?: number;
};

export type LogChunk<L extends LogPosition> = {
  fromBlock: bigint;
  toBlock: bigint;
  /** The addresses the chunk was read for. */
  addresses: readonly Address[];
  logs: L[];
};

export class LogRangeUnsplittableError extends BaseError {
  override name = "LogRangeUnsplittableError";
  constructor(block: bigint, cause: unknown) {
    super(`eth_getLogs for the single block ${block} is refused as too large`, { cause });
  }
}

const GROW_AFTER = 2;
/** First range without a configured chunk size, in blocks, and its growth factor while answers are small. */
const RAMP_START = 4n;
const RAMP_FACTOR = 4n;
/** Full-size successes a results-limit refusal caps growth for. */
const RESULTS_CEILING_TTL = 8;

export class LogSource<L extends LogPosition> {
  private readonly rpc: IndexRpc;
  private readonly topics: readonly Hex[];
  private readonly decode: (raw: RpcLog) => L | undefined;
  private readonly logger: Logger;
  private readonly maxChunkSize: bigint;
  private size: bigint;
  private successes = 0;
  /** Smallest range refused for its block count: growth stays below it for good. */
  private blockCap: bigint | undefined;
  /** Last range refused for its results: growth stays below it for a few chunks. */
  private ceiling: { size: bigint; ttl: number } | undefined;
  private readonly targetLogs: number;
  /** Growing ×RAMP_FACTOR per small answer, until the first answer that is not small or a refusal. */
  private ramping: boolean;

  constructor(inputs: LogSourceInputs<L>) {
    this.rpc = inputs.rpc;
    this.topics = inputs.topics;
    this.decode = inputs.decode;
    this.logger = inputs.logger;
    const start = BigInt(Math.max(1, Math.floor(inputs.chunkSize ?? 2_000)));
    this.maxChunkSize = BigInt(Math.max(Number(start), Math.floor(inputs.maxChunkSize ?? 10_000)));
    this.ramping = inputs.chunkSize === undefined;
    this.size = this.ramping ? RAMP_START : start;
    this.targetLogs = Math.max(1, Math.floor(inputs.targetLogs ?? 10_000));
  }

  /** The current chunk size, in blocks. */
  get chunkSize(): number {
    return Number(this.size);
  }

  /**
   * Every index log of `addresses()` in [fromBlock, toBlock], one chunk at a time, ascending.
   * `addresses` is asked again before each request, so feeds found in one chunk are read in the next.
   */
  async *range(fromBlock: bigint, toBlock: bigint, addresses: () => readonly Address[]): AsyncGenerator<LogChunk<L>> {
    let from = fromBlock;
    while (from <= toBlock) {
      const span = this.size;
      const to = from + span - 1n < toBlock ? from + span - 1n : toBlock;
      const address = addresses();
      let logs: L[];
      try {
        logs = await this.fetch({ fromBlock: from, toBlock: to, address });
      } catch (e) {
        if (!(e instanceof LogRangeTooLargeError)) throw e;
        this.shrink(from, to, e);
        continue;
      }
      if (to - from + 1n === span) this.sizeAfter(span, logs.length);
      yield { fromBlock: from, toBlock: to, addresses: address, logs };
      from = to + 1n;
    }
  }

  /** All index logs of `address` in [fromBlock, toBlock] (adaptive chunks), ascending. */
  async getRange(fromBlock: bigint, toBlock: bigint, address: readonly Address[]): Promise<L[]> {
    const out: L[] = [];
    for await (const chunk of this.range(fromBlock, toBlock, () => address)) out.push(...chunk.logs);
    return out;
  }

  /** The index logs of `address` in the block with `blockHash` (EIP-234), ascending. */
  async getBlock(blockHash: Hex, address: readonly Address[]): Promise<L[]> {
    return this.fetch({ blockHash, address });
  }

  /**
   * The index logs of `address` in block `head`, as {@link getBlock}; none, without a request, when
   * the header's logs bloom holds none of the addresses (a bloom has no false negatives:
   * chain/bloom.ts). Most blocks of a quiet market cost nothing.
   */
  async getBlockOf(head: { hash: Hex; logsBloom?: Hex | undefined }, address: readonly Address[]): Promise<L[]> {
    return bloomMayContainAny(head.logsBloom, address) ? this.getBlock(head.hash, address) : [];
  }

  private async fetch(filter: Parameters<IndexRpc["getLogs"]>[0]): Promise<L[]> {
    if (filter.address.length === 0) return [];
    const raw = await this.rpc.getLogs({ ...filter, topics: [this.topics] });
    const logs: L[] = [];
    for (const r of raw) {
      const log = this.decode(r);
      if (log) logs.push(log);
    }
    return logs.sort(compareLogs);
  }

  private shrink(from: bigint, to: bigint, e: LogRangeTooLargeError): void {
    this.ramping = false;
    const span = to - from + 1n;
    if (span <= 1n) throw new LogRangeUnsplittableError(from, e);
    let next = e.suggestedSize !== undefined && e.suggestedSize < span ? e.suggestedSize : span / 2n;
    if (next < 1n) next = 1n;
    this.size = next;
    this.successes = 0;
    if (e.limit === "blocks") {
      const cap = e.suggestedSize !== undefined && e.suggestedSize < span ? e.suggestedSize + 1n : span;
      if (this.blockCap === undefined || cap < this.blockCap) this.blockCap = cap;
    } else {
      this.ceiling = { size: span, ttl: RESULTS_CEILING_TTL };
    }
    this.logger.debug({ msg: "eth_getLogs range refused, shrinking", fromBlock: from, toBlock: to, limit: e.limit, chunkSize: Number(next) });
  }

  /** After a full-size answer of `n` logs over `span` blocks: shrink to the log target, or grow. */
  private sizeAfter(span: bigint, n: number): void {
    if (n > this.targetLogs) {
      const next = (span * BigInt(this.targetLogs)) / BigInt(n);
      this.size = next > 0n ? next : 1n;
      this.successes = 0;
      this.ramping = false;
      this.ceiling = { size: span, ttl: RESULTS_CEILING_TTL };
      this.logger.debug({ msg: "eth_getLogs answer above the log target, shrinking", logs: n, chunkSize: Number(this.size) });
      return;
    }
    if (this.ramping && n * 4 <= this.targetLogs) {
      const next = span * RAMP_FACTOR;
      this.size = next > this.maxChunkSize ? this.maxChunkSize : next;
      if (this.size === this.maxChunkSize) this.ramping = false;
      return;
    }
    this.ramping = false;
    if (n * 2 <= this.targetLogs) this.grow();
  }

  private grow(): void {
    if (this.ceiling && --this.ceiling.ttl <= 0) this.ceiling = undefined;
    if (++this.successes < GROW_AFTER) return;
    this.successes = 0;
    let next = this.size * 2n;
    if (next > this.maxChunkSize) next = this.maxChunkSize;
    if (this.ceiling && next >= this.ceiling.size) next = this.ceiling.size - 1n;
    if (this.blockCap !== undefined && next >= this.blockCap) next = this.blockCap - 1n;
    if (next > this.size) {
      this.size = next;
      this.logger.debug({ msg: "eth_getLogs chunk grows", chunkSize: Number(next) });
    }
  }
}
