/**
 * The index mark price (docs/reference-market.md, "Index mark price"): the median of the fresh
 * answers of a market's 1 to 7 feeds, with a spread guard. Mirrors PerpMarket._markPrice and
 * contracts/src/IndexPrice.sol (readFresh, aggregate) operation for operation.
 */
import { PPM } from "./math.ts";

/**
 * One feed's latest answer as a WAD price (answer × 10^(18 − decimals), the contract's
 * normalisation) and its round's `updatedAt`. The keeper's indexed prices (answer, updatedAt,
 * price) fit as they are. `undefined`: the feed has no round yet.
 */
export type FeedPrice = { price: bigint; updatedAt: bigint };

/** A market's index rules, as `setIndexFeeds` and `MarketParams.maxStaleness` set them. */
export type IndexRules = {
  maxStaleness: bigint;
  /** Fewer fresh feeds than this: the market is stale (TooFewFreshFeeds). */
  minSources: number;
  /** (max − min) × 1e6 / mark above this: PriceDeviation. Not applied to a one-feed market. */
  maxDeviationPpm: bigint;
};

/**
 * Why the contract would refuse the mark price:
 * - `missing`: no feed, or a feed without a round (its latestRoundData reverts or is unknown);
 * - `invalid`: one feed and its answer ≤ 0 (InvalidPrice);
 * - `stale`: one feed older than maxStaleness or from the future (StalePrice), or fewer than
 *   `minSources` fresh feeds (TooFewFreshFeeds);
 * - `deviation`: the fresh answers spread more than `maxDeviationPpm` (PriceDeviation).
 * A keeper treats every refusal alike: no liquidation in the market.
 */
export type IndexRefusal = "missing" | "invalid" | "stale" | "deviation";

export type IndexMark =
  | { ok: true; price: bigint; fresh: number; spreadPpm: bigint }
  | { ok: false; reason: IndexRefusal; fresh: number; spreadPpm?: bigint };

/** Fresh: answer > 0 and 0 ≤ now − updatedAt ≤ maxStaleness (the contract's rule, one feed or several). */
export function isFresh(feed: FeedPrice, now: bigint, maxStaleness: bigint): boolean {
  return feed.price > 0n && feed.updatedAt <= now && now - feed.updatedAt <= maxStaleness;
}

/**
 * IndexPrice.aggregate: sort ascending; the middle value when k is odd, the floor of the mean of
 * the two middle ones when even; spread = (max − min) × 1e6 / mark, floored (0 for one value).
 * `values` must be non-empty and positive; it is not modified.
 */
export function aggregateIndex(values: readonly bigint[]): { mark: bigint; spreadPpm: bigint } {
  const v = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const k = v.length;
  const mid = Math.floor(k / 2);
  const mark = k % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2n;
  const spreadPpm = k >= 2 ? ((v[k - 1]! - v[0]!) * PPM) / mark : 0n;
  return { mark, spreadPpm };
}

/**
 * The mark price the contract would read at `now` from a market's feeds (in list order), or why it
 * would refuse. One feed: exactly the one-feed rule of before (invalid, then stale), whatever
 * `minSources` and `maxDeviationPpm` say. Several: the fresh ones; fewer than `minSources` is
 * stale, then the median, then the spread guard.
 */
export function indexMark(feeds: readonly (FeedPrice | undefined)[], rules: IndexRules, now: bigint): IndexMark {
  if (feeds.length === 0 || feeds.some((f) => f === undefined)) return { ok: false, reason: "missing", fresh: 0 };
  const answers = feeds as readonly FeedPrice[];
  if (answers.length === 1) {
    const f = answers[0]!;
    if (f.price <= 0n) return { ok: false, reason: "invalid", fresh: 0 };
    if (!isFresh(f, now, rules.maxStaleness)) return { ok: false, reason: "stale", fresh: 0 };
    return { ok: true, price: f.price, fresh: 1, spreadPpm: 0n };
  }
  const values = answers.filter((f) => isFresh(f, now, rules.maxStaleness)).map((f) => f.price);
  const fresh = values.length;
  if (fresh === 0 || fresh < rules.minSources) return { ok: false, reason: "stale", fresh };
  const { mark, spreadPpm } = aggregateIndex(values);
  if (spreadPpm > rules.maxDeviationPpm) return { ok: false, reason: "deviation", fresh, spreadPpm };
  return { ok: true, price: mark, fresh, spreadPpm };
}
