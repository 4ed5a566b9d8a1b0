import { Decimal } from "decimal.js";
/** 1.0 in 18-decimal fixed point, and in parts per million (as the engine's). */
const WAD = 10n ** 18n;
const PPM = 1_000_000n;

/**
 * Where people meet numbers: parsing config values ("0.5%", "50x", "250,000", "1e-3") into the
 * engine's bigints, and formatting WAD amounts for reports. decimal.js keeps every step exact;
 * a value that does not fit the target unit exactly is refused, never silently rounded.
 */

const D = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_EVEN, toExpPos: 80, toExpNeg: -80 });

export class HumanNumberError extends Error {
  override name = "HumanNumberError";
}

function parse(input: string | number, what: string): Decimal {
  const text = String(input).trim().replace(/[_,\s]/g, "").replace(/^\$/, "");
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
    throw new HumanNumberError(`${what}: "${input}" is not a number`);
  }
  return new D(text);
}

function toExactBigint(d: Decimal, what: string, input: string | number): bigint {
  if (!d.isInteger()) throw new HumanNumberError(`${what}: "${input}" has more precision than the unit allows`);
  return BigInt(d.toFixed(0));
}

/** "0.5%" → 5000 ppm; "0.005" → 5000 ppm; "5000ppm" → 5000; "50bps" → 5000. */
export function parsePpm(input: string | number, what = "rate"): bigint {
  const text = String(input).trim().toLowerCase();
  let d: Decimal;
  if (text.endsWith("%")) d = parse(text.slice(0, -1), what).mul(10_000);
  else if (text.endsWith("ppm")) d = parse(text.slice(0, -3), what);
  else if (text.endsWith("bps")) d = parse(text.slice(0, -3), what).mul(100);
  else d = parse(text, what).mul(PPM.toString());
  if (d.isNegative()) throw new HumanNumberError(`${what}: "${input}" must not be negative`);
  return toExactBigint(d, what, input);
}

/** "50x" or 50 → 50n. */
export function parseLeverage(input: string | number, what = "leverage"): bigint {
  const text = String(input).trim().toLowerCase().replace(/x$/, "");
  const n = toExactBigint(parse(text, what), what, input);
  if (n < 1n) throw new HumanNumberError(`${what}: "${input}" must be at least 1x`);
  return n;
}

/** "250,000" or "57000.5" → WAD bigint (exact to 18 decimals). Signed values allowed. */
export function parseWad(input: string | number, what = "amount"): bigint {
  return toExactBigint(parse(input, what).mul(WAD.toString()), what, input);
}

/** A non-negative whole number of seconds ("30", "30s", "5m", "1h"). */
export function parseSeconds(input: string | number, what = "duration"): bigint {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/i.exec(String(input));
  if (!m) throw new HumanNumberError(`${what}: "${input}" is not a duration like 30s, 5m or 1h`);
  const mult = { s: 1, m: 60, h: 3600 }[(m[2] ?? "s").toLowerCase() as "s" | "m" | "h"];
  return toExactBigint(new D(m[1]!).mul(mult), what, input);
}

/** WAD → Decimal, exact. */
export function wadToDecimal(x: bigint): Decimal {
  return new D(x.toString()).div(WAD.toString());
}

/** WAD → "1,234.56" (rounded half-even to `dp` places, thousands separated). */
export function formatWad(x: bigint, dp = 2): string {
  return formatGrouped(wadToDecimal(x), dp);
}

/**
 * An exact decimal → "1,234.56": rounded half-even to `dp` places, thousands separated; a negative
 * value that rounds to zero keeps its minus ("-0.00"), so a loss never reads as nothing.
 */
export function formatGrouped(d: Decimal, dp = 2): string {
  const negative = d.isNegative() && !d.isZero();
  const [int, frac] = d.abs().toFixed(dp, Decimal.ROUND_HALF_EVEN).split(".");
  const digits = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${digits}${frac === undefined ? "" : `.${frac}`}`;
}

/** WAD → "$1,234.56" / "-$12.00". */
export function formatUsd(x: bigint, dp = 2): string {
  const s = formatWad(x, dp);
  return s.startsWith("-") ? `-$${s.slice(1)}` : `$${s}`;
}

/** ppm → "0.5%": exact, without trailing zeros (1 ppm → "0.0001%"). */
export function formatPpm(x: bigint): string {
  const a = x < 0n ? -x : x;
  const frac = (a % 10_000n).toString().padStart(4, "0").replace(/0+$/, "");
  return `${x < 0n ? "-" : ""}${a / 10_000n}${frac ? `.${frac}` : ""}%`;
}
