/**
 * `simulate --seeds 3 --jobs 2` on a tiny scenario, for real: three entries per run, in seed order,
 * whose distributions and sizing answers are the nearest-rank percentiles of the entries; the
 * first seed's runs in full; the same report.json (wall clock aside) when run again one job at a
 * time; and a seed's entry equal to the totals of `--seed` run alone with that seed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/command.ts";
import { main } from "../../src/cli/main.ts";
import { seedsTable } from "../../src/cli/simulate.ts";
import { HEADLINES, distributionOf, sizingAnswer } from "../../src/sim/distribution.ts";
import type { LabReport } from "../../src/sim/report/types.ts";
import { tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-seeds-");
afterAll(tmp.cleanup);

const TINY = {
  description: "a tiny crash for the seeds test",
  blockTime: "5s",
  blocks: 8,
  liquidity: { insuranceFund: "$0" },
  markets: { BTC: { path: { kind: "crash", drop: "12%", start: "5s", over: "30s" } } },
  traders: { count: 8, leverage: { min: "8x", max: "60x", distribution: "log-uniform" }, size: { min: "$20,000", max: "$1,000,000" }, longShare: "100%" },
  keepers: [
    { name: "fast", minProfit: "$0" },
    { name: "protocol", latency: "10s", minProfit: "$0", backstop: true },
  ],
};

async function simulate(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env: {}, cwd: tmp.dir, signal: new AbortController().signal };
  const code = await main(["simulate", "--scenario", "tiny.json", "--compare", "hyperliquid,bitmex", "--quiet", ...args], io);
  return { code, stdout, stderr };
}

const read = (out: string) => JSON.parse(readFileSync(path.join(tmp.dir, out, "report.json"), "utf8")) as LabReport;
const withoutWallClock = (r: LabReport) => ({ ...r, generatedAt: undefined, runs: r.runs.map((x) => ({ ...x, wallClockMs: undefined })) });

let first: LabReport;
let table: string[];

beforeAll(async () => {
  writeFileSync(path.join(tmp.dir, "tiny.json"), JSON.stringify(TINY));
  const r = await simulate("--out", "a", "--seeds", "3", "--jobs", "2");
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  first = read("a");
  table = seedsTable(first);
}, 180_000);

describe("simulate --seeds 3 --jobs 2", () => {
  it("has three entries per run, in seed order, and the first seed's runs in full", () => {
    const s = first.seeds!;
    expect(s.seeds).toEqual(["1", "2", "3"]);
    expect(s.runs.map((r) => r.preset)).toEqual(["hyperliquid", "bitmex"]);
    for (const r of s.runs) expect(r.perSeed.map((e) => e.seed)).toEqual(["1", "2", "3"]);
    expect(first.scenario.seed).toBe("1");
    expect(first.runs.map((r) => r.preset)).toEqual(["hyperliquid", "bitmex"]);
    expect(first.runs[0]!.blocks).toHaveLength(9);
    s.runs.forEach((r, i) => expect(r.perSeed[0]!.totals).toEqual(first.runs[i]!.totals));
    // Seeds draw different populations and prices.
    expect(new Set(s.runs[0]!.perSeed.map((e) => e.totals.liquidatedNotionalUsd)).size).toBeGreaterThan(1);
  });

  it("every distribution and sizing answer is the nearest-rank percentile of the entries", () => {
    for (const r of first.seeds!.runs) {
      for (const h of HEADLINES) {
        const values = r.perSeed.flatMap((e) => h.value(e) ?? []);
        if (values.length > 0) expect(r.distribution[h.id], h.id).toEqual(distributionOf(values, h.better));
      }
      const funds = r.perSeed.map((e) => e.sizing.insuranceFundNeeded);
      expect(r.sizing.insuranceFund).toEqual(sizingAnswer(funds));
      const worst = [...funds].sort((a, b) => Number(a) - Number(b))[2]!;
      // p90 and p99 of three runs rest on rank 3 of 3: the worst run.
      expect(r.sizing.insuranceFund.p90).toEqual({ value: worst, rank: 3, isWorst: true });
      expect(r.sizing.backstopBudget!.n).toBe(3);
    }
  });

  it("gives the same report.json when run again one job at a time", { timeout: 120_000 }, async () => {
    const r = await simulate("--out", "b", "--seeds", "3", "--jobs", "1");
    expect(r.code).toBe(0);
    expect(withoutWallClock(read("b"))).toEqual(withoutWallClock(first));
  });

  it("a seed's entry is what --seed runs alone with that seed", { timeout: 60_000 }, async () => {
    const r = await simulate("--out", "c", "--seed", "2");
    expect(r.code).toBe(0);
    const single = read("c");
    expect(single.seeds).toBeUndefined();
    single.runs.forEach((run, i) => {
      expect(first.seeds!.runs[i]!.perSeed[1]!.totals).toEqual(run.totals);
      expect(first.seeds!.runs[i]!.perSeed[1]!.sizing).toEqual(run.sizing);
    });
  });

  it("prints median / p90 / worst per run and the sizing answers with their ranks", () => {
    expect(table[0]).toMatch(/^tiny · 3 seeds · median \/ p90 \/ worst\s+hyperliquid\s+bitmex$/);
    expect(table.find((l) => l.startsWith("insurance fund needed"))).toMatch(/^insurance fund needed\s+\$[\d,.]+ \/ \$[\d,.]+ \/ \$[\d,.]+\s+\$[\d,.]+ \/ \$[\d,.]+ \/ \$[\d,.]+$/);
    expect(table).toContain(
      `  insurance fund covering p99 of runs: $${Number(first.seeds!.runs[0]!.sizing.insuranceFund.p99.value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} (rank 3 of 3: the worst run; too few seeds to tell p99 from it)`,
    );
  });
});
