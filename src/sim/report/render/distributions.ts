import { HEADLINES, type Headline } from "../../distribution.ts";
import type { FigureDistribution, LabReport, Percentile, SizingAnswer } from "../types.ts";
import { runColumns, type RunColumn } from "./comparison.ts";
import { formatCount, formatUsd, formatUsdDelta } from "./format.ts";
import { escapeHtml as h, runName } from "./markup.ts";

/**
 * The multi-seed report in the reader's words: each headline figure's median, p90 and worst over
 * seeds, and the sizing answers (the insurance fund and the backstop budget that would have
 * covered p90 and p99 of the runs), each saying how many seeds it rests on. Pure; the HTML
 * section and the printed table both use these texts.
 */

export function figureText(headline: Pick<Headline, "unit" | "better">, value: string): string {
  if (headline.unit === "count") return formatCount(Number(value));
  return headline.better === "higher" ? formatUsdDelta(value) : formatUsd(value);
}

/** "median / p90 / worst" of one figure. */
export function distributionText(headline: Pick<Headline, "unit" | "better">, d: FigureDistribution): string {
  return [d.median, d.p90, d.worst].map((v) => figureText(headline, v)).join(" / ");
}

/** "$12,000.00 (rank 3 of 3: the worst run; too few seeds to tell p99 from it)". */
export function percentileText(p: Percentile, n: number, name: string): string {
  const rest = p.isWorst && n > 1 ? `: the worst run; too few seeds to tell ${name} from it` : p.isWorst ? ": the only run" : "";
  return `${formatUsd(p.value)} (rank ${formatCount(p.rank)} of ${formatCount(n)}${rest})`;
}

/** The sizing answers of one run over seeds, as sentences. */
export function sizingLines(answer: SizingAnswer, what: string): string[] {
  return [`${what} covering p90 of runs: ${percentileText(answer.p90, answer.n, "p90")}`, `${what} covering p99 of runs: ${percentileText(answer.p99, answer.n, "p99")}`];
}

/** How many seeds each percentile needs before it differs from the worst run. */
export const PERCENTILE_NOTE =
  "Percentiles are nearest-rank over the seeds, on the bad side (the amount at least that share of runs stayed within): p90 differs from the worst run only from 10 seeds on, p99 from 100.";

function cell(d: FigureDistribution | undefined, headline: Headline): string {
  return d === undefined ? "—" : distributionText(headline, d);
}

function tableHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const runs = report.seeds!.runs;
  const head = `<thead><tr><th scope="col" class="metric">Figure · median / p90 / worst</th>${columns.map((c) => `<th scope="col" class="run-col">${runName(c)}</th>`).join("")}</tr></thead>`;
  const rows = HEADLINES.filter((x) => runs.some((r) => r.distribution[x.id] !== undefined)).map(
    (x) => `<tr><th scope="row" class="metric">${h(x.label)}</th>${runs.map((r) => `<td class="num">${h(cell(r.distribution[x.id], x))}</td>`).join("")}</tr>`,
  );
  return `<table class="comparison distribution" data-runs="${runs.length}">${head}<tbody>${rows.join("\n")}</tbody></table>`;
}

function sizingHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const items = report.seeds!.runs.map((r, i) => {
    const lines = [
      ...sizingLines(r.sizing.insuranceFund, "Insurance fund"),
      ...(r.sizing.backstopBudget ? sizingLines(r.sizing.backstopBudget, "Backstop keeper budget") : ["No keeper of this run runs in backstop mode: no backstop budget."]),
    ];
    return `<li>${runName(columns[i]!)}<ul>${lines.map((l) => `<li>${h(l)}</li>`).join("")}</ul></li>`;
  });
  return `<ul class="sizing">${items.join("")}</ul>`;
}

function perSeedHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const s = report.seeds!;
  const head = `<thead><tr><th>Seed</th>${columns.map((c) => `<th class="num">${runName(c)}</th>`).join("")}</tr></thead>`;
  const rows = s.seeds.map(
    (seed, i) =>
      `<tr><td class="mono">${h(seed)}</td>${s.runs
        .map((r) => {
          const e = r.perSeed[i]!;
          return `<td class="num">${h(formatUsd(e.totals.lossNotCovered))} · ${h(formatUsd(e.sizing.insuranceFundNeeded))}</td>`;
        })
        .join("")}</tr>`,
  );
  return `<details class="card per-seed"><summary>Per seed: loss not covered · insurance fund needed</summary><table class="per-seed">${head}<tbody>${rows.join("\n")}</tbody></table></details>`;
}

/** The distributions section; empty for a report of one seed without `--seeds`. */
export function distributionsHtml(report: LabReport, figures: string): string {
  const s = report.seeds;
  if (!s) return "";
  const columns = runColumns(report.runs);
  return `<section id="distributions">
  <h2>Over ${formatCount(s.seeds.length)} seed${s.seeds.length === 1 ? "" : "s"}</h2>
  <p class="section-note">Each run repeated with ${formatCount(s.seeds.length)} populations and price draws (seeds ${h(s.seeds.join(", "))}). The charts and tables above show seed <code>${h(s.seeds[0]!)}</code> block by block; the other seeds keep only their totals. ${h(PERCENTILE_NOTE)}</p>
  <div class="card">${sizingHtml(report, columns)}</div>
  <div class="chart-grid">
${figures}
  </div>
  <div class="card table-card">${tableHtml(report, columns)}</div>
  ${perSeedHtml(report, columns)}
</section>`;
}
