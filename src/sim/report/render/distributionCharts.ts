import type { TopLevelSpec } from "vega-lite";
import { percentile } from "../../distribution.ts";
import type { LabReport, SeedEntry } from "../types.ts";
import { CONFIG, HALF_WIDTH, usdLabelExpr, type ChartDef } from "./charts.ts";
import { runColumns, type RunColumn } from "./comparison.ts";
import { toChartNumber } from "./format.ts";

/**
 * Strip plots of the multi-seed report: one row per run, one dot per seed, a dark tick at the
 * run's p90 (nearest rank). Pure: a LabReport with `seeds` in, Vega-Lite specs out; none without it.
 */

export const DISTRIBUTION_CHART_IDS = ["dist-loss-not-covered", "dist-fund-needed", "dist-trader-loss", "dist-backstop-budget"] as const;

export type DistributionChartId = (typeof DISTRIBUTION_CHART_IDS)[number];

type Figure = { id: DistributionChartId; title: string; subtitle: string; caption: string; axis: string; value: (e: SeedEntry) => string | undefined };

const FIGURES: readonly Figure[] = [
  {
    id: "dist-loss-not-covered",
    title: "Loss not covered, per seed",
    subtitle: "Bad debt recorded + deficits open at the end; tick: p90",
    caption: "One dot per seed: what nobody had paid when the run ended. The tick marks p90 over the seeds.",
    axis: "Loss not covered (USD)",
    value: (e) => e.totals.lossNotCovered,
  },
  {
    id: "dist-fund-needed",
    title: "Insurance fund needed, per seed",
    subtitle: "The starting fund that pays every deficit; tick: p90",
    caption: "One dot per seed: the smallest starting insurance fund that would have paid every deficit of that run, open ones at the end too.",
    axis: "Insurance fund needed (USD)",
    value: (e) => e.sizing.insuranceFundNeeded,
  },
  {
    id: "dist-trader-loss",
    title: "Trader loss, per seed",
    subtitle: "Penalties + equity lost while below maintenance; tick: p90",
    caption: "One dot per seed: what liquidated traders lost to liquidation (bad debt is not theirs).",
    axis: "Trader loss (USD)",
    value: (e) => e.totals.traderLoss,
  },
  {
    id: "dist-backstop-budget",
    title: "Backstop keeper budget, per seed",
    subtitle: "Largest running shortfall of rewards against gas; tick: p90",
    caption: "One dot per seed: what the backstop keeper's operator had to have put in at the worst point of the run.",
    axis: "Backstop budget (USD)",
    value: (e) => e.sizing.backstop?.budget,
  },
];

function strip(report: LabReport, columns: readonly RunColumn[], f: Figure): { spec: TopLevelSpec; runs: number } | undefined {
  const runs = report.seeds!.runs.flatMap((r, i) => {
    const values = r.perSeed.flatMap((e) => {
      const v = f.value(e);
      return v === undefined ? [] : [{ seed: e.seed, value: v }];
    });
    return values.length === 0 ? [] : [{ label: columns[i]!.label, values }];
  });
  if (runs.length === 0) return undefined;
  const points = runs.flatMap((r) => r.values.map((v) => ({ run: r.label, seed: v.seed, value: toChartNumber(v.value) })));
  const ticks = runs.map((r) => ({ run: r.label, value: toChartNumber(percentile(r.values.map((v) => v.value), 90).value) }));
  const maxAbs = points.reduce((m, p) => Math.max(m, Math.abs(p.value)), 0);
  const labels = runs.map((r) => r.label);
  const shown = columns.filter((c) => labels.includes(c.label));
  const x = { field: "value", type: "quantitative" as const, title: f.axis, scale: { zero: true, nice: true }, axis: { title: f.axis, labelExpr: usdLabelExpr(maxAbs) } };
  const y = { field: "run", type: "nominal" as const, sort: labels, title: null, axis: { labelLimit: 180 } };
  return {
    runs: runs.length,
    spec: {
      config: CONFIG,
      title: { text: f.title, subtitle: f.subtitle },
      autosize: { type: "fit-x", contains: "padding" },
      width: HALF_WIDTH,
      height: Math.max(160, 40 * runs.length),
      layer: [
        {
          data: { values: points },
          mark: { type: "point", filled: true, size: 80, opacity: 0.7 },
          encoding: { x, y, color: { field: "run", type: "nominal", scale: { domain: shown.map((c) => c.label), range: shown.map((c) => c.colour) }, legend: null } },
        },
        { data: { values: ticks }, mark: { type: "tick", color: "#1c2430", thickness: 2, size: 26 }, encoding: { x: { field: "value", type: "quantitative" }, y: { field: "run", type: "nominal", sort: labels } } },
      ],
    },
  };
}

/** The distribution charts of a multi-seed report, in page order (the backstop one only when a run has a backstop keeper). */
export function buildDistributionCharts(report: LabReport): ChartDef[] {
  if (!report.seeds) return [];
  const columns = runColumns(report.runs);
  return FIGURES.flatMap((f) => {
    const s = strip(report, columns, f);
    return s ? [{ id: f.id, title: f.title, caption: f.caption, wide: false, perRun: false, seriesPerRun: 0, spec: s.spec }] : [];
  });
}
