import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { CHART_IDS, buildCharts, usdLabelExpr } from "../../../src/sim/report/render/charts.ts";
import { buildComparisonTable, markExtremes, prettyParam, runLabels } from "../../../src/sim/report/render/comparison.ts";
import { headlines } from "../../../src/sim/report/render/glance.ts";
import { buildHtml, comparisonTableHtml, escapeHtml, forkSource, humanizeKey, topLiquidations } from "../../../src/sim/report/render/html.ts";
import { runColours } from "../../../src/sim/report/render/palette.ts";
import type { LabReport, LiquidationRow, RunReport } from "../../../src/sim/report/types.ts";
import { fixtureReport } from "./fixture.ts";

const report = fixtureReport();

/** A copy of `run` with some totals replaced (the loss not covered then derived from them: bad debt + open deficit at the end). */
function withTotals(run: RunReport, preset: string, totals: Partial<RunReport["totals"]>): RunReport {
  const t = { ...run.totals, ...totals };
  return { ...run, preset, totals: { ...t, lossNotCovered: new Decimal(t.badDebt).plus(run.final.openDeficit ?? "0").toFixed() } };
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
    expect(lines[0]).toBe("<strong>beta</strong> left the most loss not covered ($12.50); <strong>alpha</strong> none.");
  });

  it("say so when no preset left a loss, and nothing for a single run", () => {
    const [a, b] = report.runs as [RunReport, RunReport];
    expect(headlines([withTotals(a, "a", { badDebt: "0" }), withTotals(b, "b", { badDebt: "0.000" })])[0]).toBe("No preset left a loss: no bad debt recorded and no deficit open at the end.");
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

describe("defect 10: the lab's headline, bars and tables count open deficits as loss", () => {
  const [a, b] = report.runs as [RunReport, RunReport];
  /** A run that ended with `open` USD of negative equity in `underwater` accounts. */
  function ended(run: RunReport, preset: string, o: { badDebt: string; open: string; underwater: number; backstop: boolean }): RunReport {
    return {
      ...run,
      preset,
      totals: { ...run.totals, badDebt: o.badDebt, lossNotCovered: new Decimal(o.badDebt).plus(o.open).toFixed() },
      final: { ...run.final, openDeficit: o.open, underwater: o.underwater, belowMaintenance: o.underwater },
      keepers: run.keepers.map((k) => ({ ...k, backstopMode: o.backstop })),
    };
  }
  // The run: no bad debt recorded anywhere, but hyperliquid ends with $817,147.86 open in 30 accounts.
  const hl = ended(a, "hyperliquid", { badDebt: "0", open: "817147.86", underwater: 30, backstop: false });
  const bn = ended(b, "binance", { badDebt: "0", open: "0", underwater: 0, backstop: false });

  it("the headline names the open deficit instead of saying no preset left bad debt", () => {
    const lines = headlines([hl, bn]);
    expect(lines.join(" ")).not.toContain("No preset left bad debt");
    expect(lines[0]).toBe("<strong>hyperliquid</strong> left the most loss not covered ($817,147.86, all of it deficits still open at the end); <strong>binance</strong> none.");
    expect(lines[1]).toBe(
      "Still underwater at the end, and no keeper in the run would close them (each wants a profit, an account with no equity pays no reward, and none runs in backstop mode): <strong>hyperliquid</strong> 30 accounts, $817,147.86.",
    );
  });

  it("splits recorded and open loss, and says when a backstop keeper had not closed them yet", () => {
    const mixed = ended(a, "okx", { badDebt: "100", open: "50.5", underwater: 2, backstop: true });
    const lines = headlines([mixed, bn]);
    expect(lines[0]).toBe("<strong>okx</strong> left the most loss not covered ($150.50: $100.00 bad debt recorded + $50.50 still open at the end); <strong>binance</strong> none.");
    expect(lines[1]).toBe("Still underwater when the run ended, not yet closed: <strong>okx</strong> 2 accounts, $50.50.");
    expect(headlines([bn, { ...bn, preset: "bybit" }])[0]).toBe("No preset left a loss: no bad debt recorded and no deficit open at the end.");
  });

  it("the comparison table and the glance bars show the loss not covered, open part included", () => {
    const t = buildComparisonTable({ runs: [hl, bn] });
    const row = t.rows.find((r) => r.label === "Loss not covered")!;
    expect(row.hint).toBe("bad debt recorded + deficits still open at the end");
    expect(row.cells).toEqual([{ text: "$817,147.86", mark: "worst" }, { text: "$0.00", mark: "best" }]);
    expect(t.rows.findIndex((r) => r.label === "Loss not covered")).toBeLessThan(t.rows.findIndex((r) => r.label === "Bad debt"));
    const html = buildHtml({ ...report, runs: [hl, bn] }, []);
    expect(html).toContain("<h3>Loss not covered</h3>");
    expect(html).not.toContain("<h3>Bad debt</h3>");
    expect(html).toMatch(/<span class="bar-value">\$817,147\.86 <span class="muted">all open<\/span>/);
    const mixed = ended(a, "okx", { badDebt: "100", open: "50.5", underwater: 2, backstop: true });
    expect(buildHtml({ ...report, runs: [mixed, bn] }, [])).toMatch(/<span class="bar-value">\$150\.50 <span class="muted">\$50\.50 open<\/span>/);
  });

  it("a single run shows the loss not covered and the warning too", () => {
    const html = buildHtml({ ...report, runs: [hl] }, []);
    expect(html).toContain("<h3>Loss not covered</h3><p class=\"big-value\">$817,147.86</p><p class=\"note\">$0.00 bad debt recorded + $817,147.86 still open</p>");
    expect(html).toContain("Still underwater at the end, and no keeper in the run would close them");
  });

  it("a report without the underwater count counts the accounts below maintenance at the end", () => {
    const old: RunReport = { ...hl, final: { ...hl.final, underwater: undefined } };
    expect(buildComparisonTable({ runs: [old, bn] }).rows.find((r) => r.label === "Loss not covered")!.cells[0]!.text).toBe("$817,147.86");
    // Without the underwater count, the warning counts the accounts below maintenance at the end.
    expect(headlines([old, bn])[1]).toContain("<strong>hyperliquid</strong> 30 accounts, $817,147.86.");
  });
});

describe("defect 10: the insurance fund's default is visible in the report", () => {
  it("the header shows the insurance fund at deployment, and says when it is the default", () => {
    const scenario = { ...report.scenario, liquidity: { pool: "100000000", insuranceFund: "1000000" }, defaults: [{ field: "liquidity.insuranceFund", value: "$1,000,000" }] };
    const html = buildHtml({ ...report, scenario }, []);
    expect(html).toContain("<dt>Insurance fund</dt><dd>$1,000,000 <span class=\"muted\">(the default: the scenario does not set liquidity.insuranceFund)</span></dd>");
    const set = buildHtml({ ...report, scenario: { ...scenario, liquidity: { pool: "100000000", insuranceFund: "0" }, defaults: [] } }, []);
    expect(set).toContain("<dt>Insurance fund</dt><dd>$0.00</dd>");
  });
});
