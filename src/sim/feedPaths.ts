import type { Address } from "viem";
import type { Deployment } from "../chain/deploy.ts";
import { MarketImpact, impactedPrice } from "./impact.ts";
import { oracleUpdate, type OwnerCall } from "./ownerCalls.ts";
import { pricePath } from "./pricePath.ts";
import type { ScenarioMarket } from "./scenario.ts";

/**
 * What the lab publishes on each feed of a market, block by block (issue 16).
 *
 * A market reads one feed, or the median of several (its index). Each feed has a path: the
 * scenario market's `path`, or the feed's own (`feeds:` in the scenario, scenarioFeeds.ts). A run
 * that reads one feed alone (runs.ts `SYMBOL:feedN`) deploys one feed and publishes feed N's path on
 * it. With an impact model, the market's impact I_t (impact.ts) moves every feed alike:
 * P_t = P_feed_t × (1 + I_t). The baseline the cascade report compares against is what the market
 * would read without impact: the one feed's path, or the median of the feeds' paths (lower middle
 * and upper middle averaged, floored, when even), as the contract takes it when all are fresh.
 */

export type PublishedFeed = {
  /** The proxy the market reads, and the aggregator prices are sent to. */
  address: Address;
  publisher: Address;
  /** The feed's path (the baseline), and what was sent (the path moved by impact), one price per step. */
  path: readonly bigint[];
  published: bigint[];
  /** Step of the last update sent (−1: none yet). */
  lastPublished: number;
};

export type MarketFeeds = {
  symbol: string;
  id: number;
  feedDecimals: number;
  feeds: PublishedFeed[];
  /** What the market reads at each step without impact: the one path, or the median of the paths. */
  baseline: bigint[];
  impact?: MarketImpact;
};

export type MarketFeedsParameters = {
  market: ScenarioMarket;
  deployed: Deployment["markets"][number];
  /** Feed proxy → the aggregator its prices are sent to. */
  publishers: ReadonlyMap<Address, Address>;
  /** The run reads this feed of the scenario's alone (0-based), if any. */
  singleFeed?: number;
  startPrice: bigint;
  steps: number;
  blockTimeSeconds: number;
  seed: string;
};

/** The market's feeds and their paths for a run. */
export function marketFeeds(p: MarketFeedsParameters): MarketFeeds {
  const { market: m, deployed: d } = p;
  const tick = 10n ** BigInt(18 - d.feedDecimals);
  const path = (spec: ScenarioMarket["path"], stream: string) =>
    pricePath({ spec, startPrice: p.startPrice, steps: p.steps, blockTimeSeconds: p.blockTimeSeconds, tick, seed: p.seed, market: stream });
  const marketPath = path(m.path, m.symbol);
  // Feed j's path: its own (a stream of its own for random paths), or the market's.
  const feedPath = (j: number): bigint[] => {
    const f = m.feeds?.[j];
    return f === undefined || f.path === "same" ? marketPath : path(f.path, `${m.symbol}/feed${j + 1}`);
  };
  const addresses = d.feeds ?? [d.feed];
  const paths = p.singleFeed !== undefined ? [feedPath(p.singleFeed)] : addresses.map((_, j) => feedPath(j));
  const feeds = addresses.map((address, j) => ({ address, publisher: p.publishers.get(address) ?? address, path: paths[j]!, published: [...paths[j]!], lastPublished: -1 }));
  return {
    symbol: m.symbol,
    id: d.id,
    feedDecimals: d.feedDecimals,
    feeds,
    baseline: marketPath.map((_, step) => median(feeds.map((f) => f.path[step]!))),
    ...(m.impact ? { impact: new MarketImpact(m.impact, p.blockTimeSeconds, tick) } : {}),
  };
}

/** The median as the contract takes it: the middle value, or the floor of the two middle values' mean. */
export function median(values: readonly bigint[]): bigint {
  const v = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const k = v.length;
  if (k === 0) throw new RangeError("median of no values");
  return k % 2 === 1 ? v[(k - 1) / 2]! : (v[k / 2 - 1]! + v[k / 2]!) / 2n;
}

/** Step > 0 with an impact model: I_t from the previous block's liquidated notional, applied to every feed. */
export function applyImpact(m: MarketFeeds, step: number, liquidatedNotional: bigint): void {
  if (!m.impact || step === 0) return;
  m.impact.advance(liquidatedNotional, m.feeds[0]!.path[step]!);
  for (const f of m.feeds) f.published[step] = impactedPrice(f.path[step]!, m.impact.impact, m.impact.tick);
}

/**
 * The feed updates of `step`: a feed's price when it changed, at step 0, or when half the
 * market's staleness limit has passed since its last update (a heartbeat, as Chainlink sends).
 */
export function feedUpdates(m: MarketFeeds, step: number, blockTimeSeconds: number, maxStaleness: bigint): OwnerCall[] {
  const calls: OwnerCall[] = [];
  for (const f of m.feeds) {
    const price = f.published[step]!;
    const heartbeat = f.lastPublished >= 0 && BigInt((step - f.lastPublished) * blockTimeSeconds) * 2n >= maxStaleness;
    if (step === 0 || price !== f.published[step - 1] || heartbeat) {
      calls.push(oracleUpdate(f.publisher, price, m.feedDecimals));
      f.lastPublished = step;
    }
  }
  return calls;
}

/** Updates that bring each feed to its path's first price, where the deployment left it elsewhere. */
export function startUpdates(m: MarketFeeds, deployedAt: bigint): OwnerCall[] {
  return m.feeds.flatMap((f) => (f.path[0] === deployedAt ? [] : [oracleUpdate(f.publisher, f.path[0]!, m.feedDecimals)]));
}
