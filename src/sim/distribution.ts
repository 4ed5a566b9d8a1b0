import { Decimal } from "decimal.js";
import { poolTierStatistics } from "./report/tiersSpanned.ts";
import type { FigureDistribution, Percentile, RunReport, SeedEntry, SeedRun, SizingAnswer } from "./report/types.ts";

/**
 * Figures over seeds: nearest-rank percentiles and the distribution of each headline figure. Pure.
 *
 * Nearest rank. The p-th percentile (0 < p ≤ 100) of n values ordered from best to worst is the
 * value at rank ⌈p·n/100⌉ (1-based): always an observed run, never an interpolation, and the amount
 * that would have been enough for at least p% of the runs. The median is the 50th percentile, so
 * for an even n the better of the two middle runs. Percentiles are taken on the bad side: for a
 * loss, larger is worse; for a profit, smaller is. A percentile rests on n seeds: with fewer than
 * 100 / (100 − p) of them its rank is n, the worst run (p90 needs 10 seeds to differ from the
 * worst, p99 needs 100), and the report says so.
 */

/** ⌈p·n/100⌉, in integers, clamped to 1…n. */
export function nearestRank(p: number, n: number): number {
  if (!Number.isInteger(p) || p <= 0 || p > 100) throw new RangeError(`percentile must be a whole number in 1…100, got ${p}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`need at least one value, got ${n}`);
  return Math.min(n, Math.max(1, Math.floor((p * n + 99) / 100)));
}

export type Better = "lower" | "higher";

/** Decimal strings ordered from best to worst. */
export function bestToWorst(values: readonly string[], better: Better): string[] {
  const sign = better === "lower" ? 1 : -1;
  return [...values].sort((a, b) => sign * new Decimal(a).comparedTo(new Decimal(b)));
}

/** The p-th percentile (nearest rank, bad side) of decimal strings. */
export function percentile(values: readonly string[], p: number, better: Better = "lower"): Percentile {
  const sorted = bestToWorst(values, better);
  const rank = nearestRank(p, sorted.length);
  return { value: sorted[rank - 1]!, rank, isWorst: rank === sorted.length };
}

export function distributionOf(values: readonly string[], better: Better): FigureDistribution {
  const sorted = bestToWorst(values, better);
  return {
    n: sorted.length,
    median: percentile(sorted, 50, better).value,
    p90: percentile(sorted, 90, better).value,
    worst: sorted[sorted.length - 1]!,
  };
}

export function sizingAnswer(values: readonly string[]): SizingAnswer {
  const sorted = bestToWorst(values, "lower");
  return { n: sorted.length, p90: percentile(sorted, 90), p99: percentile(sorted, 99), worst: sorted[sorted.length - 1]! };
}

/** A headline figure: what the distribution section and the printed table summarise over seeds. */
export type Headline = {
  id: string;
  label: string;
  unit: "usd" | "count";
  better: Better;
  /** Undefined when the seed's run does not have the figure (a backstop budget without a backstop keeper). */
  value: (e: SeedEntry) => string | undefined;
};

export const HEADLINES: readonly Headline[] = [
  { id: "liquidations", label: "liquidations", unit: "count", better: "lower", value: (e) => String(e.totals.liquidations) },
  { id: "accountsLiquidated", label: "accounts liquidated", unit: "count", better: "lower", value: (e) => String(e.totals.accountsLiquidated) },
  { id: "liquidatedNotionalUsd", label: "notional liquidated", unit: "usd", better: "lower", value: (e) => e.totals.liquidatedNotionalUsd },
  { id: "penalties", label: "penalties paid by traders", unit: "usd", better: "lower", value: (e) => e.totals.penalties },
  { id: "traderLoss", label: "trader loss (penalties + equity)", unit: "usd", better: "lower", value: (e) => e.totals.traderLoss },
  { id: "insurancePaid", label: "paid by the insurance fund", unit: "usd", better: "lower", value: (e) => e.totals.badDebtCoveredByInsurance },
  { id: "badDebt", label: "bad debt recorded", unit: "usd", better: "lower", value: (e) => e.totals.badDebt },
  { id: "openDeficitAtEnd", label: "open deficit at end", unit: "usd", better: "lower", value: (e) => e.openDeficitAtEnd },
  { id: "lossNotCovered", label: "loss not covered", unit: "usd", better: "lower", value: (e) => e.totals.lossNotCovered },
  { id: "keeperProfit", label: "keeper profit", unit: "usd", better: "higher", value: (e) => e.totals.keeperProfit },
  { id: "maxBelowMaintenance", label: "most below maintenance", unit: "count", better: "lower", value: (e) => String(e.maxBelowMaintenance) },
  { id: "insuranceFundNeeded", label: "insurance fund needed", unit: "usd", better: "lower", value: (e) => e.sizing.insuranceFundNeeded },
  { id: "backstopBudget", label: "backstop keeper budget", unit: "usd", better: "lower", value: (e) => e.sizing.backstop?.budget },
  { id: "longestCascade", label: "longest cascade (blocks)", unit: "count", better: "lower", value: (e) => (e.longestCascadeBlocks === undefined ? undefined : String(e.longestCascadeBlocks)) },
];

/** One seed's headline figures from its run. */
export function seedEntry(seed: string, run: RunReport): SeedEntry {
  return {
    seed,
    totals: run.totals,
    sizing: run.sizing,
    maxBelowMaintenance: run.worst.maxBelowMaintenance,
    openDeficitAtEnd: run.final.openDeficit ?? "0",
    underwaterAtEnd: run.final.underwater ?? 0,
    ...(run.cascade ? { longestCascadeBlocks: run.cascade.longestCascadeBlocks } : {}),
    tiersSpanned: run.tiersSpanned,
  };
}

/** A run over seeds: its entries (in seed order), each headline's distribution, the sizing answers. */
export function seedRun(preset: string, perSeed: readonly SeedEntry[]): SeedRun {
  const distribution: Record<string, FigureDistribution> = {};
  for (const h of HEADLINES) {
    const values = perSeed.flatMap((e) => h.value(e) ?? []);
    if (values.length > 0) distribution[h.id] = distributionOf(values, h.better);
  }
  const budgets = perSeed.flatMap((e) => e.sizing.backstop?.budget ?? []);
  return {
    preset,
    perSeed: [...perSeed],
    distribution,
    sizing: {
      insuranceFund: sizingAnswer(perSeed.map((e) => e.sizing.insuranceFundNeeded)),
      ...(budgets.length > 0 ? { backstopBudget: sizingAnswer(budgets) } : {}),
    },
    tiersSpanned: poolTierStatistics(perSeed.map((e) => e.tiersSpanned)),
  };
}
