/**
 * The lab's pure arithmetic for issue 15, on hand-checked numbers: nearest-rank percentiles and
 * distributions over seeds, `--seeds` lists and the default `--jobs`, the traders' loss to
 * liquidation (episodes below maintenance), the insurance fund a run needed, a backstop keeper's
 * budget. The same functions run on real chains in lossSplit.test.ts and seeds.test.ts.
 */
import type { Address } from "viem";
import { describe, expect, it } from "vitest";
import { distributionOf, nearestRank, percentile, seedEntry, seedRun, sizingAnswer } from "../../src/sim/distribution.ts";
import { traderLosses, type EquityBlock } from "../../src/sim/report/lossSplit.ts";
import { backstopBlocks, backstopSpend, fundEvents, insuranceFundNeeded } from "../../src/sim/report/sizing.ts";
import { MEMORY_PER_JOB, defaultJobs, seedList } from "../../src/sim/seeds.ts";
import { fixtureReport } from "./report/fixture.ts";

describe("nearest-rank percentiles", () => {
  it("rank ⌈p·n/100⌉, clamped to 1…n, in integers", () => {
    expect([nearestRank(90, 10), nearestRank(90, 3), nearestRank(99, 100), nearestRank(99, 101), nearestRank(50, 4), nearestRank(50, 5), nearestRank(99, 1), nearestRank(1, 100), nearestRank(100, 7)]).toEqual([
      9, 3, 99, 100, 2, 3, 1, 1, 7,
    ]);
    for (const [p, n] of [[0, 5], [101, 5], [1.5, 5], [50, 0]] as const) expect(() => nearestRank(p, n)).toThrow(RangeError);
  });

  it("picks an observed value on the bad side, and says when it is the worst run", () => {
    expect(percentile(["5", "1", "3", "2", "4"], 50)).toEqual({ value: "3", rank: 3, isWorst: false });
    expect(percentile(["5", "1", "3", "2", "4"], 90)).toEqual({ value: "5", rank: 5, isWorst: true });
    // A profit: the bad side is the low end.
    expect(percentile(["5", "1", "3"], 90, "higher")).toEqual({ value: "1", rank: 3, isWorst: true });
    // Exact: no float in between.
    expect(percentile(["100000000000000000.000002", "100000000000000000.000001"], 50).value).toBe("100000000000000000.000001");
  });

  it("median, p90 and worst over ten seeds; p90 and p99 of one seed are that seed", () => {
    const ten = ["7", "3", "10", "1", "9", "2", "8", "4", "6", "5"];
    expect(distributionOf(ten, "lower")).toEqual({ n: 10, median: "5", p90: "9", worst: "10" });
    expect(distributionOf(ten, "higher")).toEqual({ n: 10, median: "6", p90: "2", worst: "1" });
    expect(sizingAnswer(["42.5"])).toEqual({ n: 1, p90: { value: "42.5", rank: 1, isWorst: true }, p99: { value: "42.5", rank: 1, isWorst: true }, worst: "42.5" });
    const hundred = Array.from({ length: 100 }, (_, i) => String(100 - i));
    expect(sizingAnswer(hundred)).toEqual({ n: 100, p90: { value: "90", rank: 90, isWorst: false }, p99: { value: "99", rank: 99, isWorst: false }, worst: "100" });
  });

  it("a run over seeds: every headline's distribution, the sizing answers, no backstop budget without a backstop keeper", () => {
    const runs = [1, 2, 3].map((s) => fixtureReport({ presets: ["binance"], seed: s, blocks: 40 }).runs[0]!);
    const r = seedRun("binance", runs.map((run, i) => seedEntry(String(i + 1), run)));
    expect(r.perSeed.map((e) => e.seed)).toEqual(["1", "2", "3"]);
    const funds = runs.map((x) => x.sizing.insuranceFundNeeded);
    expect(r.sizing.insuranceFund).toEqual(sizingAnswer(funds));
    expect(r.distribution.lossNotCovered).toEqual(distributionOf(runs.map((x) => x.totals.lossNotCovered), "lower"));
    expect(r.distribution.keeperProfit!.worst).toBe(runs.map((x) => x.totals.keeperProfit).sort((a, b) => Number(a) - Number(b))[0]);
    const none = seedRun("x", runs.map((run, i) => seedEntry(String(i), { ...run, sizing: { ...run.sizing, backstop: undefined } })));
    expect(none.sizing.backstopBudget).toBeUndefined();
    expect(none.distribution.backstopBudget).toBeUndefined();
  });
});

describe("--seeds and the default --jobs", () => {
  it("N is seeds 1…N; a list is taken as written; mistakes are said", () => {
    expect(seedList("3")).toEqual(["1", "2", "3"]);
    expect(seedList(" 1 ")).toEqual(["1"]);
    expect(seedList("1,2,7")).toEqual(["1", "2", "7"]);
    expect(seedList("crash, calm")).toEqual(["crash", "calm"]);
    for (const bad of ["0", "1001", "x", "-1", "1,,2", "a,a", ""]) expect(seedList(bad)).toHaveProperty("problem");
  });

  it("one job per core while free memory holds them, at least one", () => {
    expect(defaultJobs(2, 8 * 1024 ** 3)).toBe(2);
    expect(defaultJobs(8, 2 * MEMORY_PER_JOB + 1)).toBe(2);
    expect(defaultJobs(4, MEMORY_PER_JOB / 2)).toBe(1);
  });
});

const A = "0x000000000000000000000000000000000000000A" as Address;
const B = "0x000000000000000000000000000000000000000B" as Address;
const C = "0x000000000000000000000000000000000000000C" as Address;
const D = "0x000000000000000000000000000000000000000D" as Address;
const E = "0x000000000000000000000000000000000000000E" as Address;
const F = "0x000000000000000000000000000000000000000F" as Address;

describe("traders' loss to liquidation: penalties + equity lost while below maintenance", () => {
  // Equity at each block end; a closed account's is its collateral after any bad debt was settled.
  const blocks: EquityBlock[] = [
    { belowMaintenance: [A], equity: new Map([[A, 100n], [B, 500n], [C, 70n], [D, 300n]]), liquidations: [] },
    { belowMaintenance: [A, B, F], equity: new Map([[A, 60n], [B, 200n], [C, 50n], [D, 300n], [F, 80n]]), liquidations: [{ account: A, penalty: 10n }] },
    {
      belowMaintenance: [E],
      equity: new Map([[A, 40n], [B, 250n], [C, 0n], [D, 300n], [E, 30n], [F, 90n]]),
      liquidations: [{ account: A, penalty: 5n }, { account: C, penalty: 0n }, { account: F, penalty: 4n }],
    },
    { belowMaintenance: [D, E], equity: new Map([[B, 250n], [D, -20n], [E, -10n], [F, 90n]]), liquidations: [{ account: E, penalty: 3n }] },
  ];

  it("counts each liquidated episode once, from the first block end below maintenance to recovery, close or the run's end (in the order they end)", () => {
    const r = traderLosses(blocks);
    // A: 100 at its first block end below, two steps (10 + 5), closed with 40 left: 100 − 40 − 15 = 45.
    // C: liquidated without being seen below (50 at the block before), closed at a deficit (0 after): 50.
    // E: 30 when first below, a 3 step, −10 at the run's end: it lost all of its 30, less the penalty: 27.
    // F: 80 when first below, a 4 step, recovered to 90: nothing lost beyond the penalty.
    // B recovered and D stayed underwater without a liquidation: not liquidated traders.
    expect(r.episodes.map((e) => [e.account, e.from, e.to, e.startEquity, e.endEquity, e.penalties, e.equityLost])).toEqual([
      [A, 0, 2, 100n, 40n, 15n, 45n],
      [F, 1, 2, 80n, 90n, 4n, 0n],
      [C, 1, 2, 50n, 0n, 0n, 50n],
      [E, 2, 3, 30n, -10n, 3n, 27n],
    ]);
    expect([r.penalties, r.equityLost, r.total]).toEqual([22n, 122n, 144n]);
  });

  it("no liquidation, no loss", () => {
    expect(traderLosses(blocks.map((b) => ({ ...b, liquidations: [] })))).toEqual({ penalties: 0n, equityLost: 0n, total: 0n, episodes: [] });
  });
});

describe("the insurance fund a run needed", () => {
  const events = fundEvents(
    [{ logIndex: 0, insuranceShare: 10n }, { logIndex: 2, insuranceShare: 5n }, { logIndex: 4, insuranceShare: 100n }],
    [{ logIndex: 3, covered: 25n, uncovered: 15n }, { logIndex: 1, covered: 10n, uncovered: 20n }],
  );

  it("orders the fund's events as the chain emitted them", () => {
    expect(events).toEqual([
      { kind: "share", amount: 10n },
      { kind: "deficit", amount: 30n },
      { kind: "share", amount: 5n },
      { kind: "deficit", amount: 40n },
      { kind: "share", amount: 100n },
    ]);
  });

  it("is the largest running shortfall of shares against deficits, or what the open deficit at the end takes", () => {
    // 30 − 10 = 20, then 70 − 15 = 55; the 100 that comes later does not help. With 55 the fund pays
    // 30 (65 → 35), takes 5 (40) and pays 40 (0): every deficit in full; with 54 the second is short by 1.
    expect(insuranceFundNeeded(events, 20n)).toEqual({ deficits: 90n, shares: 115n, needed: 55n });
    // 200 still open at the end: 70 + 200 − 115.
    expect(insuranceFundNeeded(events, 200n)).toEqual({ deficits: 270n, shares: 115n, needed: 155n });
    expect(insuranceFundNeeded([{ kind: "share", amount: 5n }], 0n)).toEqual({ deficits: 0n, shares: 5n, needed: 0n });
  });
});

describe("a backstop keeper's budget", () => {
  it("is its largest running shortfall of rewards against gas, with reward-less closes counted", () => {
    expect(backstopSpend([{ gasUsd: 2n, rewards: 0n, rewardless: 1 }, { gasUsd: 3n, rewards: 10n, rewardless: 0 }, { gasUsd: 4n, rewards: 0n, rewardless: 1 }])).toEqual({
      gasCost: 9n,
      rewards: 10n,
      rewardlessCloses: 2,
      budget: 2n,
    });
    expect(backstopSpend([{ gasUsd: 1n, rewards: 0n, rewardless: 1 }, { gasUsd: 1n, rewards: 0n, rewardless: 1 }, { gasUsd: 5n, rewards: 1n, rewardless: 0 }]).budget).toBe(6n);
  });

  it("prices each keeper's gas on its running sum, so the total equals the keeper rows'", () => {
    const K1 = A;
    const K2 = B;
    const usd = (wei: bigint) => (wei * 3n) / 7n; // rounds down, like gasUsd
    const blocks = [
      { gas: new Map([[K1, { wei: 5n }], [C, { wei: 100n }]]), liquidations: [{ keeper: K1, keeperReward: 0n }, { keeper: C, keeperReward: 0n }] },
      { gas: new Map([[K1, { wei: 5n }], [K2, { wei: 4n }]]), liquidations: [{ keeper: K2, keeperReward: 2n }] },
    ];
    const b = backstopBlocks(blocks, [K1, K2], usd);
    expect(b).toEqual([
      { gasUsd: 2n, rewards: 0n, rewardless: 1 },
      { gasUsd: usd(10n) + usd(4n) - 2n, rewards: 2n, rewardless: 0 },
    ]);
    expect(b.reduce((s, x) => s + x.gasUsd, 0n)).toBe(usd(10n) + usd(4n));
  });
});
