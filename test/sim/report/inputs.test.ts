/**
 * Issue 15: the report shows its inputs (the scenario file and its hash, the seed, the insurance
 * fund and pool at deployment, the markets and presets files, each market's tier table, the
 * leverage cap), in the HTML and in the printed table; a report written before says nothing.
 */
import { describe, expect, it } from "vitest";
import { comparisonTable } from "../../../src/cli/simulate.ts";
import { inputsHtml } from "../../../src/sim/report/render/inputs.ts";
import { runColumns } from "../../../src/sim/report/render/comparison.ts";
import { buildHtml } from "../../../src/sim/report/render/html.ts";
import type { LabReport, MarketRules, RunReport } from "../../../src/sim/report/types.ts";
import { fixtureReport } from "./fixture.ts";

const BTC: MarketRules = {
  symbol: "BTC",
  description: "BTC / USD",
  source: "config/markets.json",
  tiers: [
    { floor: "0", mmr: "0.4%", maxLeverage: "125x" },
    { floor: "50000", mmr: "0.5%", maxLeverage: "100x" },
  ],
};
const STEEP: MarketRules = { ...BTC, variant: "BTC-steep", source: "/home/team/steep.json", extends: "BTC", tiers: [{ floor: "0", mmr: "1%", maxLeverage: "50x" }] };
const SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

function withInputs(): LabReport {
  const base = fixtureReport({ presets: ["mine", "hyperliquid", "hyperliquid+BTC-steep"] });
  const capped = { traders: 4, positions: 5, markets: { BTC: 5 } };
  const runs: RunReport[] = base.runs.map((r, i) => ({
    ...r,
    markets: [i === 2 ? STEEP : BTC],
    leverageCapped: capped,
    ...(i === 0 ? { presetSource: "/home/team/mine.json", presetExtends: "hyperliquid" } : { presetSource: "config/presets.json" }),
    ...(i === 2 ? { variants: [{ market: "BTC", variant: "BTC-steep" }] } : {}),
  }));
  return {
    ...base,
    scenario: {
      ...base.scenario,
      sha256: SHA,
      liquidity: { pool: "100000000", insuranceFund: "250000" },
      files: [
        { kind: "markets", path: "config/markets.json", builtin: true, sha256: "a".repeat(64) },
        { kind: "markets", path: "/home/team/steep.json", builtin: false, sha256: "b".repeat(64) },
        { kind: "presets", path: "config/presets.json", builtin: true, sha256: "c".repeat(64) },
        { kind: "presets", path: "/home/team/mine.json", builtin: false, sha256: "d".repeat(64) },
      ],
    },
    runs,
  };
}

describe("issue 15: the report shows its inputs", () => {
  it("the HTML has a 'What was run' section: file and hash, seed, fund and pool, files, presets' sources, tier tables, the cap", () => {
    const report = withInputs();
    const html = inputsHtml(report, runColumns(report.runs));
    expect(html).toContain('<section id="inputs">');
    expect(html).toContain(`<code>${report.scenario.file}</code>`);
    expect(html).toContain(`sha256 ${SHA}`);
    expect(html).toContain(`<code>${report.scenario.seed}</code>`);
    expect(html).toMatch(/Insurance fund at deployment<\/dt><dd>\$250,000</);
    expect(html).toMatch(/Pool at deployment<\/dt><dd>\$100,000,000</);
    expect(html).toMatch(/Markets file \(built-in\)<\/dt><dd><code>config\/markets\.json<\/code>/);
    expect(html).toMatch(/Presets file<\/dt><dd><code>\/home\/team\/mine\.json<\/code> <span[^>]*>sha256 d{64}/);
    expect(html).toMatch(/preset from <code>\/home\/team\/mine\.json<\/code>, extends hyperliquid/);
    // BTC's own table (runs mine and hyperliquid) and the variant's (its run only), each once.
    expect(html.match(/<table class="tiers">/g)).toHaveLength(2);
    expect(html).toMatch(/<strong>BTC<\/strong> <span class="muted">BTC \/ USD · config\/markets\.json · runs: mine, hyperliquid<\/span>/);
    expect(html).toMatch(/<strong>BTC as BTC-steep<\/strong>.*extends BTC · runs: hyperliquid\+BTC-steep/);
    expect(html).toContain('<td class="num">$50,000</td><td class="num">0.5%</td><td class="num">100x</td>');
    expect(html).toContain("Trader leverage capped to the lowest maximum of the tier tables compared (so every run has the same traders) for 4 of 90 traders (5 positions: BTC 5).");
    expect(buildHtml(report, [])).toContain('<a href="#inputs">Inputs</a>');
  });

  it("the printed table ends with the inputs, one line each", () => {
    const lines = comparisonTable(withInputs());
    const at = lines.findIndex((l) => l.startsWith("inputs: "));
    expect(lines.slice(at)).toEqual([
      `inputs: scenarios/three-market-crash.json sha256 ${SHA.slice(0, 12)}, seed 42, insurance fund $250,000, pool $100,000,000`,
      `  markets: config/markets.json (built-in) sha256 aaaaaaaaaaaa + /home/team/steep.json sha256 bbbbbbbbbbbb`,
      `  presets: config/presets.json (built-in) sha256 cccccccccccc + /home/team/mine.json sha256 dddddddddddd`,
      "  BTC (mine, hyperliquid): ≥$0 0.4% 125x · ≥$50,000 0.5% 100x",
      "  BTC as BTC-steep (hyperliquid+BTC-steep): ≥$0 1% 50x",
    ]);
    expect(lines[at - 1]).toMatch(/^trader leverage capped to the lowest maximum/);
  });

  it("a report written before the inputs were recorded shows neither", () => {
    const old = fixtureReport();
    expect(inputsHtml(old, runColumns(old.runs))).toBe("");
    expect(comparisonTable(old).some((l) => l.startsWith("inputs:"))).toBe(false);
    expect(buildHtml(old, [])).not.toContain('href="#inputs"');
  });
});
