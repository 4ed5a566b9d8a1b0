import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CASCADE_CHART_IDS, CHART_IDS, renderReport, renderReportStrings } from "../../../src/sim/report/render/index.ts";
import { sumDecimal } from "../../../src/sim/report/render/format.ts";
import { fixtureReport, fixtureSeedsReport } from "./fixture.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "perp-keeper-report-test-"));
  dirs.push(d);
  return d;
}

describe("renderReport", () => {
  it("writes report.html and one SVG per chart, and returns their paths", async () => {
    const dir = tempDir();
    const paths = await renderReport(fixtureReport(), dir);
    expect(paths).toEqual([join(dir, "report.html"), ...CHART_IDS.map((id) => join(dir, "charts", `${id}.svg`))]);
    for (const p of paths) expect(statSync(p).mode & 0o777, p).toBe(0o644);
    for (const p of paths.slice(1)) {
      const svg = readFileSync(p, "utf8");
      expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg')).toBe(true);
      expect(svg).toContain("</svg>");
    }
  });

  it("is self-contained: no script, no stylesheet or image fetched, every SVG inline", async () => {
    const { html, charts, warnings } = await renderReportStrings(fixtureReport());
    expect(warnings).toEqual([]);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*"(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    // The only URLs are XML namespaces.
    for (const url of html.match(/https?:\/\/[^\s"')]+/g) ?? []) expect(url).toMatch(/^http:\/\/www\.w3\.org\//);
    expect(charts.map((c) => c.def.id)).toEqual([...CHART_IDS]);
    for (const c of charts) expect(html).toContain(c.svg);
  });

  it("gives every element id in the page a unique value", async () => {
    const { html } = await renderReportStrings(fixtureReport({ presets: ["reference", "binance"] }));
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("renders a single run, with no comparison marks", async () => {
    const { html, warnings } = await renderReportStrings(fixtureReport({ presets: ["hyperliquid"] }));
    expect(warnings).toEqual([]);
    expect(html).toContain("Totals and worst figures");
    expect(html).not.toMatch(/class="[^"]*\b(best|worst)\b[^"]*"/);
    expect(html.match(/<th scope="col" class="run-col">/g)).toHaveLength(1);
  });

  it("renders every preset of the issue at once", async () => {
    const presets = ["reference", "hyperliquid", "binance", "bybit", "okx", "bitmex", "deribit"];
    const { html, warnings } = await renderReportStrings(fixtureReport({ presets, blocks: 40 }));
    expect(warnings).toEqual([]);
    expect(html.match(/<th scope="col" class="run-col">/g)).toHaveLength(7);
  });

  it("renders a run without blocks or liquidations", async () => {
    const r = fixtureReport({ presets: ["bitmex"], blocks: 5 });
    const run = r.runs[0]!;
    const { html } = await renderReportStrings({ ...r, runs: [{ ...run, blocks: [], liquidations: [], keepers: [] }] });
    expect(html).toContain("No liquidation in this run.");
  });

  it("limits each run's liquidation table to the top N", async () => {
    const { html } = await renderReportStrings(fixtureReport({ presets: ["reference"] }), { topLiquidations: 5 });
    const details = html.slice(html.indexOf('<section id="liquidations">'));
    expect(details.match(/<span class="kind /g)).toHaveLength(5);
  });
});

describe("fixture", () => {
  it("is deterministic", () => {
    expect(JSON.stringify(fixtureReport())).toBe(JSON.stringify(fixtureReport()));
  });

  it("agrees with itself: per-block rows, events and totals", () => {
    for (const run of fixtureReport().runs) {
      const t = run.totals;
      expect(run.blocks).toHaveLength(100);
      expect(run.liquidations).toHaveLength(t.liquidations);
      expect(run.liquidations.filter((l) => l.full)).toHaveLength(t.fullLiquidations);
      expect(run.blocks.reduce((a, b) => a + b.partialLiquidations, 0)).toBe(t.partialLiquidations);
      expect(run.blocks.reduce((a, b) => a + b.fullLiquidations, 0)).toBe(t.fullLiquidations);
      expect(sumDecimal(run.liquidations.map((l) => l.penalty))).toBe(sumDecimal([t.penalties]));
      expect(sumDecimal(run.keepers.map((k) => k.rewards))).toBe(sumDecimal([t.keeperRewards]));
      expect(run.blocks.at(-1)!.cumulativePenalties).toBe(t.penalties);
      expect(run.blocks.at(-1)!.cumulativeBadDebt).toBe(t.badDebt);
      expect(Math.max(...run.blocks.map((b) => b.belowMaintenance))).toBe(run.worst.maxBelowMaintenance);
    }
  });
});

describe("issue 16: cascades and the per-tier statistic", () => {
  it("a report with impact has the cascade section, its two charts and its definitions; one without has none", async () => {
    const { html, charts, warnings } = await renderReportStrings(fixtureReport({ impact: true }));
    expect(warnings).toEqual([]);
    expect(charts.map((c) => c.def.id)).toEqual([...CHART_IDS, ...CASCADE_CHART_IDS]);
    expect(html).toContain('<section id="cascades">');
    expect(html).toContain('href="#cascades"');
    for (const id of CASCADE_CHART_IDS) expect(html).toContain(`data-chart-id="${id}"`);
    expect(html).toContain("Impact model: BTC $200,000 per 1%, half-life 13.16 s");
    expect(html).toContain("impact-driven when, with the same on-chain state valued by the engine");
    expect(html.match(/<table class="cascade">[\s\S]*?<\/table>/)![0].match(/<tr data-run=/g)).toHaveLength(3);
    const plain = await renderReportStrings(fixtureReport());
    expect(plain.html).not.toContain('id="cascades"');
    expect(plain.charts.map((c) => c.def.id)).toEqual([...CHART_IDS]);
  });

  it("every report has the per-tier statistic: one row per run, the ratio against the claimed +68%", async () => {
    const report = fixtureReport();
    const { html } = await renderReportStrings(report);
    const table = html.match(/<table class="tiers-spanned">[\s\S]*?<\/table>/)![0];
    expect(table.match(/<tr data-run=/g)).toHaveLength(report.runs.length);
    for (const r of report.runs) {
      const total = r.tiersSpanned.groups.reduce((a, g) => a + g.accounts, 0);
      expect(total).toBe(90);
      expect(r.tiersSpanned.groups.reduce((a, g) => a + g.partialLiquidations, 0)).toBe(r.totals.partialLiquidations);
    }
    expect(table).toContain("against the claimed +68%");
  });

  it("a multi-seed report pools the per-tier statistic over its seeds", async () => {
    const report = fixtureSeedsReport({ presets: ["hyperliquid", "bitmex"], seeds: 3, blocks: 40 });
    const pooled = report.seeds!.runs[0]!.tiersSpanned;
    expect(pooled.groups.map((g) => g.accounts)).toEqual([0, 1, 2].map((i) => report.seeds!.runs[0]!.perSeed.reduce((a, e) => a + e.tiersSpanned.groups[i]!.accounts, 0)));
    const { html } = await renderReportStrings(report);
    expect(html).toContain("3 seeds pooled");
  });
});
