import type { InputFile, LabReport, MarketRules, RunReport } from "../types.ts";
import type { RunColumn } from "./comparison.ts";
import { formatCount, formatUsd } from "./format.ts";
import { escapeHtml, runName } from "./markup.ts";

const h = escapeHtml;

/**
 * What a run was given, in the reader's words: the scenario file and its hash, the seed, the
 * insurance fund and pool at deployment, the markets and presets files, each market's tier table,
 * and the traders whose leverage was capped to a tier's maximum. Pure; the HTML section and the
 * printed table both say it in these terms.
 */

/** "trader leverage capped to the tier table's maximum for 37 of 150 traders (41 positions: BTC 30, ETH 11)". */
export function leverageCapText(c: NonNullable<RunReport["leverageCapped"]>, traders: number, variants: boolean): string {
  const byMarket = Object.entries(c.markets)
    .map(([m, n]) => `${m} ${formatCount(n)}`)
    .join(", ");
  const positions = `${formatCount(c.positions)} position${c.positions === 1 ? "" : "s"}`;
  const which = variants ? "the lowest maximum of the tier tables compared (so every run has the same traders)" : "the tier table's maximum";
  return `trader leverage capped to ${which} for ${formatCount(c.traders)} of ${formatCount(traders)} traders (${positions}: ${byMarket})`;
}

/** The cap, once when every run has the same (they do, but for a fork), else per run. */
export function capLines(report: LabReport): string[] {
  const variants = report.runs.some((r) => (r.variants ?? []).length > 0);
  const lines = report.runs.flatMap((r) => (r.leverageCapped && r.leverageCapped.positions > 0 ? [{ preset: r.preset, text: leverageCapText(r.leverageCapped, report.scenario.traders, variants) }] : []));
  if (lines.length === 0) return [];
  if (lines.length === report.runs.length && lines.every((l) => l.text === lines[0]!.text)) return [lines[0]!.text];
  return lines.map((l) => `${l.preset}: ${l.text}`);
}

function fileText(f: InputFile): string {
  return `${f.path}${f.builtin ? " (built-in)" : ""}${f.sha256 ? ` sha256 ${f.sha256.slice(0, 12)}` : ""}`;
}

/** The inputs as plain lines for the printed table; empty for a report written before they were recorded. */
export function inputLines(report: LabReport): string[] {
  const s = report.scenario;
  if (!s.files && !s.sha256) return [];
  const money = s.liquidity ? `, insurance fund ${formatUsd(s.liquidity.insuranceFund, 0)}, pool ${formatUsd(s.liquidity.pool, 0)}` : "";
  const files = (kind: InputFile["kind"]) => (s.files ?? []).filter((f) => f.kind === kind).map(fileText).join(" + ");
  return [
    `inputs: ${s.file}${s.sha256 ? ` sha256 ${s.sha256.slice(0, 12)}` : ""}, seed ${s.seed}${money}`,
    `  markets: ${files("markets")}`,
    `  presets: ${files("presets")}`,
    ...distinctMarkets(report.runs).map(({ rules, runs }) => `  ${tableName(rules)}${runs.length < report.runs.length ? ` (${runs.join(", ")})` : ""}: ${rules.tiers.map((t) => `≥$${formatCount(Number(t.floor))} ${t.mmr} ${t.maxLeverage}`).join(" · ")}`),
  ];
}

function tableName(m: MarketRules): string {
  return m.variant ? `${m.symbol} as ${m.variant}` : m.symbol;
}

/** Each tier table used, once, with the runs that used it. */
function distinctMarkets(runs: readonly RunReport[]): { rules: MarketRules; runs: string[] }[] {
  const out: { key: string; rules: MarketRules; runs: string[] }[] = [];
  for (const r of runs) {
    for (const m of r.markets ?? []) {
      const key = `${m.symbol}|${m.variant ?? ""}|${m.price ?? ""}|${JSON.stringify(m.tiers)}`;
      const found = out.find((x) => x.key === key);
      if (found) found.runs.push(r.preset);
      else out.push({ key, rules: m, runs: [r.preset] });
    }
  }
  return out;
}

function tierTable(m: MarketRules): string {
  const rows = m.tiers.map((t) => `<tr><td class="num">${h(formatUsd(t.floor, 0))}</td><td class="num">${h(t.mmr)}</td><td class="num">${h(t.maxLeverage)}</td></tr>`).join("");
  return `<table class="tiers"><thead><tr><th class="num">Notional from</th><th class="num">Maintenance</th><th class="num">Max leverage</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The "What was run" section; empty for a report written before the inputs were recorded. */
export function inputsHtml(report: LabReport, columns: readonly RunColumn[]): string {
  const s = report.scenario;
  if (!s.files && !s.sha256) return "";
  const items: [string, string][] = [
    ["Scenario file", `<code>${h(s.file)}</code>${s.sha256 ? ` <span class="muted mono" title="SHA-256">sha256 ${h(s.sha256)}</span>` : ""}`],
    ["Seed", `<code>${h(s.seed)}</code>`],
    ...(s.liquidity
      ? ([
          ["Insurance fund at deployment", h(formatUsd(s.liquidity.insuranceFund, 0))],
          ["Pool at deployment", h(formatUsd(s.liquidity.pool, 0))],
        ] as [string, string][])
      : [["Insurance fund and pool", "the fork's own market's"] as [string, string]]),
    ...(s.files ?? []).map((f): [string, string] => [
      `${f.kind === "markets" ? "Markets" : "Presets"} file${f.builtin ? " (built-in)" : ""}`,
      `<code>${h(f.path)}</code>${f.sha256 ? ` <span class="muted mono" title="SHA-256">sha256 ${h(f.sha256)}</span>` : ""}`,
    ]),
  ];
  const presets = report.runs.map((r, i) => `<li>${runName(columns[i]!)} <span class="muted">preset from <code>${h(r.presetSource ?? "config/presets.json")}</code>${r.presetExtends ? `, extends ${h(r.presetExtends)}` : ""}</span></li>`);
  const tables = distinctMarkets(report.runs).map(
    ({ rules, runs }) => `<figure class="card tier-card" data-market="${h(rules.symbol)}"${rules.variant ? ` data-variant="${h(rules.variant)}"` : ""}>
  <figcaption><strong>${h(tableName(rules))}</strong> <span class="muted">${h(rules.description)}${rules.source ? ` · ${h(rules.source)}` : ""}${rules.extends ? ` · extends ${h(rules.extends)}` : ""}${rules.price ? ` · price: ${h(rules.price)}` : ""}${runs.length < report.runs.length ? ` · runs: ${h(runs.join(", "))}` : ""}</span></figcaption>
  ${tierTable(rules)}
</figure>`,
  );
  const caps = capLines(report);
  return `<section id="inputs">
  <h2>What was run</h2>
  <p class="section-note">The inputs of this report, so it still says what was run when read later: the files with their SHA-256, and each market's tier table as deployed.</p>
  <dl class="inputs">${items.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join("")}</dl>
  <ul class="presets">${presets.join("")}</ul>
  ${caps.length > 0 ? `<p class="section-note">${caps.map((c) => h(c.charAt(0).toUpperCase() + c.slice(1))).join("<br>")}.</p>` : ""}
  <div class="tier-grid">${tables.join("\n")}</div>
</section>`;
}
