import type { LabReport, RunReport, TierStatistic } from "../types.ts";
import { CLAIMED_RATIO } from "../tiersSpanned.ts";
import type { RunColumn } from "./comparison.ts";
import { formatCount, formatDecimal, formatUsd, toDecimal } from "./format.ts";
import { escapeHtml as h, runName } from "./markup.ts";

/**
 * The report's cascade section (issue 16, when a run has an impact model) and its per-tier
 * statistic section (always). Tables where a reader compares numbers; the charts (cascadeCharts.ts)
 * where they would rather look. Pure.
 */

/** "-0.0123" → "−1.23%", signed. */
export function formatShare(value: string, dp = 2): string {
  const d = toDecimal(value).mul(100);
  const s = formatDecimal(d.toFixed(), dp);
  return `${d.isNegative() ? "" : d.isZero() ? "" : "+"}${s}%`;
}

export const CASCADE_HELP = `How to read it. Each block's price is the scenario's path moved by the liquidations of the block before:
P_t = P_path_t × (1 + I_t), I_t = I_{t−1} × 2^(−blockTime/halfLife) − L_{t−1}/depth, where L is the signed notional liquidated
(closing longs sells). The extra move is P_t/P_path_t − 1. An account made liquidatable in a block (liquidatable at its end, not at
the previous block's end) is impact-driven when, with the same on-chain state valued by the engine, it would not be liquidatable at
the path's prices. Its generation is 0 otherwise; when impact-driven, 1 + the highest generation among the liquidations of the block
before (or, if that block had none, of the most recent block that had some). A liquidation carries its account's generation. The
longest cascade is the most consecutive blocks in which at least one impact-driven account was made liquidatable.`;

function cascadeTable(runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  const rows = runs.flatMap((r, i) => {
    const c = r.cascade;
    if (!c) return [];
    const moves = c.markets
      .map((m) => `${h(m.market)}: worst ${h(formatShare(m.worstExtraMove))} (block ${formatCount(m.worstExtraMoveBlock - r.startBlock)}), end ${h(formatShare(m.extraMoveAtEnd))}`)
      .join("<br>");
    const gens = c.byGeneration.map((g) => `<span class="chip" title="${formatCount(g.accounts)} accounts">gen ${g.generation}: ${formatCount(g.liquidations)} · ${h(formatUsd(g.notionalUsd, 0))}</span>`).join(" ");
    return [
      `<tr data-run="${h(columns[i]!.label)}"><td>${runName(columns[i]!)}</td><td class="num">${h(formatUsd(r.totals.badDebt))}</td><td>${moves}</td>` +
        `<td class="num">${formatCount(c.longestCascadeBlocks)}${c.longestCascadeFrom !== undefined ? ` <span class="muted">from block ${formatCount(c.longestCascadeFrom - r.startBlock)}</span>` : ""}</td>` +
        `<td class="num">${formatCount(c.impactDrivenAccounts)}</td><td class="generations">${gens}</td></tr>`,
    ];
  });
  return `<table class="cascade">
  <thead><tr><th>Preset</th><th class="num">Bad debt</th><th>Extra move (P/P<sub>path</sub> − 1)</th><th class="num">Longest cascade (blocks)</th><th class="num">Impact-driven accounts</th><th>Liquidations · notional by generation</th></tr></thead>
  <tbody>${rows.join("\n")}</tbody>
</table>`;
}

export function cascadeHtml(report: LabReport, columns: readonly RunColumn[], figures: string): string {
  if (!report.runs.some((r) => r.cascade)) return "";
  const depth = report.runs
    .find((r) => r.cascade)!
    .cascade!.markets.map((m) => `${h(m.market)} ${h(formatUsd(toDecimal(m.depthUsd).div(100).toFixed(), 0))} per 1%, half-life ${m.halfLifeSeconds} s`)
    .join("; ");
  return `<section id="cascades">
  <h2>Cascades: liquidations that move the price</h2>
  <p class="section-note">Impact model: ${depth}. Block is counted from the run's start.</p>
  <div class="card table-card">${cascadeTable(report.runs, columns)}</div>
  <div class="chart-grid">
${figures}
  </div>
  <details class="card help"><summary>Definitions</summary><p>${h(CASCADE_HELP)}</p></details>
</section>`;
}

function ratioText(s: TierStatistic): string {
  const claim = `against the claimed ${h(formatShare(CLAIMED_RATIO, 0))}`;
  if (s.ratio3vs1 !== undefined) return `${h(formatShare(s.ratio3vs1, 0))} <span class="muted">${claim}</span>`;
  const [one, , three] = s.groups;
  const why = !one?.accounts || !three?.accounts ? "a group has no account" : "1 tier had no partial event";
  return `<span class="muted">no ratio: ${why} (${claim})</span>`;
}

function tierRow(label: string, s: TierStatistic, attrs: string): string {
  const cells = s.groups.map((g) => `<td class="num">${g.perAccount === undefined ? "–" : h(formatDecimal(g.perAccount, 3))} <span class="muted">(${formatCount(g.partialLiquidations)} / ${formatCount(g.accounts)})</span></td>`).join("");
  return `<tr ${attrs}><td>${label}</td>${cells}<td class="num">${ratioText(s)}</td></tr>`;
}

export function tiersHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const seeds = report.seeds;
  const rows = seeds
    ? seeds.runs.map((sr, i) => tierRow(`${runName(columns[i]!)} <span class="muted">${formatCount(seeds.seeds.length)} seeds pooled</span>`, sr.tiersSpanned, `data-run="${h(columns[i]!.label)}"`))
    : report.runs.map((r, i) => tierRow(runName(columns[i]!), r.tiersSpanned, `data-run="${h(columns[i]!.label)}"`));
  return `<section id="tiers">
  <h2>Partial liquidations by tiers spanned</h2>
  <p class="section-note">A published guide claims accounts whose positions span three or more tiers see 68% more partial liquidation events than
  those within one tier. Tiers spanned: the tier count its largest position's notional at opening covers (tier index + 1, capped at 3+).
  Each cell: partial events per account (events / accounts).</p>
  <div class="card table-card"><table class="tiers-spanned">
  <thead><tr><th>Preset</th><th class="num">1 tier</th><th class="num">2 tiers</th><th class="num">3+ tiers</th><th class="num">3+ against 1</th></tr></thead>
  <tbody>${rows.join("\n")}</tbody>
  </table></div>
</section>`;
}
