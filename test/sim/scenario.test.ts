/**
 * Scenario files: the examples load; a bad file fails once, with one line naming the file and the
 * path of every bad field. And the population planned from a scenario is deterministic and keeps
 * to its distributions.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadMarkets } from "../../src/config/presets.ts";
import { NEUTRAL_LIQUIDATION, PPM, WAD, accountHealth, notional, tierIndex } from "../../src/engine/index.ts";
import { oneLine } from "../../src/lib/errors.ts";
import { planPopulation } from "../../src/sim/population.ts";
import { ScenarioError, loadScenario } from "../../src/sim/scenario.ts";
import { parseDurationMs, parseRatePer } from "../../src/sim/scenarioValues.ts";
import type { SeedMarket } from "../../src/sim/seedTraders.ts";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-scenario-");
afterAll(tmp.cleanup);
const write = (name: string, text: string) => {
  writeFileSync(path.join(tmp.dir, name), text);
  return name;
};
/** The error line for a scenario file in the temp dir. */
function problem(name: string): string {
  try {
    loadScenario(name, tmp.dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    expect((e as ScenarioError).userError).toBe(true);
    const line = oneLine(e);
    expect(line).not.toContain("\n");
    return line;
  }
  throw new Error(`${name} loaded without error`);
}

const GOOD = {
  blockTime: "5s",
  duration: "1m",
  markets: { BTC: { path: { kind: "crash", drop: "30%", over: "30s" } } },
  traders: { count: 3, leverage: { min: "2x", max: "10x" }, size: { min: "$1,000", max: "$5,000" } },
};
const json = (over: Record<string, unknown>) => JSON.stringify({ ...GOOD, ...over });

describe("the example scenarios", () => {
  it.each(["crash-30pct-10min.json", "wick-15pct.yaml", "slow-bleed-funding.json", "csv-btc-klines.json", "crash-25pct-btc.json", "squeeze-pump-40pct.json", "legs-chop.json", "cascade.yaml", "scam-wick.yaml"])("%s loads", (name) => {
    const s = loadScenario(path.join(REPO_ROOT, "config", "scenarios", name));
    expect(s.description.length).toBeGreaterThan(40);
    expect(s.blocks).toBeGreaterThanOrEqual(60);
    expect(s.blocks).toBeLessThanOrEqual(200);
    expect(s.traders.count).toBeGreaterThanOrEqual(100);
    expect(s.traders.count).toBeLessThanOrEqual(300);
    expect(s.keepers.length).toBeGreaterThanOrEqual(2);
  });

  it("reads human values: durations, rates, money, shares, leverage", () => {
    const s = loadScenario(path.join(REPO_ROOT, "config", "scenarios", "slow-bleed-funding.json"));
    expect(s.blockTimeSeconds).toBe(60);
    expect(s.blocks).toBe(180);
    expect(s.nativeUsd).toBe(3_000n * WAD);
    expect(s.liquidity).toEqual({ poolTokens: 100_000_000n, insuranceTokens: 250_000n });
    expect(s.markets.map((m) => m.symbol)).toEqual(["BTC", "ETH", "SMALLCAP"]);
    expect(s.markets[0]!.funding).toEqual({ ppm: 3_000n, perSeconds: 3_600n });
    expect(s.markets[0]!.path).toEqual({ kind: "bleed", dropPpm: 120_000n, startSeconds: 0, overSeconds: 10_800, volatility: 0.015 / 60 });
    expect(s.traders.leverage).toEqual({ min: 2n * PPM, max: 50n * PPM, distribution: "log-uniform" });
    expect(s.traders.size).toEqual({ min: 1_000n * WAD, max: 600_000n * WAD, distribution: "log-uniform" });
    expect(s.traders.longShare).toBe(700_000n);
    expect(s.keepers).toEqual([
      { name: "fast", latencyMs: 500, minProfitUsd: WAD / 10n, backstopMode: false },
      { name: "slow", latencyMs: 90_000, minProfitUsd: 2n * WAD, backstopMode: false },
    ]);
    expect(parseDurationMs("250ms")).toBe(250);
    expect(parseRatePer("-10%/8h")).toEqual({ ppm: -100_000n, perSeconds: 28_800 });
  });

  it("issue 16: reads a market's impact: depth per 1% (or per 100%) as USD per 100%, the half-life; off unless set", () => {
    const s = loadScenario(path.join(REPO_ROOT, "config", "scenarios", "cascade.yaml"));
    expect(s.markets[0]!.impact).toEqual({ depthUsd: 250_000_000n * WAD, halfLifeSeconds: 60 });
    const per100 = loadScenario(write("impact100.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$250,000,000 per 100%", halfLife: "1.5s" } } } })), tmp.dir);
    expect(per100.markets[0]!.impact).toEqual({ depthUsd: 250_000_000n * WAD, halfLifeSeconds: 1.5 });
    const per3 = loadScenario(write("impact3.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$3,000,000 per 3%", halfLife: "2m" } } } })), tmp.dir);
    expect(per3.markets[0]!.impact).toEqual({ depthUsd: 100_000_000n * WAD, halfLifeSeconds: 120 });
    expect(loadScenario(write("no-impact.json", json({})), tmp.dir).markets[0]!.impact).toBeUndefined();
  });

  it("defaults: the name from the file, seed 1, the hyperliquid preset, one keeper", () => {
    const s = loadScenario(write("tiny-one.json", json({})), tmp.dir);
    expect(s).toMatchObject({ name: "tiny-one", seed: "1", preset: "hyperliquid", blocks: 12 });
    expect(s.keepers).toEqual([{ name: "keeper-1", latencyMs: 0, minProfitUsd: WAD / 10n, backstopMode: false }]);
    expect(s.traders.positions).toEqual({ min: 1, max: 1 });
  });

  it("a csv path reads its file beside the scenario", () => {
    write("prices.csv", "time,price\n0,60000\n30,57000\n60,59000\n");
    const s = loadScenario(write("csv.yaml", "blockTime: 10s\nblocks: 6\nmarkets:\n  BTC:\n    path: { kind: csv, file: prices.csv }\ntraders: { count: 0, leverage: { min: 2x, max: 3x }, size: { min: 100, max: 200 } }\n"), tmp.dir);
    expect(s.markets[0]!.path).toEqual({ kind: "csv", points: [{ t: 0, price: 60_000n * WAD }, { t: 30, price: 57_000n * WAD }, { t: 60, price: 59_000n * WAD }] });
  });
});

describe("bad scenario files: one line naming the file and each field", () => {
  it.each([
    ["missing file", "nope.json", undefined, /^nope\.json: no such file$/],
    ["bad JSON", "bad.json", '{"blockTime": "5s",', /^bad\.json: not valid JSON/],
    ["bad YAML", "bad.yaml", "blockTime: 5s\nmarkets: [BTC\ntraders: 1\n", /^bad\.yaml: not valid YAML \(line \d+, column \d+: .+\)$/],
    ["unknown top-level key", "k1.json", json({ blockTme: "5s" }), /^k1\.json: unknown key "blockTme"$/],
    [
      "unknown nested keys",
      "k2.json",
      json({ keepers: [{ name: "a" }, { name: "b", latncy: "1s" }], traders: { ...GOOD.traders, sides: "long" } }),
      /^k2\.json: 2 problems: traders: unknown key "sides"; keepers\[1\]: unknown key "latncy"$/,
    ],
    ["negative leverage", "lev.json", json({ traders: { ...GOOD.traders, leverage: { min: "-5x", max: "10x" } } }), /^lev\.json: traders\.leverage\.min: "-5x" must not be negative$/],
    ["a drop of 120%", "drop.json", json({ markets: { BTC: { path: { kind: "crash", drop: "120%", over: "1m" } } } }), /markets\.BTC\.path\.drop: must be above 0% and below 100%/],
    ["an unknown path kind", "kind.json", json({ markets: { BTC: { path: { kind: "moon" } } } }), /markets\.BTC\.path\.kind: must be one of flat, crash, wick, bleed, gbm, csv/],
    ["a path field of another kind", "field.json", json({ markets: { BTC: { path: { kind: "wick", drop: "5%", down: "1m", up: "1m", over: "1m" } } } }), /markets\.BTC\.path: unknown key "over"/],
    ["an unknown market", "mkt.json", json({ markets: { DOGE: { path: { kind: "flat" } } } }), /markets\.DOGE: unknown market; known markets: BTC, ETH, SMALLCAP/],
    ["an unknown preset", "preset.json", json({ preset: "nasdaq" }), /preset: unknown preset "nasdaq"; known presets: reference, hyperliquid/],
    ["a duration that is not whole blocks", "dur.json", json({ duration: "62s" }), /duration: must be a multiple of blockTime \(5s\)/],
    ["duration and blocks", "both.json", json({ blocks: 10 }), /duration: give either duration or blocks \(not both\)/],
    ["a bad latency", "lat.json", json({ keepers: [{ latency: "soon" }] }), /keepers\[0\]\.latency: "soon" is not a duration/],
    ["a missing csv", "csv1.json", json({ markets: { BTC: { path: { kind: "csv", file: "missing.csv" } } } }), /markets\.BTC\.path\.file: no such file missing\.csv/],
    ["a wrong type", "type.json", json({ traders: { ...GOOD.traders, count: "many" } }), /traders\.count: expected a whole number$/],
    ["a missing field", "miss.json", JSON.stringify({ ...GOOD, blockTime: undefined }), /blockTime: missing/],
    ["an impact depth without a move", "imp1.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$5,000,000", halfLife: "30s" } } } }), /^imp1\.json: markets\.BTC\.impact\.depth: "\$5,000,000" is not a depth like "\$5,000,000 per 1%"$/],
    ["an impact depth of $0", "imp2.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$0 per 1%", halfLife: "30s" } } } }), /markets\.BTC\.impact\.depth: "\$0 per 1%" must be above \$0$/],
    ["an impact move of 0% or above 100%", "imp3.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$5 per 120%", halfLife: "30s" } } } }), /impact\.depth: the move of "\$5 per 120%" must be above 0% and at most 100%$/],
    ["an impact move that is not a percentage", "imp4.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$5 per BTC", halfLife: "30s" } } } }), /impact\.depth: the move of "\$5 per BTC" must be a percentage, like "per 1%"$/],
    ["an impact half-life that is not a duration", "imp5.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$5 per 1%", halfLife: "soon" } } } }), /markets\.BTC\.impact\.halfLife: "soon" is not a duration/],
    ["an impact half-life of 0", "imp6.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$5 per 1%", halfLife: "0s" } } } }), /markets\.BTC\.impact\.halfLife: must be from 1ms to 30d$/],
    ["an impact without a half-life", "imp7.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: { depth: "$5 per 1%" } } } }), /markets\.BTC\.impact\.halfLife: missing$/],
    ["an impact that is not a map", "imp8.json", json({ markets: { BTC: { path: { kind: "flat" }, impact: "deep" } } }), /markets\.BTC\.impact: expected a map: \{ depth: "\$5,000,000 per 1%", halfLife: 30s \}$/],
  ] as const)("%s", (_name, file, content, match) => {
    if (content !== undefined) write(file, content);
    expect(problem(file)).toMatch(match);
  });

  it("collects every problem into one message", () => {
    const line = problem(
      write(
        "many.yaml",
        [
          "blockTime: 0.5s",
          "duration: 1m",
          "markets:",
          "  BTC: { path: { kind: crash, drop: 30%, over: 1m }, funding: fast }",
          "traders:",
          "  count: 10",
          "  leverage: { min: 20x, max: 10x }",
          "  size: { min: 5, max: 1 }",
          "  longShare: 120%",
          "  markets: [ETH]",
        ].join("\n"),
      ),
    );
    expect(line).toMatch(/^many\.yaml: \d+ problems: /);
    for (const field of ["blockTime:", "markets.BTC.funding:", "traders.markets[0]:", "traders.leverage: max is below min", "traders.size", "traders.longShare: at most 100%"]) {
      expect(line).toContain(field);
    }
  });
});

describe("the population", () => {
  const markets: SeedMarket[] = loadMarkets()
    .filter((m) => m.symbol !== "SMALLCAP")
    .map((m, id) => ({ id, symbol: m.symbol, lotSize: m.lotSize, tradingFeePpm: m.tradingFeePpm, tiers: m.tiers, cums: m.cums, price: m.initialPrice }));
  const spec = {
    count: 300,
    markets: ["BTC", "ETH"],
    positions: { min: 1, max: 2 },
    leverage: { min: 2n * PPM, max: 150n * PPM, distribution: "log-uniform" as const },
    size: { min: 1_000n * WAD, max: 2_000_000n * WAD, distribution: "log-uniform" as const },
    longShare: 800_000n,
  };

  it("is the same for a seed, and the first traders do not depend on the count", () => {
    const a = planPopulation({ spec, markets, seed: "p" });
    expect(planPopulation({ spec, markets, seed: "p" })).toEqual(a);
    expect(planPopulation({ spec: { ...spec, count: 10 }, markets, seed: "p" })).toEqual(a.slice(0, 10));
    expect(planPopulation({ spec, markets, seed: "q" })).not.toEqual(a);
  });

  it("keeps to the distributions: sizes, leverage within the tier's max, sides, distinct markets, margin covered", () => {
    const plans = planPopulation({ spec, markets, seed: "p" });
    const positions = plans.flatMap((t) => t.positions);
    let longs = 0;
    for (const t of plans) {
      expect(t.positions.length).toBeGreaterThanOrEqual(1);
      expect(t.positions.length).toBeLessThanOrEqual(2);
      expect(new Set(t.positions.map((p) => p.marketId)).size).toBe(t.positions.length);
      for (const p of t.positions) {
        const m = markets[p.marketId]!;
        const n = notional(p.size, m.price);
        expect(p.notional).toBe(n);
        expect(n).toBeLessThanOrEqual(2_000_000n * WAD);
        expect(p.leveragePpm).toBeGreaterThanOrEqual(2n * PPM);
        expect(p.leveragePpm).toBeLessThanOrEqual(m.tiers[tierIndex(m.tiers, n)]!.maxLeverage * PPM);
        if (p.size > 0n) longs++;
      }
    }
    const share = longs / positions.length;
    expect(share).toBeGreaterThan(0.74);
    expect(share).toBeLessThan(0.86);
    // Log-uniform: as many positions below the geometric middle ($44,721) as above, roughly.
    const small = positions.filter((p) => p.notional < 44_721n * WAD).length / positions.length;
    expect(small).toBeGreaterThan(0.4);
    expect(small).toBeLessThan(0.6);
    // The high leverages are clamped by the tiers: a $1M BTC position cannot be 150x.
    expect(positions.some((p) => p.leveragePpm === 125n * PPM)).toBe(true);
    // Every account opens with equity ≥ initial margin (planTraders' engine check, at deposit − fees).
    const t0 = plans[0]!;
    const v = {
      markets: new Map(markets.map((m) => [m.id, { ...m, liquidation: NEUTRAL_LIQUIDATION, funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n } }])),
      prices: new Map(markets.map((m) => [m.id, m.price])),
      timestamp: 0n,
      global: { cooldown: 0n, backstopPpm: 0n, keeperSharePpm: 0n },
    };
    const fees = t0.positions.reduce((s, p) => s + p.fee, 0n);
    const h = accountHealth({ collateral: t0.depositTokens * 10n ** 12n - fees, lastPartialAt: 0n, positions: t0.positions.map((p) => ({ marketId: p.marketId, size: p.size, entryPrice: p.price, entryFundingIndex: 0n })) }, v);
    expect(h.equity).toBeGreaterThanOrEqual(h.initial);
  });
});

describe("defect 10: an unknown key does not hide the scenario's value errors (one pass)", () => {
  it("reports the unknown keys and every bad value together", () => {
    const line = problem(
      write(
        "unknown-and-values.json",
        json({
          blockTme: "5s",
          traders: { ...GOOD.traders, leverage: { min: "-5x", max: "10x" } },
          markets: { BTC: { path: { kind: "crash", drop: "120%", over: "1m", ovr: "2m" } } },
        }),
      ),
    );
    expect(line).toMatch(/^unknown-and-values\.json: 4 problems: /);
    for (const p of ['unknown key "blockTme"', 'traders.leverage.min: "-5x" must not be negative', 'markets.BTC.path: unknown key "ovr"', "markets.BTC.path.drop: must be above 0% and below 100%"]) {
      expect(line).toContain(p);
    }
  });
});

describe("defect 10: the insurance fund a scenario leaves out is a visible default", () => {
  it("lists liquidity.insuranceFund and liquidity.pool among the defaults when they are not set", () => {
    const s = loadScenario(write("no-fund.json", json({})), tmp.dir);
    expect(s.liquidity).toEqual({ poolTokens: 100_000_000n, insuranceTokens: 1_000_000n });
    expect(s.defaults).toEqual([
      { field: "liquidity.pool", value: "$100,000,000" },
      { field: "liquidity.insuranceFund", value: "$1,000,000" },
    ]);
    const set = loadScenario(write("fund.json", json({ liquidity: { insuranceFund: "$5" } })), tmp.dir);
    expect(set.liquidity.insuranceTokens).toBe(5n);
    expect(set.defaults).toEqual([{ field: "liquidity.pool", value: "$100,000,000" }]);
  });
});

describe("defect 10: preset errors speak percent, as the preset files do", () => {
  const preset = (market: Record<string, unknown>) => ({
    description: "a preset for the test",
    global: { cooldown: "0s", backstop: "0%", keeperShare: "50%" },
    market: { penalty: "0.5%", targetBuffer: "0.25%", maxStep: "100%", tierStepDown: false, partialThreshold: "0", dustNotional: "10", ...market },
  });
  it("a penalty that does not fit the markets is refused when the scenario loads, in percent", () => {
    write("fat-presets.json", JSON.stringify({ fat: preset({ penalty: "1%" }) }));
    const line = problem(write("fat.json", json({ presetsFile: "fat-presets.json", preset: "fat" })));
    expect(line).toContain("preset: fat on BTC: penalty 1% must be below the first tier's maintenance rate plus buffer (0.4% + 0.25% = 0.65%)");
    expect(line).not.toMatch(/ppm|1e6/);
  });
  it("a step or buffer out of range names the field, in percent", () => {
    write("step-presets.json", JSON.stringify({ nostep: preset({ maxStep: "0%", targetBuffer: "100%" }) }));
    const line = problem(write("step.json", json({ presetsFile: "step-presets.json", preset: "nostep" })));
    expect(line).toContain("nostep.market.maxStep: must be above 0% and at most 100%");
    expect(line).toContain("nostep.market.targetBuffer: must be below 100%");
    expect(line).not.toMatch(/ppm|1e6/);
  });
});

describe("issue 15: pump and legs paths in a scenario", () => {
  const market = (p: Record<string, unknown>) => json({ markets: { BTC: { path: p } } });

  it("a pump rises; legs read signed moves and durations in order", () => {
    const pump = loadScenario(write("pump.json", market({ kind: "pump", rise: "40%", over: "2m", start: "30s" })), tmp.dir);
    expect(pump.markets[0]!.path).toEqual({ kind: "legs", startSeconds: 30, legs: [{ movePpm: 400_000n, overSeconds: 120 }] });
    expect(pump.markets[0]!.pathText).toBe("pump rise=40% over=2m start=30s");
    const legs = loadScenario(
      write("legs.yaml", `blockTime: 5s\nduration: 5m\nmarkets:\n  BTC:\n    path:\n      kind: legs\n      legs:\n        - { move: -12%, over: 90s }\n        - { move: +6%, over: 60s }\n        - { move: -14%, over: 60s }\ntraders: { count: 3, leverage: { min: 2x, max: 10x }, size: { min: $1000, max: $5000 } }\n`),
      tmp.dir,
    );
    expect(legs.markets[0]!.path).toEqual({
      kind: "legs",
      startSeconds: 0,
      legs: [
        { movePpm: -120_000n, overSeconds: 90 },
        { movePpm: 60_000n, overSeconds: 60 },
        { movePpm: -140_000n, overSeconds: 60 },
      ],
    });
  });

  it.each([
    ["a pump that falls", market({ kind: "pump", rise: "-5%", over: "1m" }), /markets\.BTC\.path\.rise: "-5%" must not be negative|markets\.BTC\.path\.rise: must be above 0%/],
    ["a pump of 0%", market({ kind: "pump", rise: "0%", over: "1m" }), /markets\.BTC\.path\.rise: must be above 0% and at most 1000%$/],
    ["no legs", market({ kind: "legs", legs: [] }), /markets\.BTC\.path\.legs: give 1 to 50 legs$/],
    ["a leg to zero", market({ kind: "legs", legs: [{ move: "-100%", over: "1m" }] }), /markets\.BTC\.path\.legs\[0\]\.move: must be above -100% and at most \+1000%$/],
    ["a leg without a duration", market({ kind: "legs", legs: [{ move: "5%" }] }), /markets\.BTC\.path\.legs\[0\]\.over: missing$/],
    ["a leg with a bad duration", market({ kind: "legs", legs: [{ move: "5%", over: "soon" }] }), /markets\.BTC\.path\.legs\[0\]\.over: "soon" is not a duration/],
    ["a negative drop names the upward kinds", market({ kind: "crash", drop: "-10%", over: "1m" }), /markets\.BTC\.path\.drop: .*for a rise, use kind pump or legs/],
  ] as const)("%s: one line at the field", (name, content, match) => {
    expect(problem(write(`${name.replace(/\W+/g, "-")}.json`, content))).toMatch(match);
  });
});
