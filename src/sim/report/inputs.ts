import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BUILTIN_MARKETS, BUILTIN_PRESETS, CONFIG_DIR, type MarketSpec } from "../../config/presets.ts";
import { formatPpm } from "../../lib/units.ts";
import type { RunPlan } from "../runs.ts";
import type { Scenario } from "../scenario.ts";
import { decimal } from "./build.ts";
import type { InputFile, MarketRules } from "./types.ts";

/**
 * What a report was run with, so that it still says so a month later: the files (scenario,
 * markets, presets) with their SHA-256, and each market's tier table as deployed. Read at the
 * end of the run from the same paths the scenario was loaded from.
 */

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A built-in file relative to the repository (config/presets.json); any other path as it is. */
export function relativeToRepo(path: string): string {
  return path === BUILTIN_MARKETS || path === BUILTIN_PRESETS ? relative(`${CONFIG_DIR}/..`, path) : path;
}

/** A file as the report names it: the built-ins relative to the repo, a user's file as given (resolved). */
function inputFile(kind: InputFile["kind"], path: string): InputFile {
  let digest: string | undefined;
  try {
    digest = sha256(readFileSync(path));
  } catch {
    digest = undefined;
  }
  const builtin = path === BUILTIN_MARKETS || path === BUILTIN_PRESETS;
  return { kind, path: relativeToRepo(path), builtin, ...(digest ? { sha256: digest } : {}) };
}

/** The markets and presets files, built-ins first, each layer in the order it was applied. */
export function inputFiles(s: Scenario): InputFile[] {
  return [
    inputFile("markets", BUILTIN_MARKETS),
    ...s.marketsFiles.map((f) => inputFile("markets", f)),
    inputFile("presets", BUILTIN_PRESETS),
    ...s.presetsFiles.map((f) => inputFile("presets", f)),
  ];
}

/** A market's tier table in the files' own units. */
export function marketRules(m: MarketSpec, symbol = m.symbol): MarketRules {
  return {
    symbol,
    ...(symbol !== m.symbol ? { variant: m.symbol } : {}),
    description: m.description,
    ...(m.source ? { source: relativeToRepo(m.source) } : {}),
    ...(m.extends !== undefined ? { extends: m.extends } : {}),
    tiers: m.tiers.map((t) => ({ floor: decimal(t.floor), mmr: formatPpm(t.mmrPpm), maxLeverage: `${t.maxLeverage}x` })),
  };
}

/** Each run's markets as deployed: the scenario's, or a variant's table under the base symbol; and which feeds each reads. */
export function runMarkets(run: RunPlan): MarketRules[] {
  return run.marketSpecs.map((m) => {
    const v = run.variants.find((x) => x.market === m.symbol && !run.singleFeed.has(x.market));
    const rules = v ? marketRules({ ...m, symbol: v.variant }, m.symbol) : marketRules(m);
    const single = run.singleFeed.get(m.symbol);
    const price =
      single !== undefined
        ? `feed ${single + 1} alone`
        : m.index
          ? `median of ${m.index.feeds} feeds (at least ${m.index.minSources} fresh, spread at most ${formatPpm(m.index.maxDeviationPpm)})`
          : undefined;
    return price ? { ...rules, price } : rules;
  });
}
