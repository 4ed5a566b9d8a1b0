import { join } from "node:path";
import { z } from "zod";
import { PPM, cumAmounts, validateMarketRules, type GlobalLiquidationParams, type LiquidationParams, type Tier, NEUTRAL_LIQUIDATION } from "../engine/index.ts";
import { HumanNumberError, parseLeverage, parsePpm, parseSeconds, parseWad } from "../lib/units.ts";
import { ConfigError } from "../lib/errors.ts";
import { zodProblems } from "../lib/zodIssues.ts";
import { layerFiles, layered, readJson, throwProblems, withoutComment, type Resolved } from "./layers.ts";

import { CONFIG_DIR } from "./dir.ts";

export { CONFIG_DIR };

const MAX_UINT256 = 2n ** 256n - 1n;
const num = z.union([z.string(), z.number()]);

const TierSchema = z.object({ floor: num, mmr: num, maxLeverage: num }).strict();
const MarketSchema = z
  .object({
    description: z.string(),
    feedDecimals: z.number().int().min(0).max(18),
    initialPrice: num,
    lotSize: num,
    maxStaleness: num,
    tradingFee: num,
    tiers: z.array(TierSchema).min(1),
    index: z.object({ feeds: z.number().int().min(2).max(7), minSources: z.number().int().min(1), maxDeviation: num }).strict().optional(),
  })
  .strict();
const PresetSchema = z
  .object({
    description: z.string(),
    global: z.object({ cooldown: num, backstop: num, keeperShare: num }).strict(),
    market: z
      .object({
        penalty: num,
        targetBuffer: num,
        maxStep: num,
        tierStepDown: z.boolean(),
        partialThreshold: num,
        dustNotional: num,
        adl: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

/** A market ready to deploy and to hand to the engine. */
export type MarketSpec = {
  symbol: string;
  description: string;
  feedDecimals: number;
  initialPrice: bigint;
  lotSize: bigint;
  maxStaleness: bigint;
  tradingFeePpm: bigint;
  tiers: Tier[];
  cums: bigint[];
  /** An index mark price over several feeds (docs/reference-market.md "Index mark price"); absent: one feed. */
  index?: { feeds: number; minSources: number; maxDeviationPpm: bigint };
  /** The file that defined it (a catalogue's entries), and the market it extends, if any. */
  source?: string;
  extends?: string;
};

export type Preset = {
  name: string;
  description: string;
  global: GlobalLiquidationParams;
  liquidation: LiquidationParams;
  /** The file that defined it, and the preset it extends, if any (set by {@link loadPreset}). */
  source?: string;
  extends?: string;
};

/** Runs `fn`, turning a parse error into a problem line at `path`. */
function field<T>(problems: string[], path: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HumanNumberError) {
      problems.push(`${path}: ${e.message.replace(/^[^:]*: /, "")}`);
      return undefined;
    }
    throw e;
  }
}


/** Parse and check a markets file: every problem is collected, then one ConfigError. */
export function parseMarkets(raw: unknown, source = "markets"): MarketSpec[] {
  const parsed = z.record(z.string(), MarketSchema).safeParse(withoutComment(raw));
  if (!parsed.success) throw new ConfigError(source, zodProblems(parsed.error));
  const problems: string[] = [];
  const out: MarketSpec[] = [];
  for (const [symbol, m] of Object.entries(parsed.data)) {
    const tiers: Tier[] = [];
    m.tiers.forEach((t, i) => {
      const p = `${symbol}.tiers[${i}]`;
      const floor = field(problems, `${p}.floor`, () => parseWad(t.floor, "floor"));
      const mmrPpm = field(problems, `${p}.mmr`, () => parsePpm(t.mmr, "mmr"));
      const maxLeverage = field(problems, `${p}.maxLeverage`, () => parseLeverage(t.maxLeverage));
      if (floor !== undefined && mmrPpm !== undefined && maxLeverage !== undefined) {
        tiers.push({ floor, mmrPpm, maxLeverage });
      }
    });
    const initialPrice = field(problems, `${symbol}.initialPrice`, () => parseWad(m.initialPrice, "price"));
    const lotSize = field(problems, `${symbol}.lotSize`, () => parseWad(m.lotSize, "lot size"));
    const maxStaleness = field(problems, `${symbol}.maxStaleness`, () => parseSeconds(m.maxStaleness));
    const tradingFeePpm = field(problems, `${symbol}.tradingFee`, () => parsePpm(m.tradingFee, "fee"));
    if (initialPrice !== undefined && initialPrice <= 0n) problems.push(`${symbol}.initialPrice: must be above 0`);
    if (lotSize !== undefined && lotSize <= 0n) problems.push(`${symbol}.lotSize: must be above 0`);
    if (maxStaleness !== undefined && maxStaleness <= 0n) problems.push(`${symbol}.maxStaleness: must be above 0`);
    if (tradingFeePpm !== undefined && tradingFeePpm >= 1_000_000n) problems.push(`${symbol}.tradingFee: must be below 100%`);
    if (tiers.length === m.tiers.length) {
      // The tier rules alone (a neutral liquidation policy); policy-dependent checks come with the preset.
      for (const v of validateMarketRules(tiers, NEUTRAL_LIQUIDATION)) problems.push(`${symbol}.tiers: ${v.message} (${v.error})`);
    }
    const maxDeviationPpm = m.index && field(problems, `${symbol}.index.maxDeviation`, () => parsePpm(m.index!.maxDeviation, "deviation"));
    if (m.index && m.index.minSources > m.index.feeds) problems.push(`${symbol}.index.minSources: at most the number of feeds (${m.index.feeds})`);
    if (initialPrice === undefined || lotSize === undefined || maxStaleness === undefined || tradingFeePpm === undefined) continue;
    out.push({
      symbol,
      description: m.description,
      feedDecimals: m.feedDecimals,
      initialPrice,
      lotSize,
      maxStaleness,
      tradingFeePpm,
      tiers,
      cums: cumAmounts(tiers),
      ...(m.index && maxDeviationPpm !== undefined ? { index: { feeds: m.index.feeds, minSources: m.index.minSources, maxDeviationPpm } } : {}),
    });
  }
  if (out.length === 0 && problems.length === 0) problems.push("no markets defined");
  if (problems.length > 0) throw new ConfigError(source, problems);
  return out;
}

/** Parse and check one preset entry. */
export function parsePreset(name: string, raw: unknown, source = "presets"): Preset {
  const parsed = PresetSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(source, zodProblems(parsed.error, [name]));
  const p = parsed.data;
  const problems: string[] = [];
  const g = {
    cooldown: field(problems, `${name}.global.cooldown`, () => parseSeconds(p.global.cooldown)),
    backstopPpm: field(problems, `${name}.global.backstop`, () => parsePpm(p.global.backstop, "backstop")),
    keeperSharePpm: field(problems, `${name}.global.keeperShare`, () => parsePpm(p.global.keeperShare, "share")),
  };
  const threshold = String(p.market.partialThreshold).trim().toLowerCase();
  const l = {
    penaltyPpm: field(problems, `${name}.market.penalty`, () => parsePpm(p.market.penalty, "penalty")),
    targetBufferPpm: field(problems, `${name}.market.targetBuffer`, () => parsePpm(p.market.targetBuffer, "buffer")),
    maxStepPpm: field(problems, `${name}.market.maxStep`, () => parsePpm(p.market.maxStep, "step")),
    tierStepDown: p.market.tierStepDown,
    partialThreshold:
      threshold === "none"
        ? MAX_UINT256
        : field(problems, `${name}.market.partialThreshold`, () => parseWad(p.market.partialThreshold, "threshold")),
    dustNotional: field(problems, `${name}.market.dustNotional`, () => parseWad(p.market.dustNotional, "dust")),
    adlEnabled: p.market.adl ?? false,
  };
  for (const [k, v] of Object.entries({ ...g, ...l })) {
    if (typeof v === "bigint" && v < 0n) problems.push(`${name}: ${k} must not be negative`);
  }
  if (g.backstopPpm !== undefined && g.backstopPpm > 1_000_000n) problems.push(`${name}.global.backstop: at most 100%`);
  if (g.keeperSharePpm !== undefined && g.keeperSharePpm > 1_000_000n) problems.push(`${name}.global.keeperShare: at most 100%`);
  // The contract's InvalidPpm checks, said at the field and in the file's own unit.
  if (l.maxStepPpm !== undefined && (l.maxStepPpm <= 0n || l.maxStepPpm > PPM)) problems.push(`${name}.market.maxStep: must be above 0% and at most 100%`);
  if (l.targetBufferPpm !== undefined && l.targetBufferPpm >= PPM) problems.push(`${name}.market.targetBuffer: must be below 100%`);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return {
    name,
    description: p.description,
    global: g as GlobalLiquidationParams,
    liquidation: l as LiquidationParams,
  };
}

/** Check a preset against every market it will govern (the contract's PenaltyNotBelowTarget etc.). */
export function checkPresetFits(preset: Preset, markets: readonly Pick<MarketSpec, "symbol" | "tiers">[], source = "presets"): void {
  const problems = markets.flatMap((m) =>
    validateMarketRules(m.tiers, preset.liquidation).map((v) => `${preset.name} on ${m.symbol}: ${v.message} (${v.error})`),
  );
  if (problems.length > 0) throw new ConfigError(source, problems);
}

/** config/presets.json and config/markets.json: the built-ins every user file is layered on. */
export const BUILTIN_PRESETS = join(CONFIG_DIR, "presets.json");
export const BUILTIN_MARKETS = join(CONFIG_DIR, "markets.json");

/** Every preset name: the built-ins, then each user file's additions. A broken `extend` is refused. */
export function presetNames(files?: string | readonly string[]): string[] {
  const { entries, problems } = layered(layerFiles(BUILTIN_PRESETS, files), "preset");
  throwProblems(problems);
  return [...entries.keys()];
}

/**
 * Markets of the built-ins and every file (later over earlier), `extend` resolved. A market that
 * extends another says so in `extends`; `source` is the file that defined it.
 */
export function loadMarketCatalogue(files?: string | readonly string[]): MarketSpec[] {
  const { entries, problems } = layered(layerFiles(BUILTIN_MARKETS, files), "market");
  throwProblems(problems);
  const bySource = new Map<string, [string, Resolved][]>();
  for (const [name, r] of entries) bySource.set(r.source, [...(bySource.get(r.source) ?? []), [name, r]]);
  const out: MarketSpec[] = [];
  for (const [source, list] of bySource) {
    const specs = parseMarkets(Object.fromEntries(list.map(([n, r]) => [n, r.raw])), source);
    for (const spec of specs) {
      const r = entries.get(spec.symbol)!;
      out.push({ ...spec, source, ...(r.extends !== undefined ? { extends: r.extends } : {}) });
    }
  }
  const order = [...entries.keys()];
  return out.sort((a, b) => order.indexOf(a.symbol) - order.indexOf(b.symbol));
}

/**
 * The markets a file defines, in its order (`extend` may name a built-in market); without a file,
 * the built-in markets. What `deploy` and `devnet` deploy.
 */
export function loadMarkets(path = BUILTIN_MARKETS): MarketSpec[] {
  const own = withoutComment(readJson(path));
  const names = own && typeof own === "object" && !Array.isArray(own) ? Object.keys(own) : [];
  const all = loadMarketCatalogue(path);
  const out = names.flatMap((n) => all.filter((m) => m.symbol === n && m.source === path));
  if (out.length === 0) throw new ConfigError(path, ["no markets defined"]);
  return out;
}

/**
 * Load preset `name` from the built-ins and the user's files (later over earlier; a user preset may
 * `extend` another and change a few fields), refusing an unknown name with the list of known ones.
 */
export function loadPreset(name: string, files?: string | readonly string[]): Preset {
  const layers = layerFiles(BUILTIN_PRESETS, files);
  const { entries, broken, problems } = layered(layers, "preset");
  const r = entries.get(name);
  if (!r) {
    // Broken: the problems of its extend chain (a cycle, an unknown base), said once.
    if (broken.has(name)) throwProblems(problems);
    throw new ConfigError(layers[layers.length - 1]!, [`unknown preset "${name}"; known presets: ${[...entries.keys(), ...broken].join(", ")}`]);
  }
  return { ...parsePreset(name, r.raw, r.source), source: r.source, ...(r.extends !== undefined ? { extends: r.extends } : {}) };
}
