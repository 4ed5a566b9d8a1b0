import { z } from "zod";
import { PPM } from "../engine/index.ts";
import { parsePpm } from "../lib/units.ts";
import type { PricePathSpec } from "./pricePath.ts";
import { PATH_KINDS, parsePath } from "./scenarioPath.ts";
import { human, says, value, type Problems } from "./scenarioValues.ts";

/**
 * A scenario market's index feeds (issue 16, docs/reference-market.md "Index mark price"): the
 * market reads the median of several Chainlink-compatible feeds, each with its own price path.
 *
 * ```yaml
 * markets:
 *   BTC:
 *     path: { kind: flat }                 # the market path: what "same" feeds publish
 *     feeds:
 *       - path: { kind: legs, legs: [...] } # feed 1: a venue that wicks
 *       - same
 *       - same
 *     index: { minSources: 2, maxDeviation: 30% }
 * ```
 *
 * 2 to 7 feeds (the contract's MAX_FEEDS); `index` is required with them: at least `minSources`
 * fresh feeds (1 to the number of feeds), and a spread between them of at most `maxDeviation` of
 * the median, else the market refuses to price. A run may read one of them only (runs.ts,
 * `PRESET+BTC:feed1`).
 */

export const MIN_FEEDS = 2;
export const MAX_FEEDS = 7;
/** A spread of ten times the median: anything more is a typo (the contract takes up to uint32 ppm). */
const MAX_DEVIATION_PPM = 10n * PPM;

/** One feed: its own path, or the market's (`same`). */
export type ScenarioFeed = { path: PricePathSpec | "same"; /** The path as written ("same" for the market's). */ pathText: string };

export type ScenarioIndex = { minSources: number; maxDeviationPpm: bigint };

const FeedSchema = z.union([z.literal("same"), z.object({ path: z.object({ kind: z.enum(PATH_KINDS, { error: says(`must be one of ${PATH_KINDS.join(", ")}`) }) }).loose() }).strict()], {
  error: says('expected "same" (the market\'s path) or { path: { kind: ... } }'),
});

export const FeedsSchema = z.array(FeedSchema, { error: says(`expected a list of ${MIN_FEEDS} to ${MAX_FEEDS} feeds, each "same" or { path }`) });
export const IndexSchema = z.object({ minSources: z.number({ error: says("expected a whole number") }).int({ error: "expected a whole number" }), maxDeviation: human }, { error: says('expected a map: { minSources: 2, maxDeviation: "5%" }') }).strict();

type RawFeed = z.infer<typeof FeedSchema>;

/** A market's feeds and index, or undefined with the problems pushed (each at its path). */
export function parseFeeds(
  problems: Problems,
  base: string,
  raw: { feeds?: readonly RawFeed[]; index?: z.infer<typeof IndexSchema> },
  baseDir: string,
): { feeds: ScenarioFeed[]; index: ScenarioIndex } | undefined {
  if (raw.feeds === undefined) {
    if (raw.index !== undefined) problems.push(`${base}.index: only with feeds (a market with one feed has no index)`);
    return undefined;
  }
  const n = raw.feeds.length;
  const before = problems.length;
  if (n < MIN_FEEDS || n > MAX_FEEDS) problems.push(`${base}.feeds: give ${MIN_FEEDS} to ${MAX_FEEDS} feeds, got ${n}`);
  const feeds = raw.feeds.map((f, i): ScenarioFeed | undefined => {
    if (f === "same") return { path: "same", pathText: "same" };
    const p = parsePath(problems, `${base}.feeds[${i}].path`, f.path, baseDir);
    return p && { path: p.spec, pathText: p.description };
  });
  let index: ScenarioIndex | undefined;
  if (raw.index === undefined) {
    problems.push(`${base}.index: required with feeds: { minSources: 1 to ${n}, maxDeviation: "5%" }`);
  } else {
    const { minSources } = raw.index;
    if (minSources < 1 || minSources > n) problems.push(`${base}.index.minSources: must be from 1 to the number of feeds (${n}), got ${minSources}`);
    const maxDeviationPpm = value(problems, `${base}.index.maxDeviation`, () => parsePpm(raw.index!.maxDeviation, "deviation"));
    if (maxDeviationPpm !== undefined && maxDeviationPpm > MAX_DEVIATION_PPM) problems.push(`${base}.index.maxDeviation: at most 1000%`);
    if (maxDeviationPpm !== undefined) index = { minSources, maxDeviationPpm };
  }
  if (problems.length > before || !index) return undefined;
  return { feeds: feeds as ScenarioFeed[], index };
}
