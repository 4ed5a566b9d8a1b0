/**
 * The native token's price in USD, which gas (L2 and L1) is valued at: read from a Chainlink feed
 * at every head, or a fixed price given explicitly. Protocol-neutral: the planner, the submit path,
 * the gas budget and the profit ledger read `usd` from here.
 *
 * Which price (the order `perp-keeper run --help` states):
 *  1. a fixed price set explicitly (`--native-price-usd`, or `nativeTokenPriceUsd` in the settings file);
 *  2. the feed the settings name (`nativeTokenPriceFeed`);
 *  3. the deployment file's `nativeUsdFeed` (devnet and demo deploy an ETH / USD pair);
 *  otherwise the keeper does not start ({@link NativePriceMissingError}).
 *
 * A feed is read with one eth_call (latestRoundData at the head's block; decimals() is read once,
 * at start) at a head whose logs bloom may hold a log of the feed's aggregator (a new round is
 * published with AnswerUpdated from the aggregator; chain/bloom.ts), at a head without a bloom, and
 * at least every {@link NATIVE_RECHECK_BLOCKS} heads, when the proxy's aggregator() is read again
 * too (a proxy switched to another aggregator emits nothing). Between reads, the last round's age
 * is still checked at every head. An answer older than `maxAgeSeconds` at the head's time, or not positive,
 * is not taken: the last good price is kept, a warning is logged once, and
 * `keeper_native_price_stale` says 1 until a good answer comes.
 */
import type { Address, Hex } from "viem";
import { bloomMayContainAny } from "../chain/bloom.ts";
import { answerToWad, readAggregatorAt, readFeedAt, readRoundAt, type ChainlinkRound, type FeedCall } from "../chain/chainlink.ts";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { formatWad } from "../lib/units.ts";

/** A USD WAD price for a log line: "3,400.00". */
const formatUsd = (wad: bigint) => formatWad(wad, 2);

/** Where the price comes from: a fixed WAD price, or a feed with a staleness limit. */
export type NativePriceSource = { kind: "fixed"; usd: bigint } | { kind: "feed"; feed: Address; maxAgeSeconds: number; from: "settings" | "deployment" };

/** Neither a fixed price nor a feed is known: the keeper cannot value gas. */
export class NativePriceMissingError extends BaseError {
  override name = "NativePriceMissingError";
  constructor() {
    super(
      "no native-token price: name a Chainlink feed (nativeTokenPriceFeed in the settings file, or a deployment file with nativeUsdFeed), or set a fixed price (--native-price-usd / nativeTokenPriceUsd)",
      { userError: true },
    );
  }
}

/** The feed answered nothing usable at start (no round, or a call that failed): the keeper has no price to begin with. */
export class NativePriceUnavailableError extends BaseError {
  override name = "NativePriceUnavailableError";
  constructor(feed: Address, why: string, cause?: unknown) {
    super(`native-token price feed ${feed}: ${why}`, { cause, userError: true });
  }
}

/** Pick the source by the precedence above. */
export function nativePriceSourceOf(
  settings: { nativeUsd?: bigint; nativeTokenPriceFeed?: Address; nativePriceMaxAgeSeconds: number },
  deployment: { nativeUsdFeed?: Address },
): NativePriceSource {
  if (settings.nativeUsd !== undefined) return { kind: "fixed", usd: settings.nativeUsd };
  const maxAgeSeconds = settings.nativePriceMaxAgeSeconds;
  if (settings.nativeTokenPriceFeed !== undefined) return { kind: "feed", feed: settings.nativeTokenPriceFeed, maxAgeSeconds, from: "settings" };
  if (deployment.nativeUsdFeed !== undefined) return { kind: "feed", feed: deployment.nativeUsdFeed, maxAgeSeconds, from: "deployment" };
  throw new NativePriceMissingError();
}

export type NativePriceInputs = {
  source: NativePriceSource;
  /** eth_call at a block number (undefined when it reverted); unused for a fixed price. */
  call: FeedCall<bigint>;
  logger: Logger;
  metrics: Metrics;
};

/** The head fields a read needs (the bloom, when known, spares the reads of heads without a new round). */
export type PriceHead = { number: bigint; timestamp: bigint; logsBloom?: Hex | undefined };

/** Heads between two reads of the feed at the most, whatever the blooms say. */
export const NATIVE_RECHECK_BLOCKS = 64n;

export class NativePrice {
  private price: bigint | undefined;
  private stale = false;
  /** decimals() of the feed, read at start: it never changes for a proxy's answers. */
  private decimals: number | undefined;
  /** The proxy's aggregator at the latest full read; undefined when the feed has no aggregator() (every head is then read). */
  private aggregator: Address | undefined;
  private lastRound: ChainlinkRound | undefined;
  private readAt: bigint | undefined;

  constructor(private readonly inputs: NativePriceInputs) {
    const s = inputs.source;
    if (s.kind === "fixed") this.setPrice(s.usd);
  }

  /** The current price, USD WAD per native token; throws before the first good read (see {@link start}). */
  get usd(): bigint {
    if (this.price === undefined) throw new NativePriceUnavailableError(this.feedAddress ?? "0x", "no price read yet (start() not called)");
    return this.price;
  }

  /** Whether the latest read was refused as stale or invalid (the last good price is in use). */
  get isStale(): boolean {
    return this.stale;
  }

  get source(): NativePriceSource {
    return this.inputs.source;
  }

  private get feedAddress(): Address | undefined {
    return this.inputs.source.kind === "feed" ? this.inputs.source.feed : undefined;
  }

  /**
   * The first read, at start: a feed that cannot be read, or has no round, stops the start. A
   * stale first answer is taken (there is no better one) with a warning.
   */
  async start(head: PriceHead): Promise<void> {
    const s = this.inputs.source;
    if (s.kind === "fixed") {
      this.inputs.logger.info({ usd: formatUsd(s.usd), source: "fixed" }, "native-token price: fixed (explicit override)");
      return;
    }
    let snap;
    try {
      snap = await readFeedAt(this.inputs.call, s.feed, head.number);
    } catch (e) {
      throw new NativePriceUnavailableError(s.feed, "cannot be read (not a Chainlink feed on this chain?)", e);
    }
    if (snap.round === undefined || snap.round.answer <= 0n) throw new NativePriceUnavailableError(s.feed, "has no valid answer yet");
    this.decimals = snap.decimals;
    this.lastRound = snap.round;
    this.readAt = head.number;
    this.aggregator = await readAggregatorAt(this.inputs.call, s.feed, head.number).catch(() => undefined);
    const usd = answerToWad(snap.round.answer, snap.decimals);
    const age = head.timestamp - snap.round.updatedAt;
    this.setPrice(usd);
    this.setStale(age > BigInt(s.maxAgeSeconds), { ageSeconds: age, usd });
    this.inputs.logger.info({ usd: formatUsd(usd), feed: s.feed, from: s.from, ageSeconds: age, maxAgeSeconds: s.maxAgeSeconds }, "native-token price: from its Chainlink feed");
  }

  /**
   * Read the feed at `head` when it may have a new round (see the top of the file); otherwise check
   * the last round's age only. Never throws: a failed read keeps the last good price (logged at
   * debug; the next head tries again).
   */
  async refresh(head: PriceHead): Promise<void> {
    const s = this.inputs.source;
    if (s.kind === "fixed" || this.decimals === undefined) return;
    const recheck = this.readAt === undefined || head.number < this.readAt || head.number - this.readAt >= NATIVE_RECHECK_BLOCKS;
    if (!recheck && this.aggregator && this.lastRound && !bloomMayContainAny(head.logsBloom, [this.aggregator, s.feed])) {
      if (head.timestamp - this.lastRound.updatedAt > BigInt(s.maxAgeSeconds)) this.setStale(true, { ageSeconds: head.timestamp - this.lastRound.updatedAt });
      return;
    }
    try {
      const [round, aggregator] = await Promise.all([
        readRoundAt(this.inputs.call, s.feed, head.number),
        recheck || bloomMayContainAny(head.logsBloom, [s.feed]) ? readAggregatorAt(this.inputs.call, s.feed, head.number).catch(() => undefined) : Promise.resolve(this.aggregator),
      ]);
      this.aggregator = aggregator;
      this.readAt = head.number;
      if (round) this.lastRound = round;
      if (round === undefined || round.answer <= 0n) {
        this.setStale(true, { why: "no valid answer" });
        return;
      }
      const age = head.timestamp - round.updatedAt;
      if (age > BigInt(s.maxAgeSeconds)) {
        this.setStale(true, { ageSeconds: age });
        return;
      }
      this.setPrice(answerToWad(round.answer, this.decimals));
      this.setStale(false, {});
    } catch (e) {
      this.inputs.logger.debug({ err: e, feed: s.feed, block: head.number }, "native-token price read failed; keeping the last one");
    }
  }

  private setPrice(usd: bigint): void {
    this.price = usd;
    this.inputs.metrics.nativePriceUsd.set(Number(usd) / 1e18);
  }

  private setStale(stale: boolean, fields: Record<string, unknown>): void {
    if (stale === this.stale) return;
    this.stale = stale;
    this.inputs.metrics.nativePriceStale.set(stale ? 1 : 0);
    const s = this.inputs.source;
    const max = s.kind === "feed" ? s.maxAgeSeconds : undefined;
    const kept = this.price === undefined ? undefined : formatUsd(this.price);
    if (stale) this.inputs.logger.warn({ feed: this.feedAddress, maxAgeSeconds: max, keptUsd: kept, ...fields }, "native-token price feed is stale or invalid: keeping the last good price");
    else this.inputs.logger.info({ feed: this.feedAddress, usd: kept }, "native-token price feed is fresh again");
  }
}
