import type { RunReport } from "../types.ts";
import { markExtremes, runColumns, type Better, type RunColumn } from "./comparison.ts";
import { compareDecimal, formatCount, formatUsd, formatUsdDelta, toDecimal } from "./format.ts";
import { NO_KEEPER_REASON, lossNotCovered, lossSplit, openAtEnd, stillUnderwater, underwaterFigures } from "./loss.ts";
import { escapeHtml as h, names, runName } from "./markup.ts";

/**
 * The report's "at a glance" section: headline sentences, then bars (several runs) or big numbers
 * (one run). The loss counted is the loss not covered: bad debt recorded plus deficits still open
 * at the end, so a run that leaves accounts underwater never reads as a run without loss. Pure.
 */

type GlanceMetric = {
  title: string;
  note: string;
  better: Better;
  value: (r: RunReport) => string;
  format: (s: string) => string;
};

const GLANCE: readonly GlanceMetric[] = [
  { title: "Trader loss", note: "Penalties + equity lost while below maintenance (bad debt is not the traders')", better: "lower", value: (r) => r.totals.traderLoss, format: formatUsd },
  { title: "Keeper profit", note: "Rewards minus gas, all keepers", better: "higher", value: (r) => r.totals.keeperProfit, format: formatUsdDelta },
];

function bar(width: number, colour: string, extra = ""): string {
  return `<span class="bar${extra}" style="--w:${(width * 100).toFixed(2)}%;--c:${h(colour)}"></span>`;
}

function barRow(column: RunColumn, track: string, value: string, mark: string | undefined, trackClass = ""): string {
  return `<div class="bar-row${mark ? ` ${mark}` : ""}">
  <span class="bar-label">${runName(column)}</span>
  <span class="bar-track${trackClass}">${track}</span>
  <span class="bar-value">${value}${mark ? ` <span class="tag ${mark}">${mark}</span>` : ""}</span>
</div>`;
}

function glanceCard(m: GlanceMetric, runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  const values = runs.map(m.value);
  const marks = markExtremes(values, m.better, compareDecimal);
  const maxAbs = Math.max(0, ...values.map((v) => Math.abs(toDecimal(v).toNumber())));
  const rows = values
    .map((v, i) => {
      const n = toDecimal(v).toNumber();
      const w = maxAbs > 0 ? Math.abs(n) / maxAbs : 0;
      return barRow(columns[i]!, bar(w, columns[i]!.colour, n < 0 ? " negative" : ""), h(m.format(v)), marks[i]);
    })
    .join("\n");
  return `<article class="card glance-card"><h3>${h(m.title)}</h3><p class="note">${h(m.note)}</p>${rows}</article>`;
}

/** Loss not covered: recorded bad debt solid, the deficit still open hatched, one bar per run. */
function lossCard(runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  const totals = runs.map(lossNotCovered);
  const marks = markExtremes(totals, "lower", compareDecimal);
  const max = Math.max(0, ...totals.map((v) => toDecimal(v).toNumber()));
  const rows = runs
    .map((r, i) => {
      const c = columns[i]!;
      const recorded = Math.max(0, toDecimal(r.totals.badDebt).toNumber());
      const open = toDecimal(openAtEnd(r));
      const track = max > 0 ? `${bar(recorded / max, c.colour)}${bar(open.toNumber() / max, c.colour, " full")}` : "";
      const openText = open.isZero() ? "" : toDecimal(r.totals.badDebt).isZero() ? "all open" : `${formatUsd(open.toFixed())} open`;
      const value = `${h(formatUsd(totals[i]!))}${openText === "" ? "" : ` <span class="muted">${h(openText)}</span>`}`;
      return barRow(c, track, value, marks[i], " stacked");
    })
    .join("\n");
  return `<article class="card glance-card loss"><h3>Loss not covered</h3><p class="note">Solid: bad debt recorded · hatched: deficits still open at the end</p>${rows}</article>`;
}

function liquidationsCard(runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  const max = Math.max(1, ...runs.map((r) => r.totals.partialLiquidations + r.totals.fullLiquidations));
  const rows = runs
    .map((r, i) => {
      const c = columns[i]!;
      const p = r.totals.partialLiquidations;
      const f = r.totals.fullLiquidations;
      const value = `${formatCount(p)} <span class="muted">partial</span> · ${formatCount(f)} <span class="muted">full</span>`;
      return barRow(c, `${bar(p / max, c.colour)}${bar(f / max, c.colour, " full")}`, value, undefined, " stacked");
    })
    .join("\n");
  return `<article class="card glance-card"><h3>Liquidations</h3><p class="note">Solid: partial (position remains) · hatched: full (position closed)</p>${rows}</article>`;
}

function bigNumber(label: string, value: string, note: string): string {
  return `<article class="card big"><h3>${h(label)}</h3><p class="big-value">${h(value)}</p><p class="note">${h(note)}</p></article>`;
}

/**
 * Sentences on the accounts still underwater at the end, naming the runs: first those no keeper
 * of the run would close, then those a backstop keeper had not closed yet. For one run or several.
 */
export function underwaterLines(runs: readonly RunReport[]): string[] {
  const columns = runColumns(runs);
  const stuck = runs.flatMap((r, i) => {
    const u = stillUnderwater(r);
    return u ? [{ u, name: names([columns[i]!]) }] : [];
  });
  const list = (xs: typeof stuck) => xs.map((x) => `${x.name} ${underwaterFigures(x.u)}`).join("; ");
  const nobody = stuck.filter((x) => !x.u.backstopKeeper);
  const later = stuck.filter((x) => x.u.backstopKeeper);
  const out: string[] = [];
  if (nobody.length > 0) out.push(`Still underwater at the end, and no keeper in the run would close them (${NO_KEEPER_REASON}): ${list(nobody)}.`);
  if (later.length > 0) out.push(`Still underwater when the run ended, not yet closed: ${list(later)}.`);
  return out;
}

/** Sentences naming the best and worst presets for the figures users ask about first. */
export function headlines(runs: readonly RunReport[]): string[] {
  if (runs.length < 2) return [];
  const columns = runColumns(runs);
  const pick = (values: string[], better: Better) => {
    const marks = markExtremes(values, better, compareDecimal);
    const best = columns.filter((_, i) => marks[i] === "best");
    const bestIndex = marks.indexOf("best");
    const worst = columns.filter((_, i) => marks[i] === "worst");
    const worstIndex = marks.indexOf("worst");
    return { best, bestIndex, bestValue: values[bestIndex] ?? "0", worst, worstIndex, worstValue: values[worstIndex] ?? "0", tie: best.length === 0 };
  };
  const out: string[] = [];
  const loss = pick(runs.map(lossNotCovered), "lower");
  if (loss.tie) {
    out.push(
      toDecimal(lossNotCovered(runs[0]!)).isZero()
        ? "No preset left a loss: no bad debt recorded and no deficit open at the end."
        : `Every preset left the same loss not covered: ${lossSplit(runs[0]!)}.`,
    );
  } else {
    const best = toDecimal(loss.bestValue).isZero() ? "none" : `the least (${lossSplit(runs[loss.bestIndex]!)})`;
    out.push(`${names(loss.worst)} left the most loss not covered (${lossSplit(runs[loss.worstIndex]!)}); ${names(loss.best)} ${best}.`);
  }
  out.push(...underwaterLines(runs));
  const traders = pick(
    runs.map((r) => r.totals.traderLoss),
    "lower",
  );
  if (!traders.tie) out.push(`Traders lost least under ${names(traders.best)} (${formatUsd(traders.bestValue)}) and most under ${names(traders.worst)} (${formatUsd(traders.worstValue)}).`);
  const liq = pick(
    runs.map((r) => String(r.totals.liquidations)),
    "lower",
  );
  if (!liq.tie)
    out.push(`${names(liq.best)} needed the fewest liquidations (${formatCount(Number(liq.bestValue))}), ${names(liq.worst)} the most (${formatCount(Number(liq.worstValue))}).`);
  const keep = pick(
    runs.map((r) => r.totals.keeperProfit),
    "higher",
  );
  if (!keep.tie) out.push(`Keepers earned most under ${names(keep.best)} (${formatUsdDelta(keep.bestValue)}), least under ${names(keep.worst)} (${formatUsdDelta(keep.worstValue)}).`);
  return out;
}

function headlineList(lines: readonly string[]): string {
  return lines.length > 0 ? `<ul class="headlines">${lines.map((l) => `<li>${l}</li>`).join("")}</ul>` : "";
}

export function glanceHtml(runs: readonly RunReport[], columns: readonly RunColumn[]): string {
  if (runs.length === 0) return "";
  if (runs.length === 1) {
    const r = runs[0]!;
    const t = r.totals;
    return `<section class="glance single" aria-label="At a glance">
${headlineList(underwaterLines(runs))}
${bigNumber("Liquidations", formatCount(t.liquidations), `${formatCount(t.partialLiquidations)} partial · ${formatCount(t.fullLiquidations)} full`)}
${bigNumber("Loss not covered", formatUsd(lossNotCovered(r)), `${formatUsd(t.badDebt)} bad debt recorded + ${formatUsd(openAtEnd(r))} still open`)}
${bigNumber("Trader loss", formatUsd(t.traderLoss), `penalties ${formatUsd(t.penalties)} + ${formatUsd(t.traderEquityLost)} equity lost before the close`)}
${bigNumber("Insurance fund needed", formatUsd(r.sizing.insuranceFundNeeded), `it paid ${formatUsd(t.badDebtCoveredByInsurance)} of deficits in this run`)}
${bigNumber("Keeper profit", formatUsdDelta(t.keeperProfit), `rewards ${formatUsd(t.keeperRewards)} − gas`)}
${bigNumber("Insurance fund", formatUsdDelta(t.insuranceFundDelta), `lowest ${formatUsd(r.worst.minInsuranceFund)}`)}
</section>`;
  }
  return `<section class="glance" aria-label="At a glance">
${headlineList(headlines(runs))}
<div class="glance-grid">
${liquidationsCard(runs, columns)}
${lossCard(runs, columns)}
${GLANCE.map((m) => glanceCard(m, runs, columns)).join("\n")}
</div>
</section>`;
}
