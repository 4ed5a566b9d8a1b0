/**
 * Registers one part of a generated parity suite (the ADL cases, the index cases) as a test: the
 * shared world deployed with no markets, the case world set up once, `runs` fast-check cases from
 * a seed of their own, the generator's coverage checked at the end. Parts are separate test files,
 * so they run in parallel workers.
 *
 * Runs: `PARITY_RUNS` (default 1000, as parityHarness.ts) × `share`, split evenly over `parts`;
 * PARITY_RUNS=100000 is the long run. `PARITY_SEED` moves every seed.
 */
import fc from "fast-check";
import { takeSnapshot } from "../support/anvil.ts";
import { test } from "../support/fixtures.ts";
import { CASES_DEPLOYMENT, setupCaseWorld, type CaseWorld } from "./caseWorld.ts";

export type CaseSuite<C, S> = {
  name: string;
  /** Fraction of PARITY_RUNS this suite runs in all. */
  share: number;
  parts: number;
  /** Added to the seed, so that suites and parts draw different cases. */
  seedOffset: number;
  arb: fc.Arbitrary<C>;
  newStats: () => S;
  run: (w: CaseWorld, c: C, stats: S) => Promise<void>;
  /** The generator's coverage, asserted after the cases (the floors only make sense from `runs` up). */
  check: (stats: S, runs: number) => void;
};

export function partRuns(share: number, parts: number): number {
  return Math.ceil((Number(process.env.PARITY_RUNS ?? 1000) * share) / parts);
}

export function defineCaseParity<C, S>(suite: CaseSuite<C, S>, part: number): void {
  const runs = partRuns(suite.share, suite.parts);
  const seed = Number(process.env.PARITY_SEED ?? 20261121) + suite.seedOffset + part;
  let setup: Omit<CaseWorld, "base">;
  test.override({ deploy: CASES_DEPLOYMENT });
  test.beforeAll(async ({ world }) => {
    setup = await setupCaseWorld(world);
  });
  test(`${suite.name}: engine equals contract to the wei on ${runs} generated cases (part ${part} of ${suite.parts})`, { timeout: Math.max(600_000, runs * 3_000) }, async () => {
    // Taken inside the test, after its own snapshot: a case's revert to it leaves that one valid.
    const world: CaseWorld = { ...setup, base: await takeSnapshot() };
    const stats = suite.newStats();
    const started = performance.now();
    await fc.assert(fc.asyncProperty(suite.arb, (c) => suite.run(world, c, stats)), { numRuns: runs, seed, endOnFailure: false });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.info(`${suite.name} part ${part}: ${runs} cases in ${seconds} s: ${JSON.stringify(stats)}`);
    suite.check(stats, runs);
  });
}
