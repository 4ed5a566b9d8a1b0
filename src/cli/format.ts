import { TOKEN_SCALE, WAD } from "../engine/index.ts";
import { formatPpm, formatUsd, formatWad } from "../lib/units.ts";

/** Number formatting and plain-text tables for the CLI's human output. */

/** Decimal places a lot size needs: 0.001 → 3, 10 → 0. */
export function lotDecimals(lot: bigint): number {
  for (let d = 0; d <= 18; d++) if (lot % 10n ** BigInt(18 - d) === 0n) return d;
  return 18;
}

/** A size in its lot's precision: 5.79 with lot 0.001 → "5.790". Unsigned. */
export function formatSize(size: bigint, lot: bigint): string {
  return formatWad(size < 0n ? -size : size, lotDecimals(lot));
}

/** A price with precision that suits its magnitude: 57,040.41 / 2.3456 / 0.476190. */
export function formatPrice(p: bigint): string {
  const a = p < 0n ? -p : p;
  return formatWad(p, a >= 1000n * WAD ? 2 : a >= WAD ? 4 : 6);
}

/** Leverage from ppm of 1x: 12_500_000 → "12.5x". */
export function formatLeverage(ppm: bigint): string {
  return `${formatWad(ppm * 10n ** 12n, 1)}x`;
}

/** What every command prints where there is no value (no price, no ratio): one symbol. */
export const NO_VALUE = "—";

/** ppm → "2,181.82%": two decimals, thousands grouped (`formatPpm` is the exact form, for JSON). */
export function formatPercent(ppm: bigint, dp = 2): string {
  return `${formatWad(ppm * 10n ** 14n, dp)}%`;
}

/** The move from `from` to `to` as a signed percentage: "-0.75%", "+12.40%". */
export function formatMove(from: bigint, to: bigint): string {
  const ppm = ((to - from) * 1_000_000n) / from;
  return `${ppm > 0n ? "+" : ""}${formatPercent(ppm)}`;
}

/** Whole-token units (6 decimals) → "$825.08". */
export function formatTokens(tokens: bigint): string {
  return formatUsd(tokens * TOKEN_SCALE);
}

export { formatPpm, formatUsd };

/** Left-aligned columns, except those listed in `right`; two spaces between columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) =>
    r
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** "label   value" lines with the labels padded to one width. */
export function fields(rows: readonly (readonly [string, string])[], indent = "  "): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`);
}
