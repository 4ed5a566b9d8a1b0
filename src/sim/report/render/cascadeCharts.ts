import type { TopLevelSpec } from "vega-lite";
import type { LabReport, RunReport } from "../types.ts";
import { CONFIG, HALF_WIDTH, WIDE_WIDTH, colour, maxBlock, priceLabelFormat, xBlocks, type ChartDef } from "./charts.ts";
import { runColumns, type RunColumn } from "./comparison.ts";
import { toChartNumber } from "./format.ts";

/**
 * Charts of the cascade section (issue 16), drawn when a run has an impact model: the price with
 * and without impact per market (the path dashed, each run's price in its colour), and the
 * liquidations by cascade generation. Pure: a LabReport in, Vega-Lite specs out; none without impact.
 */

export const CASCADE_CHART_IDS = ["cascade-price", "cascade-generations"] as const;
export type CascadeChartId = (typeof CASCADE_CHART_IDS)[number];

const PATH = "path (no impact)";

/** Markets with an impact model in any run, in the scenario's order. */
function impactMarkets(report: LabReport): string[] {
  const withImpact = new Set(report.runs.flatMap((r) => r.cascade?.markets.map((m) => m.market) ?? []));
  return report.scenario.markets.filter((m) => withImpact.has(m));
}

function priceWithImpact(report: LabReport, runs: readonly RunReport[], columns: readonly RunColumn[], markets: readonly string[]): TopLevelSpec {
  const cols = Math.min(2, markets.length);
  const width = cols === 1 ? WIDE_WIDTH - 260 : Math.floor((WIDE_WIDTH - 110 * cols) / cols);
  const panel = (m: string) => {
    const first = runs[0]!;
    const path = first.blocks.flatMap((b) => (b.markets[m]?.pathPrice !== undefined ? [{ block: b.block - first.startBlock, run: PATH, value: toChartNumber(b.markets[m].pathPrice) }] : []));
    const lines = runs.flatMap((r, i) => r.blocks.flatMap((b) => (b.markets[m] ? [{ block: b.block - r.startBlock, run: columns[i]!.label, value: toChartNumber(b.markets[m].price) }] : [])));
    const all = [...path, ...lines].map((v) => v.value);
    const format = priceLabelFormat(Math.min(...all), Math.max(...all));
    const c = colour(columns, width);
    return {
      title: { text: m, fontSize: 13, fontWeight: 600 as const, anchor: "start" as const, subtitle: "" },
      width,
      height: 220,
      data: { values: [...path, ...lines] },
      mark: { type: "line" as const, interpolate: "step-after" as const, strokeWidth: 2 },
      encoding: {
        x: xBlocks(maxBlock(runs)),
        y: { field: "value", type: "quantitative" as const, scale: { zero: false, nice: true }, axis: { title: "USD", format } },
        color: { ...c, scale: { domain: [PATH, ...c.scale.domain], range: ["#4a5360", ...c.scale.range] }, sort: [PATH, ...c.sort] },
        strokeDash: { field: "run", type: "nominal" as const, scale: { domain: [PATH, ...c.scale.domain], range: [[5, 4], ...c.scale.domain.map(() => [1, 0])] } },
      },
    };
  };
  return {
    config: CONFIG,
    title: { text: "Price with and without impact", subtitle: "Dashed: the scenario's path; solid: each run's price, moved by its own liquidations" },
    columns: cols,
    concat: markets.map(panel),
    resolve: { scale: { y: "independent" } },
  };
}

function generations(runs: readonly RunReport[], columns: readonly RunColumn[]): TopLevelSpec {
  const values = runs.flatMap((r, i) => (r.cascade?.byGeneration ?? []).map((g) => ({ generation: String(g.generation), run: columns[i]!.label, value: g.liquidations })));
  const gens = [...new Set(values.map((v) => Number(v.generation)))].sort((a, b) => a - b).map(String);
  return {
    config: CONFIG,
    title: { text: "Liquidations by cascade generation", subtitle: "0: liquidatable on the path alone; n: made liquidatable by generation n − 1's impact" },
    autosize: { type: "fit-x", contains: "padding" },
    width: HALF_WIDTH,
    height: 220,
    data: { values },
    mark: { type: "bar" },
    encoding: {
      x: { field: "generation", type: "ordinal", sort: gens, title: "Generation", axis: { labelAngle: 0 } },
      xOffset: { field: "run", type: "nominal", sort: columns.map((c) => c.label) },
      y: { field: "value", type: "quantitative", title: "Liquidations", axis: { format: "d", tickMinStep: 1 } },
      color: colour(columns, HALF_WIDTH),
    },
  };
}

export function buildCascadeCharts(report: LabReport): ChartDef[] {
  const markets = impactMarkets(report);
  if (markets.length === 0) return [];
  const runs = report.runs;
  const columns = runColumns(runs);
  return [
    {
      id: "cascade-price",
      title: "Price with and without impact",
      caption: "Each run's mark price against the scenario's path: the gap is the move its liquidations made (P_t = P_path_t × (1 + I_t)).",
      wide: true,
      perRun: true,
      seriesPerRun: markets.length,
      spec: priceWithImpact(report, runs, columns, markets),
    },
    {
      id: "cascade-generations",
      title: "Liquidations by cascade generation",
      caption: "How many liquidations each generation had: generation 0 would have happened on the path alone; higher ones exist because earlier liquidations moved the price.",
      wide: false,
      perRun: true,
      seriesPerRun: 0,
      spec: generations(runs, columns),
    },
  ];
}
