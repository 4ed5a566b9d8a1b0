/** The ADL suite (adlCases.ts, adlRun.ts) as defineCaseParity runs it. */
import { expect } from "vitest";
import { adlCaseArb, type AdlCase } from "./adlCases.ts";
import { newAdlStats, runAdlCase, type AdlStats } from "./adlRun.ts";
import type { CaseSuite } from "./defineCases.ts";

export const ADL_SUITE: CaseSuite<AdlCase, AdlStats> = {
  name: "ADL",
  share: 0.5,
  parts: 4,
  seedOffset: 200,
  arb: adlCaseArb,
  newStats: newAdlStats,
  run: runAdlCase,
  check: (s, runs) => {
    expect(s.cases).toBe(runs);
    // A meaningful share of the cases must actually deleverage, fully and partly, against ties too.
    expect(s.executed, "deleverages executed").toBeGreaterThan(runs / 5);
    if (runs < 100) return;
    expect(s.fullyClosed).toBeGreaterThan(0);
    expect(s.partlyClosed).toBeGreaterThan(0);
    expect(s.badDebt).toBeGreaterThan(0);
    expect(s.scoreTies).toBeGreaterThan(0);
    for (const k of ["AdlRankOrder", "AdlNotEligible", "AdlNotDue", "AdlNoCounterparty", "AdlDisabled", "NotAdlOperator", "NoPosition"]) {
      expect(s.refused[k] ?? 0, `refusals ${k}`).toBeGreaterThan(0);
    }
    for (const k of ["bankruptcy price", "bankruptcy AdlNotDue", "bankruptcy NoPosition", "score > 0"]) expect(s.views[k] ?? 0, `views: ${k}`).toBeGreaterThan(0);
  },
};
