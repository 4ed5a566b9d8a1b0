import { describe, expect, it } from "vitest";
import { CHART_IDS, buildCharts, usdLabelExpr } from "../../../src/sim/report/render/charts.ts";
import { buildComparisonTable, markExtremes, prettyParam, runLabels } from "../../../src/sim/report/render/comparison.ts";
import { comparisonTableHtml, escapeHtml, forkSource, headlines, humanizeKey, topLiquidations } from "../../../src/sim/report/render/html.ts";
import { runColours } from "../../../src/sim/report/render/palette.ts";
import type { LabReport, LiquidationRow, RunReport } from "../../../src/sim/report/types.ts";
import { fixtureReport } from "./fixture.ts";

const report = fixtureReport();

/** A copy of `run` with some totals replaced. */
function withTotals(run: RunReport, preset: string, totals: Partial<RunReport["totals"]>): RunReport {
  return { ...run, preset, totals: { ...run.totals, ...totals } };
}

describe("markExtremes", () => {
  const num = (a: number, b: number) => a - b;

  it("marks the lowest best and the highest worst when lower is better", () => {
    expect(markExtremes([3, 1, 2], "lower", num)).toEqual(["worst", "best", undefined]);
  });

  it("marks the other way round when higher is better", () => {
    expect(markExtremes([3, 1, 2], "higher", num)).toEqual(["best", "worst", undefined]);
  });

  it("marks ties alike", () => {
    expect(markExtremes([1, 1, 5], "lower", num)).toEqual(["best", "best", "worst"]);
  });

  it("marks nothing for one value, equal values, or rows without a better end", () => {
    expect(markExtremes([7], "lower", num)).toEqual([undefined]);
    expect(markExtremes([2, 2, 2], "lower", num)).toEqual([undefined, undefined, undefined]);
    expect(markExtremes([1, 2], "neither", num)).toEqual([undefined, undefined]);
  });
});

describe("buildComparisonTable", () => {
  it("has one column per run and one cell per column in every row", () => {
    const t = buildComparisonTable(report);
    expect(t.columns.map((c) => c.label)).toEqual(["reference", "hyperliquid", "bitmex"]);
    for (const row of t.rows) expect(row.cells, row.label).toHaveLength(3);
  });

  it("formats amounts for humans and marks best and worst exactly (not as floats)", () => {
    const [a, b, c] = report.runs as [RunReport, RunReport, RunReport];
    const r: Pick<LabReport, "runs"> = {
      runs: [
        withTotals(a, "a", { badDebt: "100000000000000000.000001", keeperProfit: "-12.5" }),
        withTotals(b, "b", { badDebt: "100000000000000000.000000", keeperProfit: "1234.567" }),
        withTotals(c, "c", { badDebt: "100000000000000000.000002", keeperProfit: "0" }),
      ],
    };
    const t = buildComparisonTable(r);
    const bad = t.rows.find((x) => x.label === "Bad debt")!;
    expect(bad.cells.map((x) => x.mark)).toEqual([undefined, "best", "worst"]);
    expect(bad.cells[0]!.text).toBe("$100,000,000,000,000,000.00");
    const profit = t.rows.find((x) => x.label === "Keeper profit")!;
    expect(profit.cells.map((x) => x.text)).toEqual(["-$12.50", "+$1,234.57", "$0.00"]);
    expect(profit.cells.map((x) => x.mark)).toEqual(["worst", "best", undefined]);
  });

  it("lists the presets' parameters first, the union of their keys", () => {
    const [a, b] = report.runs as [RunReport, RunReport];
    const t = buildComparisonTable({ runs: [{ ...a, presetSummary: { penalty: "0.5%" } }, { ...b, presetSummary: { cooldown: "30s" } }] });
    const params = t.rows.filter((r) => r.group === "Preset");
    expect(params.map((r) => [r.label, r.cells.map((c) => c.text)])).toEqual([
      ["penalty", ["0.5%", "—"]],
      ["cooldown", ["—", "30s"]],
    ]);
  });

  it("keeps prose out of the parameter rows and makes values readable", () => {
    const [a, b] = report.runs as [RunReport, RunReport];
    const t = buildComparisonTable({
      runs: [
        { ...a, presetSummary: { description: "Full only.", partialThreshold: "250000", tierStepDown: "true" } },
        { ...b, presetSummary: { description: "Steps.", partialThreshold: "none", tierStepDown: "false" } },
      ],
    });
    const params = t.rows.filter((r) => r.group === "Preset");
    expect(params.map((r) => [r.label, r.cells.map((c) => c.text)])).toEqual([
      ["partialThreshold", ["250,000", "none"]],
      ["tierStepDown", ["yes", "no"]],
    ]);
    expect(prettyParam("1234567.500")).toBe("1,234,567.5");
    expect(prettyParam("0.5%")).toBe("0.5%");
    expect(prettyParam("10")).toBe("10");
  });

  it("shows a figure the report lacks as a dash, outside best and worst; drops a row no run has", () => {
    const [a, b, c] = report.runs as [RunReport, RunReport, RunReport];
    const strip = (r: RunReport, deficit: string | undefined): RunReport => ({
      ...r,
      worst: { ...r.worst, maxOpenDeficit: deficit },
      final: { insuranceFund: r.final.insuranceFund, badDebt: r.final.badDebt, pool: r.final.pool, openAccounts: r.final.openAccounts },
    });
    const t = buildComparisonTable({ runs: [strip(a, "5"), strip(b, undefined), strip(c, "7")] });
    const row = t.rows.find((r) => r.label === "Largest open deficit")!;
    expect(row.cells).toEqual([{ text: "$5.00", mark: "best" }, { text: "—" }, { text: "$7.00", mark: "worst" }]);
    expect(t.rows.find((r) => r.label === "Open deficit at the end")).toBeUndefined();
    expect(t.rows.find((r) => r.label === "Below maintenance at the end")).toBeUndefined();
  });

  it("marks nothing in a single-run report", () => {
    const t = buildComparisonTable({ runs: [report.runs[0]!] });
    expect(t.columns).toHaveLength(1);
    expect(t.rows.flatMap((r) => r.cells).every((c) => c.mark === undefined)).toBe(true);
  });

  it("renders as HTML with one header cell per run and escaped text", () => {
    const runs = report.runs.map((r, i) => (i === 0 ? { ...r, preset: "<b>x</b>" } : r));
    const html = comparisonTableHtml(buildComparisonTable({ runs }));
    expect(html.match(/<th scope="col" class="run-col">/g)).toHaveLength(3);
    expect(html).toContain("&lt;b&gt;x&lt;/b&gt;");
    expect(html).not.toContain("<b>x</b>");
    expect(html).toMatch(/class="num best">[^<]+<span class="tag best">best<\/span>/);
  });
});

describe("labels and colours", () => {
  it("names a repeated preset uniquely", () => {
    expect(runLabels([{ preset: "okx" }, { preset: "okx" }, { preset: "bybit" }])).toEqual(["okx", "okx (2)", "bybit"]);
  });

  it("gives each known preset its own colour, and unknown ones distinct others", () => {
    const presets = ["reference", "hyperliquid", "binance", "bybit", "okx", "bitmex", "deribit", "mine", "okx"];
    const colours = runColours(presets, presets);
    expect(new Set(colours).size).toBe(colours.length);
    expect(runColours(["bitmex"], ["bitmex"])).toEqual([colours[5]]);
  });

  it("humanizes parameter keys", () => {
    expect(humanizeKey("targetBuffer")).toBe("Target buffer");
    expect(humanizeKey("max_step")).toBe("Max step");
    expect(humanizeKey("penalty")).toBe("Penalty");
  });
});

describe("headlines", () => {
  it("name the best and worst presets", () => {
    const [a, b] = report.runs as [RunReport, RunReport];
    const lines = headlines([withTotals(a, "alpha", { badDebt: "0" }), withTotals(b, "beta", { badDebt: "12.5" })]);
    expect(lines[0]).toBe("<strong>beta</strong> left the most bad debt ($12.50); <strong>alpha</strong> none.");
  });

  it("say so when no preset left bad debt, and nothing for a single run", () => {
    const [a, b] = report.runs as [RunReport, RunReport];
    expect(headlines([withTotals(a, "a", { badDebt: "0" }), withTotals(b, "b", { badDebt: "0.000" })])[0]).toBe("No preset left bad debt.");
    expect(headlines([a])).toEqual([]);
  });
});

describe("liquidation table", () => {
  it("keeps the largest by notional (size × price), ties in chain order", () => {
    const row = (size: string, price: string, logIndex: number): LiquidationRow => ({
      block: 1,
      txHash: "0x",
      logIndex,
      keeper: "0x",
      account: "0x",
      market: "BTC",
      size,
      full: false,
      price,
      penalty: "0",
      keeperReward: "0",
      insuranceShare: "0",
    });
    const rows = [row("1", "100", 0), row("2", "50", 1), row("0.5", "400", 2), row("10", "1", 3)];
    expect(topLiquidations(rows, 3).map((r) => r.logIndex)).toEqual([2, 0, 1]);
  });
});

describe("charts", () => {
  it("builds every chart, each per-run chart with one series per run", () => {
    const charts = buildCharts(report);
    expect(charts.map((c) => c.id)).toEqual([...CHART_IDS]);
    for (const c of charts.filter((x) => x.perRun)) {
      const data = (c.spec as { data?: { values?: { run?: string }[] } }).data?.values ?? [];
      expect(new Set(data.map((d) => d.run)), c.id).toEqual(new Set(["reference", "hyperliquid", "bitmex"]));
    }
  });

  it("labels USD axes in one style per axis", () => {
    expect(usdLabelExpr(2_500_000)).toContain("~s");
    expect(usdLabelExpr(5_000)).toContain("$,.0f");
    expect(usdLabelExpr(12)).toContain("$,.2~f");
  });
});

describe("safety", () => {
  it("escapes HTML", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("shows a fork's host only: RPC URLs often carry a key", () => {
    expect(forkSource("https://eth-mainnet.example.com/v2/SECRETKEY")).toBe("eth-mainnet.example.com");
    expect(forkSource("not a url")).toBe("an RPC");
    expect(forkSource(undefined)).toBe("an RPC");
  });
});
