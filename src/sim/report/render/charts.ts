import type { Config, TopLevelSpec } from "vega-lite";
import type { LabReport, RunReport } from "../types.ts";
import { runColumns, type RunColumn } from "./comparison.ts";
import type { CascadeChartId } from "./cascadeCharts.ts";
import type { DistributionChartId } from "./distributionCharts.ts";
import { toChartNumber } from "./format.ts";

/**
 * Vega-Lite specs for the report's charts, built from a LabReport. Pure: data in, specs out.
 * Every per-run chart overlays one line per run on shared axes, coloured by preset, with the
 * legend inside the chart so a chart's SVG file stands on its own.
 */

export const CHART_IDS = [
  "price",
  "liquidations",
  "below-maintenance",
  "open-interest",
  "bad-debt",
  "insurance-fund",
  "penalties",
  "keeper-profit",
] as const;

export type ChartId = (typeof CHART_IDS)[number];

export type ChartDef = {
  id: ChartId | DistributionChartId | CascadeChartId;
  /** Short name, also the SVG's accessible title. */
  title: string;
  /** One sentence under the chart: how to read it. */
  caption: string;
  /** Spans the page's full width instead of one of two columns. */
  wide: boolean;
  /** True when the chart has lines per run, and so a legend naming every run. */
  perRun: boolean;
  /** Lines drawn for each run (0 for the price chart). */
  seriesPerRun: number;
  spec: TopLevelSpec;
};

export const FONT = `Inter, "Segoe UI", Roboto, "Helvetica Neue", "Liberation Sans", Arial, "DejaVu Sans", sans-serif`;

/**
 * Sizes for a 1280 px page: a half-width card holds a 552 px SVG, a wide card 1152 px. Half-width
 * charts are fitted to exactly that width (axes and legend included), so every chart in the grid
 * shows its text at the same size; HEIGHT is the plot area's.
 */
export const HALF_WIDTH = 552;
export const WIDE_WIDTH = 1152;
const HEIGHT = 220;

export const CONFIG: Config = {
  font: FONT,
  background: "#ffffff",
  padding: { left: 4, right: 12, top: 6, bottom: 4 },
  view: { stroke: null },
  title: { anchor: "start", fontSize: 15, fontWeight: 600, color: "#1c2430", subtitleFontSize: 12, subtitleColor: "#5b6572", subtitlePadding: 4, offset: 12 },
  axis: {
    labelFontSize: 11,
    labelColor: "#4a5360",
    titleFontSize: 11,
    titleFontWeight: 500,
    titleColor: "#4a5360",
    gridColor: "#e8ebef",
    domainColor: "#aab2bd",
    tickColor: "#aab2bd",
    labelFlush: false,
  },
  axisX: { grid: false, tickMinStep: 1 },
  axisY: { domain: false, ticks: false, labelPadding: 6, titlePadding: 10 },
  legend: { labelFontSize: 12, labelColor: "#1c2430", symbolType: "stroke", symbolStrokeWidth: 3, symbolSize: 220, columnPadding: 16, rowPadding: 6, padding: 0, offset: 10 },
  header: { labelFontSize: 13, labelFontWeight: 600, labelColor: "#1c2430", labelAnchor: "start", labelPadding: 6, titleFontSize: 0 },
  line: { strokeWidth: 2, strokeJoin: "round", strokeCap: "round" },
};

/**
 * Axis labels for USD, one style per axis chosen from the data's magnitude so that labels never
 * mix styles: "$1.2M" / "$250k" (d3's SI prefix, "G" read as billions) from $10,000 up,
 * "$2,500" from $100 up, "$1.25" below. d3 keeps the sign with a true minus.
 */
export function usdLabelExpr(maxAbs: number): string {
  if (maxAbs >= 1e4) return `replace(format(datum.value, '$.3~s'), 'G', 'B')`;
  if (maxAbs >= 100) return `format(datum.value, '$,.0f')`;
  return `format(datum.value, '$,.2~f')`;
}

/**
 * A price axis's labels, formatted by the axis's range rather than the price's magnitude: as many
 * decimals as its ticks need to differ ($0.495, $0.496, … rather than "$0.5" on every tick). An
 * axis has about five ticks on a nice step of at least range / 5, so 10^floor(log10(range / 5))
 * is a lower bound of the step; a flat path keeps three significant digits of its price.
 */
export function priceLabelFormat(min: number, max: number): string {
  const range = Math.abs(max - min);
  const scale = range > 0 ? range / 5 : Math.max(Math.abs(max), Math.abs(min)) / 1_000;
  const decimals = scale > 0 ? Math.min(10, Math.max(0, -Math.floor(Math.log10(scale)))) : 2;
  return `$,.${decimals}f`;
}

type Point = { block: number; run: string; value: number };

/** Block number relative to the run's first block, the shared x axis of every per-run chart. */
function x(run: RunReport, block: number): number {
  return block - run.startBlock;
}

function series(runs: readonly RunReport[], columns: readonly RunColumn[], pick: (row: RunReport["blocks"][number]) => number): Point[] {
  return runs.flatMap((run, i) => run.blocks.map((b) => ({ block: x(run, b.block), run: columns[i]!.label, value: pick(b) })));
}

function legendColumns(n: number, width: number): number {
  return Math.max(1, Math.min(n, Math.floor(width / 115)));
}

type Unit = "usd" | "count";

function yAxis(unit: Unit, title: string, maxAbs: number): { title: string; labelExpr?: string; format?: string; tickMinStep?: number } {
  return unit === "usd" ? { title, labelExpr: usdLabelExpr(maxAbs) } : { title, format: "d", tickMinStep: 1 };
}

function maxAbs(values: readonly { value: number }[]): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v.value)), 0);
}

export function colour(columns: readonly RunColumn[], width: number) {
  return {
    field: "run",
    type: "nominal" as const,
    scale: { domain: columns.map((c) => c.label), range: columns.map((c) => c.colour) },
    sort: columns.map((c) => c.label),
    legend: { orient: "top" as const, direction: "horizontal" as const, title: null, columns: legendColumns(columns.length, width), labelLimit: 260 },
  };
}

export function xBlocks(maxBlock: number) {
  return {
    field: "block",
    type: "quantitative" as const,
    title: "Block since start",
    scale: { domain: [0, Math.max(1, maxBlock)], nice: false, zero: true },
    axis: { tickMinStep: 1, format: "d" },
  };
}

export function maxBlock(runs: readonly RunReport[]): number {
  return Math.max(1, ...runs.flatMap((r) => r.blocks.map((b) => x(r, b.block))));
}

/** The encoding of a single-view spec (vega-lite does not export the type by name). */
type UnitEncoding = NonNullable<Extract<TopLevelSpec, { mark: unknown; encoding?: unknown }>["encoding"]>;

type LineArgs = {
  runs: readonly RunReport[];
  columns: readonly RunColumn[];
  title: string;
  subtitle: string;
  unit: Unit;
  yTitle: string;
};

function perRunLine(args: LineArgs & { pick: (row: RunReport["blocks"][number]) => number }): TopLevelSpec {
  return stepLines(args, series(args.runs, args.columns, args.pick));
}

/** Step lines of `values` over the blocks, one colour per run (plus any `extra` encoding channel). */
function stepLines(args: LineArgs, values: { value: number }[], extra: Pick<UnitEncoding, "strokeDash"> = {}): TopLevelSpec {
  const { runs, columns } = args;
  return {
    config: CONFIG,
    title: { text: args.title, subtitle: args.subtitle },
    autosize: { type: "fit-x", contains: "padding" },
    width: HALF_WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 2.25 },
    encoding: {
      x: xBlocks(maxBlock(runs)),
      y: { field: "value", type: "quantitative", axis: yAxis(args.unit, args.yTitle, maxAbs(values)), scale: { zero: true, nice: true } },
      color: colour(columns, HALF_WIDTH),
      ...extra,
    },
  };
}

function sumOpenInterest(row: RunReport["blocks"][number]): number {
  return Object.values(row.markets).reduce((acc, m) => acc + toChartNumber(m.openInterestUsd), 0);
}

/**
 * The price path per market, from the first run (every run replays the same path): small
 * multiples, one panel per market, each with its own axis and labels formatted by its own range.
 */
function priceChart(report: LabReport): TopLevelSpec {
  const run = report.runs[0];
  const markets = report.scenario.markets.length > 0 ? report.scenario.markets : Object.keys(run?.blocks[0]?.markets ?? {});
  const cols = Math.min(3, Math.max(1, markets.length));
  // About 90 px per panel go to its y axis and the gap: the whole fits a 1152 px wide card.
  const width = Math.floor((WIDE_WIDTH - 90 * cols) / cols);
  const panel = (m: string) => {
    const values = run ? run.blocks.flatMap((b) => (b.markets[m] ? [{ block: x(run, b.block), value: toChartNumber(b.markets[m].price) }] : [])) : [];
    const prices = values.map((v) => v.value);
    const format = priceLabelFormat(prices.length > 0 ? Math.min(...prices) : 0, prices.length > 0 ? Math.max(...prices) : 0);
    return {
      title: { text: m, fontSize: 13, fontWeight: 600 as const, anchor: "start" as const, subtitle: "" },
      width,
      height: 170,
      data: { values },
      layer: [
        {
          mark: { type: "area" as const, interpolate: "linear" as const, color: "#0072B2", opacity: 0.08 },
          encoding: {
            x: xBlocks(run ? maxBlock([run]) : 1),
            y: { field: "value", type: "quantitative" as const, stack: null, scale: { zero: false, nice: true }, axis: { title: "USD", format } },
          },
        },
        {
          mark: { type: "line" as const, interpolate: "linear" as const, color: "#0072B2", strokeWidth: 2 },
          encoding: { x: { field: "block", type: "quantitative" as const }, y: { field: "value", type: "quantitative" as const } },
        },
      ],
    };
  };
  return {
    config: CONFIG,
    title: { text: "Price path", subtitle: report.runs.some((r) => r.cascade) ? "Mark price per market in the first run; with impact, each run moves it (see Cascades)" : "Mark price per market, the same in every run" },
    columns: cols,
    concat: markets.map(panel),
    resolve: { scale: { y: "independent" }, axis: { y: "independent" } },
  };
}

/** Cumulative liquidations, partial and full side by side on a shared y axis. */
function liquidationsChart(runs: readonly RunReport[], columns: readonly RunColumn[]): TopLevelSpec {
  const values = runs.flatMap((run, i) => {
    let partial = 0;
    let full = 0;
    return run.blocks.flatMap((b) => {
      partial += b.partialLiquidations;
      full += b.fullLiquidations;
      const common = { block: x(run, b.block), run: columns[i]!.label };
      return [
        { ...common, kind: "Partial (position remains)", value: partial },
        { ...common, kind: "Full (position closed)", value: full },
      ];
    });
  });
  const width = Math.floor((WIDE_WIDTH - 88) / 2);
  return {
    config: CONFIG,
    title: { text: "Liquidations, cumulative", subtitle: "How many liquidations each preset needs, and how many close a position outright" },
    data: { values },
    facet: { column: { field: "kind", type: "nominal", sort: ["Partial (position remains)", "Full (position closed)"], title: null } },
    spec: {
      width,
      height: HEIGHT,
      mark: { type: "line", interpolate: "step-after", strokeWidth: 2.25 },
      encoding: {
        x: xBlocks(maxBlock(runs)),
        y: { field: "value", type: "quantitative", axis: yAxis("count", "Liquidations", 0) },
        color: colour(columns, 2 * width),
      },
    },
    resolve: { scale: { y: "shared" } },
  };
}

const RECORDED = "recorded";
const OPEN = "open deficit";

/**
 * Bad debt as the chain records it (cumulative, solid) and, dashed, the open deficit: negative
 * equity of accounts not closed yet, bad debt that exists but is not realised. The dashed lines are
 * left out when no run ever had an open deficit.
 */
function badDebtChart(runs: readonly RunReport[], columns: readonly RunColumn[]): { spec: TopLevelSpec; series: number } {
  const withOpen = runs.some((r) => r.blocks.some((b) => b.openDeficit !== undefined && toChartNumber(b.openDeficit) !== 0));
  const values = runs.flatMap((run, i) =>
    run.blocks.flatMap((b) => {
      const common = { block: x(run, b.block), run: columns[i]!.label };
      const rows = [{ ...common, kind: RECORDED, value: toChartNumber(b.cumulativeBadDebt) }];
      if (withOpen) rows.push({ ...common, kind: OPEN, value: b.openDeficit === undefined ? 0 : toChartNumber(b.openDeficit) });
      return rows;
    }),
  );
  const kinds = withOpen ? [RECORDED, OPEN] : [RECORDED];
  const subtitle = withOpen ? "Recorded (solid) and still open (dashed); lower is better" : "Recorded, cumulative; no run had an open deficit";
  return {
    series: kinds.length,
    spec: stepLines({ runs, columns, title: "Bad debt", subtitle, unit: "usd", yTitle: "Bad debt (USD)" }, values, {
      strokeDash: {
        field: "kind",
        type: "nominal",
        scale: { domain: kinds, range: [[1, 0], [6, 4]] },
        legend: withOpen ? { orient: "bottom", direction: "horizontal", title: null, symbolStrokeColor: "#4a5360", offset: 12, labelLimit: 240 } : null,
      },
    }),
  };
}

/** Every chart of the report, in page order. */
export function buildCharts(report: LabReport): ChartDef[] {
  const runs = report.runs;
  const columns = runColumns(runs);
  const compare = runs.length > 1;
  const line = (title: string, subtitle: string, unit: Unit, yTitle: string, pick: (row: RunReport["blocks"][number]) => number) =>
    perRunLine({ runs, columns, title, subtitle, unit, yTitle, pick });
  const per = compare ? "One line per preset. " : "";
  const badDebt = badDebtChart(runs, columns);
  return [
    {
      id: "price",
      title: "Price path",
      caption: "The crash every run replays: mark price per market, each on its own scale.",
      wide: true,
      perRun: false,
      seriesPerRun: 0,
      spec: priceChart(report),
    },
    {
      id: "liquidations",
      title: "Liquidations, cumulative",
      caption: `${per}Partial liquidations leave a smaller position; full ones close it.`,
      wide: true,
      perRun: true,
      seriesPerRun: 2,
      spec: liquidationsChart(runs, columns),
    },
    {
      id: "below-maintenance",
      title: "Accounts below maintenance",
      caption: `${per}Accounts whose equity is below maintenance margin at the end of each block; the faster a line returns to zero, the faster keepers caught up.`,
      wide: false,
      perRun: true,
      seriesPerRun: 1,
      spec: line("Accounts below maintenance", "Per block: lower and shorter is better", "count", "Accounts", (b) => b.belowMaintenance),
    },
    {
      id: "open-interest",
      title: "Open interest",
      caption: `${per}Longs plus shorts across all markets, in USD at each block's price.`,
      wide: false,
      perRun: true,
      seriesPerRun: 1,
      spec: line("Open interest", "All markets, longs + shorts", "usd", "Open interest (USD)", sumOpenInterest),
    },
    {
      id: "bad-debt",
      title: "Bad debt",
      caption: `${per}Losses no account could pay: flat at zero is what a liquidation policy is for. An open deficit becomes bad debt when the account is closed.`,
      wide: false,
      perRun: true,
      seriesPerRun: badDebt.series,
      spec: badDebt.spec,
    },
    {
      id: "insurance-fund",
      title: "Insurance fund",
      caption: `${per}Grows with its share of penalties, shrinks when it covers bad debt.`,
      wide: false,
      perRun: true,
      seriesPerRun: 1,
      spec: line("Insurance fund", "Balance at the end of each block", "usd", "Insurance fund (USD)", (b) => toChartNumber(b.insuranceFund)),
    },
    {
      id: "penalties",
      title: "Penalties paid by traders, cumulative",
      caption: `${per}What traders lose to liquidation penalties, keepers' and insurance fund's shares together.`,
      wide: false,
      perRun: true,
      seriesPerRun: 1,
      spec: line("Penalties paid by traders", "Cumulative; lower is better for traders", "usd", "Penalties (USD)", (b) => toChartNumber(b.cumulativePenalties)),
    },
    {
      id: "keeper-profit",
      title: "Keeper profit, cumulative",
      caption: `${per}Rewards minus gas for all keepers: what keepers earn for showing up.`,
      wide: false,
      perRun: true,
      seriesPerRun: 1,
      spec: line("Keeper profit", "Cumulative rewards − gas, all keepers", "usd", "Keeper profit (USD)", (b) => toChartNumber(b.cumulativeKeeperProfit)),
    },
  ];
}
