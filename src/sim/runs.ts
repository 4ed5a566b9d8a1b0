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
 */

export type RunPlan = {
  /** As written: `hyperliquid`, `hyperliquid+BTC-steep`. */
  name: string;
  preset: Preset;
  /** The markets deployed for this run, in the scenario's order (variants under their base's symbol). */
  marketSpecs: MarketSpec[];
  variants: { market: string; variant: string }[];
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
    if (opts.forkMarket && variantNames.length > 0) {
      problems.push(`${name}: market variants need a market the lab deploys; a fork's own market keeps its tiers`);
      continue;
    }
    for (const v of variantNames) {
      const found = variantOf(s, v);
      if (typeof found === "string") {
        problems.push(`${name}: ${found}`);
        continue;
      }
      const i = marketSpecs.findIndex((m) => m.symbol === found.base.symbol);
      if (variants.some((x) => x.market === found.base.symbol)) {
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
    if (preset) runs.push({ name, preset, marketSpecs, variants });
  }
  if (problems.length > 0) throw new ConfigError(opts.source, problems);
  return runs;
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
