/**
 * Issue 15: `--compare hyperliquid,hyperliquid+BTC-steep` runs BTC with its own tiers and with a
 * variant's, on one population: the leverage cap is the lowest of every table compared, and the
 * report counts the traders it touched.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PPM } from "../../src/engine/index.ts";
import { ConfigError } from "../../src/lib/errors.ts";
import { planPopulationCapped } from "../../src/sim/population.ts";
import { leverageCaps, planRuns } from "../../src/sim/runs.ts";
import { loadScenario } from "../../src/sim/scenario.ts";
import type { SeedMarket, TraderPlan } from "../../src/sim/seedTraders.ts";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-runs-");
afterAll(tmp.cleanup);
const write = (name: string, body: unknown) => {
  const f = path.join(tmp.dir, name);
  writeFileSync(f, JSON.stringify(body));
  return f;
};
const STEEP = path.join(REPO_ROOT, "config", "scenarios", "markets-btc-steeper.json");
const scenarioFile = write("s.json", {
  blockTime: "5s",
  duration: "1m",
  markets: { BTC: { path: { kind: "crash", drop: "25%", over: "30s" } }, ETH: { path: { kind: "flat" } } },
  traders: { count: 200, leverage: { min: "5x", max: "100x" }, size: { min: "$1,000", max: "$2,000,000" } },
});
write("odd-markets.json", {
  "BTC-lot": { extend: "BTC", lotSize: "0.01" },
  "SMALLCAP-x": { extend: "SMALLCAP", tiers: [{ floor: "0", mmr: "4%", maxLeverage: "10x" }] },
});

describe("issue 15: a run is a preset, or a preset with market variants", () => {
  const s = loadScenario(scenarioFile, tmp.dir, { marketsFile: STEEP });

  it("a variant takes its base market's place, under the base's symbol, with its own tiers", () => {
    const [plain, steep] = planRuns(s, ["hyperliquid", "hyperliquid+BTC-steep"], { source: "--compare", checkFits: true });
    expect(plain!.variants).toEqual([]);
    expect(steep!.variants).toEqual([{ market: "BTC", variant: "BTC-steep" }]);
    expect(steep!.marketSpecs.map((m) => m.symbol)).toEqual(["BTC", "ETH"]);
    expect(steep!.marketSpecs[0]!.tiers).toEqual(s.marketCatalogue.find((m) => m.symbol === "BTC-steep")!.tiers);
    expect(steep!.marketSpecs[1]).toEqual(plain!.marketSpecs[1]);
    expect(steep!.preset).toEqual(plain!.preset);
  });

  it("every mistake of a --compare list is collected into one line", () => {
    const odd = loadScenario(scenarioFile, tmp.dir, { marketsFile: path.join(tmp.dir, "odd-markets.json") });
    let message = "";
    try {
      planRuns(odd, ["hyperliquid+", "nasdaq", "okx+BTC-typo", "okx+BTC-lot", "okx+SMALLCAP-x"], { source: "--compare", checkFits: true });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as ConfigError).shortMessage;
    }
    expect(message).toContain('--compare: 5 problems: "hyperliquid+": a run is PRESET or PRESET+MARKET-VARIANT');
    expect(message).toContain('unknown preset "nasdaq"');
    expect(message).toContain('okx+BTC-typo: unknown market variant "BTC-typo"; markets: BTC, ETH, SMALLCAP, BTC-lot, SMALLCAP-x');
    expect(message).toContain("okx+BTC-lot: BTC-lot changes BTC's lotSize; a variant may change only tiers and maxStaleness, so the traders stay the same");
    expect(message).toContain("okx+SMALLCAP-x: SMALLCAP-x does not extend any of the scenario's markets (BTC, ETH)");
    expect(message).not.toContain("\n");
  });

  it("a fork's own market cannot take a variant", () => {
    expect(() => planRuns(s, ["hyperliquid+BTC-steep"], { source: "--compare", checkFits: false, forkMarket: true })).toThrow(
      /hyperliquid\+BTC-steep: market variants need a market the lab deploys; a fork's own market keeps its tiers/,
    );
  });
});

describe("issue 15: the runs of one comparison have the same traders", () => {
  const s = loadScenario(scenarioFile, tmp.dir, { marketsFile: STEEP });
  const runs = planRuns(s, ["hyperliquid", "hyperliquid+BTC-steep"], { source: "--compare", checkFits: true });
  const seedMarkets = (i: number): SeedMarket[] => runs[i]!.marketSpecs.map((m, id) => ({ ...m, id, price: m.initialPrice }));

  it("without the shared cap each tier table caps leverage its own way (the populations differ)", () => {
    const own = [0, 1].map((i) => planPopulationCapped({ spec: s.traders, markets: seedMarkets(i), seed: "x" }));
    expect(own[0]!.plans).not.toEqual(own[1]!.plans);
  });

  it("with the caps of every table compared, each run plans the same traders and counts the capped ones", () => {
    const caps = leverageCaps(runs);
    expect(caps.get("BTC")).toHaveLength(2);
    const [a, b] = [0, 1].map((i) => planPopulationCapped({ spec: s.traders, markets: seedMarkets(i), seed: "x", leverageCaps: caps }));
    // The same traders, deposits and trades; only the tier index each table puts a notional in differs.
    const untiered = (plans: TraderPlan[]) => plans.map((t) => ({ ...t, positions: t.positions.map(({ tier: _tier, ...p }) => p) }));
    expect(untiered(a!.plans)).toEqual(untiered(b!.plans));
    expect(a!.capped).toEqual(b!.capped);
    expect(a!.capped.markets.BTC).toBeGreaterThan(0);
    // Every BTC position fits the steeper table's maximum at its notional.
    const steep = runs[1]!.marketSpecs[0]!.tiers;
    for (const t of a!.plans) {
      for (const p of t.positions.filter((x) => x.symbol === "BTC")) {
        const tier = [...steep].reverse().find((x) => x.floor <= p.notional)!;
        expect(p.leveragePpm).toBeLessThanOrEqual(tier.maxLeverage * PPM);
      }
    }
    // And the count is the positions whose drawn leverage was above the cap: some, not all.
    const positions = a!.plans.reduce((n, t) => n + t.positions.length, 0);
    expect(a!.capped.positions).toBeLessThan(positions);
    expect(a!.capped.traders).toBeLessThanOrEqual(s.traders.count);
  });
});
