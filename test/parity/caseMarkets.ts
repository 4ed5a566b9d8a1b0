/**
 * Markets of the ADL and index parity cases: a tier table of one or two lines and plain liquidation
 * rules (the cases test the mark price and ADL, not liquidation sizing, which parityHarness.ts
 * covers), as `addMarket` takes them; and the health fields compared to the wei.
 */
import fc from "fast-check";
import type { Address } from "viem";
import { PPM, WAD, type Health, type Tier } from "../../src/engine/index.ts";

export type SimpleMarket = {
  tiers: Tier[];
  lotSize: bigint;
  tradingFeePpm: bigint;
  adlEnabled: boolean;
};

/** One or two tiers: maintenance 0.5–5 %, then higher; leverage up to 1/mmr, at most 100. */
export const simpleMarketArb: fc.Arbitrary<SimpleMarket> = fc
  .record({
    mmr0: fc.integer({ min: 5_000, max: 50_000 }),
    levCut: fc.integer({ min: 0, max: 80 }),
    second: fc.option(fc.record({ floor: fc.bigInt({ min: 1_000n, max: 10_000_000n }), step: fc.integer({ min: 1, max: 50_000 }) })),
    lotExp: fc.integer({ min: 12, max: 18 }),
    tradingFeePpm: fc.bigInt({ min: 0n, max: 1_000n }),
  })
  .map((r) => {
    const mmr = BigInt(r.mmr0);
    const maxLev = (PPM - 1n) / mmr;
    const cap = maxLev < 100n ? maxLev : 100n;
    const lev = cap - (cap * BigInt(r.levCut)) / 100n || 1n;
    const tiers: Tier[] = [{ floor: 0n, mmrPpm: mmr, maxLeverage: lev }];
    if (r.second) {
      const mmr1 = mmr + BigInt(r.second.step);
      const lev1 = (PPM - 1n) / mmr1;
      tiers.push({ floor: r.second.floor * WAD, mmrPpm: mmr1, maxLeverage: lev1 < lev ? lev1 : lev });
    }
    return { tiers, lotSize: 10n ** BigInt(r.lotExp), tradingFeePpm: r.tradingFeePpm, adlEnabled: false };
  });

/** `addMarket`'s arguments for the market read from `feed`. */
export function marketArgs(m: SimpleMarket, feed: Address, maxStaleness: bigint) {
  return [
    { feed, maxStaleness: Number(maxStaleness), tradingFeePpm: Number(m.tradingFeePpm), lotSize: m.lotSize },
    { penaltyPpm: 0, targetBufferPpm: 0, maxStepPpm: Number(PPM), tierStepDown: false, partialThreshold: 0n, dustNotional: 0n, adlEnabled: m.adlEnabled },
    m.tiers.map((t) => ({ floor: t.floor, mmrPpm: Number(t.mmrPpm), maxLeverage: Number(t.maxLeverage) })),
  ] as const;
}

/** The fields of a health that the contract's accountHealth returns, for a to-the-wei comparison. */
export function healthFields(h: Omit<Health, "positions">) {
  const { collateral, equity, maintenance, initial, target, liquidatable, backstop, cooldownEndsAt } = h;
  return { collateral, equity, maintenance, initial, target, liquidatable, backstop, cooldownEndsAt };
}
