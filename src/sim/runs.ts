import { checkPresetFits, loadPreset, type MarketSpec, type Preset } from "../config/presets.ts";
import type { Tier } from "../engine/index.ts";
import { ConfigError } from "../lib/errors.ts";
import type { Scenario } from "./scenario.ts";

/**
 * The runs of one `simulate`: each a preset, optionally with market variants.
 *
 * A run is named `PRESET` or `PRESET+VARIANT+VARIANT…`. A variant is a market of the catalogue that
 * extends one of the scenario's markets (`"BTC-steep": { "extend": "BTC", "tiers": [...] }` in a
 * markets file): in that run it takes the place of the market it descends from, under that
 * market's symbol, so the price path and the traders are the same. It may change the tier table
 * and the staleness limit only; a different lot size, price, fee or feed would change the traders.
 * `hyperliquid,hyperliquid+BTC-steep` then compares BTC's tiers against steeper ones on one
 * population: every position's leverage is capped to the lowest maximum of the tier tables of the
 * whole comparison ({@link leverageCaps}).
 *
 * A variant `SYMBOL:feedN` makes the market read its N-th feed alone (1-based) instead of the median
 * of its index feeds (a scenario's `feeds:`, or its catalogue entry's `index`): the same paths, one
 * venue. `binance,binance+BTC:feed1` compares a three-feed median with a market that reads only the
 * first venue.
 */

export type RunPlan = {
  /** As written: `hyperliquid`, `hyperliquid+BTC-steep`. */
  name: string;
  preset: Preset;
  /** The markets deployed for this run, in the scenario's order (variants under their base's symbol). */
  marketSpecs: MarketSpec[];
  variants: { market: string; variant: string }[];
  /** Markets that read one of their feeds only (`SYMBOL:feedN`): symbol → the feed's index, 0-based. */
  singleFeed: Map<string, number>;
};

/** Fields a variant must leave as its base has them: the traders, price path and fees depend on them. */
const FIXED = ["lotSize", "initialPrice", "feedDecimals", "tradingFeePpm"] as const;

/**
 * Resolve run names against the scenario: presets from its presets files, variants from its market
 * catalogue. Every problem is collected; one ConfigError (source `source`) lists them. With
 * `checkFits`, each preset is checked against its run's tier tables (the contract's own checks);
 * `forkMarket` (a fork's market, used as it is) refuses variants.
 */
export function planRuns(s: Scenario, names: readonly string[], opts: { source: string; checkFits: boolean; forkMarket?: boolean }): RunPlan[] {
  const problems: string[] = [];
  const runs: RunPlan[] = [];
  for (const name of names) {
    const [presetName, ...variantNames] = name.split("+").map((x) => x.trim());
    if (!presetName || variantNames.some((v) => v === "")) {
      problems.push(`"${name}": a run is PRESET or PRESET+MARKET-VARIANT, e.g. hyperliquid+BTC-steep`);
      continue;
    }
    let preset: Preset | undefined;
    try {
      preset = loadPreset(presetName, s.presetsFiles);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(e.shortMessage);
    }
    const marketSpecs = [...s.marketSpecs];
    const variants: RunPlan["variants"] = [];
    const singleFeed = new Map<string, number>();
    if (opts.forkMarket && variantNames.length > 0) {
      problems.push(`${name}: market variants need a market the lab deploys; a fork's own market keeps its tiers`);
      continue;
    }
    for (const v of variantNames) {
      const feedOnly = /^(.+):feed(\d+)$/.exec(v);
      if (feedOnly) {
        const problem = feedOnlyProblem(s, feedOnly[1]!, Number(feedOnly[2]), singleFeed);
        if (problem) problems.push(`${name}: ${problem}`);
        else {
          singleFeed.set(feedOnly[1]!, Number(feedOnly[2]) - 1);
          variants.push({ market: feedOnly[1]!, variant: v });
        }
        continue;
      }
      const found = variantOf(s, v);
      if (typeof found === "string") {
        problems.push(`${name}: ${found}`);
        continue;
      }
      const i = marketSpecs.findIndex((m) => m.symbol === found.base.symbol);
      if (variants.some((x) => x.market === found.base.symbol && !singleFeed.has(x.market))) {
        problems.push(`${name}: two variants of ${found.base.symbol}`);
        continue;
      }
      const changed = FIXED.filter((k) => found.variant[k] !== found.base[k]);
      if (changed.length > 0) {
        problems.push(`${name}: ${v} changes ${found.base.symbol}'s ${changed.join(", ")}; a variant may change only tiers and maxStaleness, so the traders stay the same`);
        continue;
      }
      marketSpecs[i] = { ...found.variant, symbol: found.base.symbol };
      variants.push({ market: found.base.symbol, variant: v });
    }
    if (preset && opts.checkFits) {
      try {
        checkPresetFits(preset, marketSpecs, preset.source ?? "presets");
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(e.shortMessage);
      }
    }
    if (preset) runs.push({ name, preset, marketSpecs: marketSpecs.map((m) => withIndex(s, m, singleFeed.has(m.symbol))), variants, singleFeed });
  }
  if (problems.length > 0) throw new ConfigError(opts.source, problems);
  return runs;
}

/** How many feeds a scenario market has: its own `feeds`, else its catalogue entry's index, else one. */
export function feedCount(s: Scenario, symbol: string): number {
  return s.markets.find((m) => m.symbol === symbol)?.feeds?.length ?? s.marketSpecs.find((m) => m.symbol === symbol)?.index?.feeds ?? 1;
}

/** What is wrong with `SYMBOL:feedN`, if anything. */
function feedOnlyProblem(s: Scenario, symbol: string, n: number, seen: ReadonlyMap<string, number>): string | undefined {
  if (!s.markets.some((m) => m.symbol === symbol)) return `${symbol}:feed${n}: ${symbol} is not one of the scenario's markets (${s.markets.map((m) => m.symbol).join(", ")})`;
  const count = feedCount(s, symbol);
  if (count < 2) return `${symbol}:feed${n}: ${symbol} reads one feed already (give the scenario market feeds: to compare)`;
  if (n < 1 || n > count) return `${symbol}:feed${n}: ${symbol} has feeds 1 to ${count}`;
  if (seen.has(symbol)) return `${symbol} is given two feeds to read alone`;
  return undefined;
}

/** The market as deployed in a run: the scenario's feeds and index over the catalogue's; none when it reads one feed alone. */
function withIndex(s: Scenario, spec: MarketSpec, single: boolean): MarketSpec {
  const { index: _catalogue, ...rest } = spec;
  if (single) return rest;
  const m = s.markets.find((x) => x.symbol === spec.symbol);
  if (m?.feeds && m.index) return { ...rest, index: { feeds: m.feeds.length, minSources: m.index.minSources, maxDeviationPpm: m.index.maxDeviationPpm } };
  return spec;
}

/** The catalogue's market `name` and the scenario market it descends from, or what is wrong. */
function variantOf(s: Scenario, name: string): { variant: MarketSpec; base: MarketSpec } | string {
  const variant = s.marketCatalogue.find((m) => m.symbol === name);
  if (!variant) return `unknown market variant "${name}"; markets: ${s.marketCatalogue.map((m) => m.symbol).join(", ")}`;
  const seen = new Set<string>();
  for (let m: MarketSpec | undefined = variant; m?.extends !== undefined && !seen.has(m.symbol); ) {
    seen.add(m.symbol);
    const parent: string = m.extends;
    const base = s.marketSpecs.find((x) => x.symbol === parent);
    if (base) return { variant, base };
    m = s.marketCatalogue.find((x) => x.symbol === parent && x !== m);
  }
  return `${name} does not extend any of the scenario's markets (${s.marketSpecs.map((m) => m.symbol).join(", ")}); give it "extend": "${s.marketSpecs[0]?.symbol ?? "BTC"}"`;
}

/** Per market symbol, every tier table the runs use: the population's leverage fits them all. */
export function leverageCaps(runs: readonly RunPlan[]): Map<string, Tier[][]> {
  const caps = new Map<string, Tier[][]>();
  for (const r of runs) for (const m of r.marketSpecs) caps.set(m.symbol, [...(caps.get(m.symbol) ?? []), m.tiers]);
  return caps;
}
