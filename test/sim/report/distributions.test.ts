/**
 * The multi-seed report's distributions section without a browser: every distribution chart
 * renders (no Vega warning) with one dot per seed and run and one p90 tick per run; the section's
 * sentences say what each percentile rests on. The browser test opens the same report in Chromium.
 */
import { describe, expect, it } from "vitest";
import { DISTRIBUTION_CHART_IDS, buildDistributionCharts, renderReportStrings } from "../../../src/sim/report/render/index.ts";
import { percentileText, sizingLines } from "../../../src/sim/report/render/distributions.ts";
import { fixtureReport, fixtureSeedsReport } from "./fixture.ts";

/** The elements of the SVG group of one mark type ("symbol", "rect"). */
function marks(svg: string, type: string): string[] {
  const start = svg.indexOf(`<g class="mark-${type} role-mark`);
  if (start < 0) return [];
  const end = svg.indexOf("</g>", start);
  return svg.slice(start, end).match(/<path /g) ?? [];
}

describe("issue 15: the distributions section", () => {
  const report = fixtureSeedsReport({ presets: ["hyperliquid", "binance"], seeds: 5, blocks: 40 });

  it("draws one dot per seed and run and a p90 tick per run in every chart, without warnings", async () => {
    const rendered = await renderReportStrings(report);
    expect(rendered.warnings).toEqual([]);
    const dist = rendered.charts.filter((c) => c.def.id.startsWith("dist-"));
    expect(dist.map((c) => c.def.id)).toEqual([...DISTRIBUTION_CHART_IDS]);
    for (const c of dist) {
      expect(marks(c.svg, "symbol"), c.def.id).toHaveLength(2 * 5);
      expect(marks(c.svg, "rect"), c.def.id).toHaveLength(2);
    }
    expect(rendered.html).toContain('<section id="distributions">');
    expect(rendered.html).toContain('<a href="#distributions">Over seeds</a>');
    expect(rendered.html).toContain("<h2>Over 5 seeds</h2>");
  });

  it("a single-seed report has no distributions section and no distribution chart", async () => {
    const one = fixtureReport({ presets: ["binance"], blocks: 40 });
    expect(buildDistributionCharts(one)).toEqual([]);
    expect((await renderReportStrings(one)).html).not.toContain('id="distributions"');
  });

  it("leaves the backstop chart out when no run has a backstop keeper", () => {
    const none = { ...report, seeds: { ...report.seeds!, runs: report.seeds!.runs.map((r) => ({ ...r, perSeed: r.perSeed.map((e) => ({ ...e, sizing: { ...e.sizing, backstop: undefined } })) })) } };
    expect(buildDistributionCharts(none).map((c) => c.id)).not.toContain("dist-backstop-budget");
  });

  it("says the rank a percentile rests on, and when it is only the worst run", () => {
    expect(percentileText({ value: "1234.5", rank: 3, isWorst: true }, 3, "p90")).toBe("$1,234.50 (rank 3 of 3: the worst run; too few seeds to tell p90 from it)");
    expect(percentileText({ value: "10", rank: 1, isWorst: true }, 1, "p99")).toBe("$10.00 (rank 1 of 1: the only run)");
    expect(percentileText({ value: "10", rank: 9, isWorst: false }, 10, "p90")).toBe("$10.00 (rank 9 of 10)");
    expect(sizingLines(report.seeds!.runs[0]!.sizing.insuranceFund, "Insurance fund")[1]).toMatch(/^Insurance fund covering p99 of runs: \$[\d,.]+ \(rank 5 of 5: the worst run; too few seeds to tell p99 from it\)$/);
  });
});
