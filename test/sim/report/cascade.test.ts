/**
 * Cascade accounting (issue 16) on constructed block sequences: generations, the longest cascade,
 * liquidations by generation, and the extra price move; and the per-tier statistic.
 */
import type { Address } from "viem";
import { describe, expect, it } from "vitest";
import { WAD } from "../../../src/engine/index.ts";
import { cascadeReport, type CascadeBlock, type CascadeLiquidation } from "../../../src/sim/report/cascade.ts";
import { poolTierStatistics, tierStatistic, tiersSpanned, type TierGroup } from "../../../src/sim/report/tiersSpanned.ts";

const A = "0x000000000000000000000000000000000000000a" as Address;
const B = "0x000000000000000000000000000000000000000b" as Address;
const C = "0x000000000000000000000000000000000000000c" as Address;
const D = "0x000000000000000000000000000000000000000d" as Address;
const E = "0x000000000000000000000000000000000000000e" as Address;

const liq = (account: Address, usd: bigint, full = true): CascadeLiquidation => ({ account, size: usd * WAD, price: WAD, full });
const block = (n: number, p: Partial<CascadeBlock> = {}): CascadeBlock => ({
  block: BigInt(n),
  belowMaintenance: [],
  impactDriven: [],
  liquidations: [],
  markets: [{ symbol: "BTC", price: 100n * WAD, pathPrice: 100n * WAD }],
  ...p,
});
const IMPACT = new Map([["BTC", { depthUsd: 1_000_000n * WAD, halfLifeSeconds: 30 }]]);

describe("cascadeReport", () => {
  it("gives generation 0 at the baseline, 1 + the previous block's highest generation when impact alone did it", () => {
    const r = cascadeReport(
      [
        block(10, { belowMaintenance: [A] }), // A: liquidatable at the path's price → 0
        block(11, { liquidations: [liq(A, 1_000n)] }), // A closed (gen 0)
        block(12, { belowMaintenance: [B], impactDriven: [B] }), // B by impact: 1 + 0 (block 11 is the latest with liquidations)
        block(13, { belowMaintenance: [B, C], impactDriven: [C], liquidations: [liq(B, 300n, false)] }), // B partial (gen 1); C: 1 + gen of block 12's… none → block 11's 0 → 1
        block(14, { belowMaintenance: [D], impactDriven: [D], liquidations: [liq(B, 200n), liq(C, 100n)] }), // D: 1 + max(block 13: B gen 1) = 2
        block(15, { liquidations: [liq(D, 50n)] }), // D gen 2
        block(16, { belowMaintenance: [E] }), // E at the baseline again → 0
        block(17, { liquidations: [liq(E, 5n)] }),
      ],
      IMPACT,
    );
    expect(r.byGeneration).toEqual([
      { generation: 0, liquidations: 2, partialLiquidations: 0, notionalUsd: "1005", accounts: 2 },
      { generation: 1, liquidations: 3, partialLiquidations: 1, notionalUsd: "600", accounts: 2 },
      { generation: 2, liquidations: 1, partialLiquidations: 0, notionalUsd: "50", accounts: 1 },
    ]);
    expect(r.impactDrivenAccounts).toBe(3);
    expect(r.longestCascadeBlocks).toBe(3);
    expect(r.longestCascadeFrom).toBe(12);
  });

  it("counts an account once per stretch below maintenance, and a new stretch anew", () => {
    const r = cascadeReport(
      [
        block(1, { liquidations: [liq(E, 1n)] }),
        block(2, { belowMaintenance: [A], impactDriven: [A] }),
        block(3, { belowMaintenance: [A], impactDriven: [A] }), // still below: not made liquidatable again
        block(4, {}),
        block(5, { belowMaintenance: [A], impactDriven: [] }), // below again, at the baseline: generation 0
        block(6, { liquidations: [liq(A, 10n)] }),
      ],
      IMPACT,
    );
    expect(r.impactDrivenAccounts).toBe(1);
    expect(r.longestCascadeBlocks).toBe(1);
    expect(r.byGeneration.map((g) => [g.generation, g.liquidations])).toEqual([[0, 2]]);
  });

  it("has no cascade and only generation 0 when nothing was driven by impact", () => {
    const r = cascadeReport([block(1, { belowMaintenance: [A] }), block(2, { liquidations: [liq(A, 7n)] })], IMPACT);
    expect(r.longestCascadeBlocks).toBe(0);
    expect(r.longestCascadeFrom).toBeUndefined();
    expect(r.byGeneration).toEqual([{ generation: 0, liquidations: 1, partialLiquidations: 0, notionalUsd: "7", accounts: 1 }]);
  });

  it("reports the worst extra move (signed) and the one at the end, per market", () => {
    const at = (price: bigint) => [{ symbol: "BTC", price: price * WAD, pathPrice: 100n * WAD }];
    const r = cascadeReport([block(1, { markets: at(100n) }), block(2, { markets: at(97n) }), block(3, { markets: at(101n) }), block(4, { markets: at(99n) })], IMPACT);
    expect(r.markets).toEqual([{ market: "BTC", depthUsd: "1000000", halfLifeSeconds: 30, worstExtraMove: "-0.03", worstExtraMoveBlock: 2, extraMoveAtEnd: "-0.01" }]);
  });
});

describe("the per-tier statistic", () => {
  const tiers = [
    { floor: 0n, mmrPpm: 4_000n, maxLeverage: 125n },
    { floor: 50_000n * WAD, mmrPpm: 5_000n, maxLeverage: 100n },
    { floor: 250_000n * WAD, mmrPpm: 10_000n, maxLeverage: 50n },
    { floor: 1_000_000n * WAD, mmrPpm: 25_000n, maxLeverage: 20n },
  ];
  const pos = (marketId: number, size: bigint, entry: bigint) => ({ marketId, size: size * WAD, entryPrice: entry * WAD, entryFundingIndex: 0n });
  const of = (id: number) => (id === 0 ? tiers : undefined);

  it("is the tier index + 1 of the largest position's notional at opening, capped 3+", () => {
    expect(tiersSpanned({ positions: [pos(0, 1n, 40_000n)] }, of)).toBe("1");
    expect(tiersSpanned({ positions: [pos(0, -1n, 60_000n)] }, of)).toBe("2");
    expect(tiersSpanned({ positions: [pos(0, 5n, 60_000n)] }, of)).toBe("3+");
    expect(tiersSpanned({ positions: [pos(0, 20n, 60_000n)] }, of)).toBe("3+");
    expect(tiersSpanned({ positions: [pos(0, 1n, 10_000n), pos(0, -2n, 30_000n)] }, of)).toBe("2");
    expect(tiersSpanned({ positions: [] }, of)).toBeUndefined();
    expect(tiersSpanned({ positions: [pos(7, 1n, 1n)] }, of)).toBeUndefined();
  });

  it("counts partial events per account by group, and the 3+ vs 1 ratio", () => {
    const groups = new Map<Address, TierGroup>([
      [A, "1"],
      [B, "1"],
      [C, "3+"],
      [D, "2"],
    ]);
    const s = tierStatistic(groups, [
      { account: A, full: false },
      { account: A, full: true },
      { account: C, full: false },
      { account: C, full: false },
      { account: C, full: false },
      { account: E, full: false }, // not an account of the run's start: not counted
    ]);
    expect(s.groups).toEqual([
      { tiers: "1", accounts: 2, partialLiquidations: 1, perAccount: "0.500000" },
      { tiers: "2", accounts: 1, partialLiquidations: 0, perAccount: "0.000000" },
      { tiers: "3+", accounts: 1, partialLiquidations: 3, perAccount: "3.000000" },
    ]);
    expect(s.ratio3vs1).toBe("5.000000");
    // Pooled over seeds: counts summed, the ratio taken again.
    const pooled = poolTierStatistics([s, tierStatistic(new Map([[A, "1"]]), [{ account: A, full: false }])]);
    expect(pooled.groups[0]).toEqual({ tiers: "1", accounts: 3, partialLiquidations: 2, perAccount: "0.666667" });
    expect(pooled.ratio3vs1).toBe("3.500000");
    // No partial event in group 1: no ratio.
    expect(tierStatistic(groups, []).ratio3vs1).toBeUndefined();
  });
});
