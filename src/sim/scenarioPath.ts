import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { PPM } from "../engine/index.ts";
import { parsePpm, parseWad } from "../lib/units.ts";
import { CsvPricesError, csvTimeFormName, parseCsvPrices, type CsvPrices } from "./csvPrices.ts";
import type { PricePathSpec } from "./pricePath.ts";
import { human, parseCollecting, says, parseDurationMs, parseFrequency, parseRatePer, parseSignedPpm, text, value, type Problems } from "./scenarioValues.ts";

/**
 * A scenario market's price path: the kind's own schema, then its values, as a PricePathSpec.
 * A csv path reads its file (csvPrices.ts says which forms it takes).
 */

export const PATH_KINDS = ["flat", "crash", "wick", "bleed", "gbm", "csv", "pump", "legs"] as const;
const MAX_LEGS = 50;
/** A leg or a pump moves by at most ten times the price: anything more is a typo. */
const MAX_RISE_PPM = 10n * PPM;
const PathSchemas = {
  flat: z.object({ kind: z.literal("flat") }).strict(),
  crash: z.object({ kind: z.literal("crash"), drop: human, over: human, start: human.optional() }).strict(),
  wick: z.object({ kind: z.literal("wick"), drop: human, down: human, up: human, start: human.optional() }).strict(),
  bleed: z.object({ kind: z.literal("bleed"), drop: human, over: human, start: human.optional(), volatility: human.optional() }).strict(),
  gbm: z
    .object({
      kind: z.literal("gbm"),
      drift: human.optional(),
      volatility: human,
      jumps: z.object({ rate: human, mean: human, stdev: human.optional() }).strict().optional(),
    })
    .strict(),
  csv: z.object({ kind: z.literal("csv"), file: text, column: text.optional() }).strict(),
  pump: z.object({ kind: z.literal("pump"), rise: human, over: human, start: human.optional() }).strict(),
  legs: z
    .object({
      kind: z.literal("legs"),
      start: human.optional(),
      legs: z.array(z.object({ move: human, over: human }).strict(), { error: says("expected a list of legs: { move, over }") }),
    })
    .strict(),
} as const;

export type PathKind = (typeof PATH_KINDS)[number];

export type ParsedPath = { spec: PricePathSpec; /** The path as written, and what a csv file held. */ description: string };

/**
 * One market's path: the kind's own schema, then its values. Undefined when it has problems; an
 * unknown key is one of them, but the values are still checked.
 */
export function parsePath(problems: Problems, base: string, raw: { kind: PathKind } & Record<string, unknown>, baseDir: string): ParsedPath | undefined {
  const before = problems.length;
  const r = parseCollecting(PathSchemas[raw.kind], raw, base.split("."));
  problems.push(...r.problems);
  if (r.data === undefined) return undefined;
  const p = r.data as z.infer<(typeof PathSchemas)[PathKind]>;
  let csvInfo: CsvPrices | undefined;
  const seconds = (key: string, v: string | number | undefined, fallback = 0): number | undefined => {
    if (v === undefined) return fallback;
    const ms = value(problems, `${base}.${key}`, () => parseDurationMs(v));
    return ms === undefined ? undefined : ms / 1_000;
  };
  const drop = (v: string | number): bigint | undefined => {
    const x = value(problems, `${base}.drop`, () => parseSignedPpm(v, "drop"));
    if (x !== undefined && (x <= 0n || x >= PPM)) return void problems.push(`${base}.drop: must be above 0% and below 100%${x < 0n ? " (for a rise, use kind pump or legs)" : ""}`);
    return x;
  };
  /** "80%/y" → per √second (a variance rate); "5%/h" drift → per second. */
  const perSqrtSecond = (key: string, v: string | number | undefined): number | undefined => {
    if (v === undefined) return 0;
    const r = value(problems, `${base}.${key}`, () => parseRatePer(v, key));
    if (r === undefined) return undefined;
    if (r.ppm < 0n) return void problems.push(`${base}.${key}: must not be negative`);
    return Number(r.ppm) / 1e6 / Math.sqrt(r.perSeconds);
  };
  let spec: PricePathSpec | undefined;
  switch (p.kind) {
    case "flat":
      spec = { kind: "flat" };
      break;
    case "crash": {
      const dropPpm = drop(p.drop);
      const overSeconds = seconds("over", p.over);
      const startSeconds = seconds("start", p.start);
      if (dropPpm !== undefined && overSeconds !== undefined && startSeconds !== undefined) spec = { kind: "crash", dropPpm, overSeconds, startSeconds };
      break;
    }
    case "wick": {
      const dropPpm = drop(p.drop);
      const downSeconds = seconds("down", p.down);
      const upSeconds = seconds("up", p.up);
      const startSeconds = seconds("start", p.start);
      if (upSeconds === 0) problems.push(`${base}.up: must be above 0`);
      if (dropPpm !== undefined && downSeconds !== undefined && upSeconds && startSeconds !== undefined) spec = { kind: "wick", dropPpm, downSeconds, upSeconds, startSeconds };
      break;
    }
    case "bleed": {
      const dropPpm = drop(p.drop);
      const overSeconds = seconds("over", p.over);
      const startSeconds = seconds("start", p.start);
      const volatility = perSqrtSecond("volatility", p.volatility);
      if (overSeconds === 0) problems.push(`${base}.over: must be above 0`);
      if (dropPpm !== undefined && overSeconds && startSeconds !== undefined && volatility !== undefined) {
        spec = { kind: "bleed", dropPpm, overSeconds, startSeconds, volatility };
      }
      break;
    }
    case "gbm": {
      const volatility = perSqrtSecond("volatility", p.volatility);
      const driftRate = p.drift === undefined ? { ppm: 0n, perSeconds: 1 } : value(problems, `${base}.drift`, () => parseRatePer(p.drift!, "drift"));
      let jumps: { ratePerSecond: number; mean: number; stdev: number } | undefined;
      if (p.jumps) {
        const ratePerSecond = value(problems, `${base}.jumps.rate`, () => parseFrequency(p.jumps!.rate, "rate"));
        const mean = value(problems, `${base}.jumps.mean`, () => parseSignedPpm(p.jumps!.mean, "mean"));
        const stdev = p.jumps.stdev === undefined ? 0n : value(problems, `${base}.jumps.stdev`, () => parsePpm(p.jumps!.stdev!, "stdev"));
        if (mean !== undefined && mean <= -PPM) problems.push(`${base}.jumps.mean: must be above -100%`);
        if (ratePerSecond !== undefined && mean !== undefined && mean > -PPM && stdev !== undefined) {
          // A jump of m% multiplies the price by (1 + m%): its log return.
          jumps = { ratePerSecond, mean: Math.log(1 + Number(mean) / 1e6), stdev: Number(stdev) / 1e6 };
        }
      }
      if (volatility !== undefined && driftRate !== undefined && (p.jumps === undefined || jumps !== undefined)) {
        spec = { kind: "gbm", drift: Number(driftRate.ppm) / 1e6 / driftRate.perSeconds, volatility, ...(jumps ? { jumps } : {}) };
      }
      break;
    }
    case "pump": {
      const rise = value(problems, `${base}.rise`, () => parsePpm(p.rise, "rise"));
      if (rise !== undefined && (rise <= 0n || rise > MAX_RISE_PPM)) problems.push(`${base}.rise: must be above 0% and at most 1000%`);
      const overSeconds = seconds("over", p.over);
      const startSeconds = seconds("start", p.start);
      if (rise !== undefined && rise > 0n && rise <= MAX_RISE_PPM && overSeconds !== undefined && startSeconds !== undefined) {
        spec = { kind: "legs", startSeconds, legs: [{ movePpm: rise, overSeconds }] };
      }
      break;
    }
    case "legs": {
      const startSeconds = seconds("start", p.start);
      if (p.legs.length < 1 || p.legs.length > MAX_LEGS) problems.push(`${base}.legs: give 1 to ${MAX_LEGS} legs`);
      const legs = p.legs.map((l, i) => {
        const movePpm = value(problems, `${base}.legs[${i}].move`, () => parseSignedPpm(l.move, "move"));
        if (movePpm !== undefined && (movePpm <= -PPM || movePpm > MAX_RISE_PPM)) problems.push(`${base}.legs[${i}].move: must be above -100% and at most +1000%`);
        return { movePpm, overSeconds: seconds(`legs[${i}].over`, l.over) };
      });
      const ok = legs.every((l): l is { movePpm: bigint; overSeconds: number } => l.movePpm !== undefined && l.overSeconds !== undefined);
      if (ok && startSeconds !== undefined && legs.length > 0) spec = { kind: "legs", startSeconds, legs };
      break;
    }
    case "csv": {
      const path = resolve(baseDir, p.file);
      let content: string | undefined;
      try {
        content = readFileSync(path, "utf8");
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problems.push(`${base}.file: ${code === "ENOENT" ? `no such file ${p.file}` : `cannot read ${p.file} (${code ?? "error"})`}`);
      }
      if (content !== undefined) {
        try {
          csvInfo = parseCsvPrices(content, { parsePrice: (s) => parseWad(s, "price"), ...(p.column === undefined ? {} : { column: p.column }) });
          spec = { kind: "csv", points: csvInfo.points };
        } catch (e) {
          if (!(e instanceof CsvPricesError)) throw e;
          problems.push(`${base}.file: ${p.file}: ${e.shortMessage}`);
        }
      }
      break;
    }
  }
  if (problems.length !== before || spec === undefined) return undefined;
  const written = describePath(raw);
  return { spec, description: csvInfo ? `${written} (${describeCsv(csvInfo)})` : written };
}

/** "crash drop=30% over=10m" — the path as written, for the report. */
function describePath(raw: Record<string, unknown>): string {
  const { kind, ...rest } = raw;
  const parts = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  return [String(kind), ...parts].join(" ");
}

/** "3 rows over 2m, Unix milliseconds from 2024-08-05T00:00:59.999Z". */
function describeCsv(csv: CsvPrices): string {
  const span = csv.points[csv.points.length - 1]!.t - csv.points[0]!.t;
  const unit = ([[86_400, "d"], [3_600, "h"], [60, "m"]] as const).find(([n]) => span >= n && span % n === 0);
  const over = unit ? `${span / unit[0]}${unit[1]}` : `${span}s`;
  const rows = `${csv.points.length} row${csv.points.length === 1 ? "" : "s"} over ${over}`;
  return `${rows}, ${csvTimeFormName(csv.form)}${csv.start === undefined ? "" : ` from ${csv.start}`}`;
}