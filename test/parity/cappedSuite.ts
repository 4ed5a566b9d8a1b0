/**
 * The capped parity suite (cappedCases.ts, cappedRun.ts) as one part of a test file registers it:
 * its own world (MockSUSD, MockPyth, CappedPerpsMarket) deployed once on the worker's Anvil, `runs`
 * fast-check cases from a seed of their own, the generator's coverage checked at the end.
 *
 * Runs: `PARITY_RUNS` (default 1000) split evenly over the parts (partRuns, as defineCases.ts);
 * PARITY_RUNS=100000 is the long run. `PARITY_SEED` moves every seed.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { takeSnapshot } from "../support/anvil.ts";
import { test } from "../support/fixtures.ts";
import { cappedCaseArb } from "./cappedCases.ts";
import { newCappedStats, runCappedCase, type CappedStats } from "./cappedRun.ts";
import { setupCappedWorld, type CappedWorld } from "./cappedWorld.ts";
import { partRuns } from "./defineCases.ts";

export const CAPPED_PARTS = 4;
const SEED_OFFSET = 400;

/** The generator's coverage: the floors only make sense from 100 cases up. */
function check(s: CappedStats, runs: number): void {
  expect(s.cases).toBe(runs);
  expect(s.executed, "transactions executed").toBeGreaterThan(runs / 2);
  expect(s.flags, "accounts flagged").toBeGreaterThan(runs / 10);
  if (runs < 100) return;
  for (const k of ["liquidations", "fullLiquidations", "capped", "zeroCapacity", "unlimited", "withUpdate", "oracleRecovered"] as const) {
    expect(s[k], k).toBeGreaterThan(0);
  }
  // The bypasses need a window used up and a second call inside it (pd), or the endorsed pair of
  // market and sender: a few in a hundred cases, so asserted from 200 up.
  if (runs >= 200) for (const k of ["pdBypass", "endorsed"] as const) expect(s[k], k).toBeGreaterThan(0);
  for (const k of ["NotEligibleForLiquidation", "OracleDataRequired", "UnexpectedValue", "FeeRequired"]) expect(s.refused[k] ?? 0, `refusals ${k}`).toBeGreaterThan(0);
  for (const k of ["accounts liquidable", "accounts healthy", "markets with capacity used"]) expect(s.views[k] ?? 0, `views: ${k}`).toBeGreaterThan(0);
}

export function defineCappedParity(part: number): void {
  const runs = partRuns(1, CAPPED_PARTS);
  const seed = Number(process.env.PARITY_SEED ?? 20261121) + SEED_OFFSET + part;
  let setup: Omit<CappedWorld, "base">;
  test.beforeAll(async ({ chain }) => {
    setup = await setupCappedWorld(chain);
  });
  test(`capped: engine equals contract to the wei on ${runs} generated cases (part ${part} of ${CAPPED_PARTS})`, { timeout: Math.max(600_000, runs * 5_000) }, async () => {
    const world: CappedWorld = { ...setup, base: await takeSnapshot() };
    const stats = newCappedStats();
    const started = performance.now();
    await fc.assert(fc.asyncProperty(cappedCaseArb, (c) => runCappedCase(world, c, stats)), { numRuns: runs, seed, endOnFailure: false });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.info(`capped part ${part}: ${runs} cases in ${seconds} s: ${JSON.stringify(stats)}`);
    check(stats, runs);
  });
}
