import type { AdlReport, LabReport } from "../types.ts";
import type { RunColumn } from "./comparison.ts";
import { formatCount, formatUsd, toDecimal } from "./format.ts";
import { escapeHtml as h, runName } from "./markup.ts";

/**
 * The report's auto-deleveraging section (issue 16): per run, the ADL events, the notional
 * deleveraged, the accounts hit, the profit they gave up, and the check line "bad debt left after
 * ADL", with the part the opposite side could have covered (0 wherever ADL is on). Pure.
 */

export const ADL_HELP = `How to read it. When an account's deficit exceeds the insurance fund, the ADL operator (a keeper) closes
it against the most profitable, most leveraged opposite positions at its bankruptcy price, the price at which its equity is zero
(docs/reference-market.md "Auto-deleveraging"). Profit given up is Σ size × |mark − bankruptcy price|: what those counterparties
lost against a close at the mark, the deficit ADL covered. Bad debt left after ADL is the bad debt recorded in the run plus the
deficit of accounts still negative at the end beyond the insurance fund then. Coverable by the opposite side: per block, the bad
debt recorded in it against the unrealised profit then on the sides opposite to the bankrupt positions (the smaller of the two),
summed over the run, and the same at the end for the open deficit (bad debt recorded as a deleverage closes its account is the
bankruptcy price's rounding, a few wei, and is not counted); where ADL is on it must be 0.`;

/** The check line of one run: "bad debt left after ADL: $X", and whether the opposite side could have covered any of it. */
export function adlCheckText(a: AdlReport): { text: string; ok: boolean } {
  const left = formatUsd(a.badDebtLeft);
  const coverable = toDecimal(a.coverableByOppositeSide);
  if (!a.enabled) {
    return { text: `ADL off: bad debt left ${left}, of which the opposite side could have covered ${formatUsd(a.coverableByOppositeSide)}`, ok: true };
  }
  return coverable.isZero()
    ? { text: `bad debt left after ADL: ${left}; coverable by the opposite side: $0.00 ✓`, ok: true }
    : { text: `bad debt left after ADL: ${left}; coverable by the opposite side: ${formatUsd(a.coverableByOppositeSide)}, must be 0 ✗`, ok: false };
}

export function adlHtml(report: LabReport, columns: readonly RunColumn[]): string {
  if (!report.runs.some((r) => r.adl && (r.adl.enabled || r.adl.events > 0))) return "";
  const rows = report.runs.map((r, i) => {
    const a = r.adl;
    if (!a) return `<tr data-run="${h(columns[i]!.label)}"><td>${runName(columns[i]!)}</td><td colspan="6" class="muted">not recorded</td></tr>`;
    const check = adlCheckText(a);
    return (
      `<tr data-run="${h(columns[i]!.label)}"><td>${runName(columns[i]!)}${a.enabled ? "" : ` <span class="muted">ADL off</span>`}</td>` +
      `<td class="num">${formatCount(a.events)}</td><td class="num">${h(formatUsd(a.deleveragedNotionalUsd))}</td>` +
      `<td class="num">${formatCount(a.accountsHit)} <span class="muted">(${formatCount(a.accountsDeleveraged)} bankrupt)</span></td>` +
      `<td class="num">${h(formatUsd(a.profitGivenUp))}</td><td class="num">${h(formatUsd(a.badDebtLeft))}</td>` +
      `<td class="adl-check ${check.ok ? "ok" : "fail"}">${h(check.text)}</td></tr>`
    );
  });
  const operator = report.runs.find((r) => r.adl?.operator)?.adl?.operator;
  return `<section id="adl">
  <h2>Auto-deleveraging</h2>
  <p class="section-note">${operator ? `ADL operator: the keeper <code>${h(operator)}</code>. ` : ""}Counts and sums of the market's Deleveraged events.</p>
  <div class="card table-card"><table class="adl">
  <thead><tr><th>Preset</th><th class="num">ADL events</th><th class="num">Notional deleveraged</th><th class="num">Accounts hit</th><th class="num">Profit given up</th><th class="num">Bad debt left after ADL</th><th>Check</th></tr></thead>
  <tbody>${rows.join("\n")}</tbody>
  </table></div>
  <details class="card help"><summary>Definitions</summary><p>${h(ADL_HELP)}</p></details>
</section>`;
}
