import type { LabReport, RunReport } from "../types.ts";
import { compareDecimal, formatCount, formatDecimal, formatUsd, formatUsdDelta } from "./format.ts";
import { lossNotCovered } from "./loss.ts";
import { runColours } from "./palette.ts";

/**
 * The comparison table as data: one column per run, one row per figure, each cell already
 * formatted and marked best or worst within its row. Pure: the HTML is built from this elsewhere.
 */

/** Which end of a row is the better one; "neither" rows are never marked. */
export type Better = "lower" | "higher" | "neither";

export type CellMark = "best" | "worst";

export type ComparisonCell = {
  text: string;
  /** Set only when there are at least two runs and the row's values differ. */
  mark?: CellMark;
};

export type ComparisonRow = {
  group: string;
  label: string;
  /** One line under the label: what the figure is, in the reader's terms. */
  hint?: string;
  better: Better;
  cells: ComparisonCell[];
};

export type RunColumn = {
  /** Unique display name: the preset, with " (2)" etc. when a preset appears twice. */
  label: string;
  preset: string;
  colour: string;
};

export type ComparisonTable = {
  columns: RunColumn[];
  rows: ComparisonRow[];
};

/** Unique labels for the runs, in order. */
export function runLabels(runs: readonly Pick<RunReport, "preset">[]): string[] {
  const seen = new Map<string, number>();
  return runs.map((r) => {
    const n = (seen.get(r.preset) ?? 0) + 1;
    seen.set(r.preset, n);
    return n === 1 ? r.preset : `${r.preset} (${n})`;
  });
}

export function runColumns(runs: readonly Pick<RunReport, "preset">[]): RunColumn[] {
  const labels = runLabels(runs);
  const colours = runColours(
    labels,
    runs.map((r) => r.preset),
  );
  return labels.map((label, i) => ({ label, preset: runs[i]!.preset, colour: colours[i]! }));
}

/** A figure of one run; "none" when the report does not carry it (an optional field). */
type Value = { kind: "count"; n: number } | { kind: "usd"; s: string } | { kind: "usdDelta"; s: string } | { kind: "none" };

type Metric = {
  group: string;
  label: string;
  hint?: string;
  better: Better;
  value: (run: RunReport) => Value;
};

const count = (n: number): Value => ({ kind: "count", n });
const usd = (s: string): Value => ({ kind: "usd", s });
const usdDelta = (s: string): Value => ({ kind: "usdDelta", s });
const optional = <T>(x: T | undefined, f: (x: T) => Value): Value => (x === undefined ? { kind: "none" } : f(x));

/** The figures compared, in the order shown. */
export const METRICS: readonly Metric[] = [
  { group: "Liquidations", label: "Liquidations", hint: "transactions that closed some or all of a position", better: "lower", value: (r) => count(r.totals.liquidations) },
  { group: "Liquidations", label: "Partial", hint: "position remains afterwards", better: "neither", value: (r) => count(r.totals.partialLiquidations) },
  { group: "Liquidations", label: "Full", hint: "position closed", better: "lower", value: (r) => count(r.totals.fullLiquidations) },
  { group: "Liquidations", label: "Accounts liquidated", hint: "at least once", better: "lower", value: (r) => count(r.totals.accountsLiquidated) },
  { group: "Liquidations", label: "Accounts closed out", better: "lower", value: (r) => count(r.totals.accountsClosed) },
  { group: "Liquidations", label: "Notional liquidated", hint: "USD at the fill price", better: "lower", value: (r) => usd(r.totals.liquidatedNotionalUsd) },
  { group: "Liquidations", label: "Most liquidations in one block", better: "lower", value: (r) => count(r.worst.maxLiquidationsInBlock) },
  { group: "Traders", label: "Penalties paid", hint: "what traders lose to liquidation penalties", better: "lower", value: (r) => usd(r.totals.penalties) },
  { group: "Traders", label: "Trader loss to liquidation", hint: "penalties + equity lost while below maintenance, down to zero", better: "lower", value: (r) => usd(r.totals.traderLoss) },
  { group: "Traders", label: "Equity lost before the close", hint: "price moves while the liquidation was pending, beyond penalties", better: "lower", value: (r) => usd(r.totals.traderEquityLost) },
  { group: "Solvency", label: "Loss not covered", hint: "bad debt recorded + deficits still open at the end", better: "lower", value: (r) => usd(lossNotCovered(r)) },
  { group: "Solvency", label: "Paid by the insurance fund", hint: "deficits of closed accounts it covered", better: "lower", value: (r) => usd(r.totals.badDebtCoveredByInsurance) },
  { group: "Solvency", label: "Bad debt", hint: "recorded: the part the insurance fund could not pay", better: "lower", value: (r) => usd(r.totals.badDebt) },
  { group: "Solvency", label: "Bad-debt events", better: "lower", value: (r) => count(r.totals.badDebtEvents) },
  { group: "Solvency", label: "Largest bad-debt event", better: "lower", value: (r) => usd(r.worst.maxBadDebtEvent) },
  { group: "Solvency", label: "Largest open deficit", hint: "negative equity not yet closed, in any one block", better: "lower", value: (r) => optional(r.worst.maxOpenDeficit, usd) },
  { group: "Solvency", label: "Open deficit at the end", hint: "bad debt still to be realised", better: "lower", value: (r) => optional(r.final.openDeficit, usd) },
  { group: "Solvency", label: "Insurance fund change", hint: "end of run minus start", better: "higher", value: (r) => usdDelta(r.totals.insuranceFundDelta) },
  { group: "Solvency", label: "Lowest insurance fund", better: "higher", value: (r) => usd(r.worst.minInsuranceFund) },
  { group: "ADL", label: "ADL events", hint: "Deleveraged events: one per counterparty closed", better: "neither", value: (r) => optional(r.adl, (a) => count(a.events)) },
  { group: "ADL", label: "Notional deleveraged", hint: "USD at the mark", better: "neither", value: (r) => optional(r.adl, (a) => usd(a.deleveragedNotionalUsd)) },
  { group: "ADL", label: "Accounts hit by ADL", hint: "profitable opposite positions closed", better: "lower", value: (r) => optional(r.adl, (a) => count(a.accountsHit)) },
  { group: "ADL", label: "Profit given up to ADL", hint: "against a close at the mark: the deficit ADL covered", better: "lower", value: (r) => optional(r.adl, (a) => usd(a.profitGivenUp)) },
  { group: "ADL", label: "Bad debt left after ADL", hint: "recorded + open at the end beyond the fund", better: "lower", value: (r) => optional(r.adl, (a) => usd(a.badDebtLeft)) },
  { group: "ADL", label: "…that the opposite side could cover", hint: "0 wherever ADL is on", better: "lower", value: (r) => optional(r.adl, (a) => usd(a.coverableByOppositeSide)) },
  { group: "Sizing", label: "Insurance fund needed", hint: "the smallest starting fund that pays every deficit, open ones at the end too", better: "lower", value: (r) => usd(r.sizing.insuranceFundNeeded) },
  { group: "Sizing", label: "Backstop keeper budget", hint: "its largest running shortfall of rewards against gas", better: "lower", value: (r) => optional(r.sizing.backstop?.budget, usd) },
  { group: "Keepers", label: "Keeper rewards", hint: "penalty share paid to keepers", better: "neither", value: (r) => usd(r.totals.keeperRewards) },
  { group: "Keepers", label: "Keeper profit", hint: "rewards minus gas, all keepers", better: "higher", value: (r) => usdDelta(r.totals.keeperProfit) },
  { group: "Risk", label: "Most accounts below maintenance", hint: "in any one block", better: "lower", value: (r) => count(r.worst.maxBelowMaintenance) },
  { group: "Risk", label: "Most accounts underwater", hint: "equity ≤ 0, in any one block", better: "lower", value: (r) => count(r.worst.maxUnderwater) },
  { group: "Risk", label: "Longest wait before first liquidation", hint: "blocks an account stayed below maintenance", better: "lower", value: (r) => count(r.worst.maxBlocksBelowMaintenanceBeforeLiquidation) },
  { group: "Risk", label: "Below maintenance at the end", hint: "accounts", better: "lower", value: (r) => optional(r.final.belowMaintenance, count) },
  { group: "Risk", label: "Underwater at the end", hint: "accounts with equity ≤ 0: only a backstop keeper closes them", better: "lower", value: (r) => optional(r.final.underwater, count) },
];

function formatValue(v: Value): string {
  switch (v.kind) {
    case "count":
      return formatCount(v.n);
    case "usd":
      return formatUsd(v.s);
    case "usdDelta":
      return formatUsdDelta(v.s);
    case "none":
      return "—";
  }
}

function compareValues(a: Value, b: Value): number {
  if (a.kind === "count" && b.kind === "count") return Math.sign(a.n - b.n);
  if ((a.kind === "usd" || a.kind === "usdDelta") && (b.kind === "usd" || b.kind === "usdDelta")) return compareDecimal(a.s, b.s);
  throw new Error(`comparing a ${a.kind} figure with a ${b.kind} one`);
}

/**
 * Best and worst marks for one row: every cell equal to the better extreme is "best", every cell
 * equal to the other extreme "worst". No marks with fewer than two values, when all are equal, or
 * when neither end is better.
 */
export function markExtremes<T>(values: readonly T[], better: Better, compare: (a: T, b: T) => number): (CellMark | undefined)[] {
  const none = values.map((): CellMark | undefined => undefined);
  if (values.length < 2 || better === "neither") return none;
  let min = values[0] as T;
  let max = values[0] as T;
  for (const v of values) {
    if (compare(v, min) < 0) min = v;
    if (compare(v, max) > 0) max = v;
  }
  if (compare(min, max) === 0) return none;
  const [best, worst] = better === "lower" ? [min, max] : [max, min];
  return values.map((v) => (compare(v, best) === 0 ? "best" : compare(v, worst) === 0 ? "worst" : undefined));
}

/** presetSummary keys shown elsewhere than in the parameter rows (prose, not a parameter). */
export const PRESET_PROSE_KEYS: readonly string[] = ["description"];

/** A parameter as written, made easier to read: "250000" → "250,000", "true" → "yes". */
export function prettyParam(value: string): string {
  if (value === "true") return "yes";
  if (value === "false") return "no";
  if (/^-?\d{4,}(\.\d+)?$/.test(value)) {
    const [int, frac] = value.split(".");
    const s = formatDecimal(int!, 0);
    const f = (frac ?? "").replace(/0+$/, "");
    return f === "" ? s : `${s}.${f}`;
  }
  return value;
}

/** Preset parameters as rows (no marks): the union of every run's keys, in first-seen order. */
function presetRows(runs: readonly RunReport[]): ComparisonRow[] {
  const keys: string[] = [];
  for (const r of runs) for (const k of Object.keys(r.presetSummary)) if (!keys.includes(k) && !PRESET_PROSE_KEYS.includes(k)) keys.push(k);
  return keys.map((k) => ({
    group: "Preset",
    label: k,
    better: "neither",
    cells: runs.map((r) => {
      const v = r.presetSummary[k];
      return { text: v === undefined ? "—" : prettyParam(v) };
    }),
  }));
}

export function buildComparisonTable(report: Pick<LabReport, "runs">): ComparisonTable {
  const runs = report.runs;
  const rows: ComparisonRow[] = presetRows(runs);
  for (const m of METRICS) {
    const values = runs.map(m.value);
    // A figure the report does not carry is shown as "—" and takes no part in best and worst.
    if (values.every((v) => v.kind === "none")) continue;
    const present = values.flatMap((v, i) => (v.kind === "none" ? [] : [i]));
    const presentMarks = markExtremes(
      present.map((i) => values[i]!),
      m.better,
      compareValues,
    );
    const marks = values.map((_, i) => {
      const j = present.indexOf(i);
      return j < 0 ? undefined : presentMarks[j];
    });
    rows.push({
      group: m.group,
      label: m.label,
      ...(m.hint === undefined ? {} : { hint: m.hint }),
      better: m.better,
      cells: values.map((v, i) => {
        const mark = marks[i];
        return mark === undefined ? { text: formatValue(v) } : { text: formatValue(v), mark };
      }),
    });
  }
  return { columns: runColumns(runs), rows };
}
