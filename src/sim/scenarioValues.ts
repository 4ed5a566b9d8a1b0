import { z } from "zod";
import { PPM } from "../engine/index.ts";
import { HumanNumberError, parsePpm, parseWad } from "../lib/units.ts";
import { zodProblems } from "../lib/zodIssues.ts";

/**
 * Human values of scenario files ("30%", "10m", "0.5%/h", "50x") and the collection of problems.
 * Each parser throws HumanNumberError; {@link value} turns one into a problem at its field's path,
 * and {@link parseCollecting} checks a document's structure without letting an unknown key stop
 * the checks of its values, so a file's every mistake is reported at once.
 */

/** A schema's own message, except for a missing value. */
export const says = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? "missing" : message);
export const human = z.union([z.string(), z.number()], { error: says('expected a number or a string such as "30%"') });
/** A name, symbol or file name: one line, printable, at most 200 characters. */
export const text = z
  .string({ error: says("expected a string") })
  .max(200, { error: "longer than 200 characters" })
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, { error: "contains a control character" });
/** Prose (a description): lines and tabs allowed, no other control character, at most 10,000 characters. */
export const prose = z
  .string({ error: says("expected a string") })
  .max(10_000, { error: "longer than 10,000 characters" })
  .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/, { error: "contains a control character" });

// ---------------------------------------------------------------------------------------------
// Human values
// ---------------------------------------------------------------------------------------------

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 } as const;

/** "250ms", "2s", "10m", "1h", "1d", "1y" or a number of seconds → milliseconds. */
export function parseDurationMs(input: string | number, what = "duration"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?\s*$/i.exec(String(input));
  if (!m) throw new HumanNumberError(`${what}: "${input}" is not a duration like 500ms, 30s, 10m or 1h`);
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? "s").toLowerCase() as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(Math.round(ms)) || Math.abs(ms - Math.round(ms)) > 1e-9) {
    throw new HumanNumberError(`${what}: "${input}" is not a whole number of milliseconds`);
  }
  return Math.round(ms);
}

/** A signed share: "-5%" → -50_000 ppm. */
export function parseSignedPpm(input: string | number, what = "rate"): bigint {
  const t = String(input).trim();
  return t.startsWith("-") ? -parsePpm(t.slice(1), what) : parsePpm(t.startsWith("+") ? t.slice(1) : t, what);
}

/** "0.5%/h", "-10%/d", "80%/y", "0.01%/8h" → a signed share per a period in seconds. */
export function parseRatePer(input: string | number, what = "rate"): { ppm: bigint; perSeconds: number } {
  const t = String(input).trim();
  const slash = t.lastIndexOf("/");
  if (slash < 0) throw new HumanNumberError(`${what}: "${input}" needs a period, like 0.5%/h or 80%/y`);
  const period = t.slice(slash + 1).trim();
  const ms = parseDurationMs(/^\d/.test(period) ? period : `1${period}`, what);
  if (ms < 1_000) throw new HumanNumberError(`${what}: the period of "${input}" must be at least 1s`);
  return { ppm: parseSignedPpm(t.slice(0, slash), what), perSeconds: ms / 1_000 };
}

/** "3/h", "0.5/d" → events per second. */
export function parseFrequency(input: string | number, what = "rate"): number {
  const t = String(input).trim();
  const slash = t.lastIndexOf("/");
  if (slash < 0) throw new HumanNumberError(`${what}: "${input}" needs a period, like 3/h`);
  const n = Number(t.slice(0, slash).trim());
  if (!Number.isFinite(n) || n < 0 || t.slice(0, slash).trim() === "") throw new HumanNumberError(`${what}: "${input}" is not a count per period, like 3/h`);
  const period = t.slice(slash + 1).trim();
  return n / (parseDurationMs(/^\d/.test(period) ? period : `1${period}`, what) / 1_000);
}

/**
 * Market depth: "$5,000,000 per 1%" or "$500,000,000 per 100%" → USD (WAD) per 100% move
 * (the amount × 100% / the move, rounded down to 1e-18).
 */
export function parseDepthPer100(input: string | number, what = "depth"): bigint {
  const m = /^(.+?)\s+per\s+(.+)$/i.exec(String(input).trim());
  if (!m) throw new HumanNumberError(`${what}: "${input}" is not a depth like "$5,000,000 per 1%"`);
  const amount = parseWad(m[1]!, what);
  if (!m[2]!.trim().endsWith("%")) throw new HumanNumberError(`${what}: the move of "${input}" must be a percentage, like "per 1%"`);
  const move = parsePpm(m[2]!.trim(), what);
  if (amount <= 0n) throw new HumanNumberError(`${what}: "${input}" must be above $0`);
  if (move <= 0n || move > PPM) throw new HumanNumberError(`${what}: the move of "${input}" must be above 0% and at most 100%`);
  return (amount * PPM) / move;
}

/** "50x", "2.5x" or 2.5 → leverage in ppm of 1x. */
export function parseLeveragePpm(input: string | number, what = "leverage"): bigint {
  if (String(input).trim().startsWith("-")) throw new HumanNumberError(`${what}: "${input}" must not be negative`);
  const v = parsePpm(String(input).trim().replace(/x$/i, ""), what);
  if (v < PPM) throw new HumanNumberError(`${what}: "${input}" must be at least 1x`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------

export type Problems = string[];

/** Messages for the schemas without their own: "missing", "expected an object". */
export function defaultMessage(issue: { code?: string; input?: unknown; expected?: string }): string | undefined {
  if (issue.input === undefined) return "missing";
  if (issue.code === "invalid_type" && issue.expected) return `expected ${issue.expected === "object" ? "a map" : issue.expected === "array" ? "a list" : issue.expected}`;
  return undefined;
}

/** Run `fn`; a HumanNumberError becomes a problem at `at` (its "what:" prefix dropped). */
export function value<T>(problems: Problems, at: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HumanNumberError) {
      problems.push(`${at}: ${e.message.replace(/^[^:]*: /, "")}`);
      return undefined;
    }
    throw e;
  }
}


/** A copy of `raw` without `keys` in the object at `path` (own properties only; `__proto__` is a plain key). */
function withoutKeys(raw: unknown, path: readonly PropertyKey[], keys: readonly string[]): unknown {
  if (raw === null || typeof raw !== "object") return raw;
  const copy = (Array.isArray(raw) ? raw.slice() : { ...raw }) as Record<PropertyKey, unknown>;
  if (path.length === 0) {
    for (const k of keys) delete copy[k];
    return copy;
  }
  const [head, ...rest] = path as [PropertyKey, ...PropertyKey[]];
  if (!Object.hasOwn(copy, head)) return copy;
  Object.defineProperty(copy, head, { value: withoutKeys(copy[head], rest, keys), enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * Check `raw` against a strict schema. Unknown keys are problems, but they do not stop the check:
 * the document is checked again without them, so the caller can go on to its values. `data` is
 * undefined when the structure has other problems (a wrong type, a missing field).
 */
export function parseCollecting<S extends z.ZodType>(schema: S, raw: unknown, prefix: readonly PropertyKey[] = []): { data: z.infer<S> | undefined; problems: Problems } {
  const first = schema.safeParse(raw, { error: defaultMessage });
  if (first.success) return { data: first.data, problems: [] };
  const problems = zodProblems(first.error, prefix);
  const unknown = first.error.issues.filter((i) => i.code === "unrecognized_keys");
  if (unknown.length < first.error.issues.length) return { data: undefined, problems };
  let stripped = raw;
  for (const i of unknown) stripped = withoutKeys(stripped, i.path, i.keys);
  const second = schema.safeParse(stripped, { error: defaultMessage });
  return { data: second.success ? second.data : undefined, problems };
}
