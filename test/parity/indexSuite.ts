/** The index mark price suite (indexCases.ts) as defineCaseParity runs it. */
import { expect } from "vitest";
import type { CaseSuite } from "./defineCases.ts";
import { indexCaseArb, newIndexStats, runIndexCase, type IndexCase, type IndexStats } from "./indexCases.ts";

export const INDEX_SUITE: CaseSuite<IndexCase, IndexStats> = {
  name: "index mark price",
  share: 0.5,
  parts: 2,
  seedOffset: 100,
  arb: indexCaseArb,
  newStats: newIndexStats,
  run: runIndexCase,
  check: (s, runs) => {
    expect(s.cases).toBe(runs);
    if (runs < 100) return;
    // Every outcome and both sides of each boundary must actually be reached.
    for (const k of ["TooFewFreshFeeds", "PriceDeviation", "InvalidPrice", "StalePrice", "ok (one feed)"]) expect(s.outcomes[k] ?? 0, k).toBeGreaterThan(0);
    const ok = Object.entries(s.outcomes).filter(([k]) => k.startsWith("ok (") && k !== "ok (one feed)").reduce((a, [, n]) => a + n, 0);
    expect(ok, "multi-feed marks accepted").toBeGreaterThan(runs / 5);
    for (const k of ["deviation one below the spread: refused", "deviation at the spread: accepted", "fresh = minSources: accepted", "a feed exactly maxStaleness old: fresh"]) {
      expect(s.boundary[k] ?? 0, k).toBeGreaterThan(0);
    }
  },
};
