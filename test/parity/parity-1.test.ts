/**
 * Engine ↔ contract parity, part 1 of 2 (the parts run in parallel workers).
 * Default: 1,000 cases in all. PARITY_RUNS=100000 npm run test:parity runs 100,000.
 */
import fc from "fast-check";
import { beforeAll, expect, test } from "vitest";
import { caseArb, newStats, runCase, setupWorld } from "./parityHarness.ts";

const TOTAL = Number(process.env.PARITY_RUNS ?? 1000);
const RUNS = Math.ceil(TOTAL / 2);
const SEED = Number(process.env.PARITY_SEED ?? 20261121) + 1;

let world: Awaited<ReturnType<typeof setupWorld>>;
beforeAll(async () => {
  world = await setupWorld();
});

test(`engine equals contract to the wei on ${RUNS} generated cases (part 1)`, { timeout: Math.max(600_000, RUNS * 2_000) }, async () => {
  const stats = newStats();
  await fc.assert(
    fc.asyncProperty(caseArb, (c) => runCase(world, c, stats)),
    { numRuns: RUNS, seed: SEED, endOnFailure: false },
  );
  console.info(`parity part 1: ${JSON.stringify(stats)}`);
  // The generator must actually reach liquidations, partial and full steps, and refusals.
  expect(stats.liquidatable).toBeGreaterThan(RUNS / 5);
  expect(stats.partial).toBeGreaterThan(0);
  expect(stats.full).toBeGreaterThan(0);
  expect(stats.refused).toBeGreaterThan(0);
});
