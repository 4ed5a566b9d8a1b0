/**
 * The report as a person sees it: report.html opened from file:// in headless Chromium (Debian's),
 * offline. Every chart must be drawn (an SVG with marks), every per-run chart must name every run
 * in its legend, the comparison table must have one column per run, and the page must log no error
 * and ask for nothing over the network.
 *
 * Without /usr/bin/chromium the test is skipped with its reason printed, except in CI
 * (process.env.CI set), where it fails: CI must install chromium.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASCADE_CHART_IDS, CHART_IDS, DISTRIBUTION_CHART_IDS, buildCharts, renderReport } from "../../../src/sim/report/render/index.ts";
import type { LabReport } from "../../../src/sim/report/types.ts";
import { CHROMIUM_PATH, chromiumAvailable, launchChromium, type Chromium } from "./chromium.ts";
import { fixtureReport, fixtureSeedsReport } from "./fixture.ts";

const available = chromiumAvailable();
const inCi = Boolean(process.env.CI);
const MISSING = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`;

if (!available && !inCi) console.warn(`test/sim/report/browser.test.ts: ${MISSING}; skipping the report's browser test`);


/** Each distribution chart's figure, per seed (as src/sim/report/render/distributionCharts.ts plots it). */
const SEED_VALUES: Record<(typeof DISTRIBUTION_CHART_IDS)[number], (e: NonNullable<LabReport["seeds"]>["runs"][number]["perSeed"][number]) => string | undefined> = {
  "dist-loss-not-covered": (e) => e.totals.lossNotCovered,
  "dist-fund-needed": (e) => e.sizing.insuranceFundNeeded,
  "dist-trader-loss": (e) => e.totals.traderLoss,
  "dist-backstop-budget": (e) => e.sizing.backstop?.budget,
};

describe("report in Chromium: CI has a browser", () => {
  it.runIf(inCi)("finds Chromium", () => {
    expect(available, `CI must install Debian's chromium: ${MISSING}`).toBe(true);
  });
});

type Opened = { page: Page; errors: string[]; external: string[] };

async function open(browser: Chromium, url: string): Promise<Opened> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  const external: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) external.push(r.url());
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, errors, external };
}

describe.skipIf(!available)("report in Chromium", () => {
  let browser: Chromium;
  const dirs: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium({ width: 1280, height: 900 });
  });
  afterAll(async () => {
    await browser?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function render(report: LabReport): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), "perp-keeper-report-browser-"));
    dirs.push(dir);
    return renderReport(report, dir);
  }

  async function checkReport(report: LabReport): Promise<void> {
    const [html, ...svgs] = await render(report);
    const defs = buildCharts(report);
    const labels = report.runs.map((r) => r.preset);
    const { page, errors, external } = await open(browser, pathToFileURL(html!).href);

    expect(await page.title()).toContain(report.scenario.name);
    expect(await page.locator("h1").textContent()).toBe(report.scenario.name);

    // Every chart: an inline SVG, laid out at a readable size, with drawn marks.
    for (const id of CHART_IDS) {
      const figure = page.locator(`figure[data-chart-id="${id}"]`);
      await expect(figure.count(), id).resolves.toBe(1);
      const svg = figure.locator("svg.marks");
      await expect(svg.count(), id).resolves.toBe(1);
      const box = await svg.boundingBox();
      expect(box?.width ?? 0, `${id} width`).toBeGreaterThan(450);
      expect(box?.height ?? 0, `${id} height`).toBeGreaterThan(200);

      const lines = svg.locator(".role-mark path");
      expect(await lines.count(), `${id} marks`).toBeGreaterThan(0);
      const ds = await lines.evaluateAll((els) => els.map((e) => e.getAttribute("d") ?? ""));
      // A drawn line over ~100 blocks is a long path, not a stub.
      expect(Math.max(...ds.map((d) => d.length)), `${id} path length`).toBeGreaterThan(200);
      const markBox = await lines.first().boundingBox();
      expect(markBox?.width ?? 0, `${id} mark width`).toBeGreaterThan(100);

      expect(await svg.locator(".role-axis-title text").count(), `${id} axis titles`).toBeGreaterThan(0);

      const def = defs.find((d) => d.id === id)!;
      // A half-width chart's plot takes most of its card (a long title or legend would squeeze it).
      if (!def.wide) expect(markBox!.width / box!.width, `${id} plot share`).toBeGreaterThan(0.7);
      if (def.perRun) {
        const legend = (await svg.locator(".role-legend .role-legend-label text").allTextContents()).map((t) => t.trim());
        for (const label of labels) expect(legend, `${id} legend`).toContain(label);
        expect(await svg.locator(".mark-line path").count(), `${id} lines`).toBe(def.seriesPerRun * labels.length);
      }
    }

    // The price chart has one panel per market.
    const panels = await page.locator('figure[data-chart-id="price"] .role-title-text text').allTextContents();
    for (const m of report.scenario.markets) expect(panels.map((t) => t.trim()), "price panels").toContain(m);

    // The comparison table: one column per run, in order.
    const heads = (await page.locator("table.comparison:not(.distribution) thead th.run-col").allTextContents()).map((t) => t.trim());
    expect(heads).toEqual(labels);
    const widths = await page.locator("table.comparison:not(.distribution) tbody tr:not(.group)").evaluateAll((rows) => rows.map((r) => r.querySelectorAll("td").length));
    expect(new Set(widths)).toEqual(new Set([labels.length]));

    // One collapsible liquidation table per run; opening it shows rows.
    const details = page.locator("details.run-liquidations");
    expect(await details.count()).toBe(labels.length);
    await details.first().locator("summary").click();
    expect(await details.first().locator("tbody tr").count()).toBeGreaterThan(0);

    // Fits 1280 px without a horizontal scroll bar.
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(1280);

    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();

    // The standalone SVG files open on their own.
    for (const path of svgs) {
      const opened = await open(browser, pathToFileURL(path).href);
      expect(await opened.page.locator("svg .role-mark path").count(), path).toBeGreaterThan(0);
      expect(opened.errors, path).toEqual([]);
      await opened.page.close();
    }
  }

  it("draws every chart of a three-preset comparison", async () => {
    await checkReport(fixtureReport());
  });

  it("issue 15: a small-priced market's price axis has distinct labels, formatted by its range", async () => {
    // SOL at $0.50 drifting to $0.495: with labels formatted by magnitude every tick read "$0.5".
    const base = fixtureReport({ presets: ["hyperliquid", "binance"] });
    const n = base.runs[0]!.blocks.length;
    const report: LabReport = {
      ...base,
      runs: base.runs.map((r) => ({
        ...r,
        blocks: r.blocks.map((b, i) => ({ ...b, markets: { ...b.markets, SOL: { ...b.markets.SOL!, price: (0.5 - (0.005 * i) / (n - 1)).toFixed(6) } } })),
      })),
    };
    await checkReport(report);
    const [html] = await render(report);
    const { page, errors } = await open(browser, pathToFileURL(html!).href);
    const panelOf = (m: string) => page.locator('figure[data-chart-id="price"] g.role-scope', { has: page.locator(`.role-title-text text:text-is("${m}")`) });
    const panel = panelOf("SOL");
    expect(await panel.count()).toBe(1);
    const labels = (await panel.locator(".role-axis-label text").allTextContents()).map((t) => t.trim()).filter((t) => t.startsWith("$"));
    expect(labels.length, labels.join(" ")).toBeGreaterThanOrEqual(3);
    expect(new Set(labels).size, labels.join(" ")).toBe(labels.length);
    for (const l of labels) expect(l).toMatch(/^\$0\.4\d{2}\d?$|^\$0\.50{1,2}$/);
    // BTC's axis keeps whole dollars.
    const btc = panelOf("BTC");
    const btcLabels = (await btc.locator(".role-axis-label text").allTextContents()).map((t) => t.trim()).filter((t) => t.startsWith("$"));
    expect(new Set(btcLabels).size).toBe(btcLabels.length);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("issue 15: the inputs section is laid out: files, tier tables", async () => {
    const base = fixtureReport({ presets: ["hyperliquid", "hyperliquid+BTC-steep"] });
    const tiers = (mmr: string) => [{ floor: "0", mmr, maxLeverage: "50x" }, { floor: "50000", mmr: "2%", maxLeverage: "25x" }];
    const report: LabReport = {
      ...base,
      scenario: { ...base.scenario, sha256: "ab".repeat(32), liquidity: { pool: "100000000", insuranceFund: "0" }, files: [{ kind: "markets", path: "config/markets.json", builtin: true, sha256: "cd".repeat(32) }] },
      runs: base.runs.map((r, i) => ({ ...r, markets: [{ symbol: "BTC", description: "BTC / USD", tiers: tiers(i === 0 ? "0.4%" : "1%"), ...(i === 1 ? { variant: "BTC-steep" } : {}) }] })),
    };
    await checkReport(report);
    const [html] = await render(report);
    const { page, errors } = await open(browser, pathToFileURL(html!).href);
    expect(await page.locator("#inputs table.tiers").count()).toBe(2);
    const box = await page.locator("#inputs table.tiers").first().boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(200);
    expect(await page.locator("#inputs dl.inputs dd").first().textContent()).toContain(report.scenario.file);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("issue 15: a multi-seed report draws its distributions: one dot per seed and run, a p90 tick per run, the runs named", async () => {
    const report = fixtureSeedsReport({ presets: ["hyperliquid", "binance", "bitmex"], seeds: 12, blocks: 60 });
    await checkReport(report);
    const [html] = await render(report);
    const { page, errors, external } = await open(browser, pathToFileURL(html!).href);
    const labels = report.runs.map((r) => r.preset);
    for (const id of DISTRIBUTION_CHART_IDS) {
      const figure = page.locator(`#distributions figure[data-chart-id="${id}"]`);
      expect(await figure.count(), id).toBe(1);
      const svg = figure.locator("svg.marks");
      const box = await svg.boundingBox();
      expect(box?.width ?? 0, `${id} width`).toBeGreaterThan(450);
      expect(box?.height ?? 0, `${id} height`).toBeGreaterThan(150);
      expect(await svg.locator(".mark-symbol path").count(), `${id} dots`).toBe(labels.length * 12);
      expect(await svg.locator(".mark-rect path").count(), `${id} p90 ticks`).toBe(labels.length);
      // One dot per distinct (run, value) of the data: dots spread where the seeds differ, and pile
      // only where they agree (a budget of $0 in every seed).
      const xs = await svg.locator(".mark-symbol path").evaluateAll((els) => els.map((e) => e.getAttribute("transform") ?? ""));
      const valueOf = SEED_VALUES[id];
      const distinct = new Set(report.seeds!.runs.flatMap((r, i) => r.perSeed.map((e) => `${i}:${valueOf(e) ?? ""}`)));
      expect(new Set(xs).size, `${id} distinct dots`).toBe(distinct.size);
      if (id !== "dist-backstop-budget") expect(distinct.size, `${id}: the fixture's seeds differ`).toBeGreaterThan(labels.length);
      const axis = (await svg.locator(".role-axis-label text").allTextContents()).map((t) => t.trim());
      for (const label of labels) expect(axis, `${id} run labels`).toContain(label);
    }
    // The table of median / p90 / worst: one column per run; the sizing answers name their ranks.
    const heads = (await page.locator("#distributions table.distribution thead th.run-col").allTextContents()).map((t) => t.trim());
    expect(heads).toEqual(labels);
    expect(await page.locator("#distributions ul.sizing").textContent()).toContain("Insurance fund covering p90 of runs: ");
    expect(await page.locator("#distributions ul.sizing").textContent()).toContain("(rank 11 of 12)");
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(1280);
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("issue 16: a report with impact draws its cascade charts and tables, and the per-tier statistic", async () => {
    const report = fixtureReport({ presets: ["bitmex", "hyperliquid", "okx"], impact: true });
    await checkReport(report);
    const [html] = await render(report);
    const { page, errors, external } = await open(browser, pathToFileURL(html!).href);
    const labels = report.runs.map((r) => r.preset);
    for (const id of CASCADE_CHART_IDS) {
      const svg = page.locator(`#cascades figure[data-chart-id="${id}"] svg.marks`);
      expect(await svg.count(), id).toBe(1);
      const box = await svg.boundingBox();
      expect(box?.width ?? 0, `${id} width`).toBeGreaterThan(450);
      expect(box?.height ?? 0, `${id} height`).toBeGreaterThan(200);
      const legend = (await svg.locator(".role-legend .role-legend-label text").allTextContents()).map((t) => t.trim());
      for (const label of labels) expect(legend, `${id} legend`).toContain(label);
    }
    // The path and one line per run; one bar per run and generation.
    expect(await page.locator('figure[data-chart-id="cascade-price"] svg .mark-line path').count()).toBe(labels.length + 1);
    const bars = report.runs.reduce((a, r) => a + r.cascade!.byGeneration.length, 0);
    expect(await page.locator('figure[data-chart-id="cascade-generations"] svg .mark-rect path').count()).toBe(bars);
    expect(await page.locator("#cascades table.cascade tbody tr").count()).toBe(labels.length);
    expect(await page.locator("#tiers table.tiers-spanned tbody tr").count()).toBe(labels.length);
    await page.locator("#cascades details.help summary").click();
    expect(await page.locator("#cascades details.help p").isVisible()).toBe(true);
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(1280);
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });

  it("draws a single-run report", async () => {
    await checkReport(fixtureReport({ presets: ["binance"] }));
  });
});
