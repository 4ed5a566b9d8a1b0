/**
 * Issue 16: a scenario market may read several feeds, each with its own path, and a run may read
 * one of them alone (`PRESET+SYMBOL:feedN`). Parsing, bad input (one line naming every bad field),
 * the runs planned, and the paths the runner publishes on each feed.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { WAD } from "../../src/engine/index.ts";
import { ConfigError, oneLine } from "../../src/lib/errors.ts";
import { applyImpact, feedUpdates, marketFeeds, median } from "../../src/sim/feedPaths.ts";
import { planRuns } from "../../src/sim/runs.ts";
import { ScenarioError, loadScenario } from "../../src/sim/scenario.ts";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-feeds-");
afterAll(tmp.cleanup);

const WICK = { kind: "legs", start: "10s", legs: [{ move: "-20%", over: "2s" }, { move: "0%", over: "8s" }, { move: "+25%", over: "2s" }] };
const base = (btc: Record<string, unknown>) => ({
  blockTime: "2s",
  duration: "40s",
  markets: { BTC: { path: { kind: "flat" }, ...btc } },
  traders: { count: 3, leverage: { min: "2x", max: "10x" }, size: { min: "$1,000", max: "$5,000" } },
});
const write = (name: string, body: unknown) => {
  writeFileSync(path.join(tmp.dir, name), JSON.stringify(body));
  return name;
};
const load = (name: string, body: unknown) => loadScenario(write(name, body), tmp.dir);
function problem(name: string, body: unknown): string {
  try {
    load(name, body);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    const line = oneLine(e);
    expect(line).not.toContain("\n");
    return line;
  }
  throw new Error(`${name} loaded without error`);
}

const THREE = { feeds: [{ path: WICK }, "same", "same"], index: { minSources: 2, maxDeviation: "25%" } };

describe("scenario feeds and index", () => {
  it("reads each feed's own path or the market's (same), and the index rules", () => {
    const s = load("three.json", base(THREE));
    const m = s.markets[0]!;
    expect(m.feeds!.map((f) => (f.path === "same" ? "same" : f.path.kind))).toEqual(["legs", "same", "same"]);
    expect(m.index).toEqual({ minSources: 2, maxDeviationPpm: 250_000n });
    expect(load("one.json", base({})).markets[0]!.feeds).toBeUndefined();
  });

  it("the example scam-wick.yaml loads: feed 1 wicks, the others follow the market's flat path", () => {
    const s = loadScenario(path.join(REPO_ROOT, "config", "scenarios", "scam-wick.yaml"));
    expect(s.markets[0]!.feeds).toHaveLength(3);
    expect(s.markets[0]!.feeds!.slice(1).every((f) => f.path === "same")).toBe(true);
    expect(s.markets[0]!.index!.minSources).toBe(2);
  });

  it.each([
    ["one feed", { feeds: ["same"], index: { minSources: 1, maxDeviation: "5%" } }, /^one-feed\.json: markets\.BTC\.feeds: give 2 to 7 feeds, got 1$/],
    ["eight feeds", { feeds: Array(8).fill("same"), index: { minSources: 2, maxDeviation: "5%" } }, /markets\.BTC\.feeds: give 2 to 7 feeds, got 8$/],
    ["feeds without index", { feeds: ["same", "same"] }, /markets\.BTC\.index: required with feeds: \{ minSources: 1 to 2, maxDeviation: "5%" \}$/],
    ["an index without feeds", { index: { minSources: 1, maxDeviation: "5%" } }, /markets\.BTC\.index: only with feeds \(a market with one feed has no index\)$/],
    ["minSources above the feeds", { feeds: ["same", "same"], index: { minSources: 3, maxDeviation: "5%" } }, /markets\.BTC\.index\.minSources: must be from 1 to the number of feeds \(2\), got 3$/],
    ["a negative deviation", { feeds: ["same", "same"], index: { minSources: 1, maxDeviation: "-5%" } }, /markets\.BTC\.index\.maxDeviation: .*must not be negative$/],
    ["a feed that is neither same nor a path", { feeds: ["other", "same"], index: { minSources: 1, maxDeviation: "5%" } }, /markets\.BTC\.feeds\[0\]: expected "same" \(the market's path\) or \{ path: \{ kind: \.\.\. \} \}/],
    ["a feed's bad path", { feeds: [{ path: { kind: "crash", drop: "150%", over: "10s" } }, "same"], index: { minSources: 1, maxDeviation: "5%" } }, /markets\.BTC\.feeds\[0\]\.path\.drop: must be above 0% and below 100%$/],
  ])("%s: one clear line", (name, btc, match) => {
    const file = `${name.replace(/\W+/g, "-")}.json`;
    expect(problem(file, base(btc))).toMatch(match);
  });

  it("every bad field in one line", () => {
    const line = problem("two.json", base({ feeds: ["same"], index: { minSources: 4, maxDeviation: "x" } }));
    expect(line).toContain("markets.BTC.feeds: give 2 to 7 feeds, got 1");
    expect(line).toContain("markets.BTC.index.minSources");
    expect(line).toContain("markets.BTC.index.maxDeviation");
  });
});

describe("a run that reads one feed alone (PRESET+SYMBOL:feedN)", () => {
  const s = load("runs.json", base(THREE));

  it("deploys the index for the median run and one feed for the single-feed run", () => {
    const [median3, single] = planRuns(s, ["binance", "binance+BTC:feed1"], { source: "--compare", checkFits: true });
    expect(median3!.marketSpecs[0]!.index).toEqual({ feeds: 3, minSources: 2, maxDeviationPpm: 250_000n });
    expect(median3!.singleFeed.size).toBe(0);
    expect(single!.marketSpecs[0]!.index).toBeUndefined();
    expect(single!.singleFeed.get("BTC")).toBe(0);
    expect(single!.variants).toEqual([{ market: "BTC", variant: "BTC:feed1" }]);
  });

  it("refuses a feed the market does not have, a market of one feed, and an unknown market", () => {
    const refused = (names: string[], scenario = s) => {
      try {
        planRuns(scenario, names, { source: "--compare", checkFits: false });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return oneLine(e);
      }
      throw new Error("planned");
    };
    expect(refused(["binance+BTC:feed4"])).toMatch(/binance\+BTC:feed4: BTC:feed4: BTC has feeds 1 to 3/);
    expect(refused(["binance+BTC:feed1"], load("single.json", base({})))).toMatch(/BTC:feed1: BTC reads one feed already/);
    expect(refused(["binance+ETH:feed1"])).toMatch(/ETH:feed1: ETH is not one of the scenario's markets \(BTC\)/);
  });
});

describe("what the runner publishes on each feed", () => {
  const s = load("paths.json", base({ ...THREE, impact: { depth: "$1,000,000 per 1%", halfLife: "10s" } }));
  const m = s.markets[0]!;
  const feeds = ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002", "0x0000000000000000000000000000000000000003"].map((a) => getAddress(a));
  const deployed = { id: 0, symbol: "BTC", feed: feeds[0]!, feedDecimals: 8, feeds };
  const start = 60_000n * WAD;
  const params = { market: m, deployed, publishers: new Map(), startPrice: start, steps: s.blocks, blockTimeSeconds: 2, seed: "1" };

  it("feed 1 wicks 20% for its legs while the others hold; the baseline is their median, which holds", () => {
    const f = marketFeeds(params);
    expect(f.feeds.map((x) => x.path[6])).toEqual([48_000n * WAD, start, start]);
    expect(f.feeds.map((x) => x.path[s.blocks])).toEqual([start, start, start]);
    expect(f.baseline.every((p) => p === start)).toBe(true);
  });

  it("a single-feed run publishes the chosen feed's path on its one feed", () => {
    const f = marketFeeds({ ...params, deployed: { id: 0, symbol: "BTC", feed: feeds[0]!, feedDecimals: 8 }, singleFeed: 0 });
    expect(f.feeds).toHaveLength(1);
    expect(f.feeds[0]!.path[6]).toBe(48_000n * WAD);
    expect(f.baseline[6]).toBe(48_000n * WAD);
  });

  it("impact moves every feed alike", () => {
    const f = marketFeeds(params);
    // $1M of longs liquidated in the block before, at a depth of $1M per 1%: I = −1%.
    applyImpact(f, 1, 1_000_000n * WAD);
    expect(f.impact!.impact).toBe(-(WAD / 100n));
    expect(f.feeds.map((x) => x.published[1])).toEqual([59_400n * WAD, 59_400n * WAD, 59_400n * WAD]);
  });

  it("an update goes out at step 0, on a change, and as a heartbeat at half the staleness limit", () => {
    const { impact: _none, ...still } = m;
    const f = marketFeeds({ ...params, market: still });
    expect(feedUpdates(f, 0, 2, 3600n)).toHaveLength(3);
    expect(feedUpdates(f, 1, 2, 3600n)).toHaveLength(0);
    expect(feedUpdates(f, 2, 2, 8n)).toHaveLength(3);
    // Step 6: feed 1 is 20% down, the others hold.
    expect(feedUpdates(f, 6, 2, 3600n).length).toBe(1);
  });

  it("the median is the contract's: the middle value, or the floor of the two middle values' mean", () => {
    expect(median([3n, 1n, 2n])).toBe(2n);
    expect(median([4n, 1n, 2n, 7n])).toBe(3n);
    expect(median([5n])).toBe(5n);
    expect(() => median([])).toThrow(RangeError);
  });
});

it("a feed variant keeps the market's tier table (the same traders)", () => {
  const s = load("tiers.json", base(THREE));
  const [a, b] = planRuns(s, ["binance", "binance+BTC:feed2"], { source: "--compare", checkFits: true });
  expect(b!.marketSpecs[0]!.tiers).toEqual(a!.marketSpecs[0]!.tiers);
  expect(b!.singleFeed.get("BTC")).toBe(1);
});
