import type { LabReport, LiquidationRow, RunReport } from "../types.ts";
import type { ChartDef } from "./charts.ts";
import { FONT } from "./charts.ts";
import { buildComparisonTable, runColumns, type ComparisonTable, type RunColumn } from "./comparison.ts";
import { formatCount, formatDecimal, formatDuration, formatPrice, formatUsd, formatUsdDelta, shortHex, toDecimal } from "./format.ts";
import { adlHtml } from "./adl.ts";
import { cascadeHtml, tiersHtml } from "./cascade.ts";
import { distributionsHtml } from "./distributions.ts";
import { glanceHtml } from "./glance.ts";
import { inputsHtml } from "./inputs.ts";
import { escapeHtml, runName } from "./markup.ts";
import { STYLE } from "./style.ts";

export { escapeHtml } from "./markup.ts";

const h = escapeHtml;

/**
 * The report page as one string: inline CSS, inline SVG charts, no script, nothing fetched, so it
 * opens the same from file://, a mail attachment or a CI artifact. Pure.
 */

export type RenderedChart = { def: ChartDef; svg: string };

export type HtmlOptions = {
  /** Rows in each run's liquidation table (largest notional first). */
  topLiquidations?: number;
};

export const DEFAULT_TOP_LIQUIDATIONS = 25;

/** Where a fork came from, without the path or query of its URL (which often carry an API key). */
export function forkSource(url: string | undefined): string {
  if (url === undefined || url === "") return "an RPC";
  try {
    return new URL(url).host || "an RPC";
  } catch {
    return "an RPC";
  }
}

// ---------------------------------------------------------------------------------------------
// Header

/** Whole dollars without cents ("$1,000,000"), cents when there are any. */
function formatFund(value: string): string {
  return formatUsd(value, toDecimal(value).isInteger() && !toDecimal(value).isZero() ? 0 : 2);
}

function headerHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const s = report.scenario;
  const c = report.chain;
  const chain =
    c.mode === "fork"
      ? `fork of ${h(forkSource(c.forkUrl))}${c.forkBlock === undefined ? "" : ` at block ${formatCount(c.forkBlock)}`} · chain ${c.chainId}`
      : `embedded Anvil · chain ${c.chainId}`;
  const duration = s.blockTimeSeconds > 0 ? ` × ${s.blockTimeSeconds} s = ${formatDuration(s.blocks * s.blockTimeSeconds * 1000)}` : "";
  const meta: [string, string][] = [
    ["Presets", columns.map(runName).join(" ")],
    ["Markets", s.markets.map((m) => `<span class="chip">${h(m)}</span>`).join(" ")],
    ["Blocks", `${formatCount(s.blocks)}${duration}`],
    ["Traders", formatCount(s.traders)],
    ["Chain", chain],
    ["Seed", `<code>${h(s.seed)}</code>`],
  ];
  if (s.liquidity) {
    const defaulted = s.defaults?.some((d) => d.field === "liquidity.insuranceFund") === true;
    const note = defaulted ? ` <span class="muted">(the default: the scenario does not set liquidity.insuranceFund)</span>` : "";
    meta.push(["Insurance fund", `${h(formatFund(s.liquidity.insuranceFund))}${note}`]);
  }
  return `<header class="top">
  <p class="eyebrow">Liquidation parameter lab${report.runs.length > 1 ? ` · ${report.runs.length} presets compared` : ""}</p>
  <h1>${h(s.name)}</h1>
  ${s.description ? `<p class="lede">${h(s.description)}</p>` : ""}
  <dl class="meta">${meta.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join("")}</dl>
  <nav aria-label="Sections"><a href="#charts">Charts</a><a href="#comparison">${report.runs.length > 1 ? "Side by side" : "Totals"}</a>${report.seeds ? `<a href="#distributions">Over seeds</a>` : ""}${report.runs.some((r) => r.cascade) ? `<a href="#cascades">Cascades</a>` : ""}${report.runs.some((r) => r.adl && (r.adl.enabled || r.adl.events > 0)) ? `<a href="#adl">ADL</a>` : ""}<a href="#tiers">Tiers spanned</a><a href="#keepers">Keepers</a><a href="#liquidations">Liquidations</a>${report.scenario.files || report.scenario.sha256 ? `<a href="#inputs">Inputs</a>` : ""}</nav>
</header>`;
}

// ---------------------------------------------------------------------------------------------
// Comparison table

/** "targetBuffer" → "Target buffer", "max_step" → "Max step"; other text is left as written. */
export function humanizeKey(key: string): string {
  const words = key
    .replace(/[_-]+/g, " ")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function comparisonTableHtml(table: ComparisonTable): string {
  const head = `<thead><tr><th scope="col" class="metric">${table.columns.length > 1 ? "Preset →" : "Preset"}</th>${table.columns
    .map((c) => `<th scope="col" class="run-col">${runName(c)}</th>`)
    .join("")}</tr></thead>`;
  let group = "";
  const body: string[] = [];
  for (const row of table.rows) {
    if (row.group !== group) {
      group = row.group;
      body.push(`<tr class="group"><th scope="rowgroup" colspan="${table.columns.length + 1}">${h(group === "Preset" ? "Preset parameters" : group)}</th></tr>`);
    }
    const sub = [row.hint ? h(row.hint) : "", row.better === "neither" ? "" : `<span class="better">${row.better} is better</span>`].filter((x) => x !== "").join(" · ");
    const cells = row.cells
      .map((c) => {
        const tag = c.mark ? `<span class="tag ${c.mark}">${c.mark}</span>` : "";
        return `<td class="${[row.group === "Preset" ? "param" : "num", c.mark ?? ""].join(" ").trim()}">${h(c.text)}${tag}</td>`;
      })
      .join("");
    body.push(`<tr><th scope="row" class="metric">${h(row.group === "Preset" ? humanizeKey(row.label) : row.label)}${sub ? `<span class="sub">${sub}</span>` : ""}</th>${cells}</tr>`);
  }
  const compact = table.columns.length >= 5 ? " compact" : "";
  return `<table class="comparison${compact}" data-runs="${table.columns.length}">${head}<tbody>${body.join("\n")}</tbody></table>`;
}

/** Each preset's description (its presetSummary's prose), if any run has one. */
function presetDescriptions(runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  const items = runs.flatMap((r, i) => {
    const d = r.presetSummary.description;
    return d === undefined || d === "" ? [] : [`<li>${runName(columns[i]!)}<span class="desc">${h(d)}</span></li>`];
  });
  return items.length === 0 ? "" : `<ul class="presets">${items.join("")}</ul>`;
}

function comparisonHtml(report: LabReport): string {
  const table = buildComparisonTable(report);
  const compare = table.columns.length > 1;
  return `<section id="comparison">
  <h2>${compare ? "Presets side by side" : "Totals and worst figures"}</h2>
  ${compare ? `<p class="section-note">Totals and worst figures of each run. <span class="key best">best</span> and <span class="key worst">worst</span> mark the extremes of each row where one end is better; ties are marked alike.</p>` : ""}
  ${presetDescriptions(report.runs, table.columns)}
  <div class="card table-card">${comparisonTableHtml(table)}</div>
</section>`;
}

// ---------------------------------------------------------------------------------------------
// Charts

function figuresHtml(charts: readonly RenderedChart[]): string {
  return charts
    .map(
      ({ def, svg }) => `<figure class="card chart${def.wide ? " wide" : ""}" id="chart-${def.id}" data-chart-id="${def.id}" data-per-run="${def.perRun}">
  <div class="svg">${svg}</div>
  <figcaption>${h(def.caption)}</figcaption>
</figure>`,
    )
    .join("\n");
}

function chartsHtml(charts: readonly RenderedChart[], runs: number): string {
  const figures = figuresHtml(charts);
  return `<section id="charts">
  <h2>The crash, block by block</h2>
  <p class="section-note">${runs > 1 ? "Every chart overlays the runs on the same axes: x is the block since the run's start." : "x is the block since the run's start."}</p>
  <div class="chart-grid">
${figures}
  </div>
</section>`;
}

// ---------------------------------------------------------------------------------------------
// Keepers and liquidations

function keepersHtml(runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  const rows = runs.flatMap((r, i) =>
    r.keepers.map(
      (k) => `<tr>
  <td>${runName(columns[i]!)}</td><td>${h(k.name)}${k.backstopMode ? ` <span class="kind backstop" title="liquidates at a loss when that protects solvency">backstop</span>` : ""}</td><td class="mono" title="${h(k.address)}">${h(shortHex(k.address))}</td>
  <td class="num">${formatCount(k.latencyMs)} ms</td><td class="num">${formatUsd(k.minProfitUsd)}</td>
  <td class="num">${formatCount(k.liquidations)}</td><td class="num">${formatUsd(k.rewards)}</td><td class="num">${formatUsd(k.gasCost)}</td>
  <td class="num strong">${formatUsdDelta(k.profit)}</td>
  <td class="num">${formatCount(k.transactions)}</td><td class="num">${k.revertedTransactions > 0 ? `<span class="warn">${formatCount(k.revertedTransactions)}</span>` : "0"}</td>
</tr>`,
    ),
  );
  if (rows.length === 0) return `<section id="keepers"><h2>Keepers</h2><p class="empty">No keeper recorded.</p></section>`;
  return `<section id="keepers">
  <h2>Keepers</h2>
  <div class="card table-card"><table class="keepers">
  <thead><tr><th>Preset</th><th>Keeper</th><th>Address</th><th class="num">Latency</th><th class="num">Min profit</th><th class="num">Liquidations</th><th class="num">Rewards</th><th class="num">Gas</th><th class="num">Profit</th><th class="num">Txs</th><th class="num">Reverted</th></tr></thead>
  <tbody>${rows.join("\n")}</tbody>
  </table></div>
</section>`;
}

function notional(l: LiquidationRow) {
  return toDecimal(l.size).abs().mul(toDecimal(l.price));
}

/** The `n` largest liquidations by notional (size × price), ties in chain order. */
export function topLiquidations(rows: readonly LiquidationRow[], n: number): LiquidationRow[] {
  return rows
    .map((row, i) => ({ row, i, notional: notional(row) }))
    .sort((a, b) => b.notional.comparedTo(a.notional) || a.i - b.i)
    .slice(0, n)
    .map((x) => x.row);
}

function liquidationTable(run: RunReport, top: number): string {
  const keeperName = new Map(run.keepers.map((k) => [k.address.toLowerCase(), k.name]));
  const rows = topLiquidations(run.liquidations, top).map(
    (l) => `<tr>
  <td class="num" title="block ${l.block}">${formatCount(l.block - run.startBlock)}</td><td>${h(l.market)}</td>
  <td class="mono" title="${h(l.account)}">${h(shortHex(l.account))}</td>
  <td><span class="kind ${l.full ? "full" : "partial"}">${l.full ? "full" : "partial"}</span></td>
  <td class="num">${formatDecimal(l.size, 4)}</td><td class="num">${formatPrice(l.price)}</td><td class="num strong">${formatUsd(notional(l).toFixed())}</td>
  <td class="num">${formatUsd(l.penalty)}</td><td class="num">${formatUsd(l.keeperReward)}</td><td class="num">${formatUsd(l.insuranceShare)}</td>
  <td title="${h(l.keeper)}">${h(keeperName.get(l.keeper.toLowerCase()) ?? shortHex(l.keeper))}</td>
  <td class="mono" title="${h(l.txHash)}">${h(shortHex(l.txHash, 10, 6))}</td>
</tr>`,
  );
  return `<table class="liquidations">
  <thead><tr><th class="num">Block</th><th>Market</th><th>Account</th><th>Kind</th><th class="num">Size</th><th class="num">Price</th><th class="num">Notional</th><th class="num">Penalty</th><th class="num">Keeper reward</th><th class="num">Insurance share</th><th>Keeper</th><th>Transaction</th></tr></thead>
  <tbody>${rows.join("\n")}</tbody>
</table>`;
}

function liquidationsHtml(runs: readonly RunReport[], columns: readonly RunColumn[], top: number): string {
  const blocks = runs.map((r, i) => {
    const t = r.totals;
    const shown = Math.min(top, r.liquidations.length);
    const summary = `${runName(columns[i]!)} <span class="summary-figures">${formatCount(r.liquidations.length)} liquidations (${formatCount(t.partialLiquidations)} partial, ${formatCount(
      t.fullLiquidations,
    )} full) · ${formatUsd(t.liquidatedNotionalUsd)} notional</span>`;
    const body =
      r.liquidations.length === 0
        ? `<p class="empty">No liquidation in this run.</p>`
        : `<p class="section-note">The ${shown === r.liquidations.length ? `${formatCount(shown)}` : `largest ${formatCount(shown)} of ${formatCount(r.liquidations.length)}`}, by notional. Block is counted from the run's start.</p>${liquidationTable(r, top)}`;
    return `<details class="card run-liquidations" data-run="${h(columns[i]!.label)}"><summary>${summary}</summary>${body}</details>`;
  });
  return `<section id="liquidations"><h2>Liquidations by run</h2>${blocks.join("\n")}</section>`;
}

function footerHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const timing = report.runs.map((r, i) => `${h(columns[i]!.label)} ${formatDuration(r.wallClockMs)}`).join(" · ");
  return `<footer>
  <p>Generated ${h(report.generatedAt)} by <code>perp-keeper simulate</code> from <code>${h(report.scenario.file)}</code> · report.json version ${report.version}.</p>
  ${timing ? `<p>Wall-clock per run: ${timing}.</p>` : ""}
  <p>Every figure is read from the chain (events and contract state). Amounts in USD, rounded to cents for display; report.json keeps them exact.</p>
</footer>`;
}

// ---------------------------------------------------------------------------------------------

export function buildHtml(report: LabReport, charts: readonly RenderedChart[], options: HtmlOptions = {}): string {
  const columns = runColumns(report.runs);
  const top = options.topLiquidations ?? DEFAULT_TOP_LIQUIDATIONS;
  const title = `${report.scenario.name} · liquidation lab`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${h(title)}</title>
<style>
${STYLE.replace("__FONT__", FONT)}
</style>
</head>
<body>
<main>
${headerHtml(report, columns)}
${glanceHtml(report.runs, columns)}
${chartsHtml(
  charts.filter((c) => !c.def.id.startsWith("dist-") && !c.def.id.startsWith("cascade-")),
  report.runs.length,
)}
${comparisonHtml(report)}
${distributionsHtml(
  report,
  figuresHtml(charts.filter((c) => c.def.id.startsWith("dist-"))),
)}
${cascadeHtml(
  report,
  columns,
  figuresHtml(charts.filter((c) => c.def.id.startsWith("cascade-"))),
)}
${adlHtml(report, columns)}
${tiersHtml(report, columns)}
${keepersHtml(report.runs, columns)}
${liquidationsHtml(report.runs, columns, top)}
${inputsHtml(report, columns)}
${footerHtml(report, columns)}
</main>
</body>
</html>
`;
}
