import { Decimal } from "decimal.js";
import { formatGrouped } from "../../../lib/units.ts";

/**
 * Human formatting of report.json's exact decimal strings. Every function takes the string as
 * written (no float in between), rounds half-even, separates thousands and keeps the sign:
 * a value that rounds to zero but is not zero keeps its minus ("-$0.00"), so a loss never reads
 * as nothing lost.
 */

const D = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_EVEN, toExpPos: 80, toExpNeg: -80 });

export class ReportNumberError extends Error {
  override name = "ReportNumberError";
  constructor(readonly value: string, readonly what: string) {
    super(`${what}: "${value}" is not a decimal number`);
  }
}

const DECIMAL = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/;

/** A decimal string → Decimal, exact; throws ReportNumberError on anything else ("1e5" included). */
export function toDecimal(value: string, what = "number"): Decimal {
  if (!DECIMAL.test(value)) throw new ReportNumberError(value, what);
  return new D(value.trim());
}

/** Compare two decimal strings exactly: negative, zero or positive like Array.sort wants. */
export function compareDecimal(a: string, b: string): number {
  return toDecimal(a).comparedTo(toDecimal(b));
}

/** Sum of decimal strings, exact, as a decimal string. */
export function sumDecimal(values: readonly string[]): string {
  return values.reduce((acc, v) => acc.plus(toDecimal(v)), new D(0)).toFixed();
}

/** "1234567.891" → "1,234,567.89"; the sign is kept even when the rounded value is zero. */
export function formatDecimal(value: string, dp = 2): string {
  return formatGrouped(toDecimal(value), dp);
}

/** USD: "-1234.5" → "-$1,234.50". */
export function formatUsd(value: string, dp = 2): string {
  const s = formatDecimal(value, dp);
  return s.startsWith("-") ? `-$${s.slice(1)}` : `$${s}`;
}

/** A change in USD with an explicit sign: "+$12.00", "-$3.50", "$0.00". */
export function formatUsdDelta(value: string, dp = 2): string {
  const s = formatUsd(value, dp);
  return s.startsWith("-") || toDecimal(value).isZero() ? s : `+${s}`;
}

/** A price with precision that suits its magnitude: "57,040.41", "2.3456", "0.476190". */
export function formatPrice(value: string): string {
  const a = toDecimal(value).abs();
  return formatUsd(value, a.gte(1000) ? 2 : a.gte(1) ? 4 : 6);
}

/** An integer count: 12345 → "12,345". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const negative = n < 0;
  const digits = Math.abs(Math.trunc(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${digits}`;
}

/** Milliseconds → "850 ms", "12.3 s", "4 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** "0x1234567890abcdef…" → "0x1234…cdef". Anything short enough is returned as is. */
export function shortHex(hex: string, head = 6, tail = 4): string {
  return hex.length <= head + tail + 1 ? hex : `${hex.slice(0, head)}…${hex.slice(-tail)}`;
}

/** A decimal string as a float, for chart coordinates only (never for a figure shown as text). */
export function toChartNumber(value: string): number {
  return toDecimal(value).toNumber();
}
