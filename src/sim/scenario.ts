import { readFileSync, statSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { checkPresetFits, loadMarketCatalogue, loadPreset, type MarketSpec, type Preset } from "../config/presets.ts";
import { PPM, WAD } from "../engine/index.ts";
import { formatUsd, parsePpm, parseWad } from "../lib/units.ts";
import { ConfigError } from "../lib/errors.ts";
import type { Distribution, PopulationSpec } from "./population.ts";
import type { PricePathSpec } from "./pricePath.ts";
import { sha256 } from "./report/inputs.ts";
import { PATH_KINDS, parsePath } from "./scenarioPath.ts";
import type { ImpactSpec } from "./impact.ts";
import { FeedsSchema, IndexSchema, parseFeeds, type ScenarioFeed, type ScenarioIndex } from "./scenarioFeeds.ts";
import { human, parseCollecting, parseDepthPer100, parseDurationMs, parseLeveragePpm, parseRatePer, prose, says, text, value, type Problems } from "./scenarioValues.ts";

/**
 * Scenario files for the parameter lab (`perp-keeper simulate --scenario FILE`), JSON or YAML.
 *
 * A scenario names the markets and the preset, a price path per market, a trader population, the
 * block time and length, and the keepers. Values are human ("30%", "50x", "$250,000", "10m",
 * "0.5%/h"). Parsing collects every problem (unknown keys included) and fails once, with one line
 * naming the file and each field's path. See config/scenarios/ for examples.
 */

export class ScenarioError extends ConfigError {
  override name = "ScenarioError";
}

export type KeeperSpec = {
  name: string;
  /** Delay between a block being mined and this keeper seeing it (ms). */
  latencyMs: number;
  /** The keeper's minimum profit per transaction (WAD USD). */
  minProfitUsd: bigint;
  /** Liquidate at a loss when that protects solvency (keeper setting `backstopMode`). */
  backstopMode: boolean;
};

export type ScenarioDefault = { field: string; value: string };

export type ScenarioMarket = {
  symbol: string;
  path: PricePathSpec;
  /** The path's kind and parameters as written (for the report). */
  pathText: string;
  /** Funding as a share of the start price per `perSeconds` (signed ppm; positive: longs pay). */
  funding?: { ppm: bigint; perSeconds: bigint };
  /** Start price (WAD); default: the market's initial price (or its price on chain, on a fork). */
  startPrice?: bigint;
  /** Market impact of liquidations (src/sim/impact.ts); off when absent. */
  impact?: ImpactSpec;
  /**
   * Index feeds, each with its own path (scenarioFeeds.ts), and the index's rules: the market reads
   * their median. Absent: the market's feeds (one, or its catalogue entry's `index.feeds`) all publish `path`.
   */
  feeds?: ScenarioFeed[];
  index?: ScenarioIndex;
};

export type Scenario = {
  name: string;
  description: string;
  /** The scenario file, as given. */
  file: string;
  /** SHA-256 (hex) of the file's bytes, when it was read from a file. */
  sha256?: string;
  seed: string;
  preset: string;
  /** User presets files (absolute), layered in order over config/presets.json: the scenario's `presetsFile`, then `--presets`. */
  presetsFiles: string[];
  /** User markets files (absolute), layered in order over config/markets.json: `marketsFile`, then `--markets`. */
  marketsFiles: string[];
  /** Every market of the built-ins and the markets files (variants included), `extend` resolved. */
  marketCatalogue: MarketSpec[];
  blockTimeSeconds: number;
  /** Blocks after the start block. */
  blocks: number;
  /** Native token price for gas costs (WAD USD). */
  nativeUsd: bigint;
  /** Pool and insurance fund funded at deployment, whole tokens. */
  liquidity: { poolTokens: bigint; insuranceTokens: bigint };
  /** Fields the file leaves out whose defaults shape the outcome (the insurance fund, the pool), with the value used. */
  defaults: ScenarioDefault[];
  markets: ScenarioMarket[];
  /** The markets' specs (from the catalogue), in the scenario's order. */
  marketSpecs: MarketSpec[];
  traders: PopulationSpec;
  keepers: KeeperSpec[];
};

// ---------------------------------------------------------------------------------------------
// Schema (structure); values are parsed after, so every problem is reported at its path
// ---------------------------------------------------------------------------------------------

const whole = z.number({ error: says("expected a whole number") }).int({ error: "expected a whole number" });
const distribution = z.enum(["uniform", "log-uniform"], { error: says("must be uniform or log-uniform") });
const range = z.object({ min: human, max: human, distribution: distribution.optional() }).strict();

const MarketSchema = z
  .object({
    path: z.object({ kind: z.enum(PATH_KINDS, { error: says(`must be one of ${PATH_KINDS.join(", ")}`) }) }).loose(),
    funding: human.optional(),
    startPrice: human.optional(),
    impact: z.object({ depth: human, halfLife: human }, { error: says('expected a map: { depth: "$5,000,000 per 1%", halfLife: 30s }') }).strict().optional(),
    feeds: FeedsSchema.optional(),
    index: IndexSchema.optional(),
  })
  .strict();

const ScenarioSchema = z
  .object({
    $comment: prose.optional(),
    name: text.optional(),
    description: prose.optional(),
    seed: z.union([z.string(), z.number()], { error: says("expected a string") }).optional(),
    preset: text.optional(),
    presetsFile: text.optional(),
    marketsFile: text.optional(),
    blockTime: human,
    duration: human.optional(),
    blocks: whole.optional(),
    nativeTokenPrice: human.optional(),
    liquidity: z.object({ pool: human.optional(), insuranceFund: human.optional() }).strict().optional(),
    markets: z.record(z.string(), MarketSchema, { error: says("expected a map of market symbol to its path") }),
    traders: z
      .object({
        count: whole,
        markets: z.array(text, { error: says("expected a list of market symbols") }).optional(),
        positions: z.union([whole, z.object({ min: whole, max: whole }).strict()], { error: says("expected a whole number or {min, max}") }).optional(),
        leverage: range,
        size: range,
        longShare: human.optional(),
      })
      .strict(),
    keepers: z
      .array(
        z
          .object({
            name: text.optional(),
            count: whole.optional(),
            latency: human.optional(),
            minProfit: human.optional(),
            backstop: z.boolean({ error: says("expected true or false") }).optional(),
          })
          .strict(),
        { error: says("expected a list of keepers") },
      )
      .optional(),
  })
  .strict();

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Scenario files are a few kilobytes; a price path's CSV is a file of its own. */
const MAX_SCENARIO_BYTES = 16 * 1024 * 1024;

/** Files given beside the scenario (`simulate --markets/--presets`), layered over the scenario's own. */
export type ScenarioFiles = { marketsFile?: string; presetsFile?: string };

/** Read and validate a scenario file (JSON, or YAML by extension .yaml/.yml). One ScenarioError on any problem. */
export function loadScenario(file: string, cwd = process.cwd(), extra: ScenarioFiles = {}): Scenario {
  const path = resolve(cwd, file);
  let content: string;
  try {
    if (statSync(path).size > MAX_SCENARIO_BYTES) throw new ScenarioError(file, [`larger than ${MAX_SCENARIO_BYTES / 1024 / 1024} MB: not a scenario`]);
    content = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError(file, [code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot read the file (${code ?? "error"})`]);
  }
  const s = parseScenario(parseScenarioText(content, file), {
    file,
    baseDir: dirname(path),
    ...(extra.marketsFile !== undefined ? { marketsFile: resolve(cwd, extra.marketsFile) } : {}),
    ...(extra.presetsFile !== undefined ? { presetsFile: resolve(cwd, extra.presetsFile) } : {}),
  });
  return { ...s, sha256: sha256(content) };
}

/** The raw document: YAML for .yaml/.yml, else JSON. Syntax errors → one ScenarioError with the position. */
export function parseScenarioText(content: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  if (ext === ".yaml" || ext === ".yml") {
    const doc = parseDocument(content, { prettyErrors: true, uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const what = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new ScenarioError(file, [`not valid YAML (${pos ? `line ${pos.line}, column ${pos.col}: ` : ""}${what})`]);
    }
    try {
      // Aliases are expanded: a few lines of them can stand for gigabytes ("billion laughs").
      return doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new ScenarioError(file, [`not a usable YAML document (${(e as Error).message.split("\n")[0]})`]);
    }
  }
  try {
    return JSON.parse(content);
  } catch (e) {
    throw new ScenarioError(file, [`not valid JSON (${(e as Error).message})`]);
  }
}

/** A whole-dollar amount (WAD USD) → whole tokens. */
function wholeDollars(problems: Problems, at: string, input: string | number | undefined, fallback: bigint): bigint | undefined {
  if (input === undefined) return fallback;
  const v = value(problems, at, () => parseWad(input, "amount"));
  if (v === undefined) return undefined;
  if (v < 0n) return void problems.push(`${at}: must not be negative`);
  if (v % WAD !== 0n) return void problems.push(`${at}: must be whole dollars`);
  return v / WAD;
}

/** A market's impact: depth ("$5,000,000 per 1%") and half-life ("30s"), or undefined with the problems pushed. */
function parseImpact(problems: Problems, at: string, raw: { depth: string | number; halfLife: string | number }): ImpactSpec | undefined {
  const depthUsd = value(problems, `${at}.depth`, () => parseDepthPer100(raw.depth));
  const halfLifeMs = value(problems, `${at}.halfLife`, () => parseDurationMs(raw.halfLife, "halfLife"));
  if (halfLifeMs !== undefined && (halfLifeMs < 1 || halfLifeMs > 30 * 86_400_000)) return void problems.push(`${at}.halfLife: must be from 1ms to 30d`);
  if (depthUsd === undefined || halfLifeMs === undefined) return undefined;
  return { depthUsd, halfLifeSeconds: halfLifeMs / 1_000 };
}

const DEFAULT_PRESET = "hyperliquid";
const DEFAULT_POOL_TOKENS = 100_000_000n;
const DEFAULT_INSURANCE_TOKENS = 1_000_000n;
const DEFAULT_NATIVE_USD = 3_000n * WAD;
const DEFAULT_MIN_PROFIT = WAD / 10n;
const MAX_BLOCKS = 10_000;
const MAX_TRADERS = 5_000;
const MAX_KEEPERS = 10;

/**
 * Validate a parsed document. `baseDir` resolves the files it names (CSV prices, markets and
 * presets files). Every problem is collected; one ScenarioError lists them all.
 */
export function parseScenario(raw: unknown, opts: { file: string; baseDir: string } & ScenarioFiles): Scenario {
  const file = opts.file;
  // An unknown key is a problem, but the values are still checked: one pass reports them all.
  const { data: d, problems } = parseCollecting(ScenarioSchema, raw ?? {});
  if (d === undefined) throw new ScenarioError(file, problems);
  const local = (p: string) => resolve(opts.baseDir, p);

  // Markets and presets: the built-ins, the scenario's files, then the command line's.
  const marketsFiles = [...(d.marketsFile ? [local(d.marketsFile)] : []), ...(opts.marketsFile ? [opts.marketsFile] : [])];
  const presetsFiles = [...(d.presetsFile ? [local(d.presetsFile)] : []), ...(opts.presetsFile ? [opts.presetsFile] : [])];
  let specs: MarketSpec[] = [];
  try {
    specs = loadMarketCatalogue(marketsFiles);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(`marketsFile: ${e.shortMessage}`);
  }
  const preset = d.preset ?? DEFAULT_PRESET;
  let presetSpec: Preset | undefined;
  try {
    presetSpec = loadPreset(preset, presetsFiles);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(`preset: ${e.problems.join("; ")}`);
  }

  // Time.
  const blockTimeMs = value(problems, "blockTime", () => parseDurationMs(d.blockTime));
  if (blockTimeMs !== undefined && (blockTimeMs < 1_000 || blockTimeMs % 1_000 !== 0 || blockTimeMs > 86_400_000)) {
    problems.push("blockTime: must be whole seconds, from 1s to 1d");
  }
  let blocks: number | undefined;
  if ((d.duration === undefined) === (d.blocks === undefined)) {
    problems.push("duration: give either duration or blocks (not both)");
  } else if (d.blocks !== undefined) {
    blocks = d.blocks;
  } else {
    const ms = value(problems, "duration", () => parseDurationMs(d.duration!));
    if (ms !== undefined && blockTimeMs !== undefined && blockTimeMs > 0) {
      if (ms % blockTimeMs !== 0) problems.push(`duration: must be a multiple of blockTime (${blockTimeMs / 1000}s)`);
      else blocks = ms / blockTimeMs;
    }
  }
  if (blocks !== undefined && (blocks < 1 || blocks > MAX_BLOCKS)) problems.push(`${d.blocks !== undefined ? "blocks" : "duration"}: must give 1 to ${MAX_BLOCKS} blocks, got ${blocks}`);

  const nativeUsd = d.nativeTokenPrice === undefined ? DEFAULT_NATIVE_USD : value(problems, "nativeTokenPrice", () => parseWad(d.nativeTokenPrice!, "price"));
  if (nativeUsd !== undefined && nativeUsd <= 0n) problems.push("nativeTokenPrice: must be above 0");
  const poolTokens = wholeDollars(problems, "liquidity.pool", d.liquidity?.pool, DEFAULT_POOL_TOKENS);
  const insuranceTokens = wholeDollars(problems, "liquidity.insuranceFund", d.liquidity?.insuranceFund, DEFAULT_INSURANCE_TOKENS);
  // Defaults that change the outcome are said out loud in the report.
  const defaults: ScenarioDefault[] = [];
  if (d.liquidity?.pool === undefined) defaults.push({ field: "liquidity.pool", value: formatUsd(DEFAULT_POOL_TOKENS * WAD, 0) });
  if (d.liquidity?.insuranceFund === undefined) defaults.push({ field: "liquidity.insuranceFund", value: formatUsd(DEFAULT_INSURANCE_TOKENS * WAD, 0) });

  // Markets and their paths.
  const symbols = Object.keys(d.markets);
  if (symbols.length === 0) problems.push("markets: name at least one market");
  const markets: ScenarioMarket[] = [];
  const marketSpecs: MarketSpec[] = [];
  for (const symbol of symbols) {
    const m = d.markets[symbol]!;
    const base = `markets.${symbol}`;
    const spec = specs.find((s) => s.symbol === symbol);
    if (specs.length > 0 && !spec) problems.push(`${base}: unknown market; known markets: ${specs.map((s) => s.symbol).join(", ")}`);
    else if (spec) marketSpecs.push(spec);
    const path = parsePath(problems, `${base}.path`, m.path, opts.baseDir);
    const funding = m.funding === undefined ? undefined : value(problems, `${base}.funding`, () => parseRatePer(m.funding!, "funding"));
    const startPrice = m.startPrice === undefined ? undefined : value(problems, `${base}.startPrice`, () => parseWad(m.startPrice!, "price"));
    if (startPrice !== undefined && startPrice <= 0n) problems.push(`${base}.startPrice: must be above 0`);
    if (funding !== undefined && !Number.isInteger(funding.perSeconds)) problems.push(`${base}.funding: the period must be whole seconds`);
    const impact = m.impact === undefined ? undefined : parseImpact(problems, `${base}.impact`, m.impact);
    const feeds = parseFeeds(problems, base, m, opts.baseDir);
    if (path) {
      markets.push({
        symbol,
        path: path.spec,
        pathText: path.description,
        ...(funding ? { funding: { ppm: funding.ppm, perSeconds: BigInt(Math.round(funding.perSeconds)) } } : {}),
        ...(startPrice !== undefined ? { startPrice } : {}),
        ...(impact ? { impact } : {}),
        ...(feeds ? feeds : {}),
      });
    }
  }

  // The preset against the markets' tier tables (the contract's own checks), before any chain starts.
  if (presetSpec && marketSpecs.length > 0) {
    try {
      checkPresetFits(presetSpec, marketSpecs);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(...e.problems.map((q) => `preset: ${q}`));
    }
  }

  // Traders.
  const t = d.traders;
  if (t.count < 0 || t.count > MAX_TRADERS) problems.push(`traders.count: must be from 0 to ${MAX_TRADERS}`);
  const traderMarkets = t.markets ?? symbols;
  for (const [i, s] of traderMarkets.entries()) {
    if (!symbols.includes(s)) problems.push(`traders.markets[${i}]: "${s}" is not one of the scenario's markets (${symbols.join(", ")})`);
  }
  const positions = t.positions === undefined ? { min: 1, max: 1 } : typeof t.positions === "number" ? { min: t.positions, max: t.positions } : t.positions;
  if (positions.min < 1 || positions.max < positions.min || positions.max > 8) problems.push("traders.positions: from 1 to 8 per trader, min ≤ max");
  const levMin = value(problems, "traders.leverage.min", () => parseLeveragePpm(t.leverage.min));
  const levMax = value(problems, "traders.leverage.max", () => parseLeveragePpm(t.leverage.max));
  if (levMin !== undefined && levMax !== undefined && levMax < levMin) problems.push("traders.leverage: max is below min");
  if (levMax !== undefined && levMax > 1_000n * PPM) problems.push("traders.leverage.max: at most 1000x");
  const sizeMin = value(problems, "traders.size.min", () => parseWad(t.size.min, "size"));
  const sizeMax = value(problems, "traders.size.max", () => parseWad(t.size.max, "size"));
  if (sizeMin !== undefined && sizeMin < WAD) problems.push("traders.size.min: at least $1");
  if (sizeMin !== undefined && sizeMax !== undefined && sizeMax < sizeMin) problems.push("traders.size: max is below min");
  const longShare = t.longShare === undefined ? PPM / 2n : value(problems, "traders.longShare", () => parsePpm(t.longShare!, "share"));
  if (longShare !== undefined && longShare > PPM) problems.push("traders.longShare: at most 100%");

  // Keepers.
  const keepers: KeeperSpec[] = [];
  const groups = d.keepers ?? [{}];
  if (groups.length === 0) problems.push("keepers: list at least one keeper");
  for (const [i, k] of groups.entries()) {
    const base = `keepers[${i}]`;
    const count = k.count ?? 1;
    if (count < 1) problems.push(`${base}.count: at least 1`);
    const latencyMs = k.latency === undefined ? 0 : value(problems, `${base}.latency`, () => parseDurationMs(k.latency!, "latency"));
    if (latencyMs !== undefined && latencyMs > 3_600_000) problems.push(`${base}.latency: at most 1h`);
    const minProfitUsd = k.minProfit === undefined ? DEFAULT_MIN_PROFIT : value(problems, `${base}.minProfit`, () => parseWad(k.minProfit!, "amount"));
    if (minProfitUsd !== undefined && minProfitUsd < 0n) problems.push(`${base}.minProfit: must not be negative`);
    const name = k.name ?? `keeper-${i + 1}`;
    for (let j = 0; j < Math.max(count, 0) && latencyMs !== undefined && minProfitUsd !== undefined; j++) {
      keepers.push({ name: count > 1 ? `${name}-${j + 1}` : name, latencyMs, minProfitUsd, backstopMode: k.backstop ?? false });
    }
  }
  if (keepers.length > MAX_KEEPERS) problems.push(`keepers: at most ${MAX_KEEPERS} keepers in all`);
  const names = keepers.map((k) => k.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) problems.push(`keepers: the name "${dup}" is used twice`);

  if (problems.length > 0) throw new ScenarioError(file, problems);
  const scenarioName = d.name ?? file.replace(/^.*[\\/]/, "").replace(/\.(json|ya?ml)$/i, "");
  return {
    name: scenarioName,
    description: d.description?.trim() ?? "",
    file,
    seed: d.seed === undefined ? "1" : String(d.seed),
    preset,
    presetsFiles,
    marketsFiles,
    marketCatalogue: specs,
    blockTimeSeconds: blockTimeMs! / 1_000,
    blocks: blocks!,
    nativeUsd: nativeUsd!,
    liquidity: { poolTokens: poolTokens!, insuranceTokens: insuranceTokens! },
    defaults,
    markets,
    marketSpecs,
    traders: {
      count: t.count,
      markets: traderMarkets,
      positions,
      leverage: { min: levMin!, max: levMax!, distribution: (t.leverage.distribution ?? "uniform") satisfies Distribution },
      size: { min: sizeMin!, max: sizeMax!, distribution: (t.size.distribution ?? "log-uniform") satisfies Distribution },
      longShare: longShare!,
    },
    keepers,
  };
}
