/**
 * Properties of the margin engine (fast-check): the tier rules, partial sizing, penalties and
 * liquidation prices hold for arbitrary tables, accounts and prices, not just the examples.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  PPM,
  TOKEN_SCALE,
  WAD,
  abs,
  accountHealth,
  applyLiquidation,
  ceilDiv,
  cumAmounts,
  liquidationPrice,
  maintenanceMargin,
  maxLiquidatable,
  penalty,
  restores,
  restoringSlice,
  splitPenalty,
  type Account,
  type MarketState,
  type Tier,
  NEUTRAL_LIQUIDATION,
} from "../../src/engine/index.ts";
import { valuation } from "./fixtures.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);

const tiersArb: fc.Arbitrary<Tier[]> = fc
  .record({
    floors: fc.uniqueArray(fc.bigInt({ min: 1n, max: 10n ** 8n }), { minLength: 0, maxLength: 5 }),
    mmr0: fc.integer({ min: 1_000, max: 50_000 }),
    steps: fc.array(fc.integer({ min: 1, max: 50_000 }), { minLength: 5, maxLength: 5 }),
  })
  .map(({ floors, mmr0, steps }) => {
    const sorted = [...floors].sort((a, b) => (a < b ? -1 : 1));
    let mmr = BigInt(mmr0);
    return [0n, ...sorted].map((f, i) => {
      if (i > 0) mmr += BigInt(steps[i - 1]!);
      return { floor: f * WAD, mmrPpm: mmr, maxLeverage: (PPM - 1n) / mmr };
    });
  });

function marketOf(tiers: Tier[], extra: Partial<MarketState["liquidation"]> = {}, lotSize = 10n ** 15n): MarketState {
  return {
    id: 0,
    lotSize,
    tradingFeePpm: 0n,
    tiers,
    cums: cumAmounts(tiers),
    liquidation: { ...NEUTRAL_LIQUIDATION, ...extra },
    funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n },
  };
}

describe("tiered maintenance margin", () => {
  test("MM(N) is the max over all tier lines, so it is continuous across boundaries", () => {
    fc.assert(
      fc.property(tiersArb, fc.bigInt({ min: 0n, max: 10n ** 9n * WAD }), (tiers, n) => {
        const cums = cumAmounts(tiers);
        const lines = tiers.map((t, i) => n * t.mmrPpm - cums[i]!);
        const maxLine = lines.reduce((a, b) => (a > b ? a : b));
        expect(maintenanceMargin(tiers, cums, n)).toBe(n === 0n ? 0n : ceilDiv(maxLine, PPM));
        // At each floor the two adjacent lines meet exactly.
        for (let i = 1; i < tiers.length; i++) {
          const f = tiers[i]!.floor;
          expect(f * tiers[i]!.mmrPpm - cums[i]!).toBe(f * tiers[i - 1]!.mmrPpm - cums[i - 1]!);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("MM never decreases with notional", () => {
    fc.assert(
      fc.property(tiersArb, fc.bigInt({ min: 0n, max: 10n ** 9n * WAD }), fc.bigInt({ min: 0n, max: 10n ** 6n * WAD }), (tiers, n, d) => {
        const cums = cumAmounts(tiers);
        expect(maintenanceMargin(tiers, cums, n + d) >= maintenanceMargin(tiers, cums, n)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

/** A liquidatable single-position account on a market with a buffer and penalty. */
const sliceCaseArb = fc
  .record({
    tiers: tiersArb,
    bufferPpm: fc.bigInt({ min: 0n, max: 20_000n }),
    penaltyFrac: fc.integer({ min: 0, max: 99 }),
    lotExp: fc.integer({ min: 12, max: 18 }),
    lots: fc.bigInt({ min: 10n, max: 10n ** 7n }),
    price: fc.bigInt({ min: 10n ** 16n, max: 10n ** 23n }),
    // Equity as a fraction (ppm) of MM: below 1e6 → liquidatable.
    equityPpmOfMm: fc.integer({ min: 1, max: 999_999 }),
    side: fc.constantFrom(1n, -1n),
  })
  .map((r) => {
    const penaltyPpm = ((r.tiers[0]!.mmrPpm + r.bufferPpm - 1n) * BigInt(r.penaltyFrac)) / 100n;
    const m = marketOf(r.tiers, { penaltyPpm, targetBufferPpm: r.bufferPpm }, 10n ** BigInt(r.lotExp));
    const size = r.lots * m.lotSize;
    const v = valuation([m], { 0: r.price });
    const probe: Account = { collateral: 0n, lastPartialAt: 0n, positions: [{ marketId: 0, size: r.side * size, entryPrice: r.price, entryFundingIndex: 0n }] };
    const mm = accountHealth(probe, v).maintenance;
    const a: Account = { ...probe, collateral: (mm * BigInt(r.equityPpmOfMm)) / PPM };
    return { m, v, a, size };
  })
  .filter(({ a, v }) => {
    const h = accountHealth(a, v);
    return h.liquidatable && h.equity > 0n;
  });

describe("partial liquidation sizing", () => {
  test("the max slice restores the target; one lot less does not", () => {
    let partials = 0;
    fc.assert(
      fc.property(sliceCaseArb, ({ m, v, a, size }) => {
        const slice = maxLiquidatable(a, 0, v);
        expect(slice > 0n && slice <= size).toBe(true);
        if (slice === size) {
          // Full close only when no smaller lot multiple restores the target.
          const h = accountHealth(a, v);
          const input = { size, price: v.prices.get(0)!, lotSize: m.lotSize, equity: h.equity, otherTarget: 0n, penaltyPpm: m.liquidation.penaltyPpm, bufferPpm: m.liquidation.targetBufferPpm };
          if (size > m.lotSize) expect(restores(input, m, size - m.lotSize)).toBe(false);
          return;
        }
        partials++;
        const after = applyLiquidation(a, 0, slice, v, 0n);
        if (!after.ok) throw new Error(after.refusal.error);
        const h1 = accountHealth(after.outcome.account, v);
        expect(h1.equity >= h1.target).toBe(true);
        if (slice > m.lotSize) {
          const less = applyLiquidation(a, 0, slice - m.lotSize, v, 0n);
          if (!less.ok) throw new Error(less.refusal.error);
          const h2 = accountHealth(less.outcome.account, v);
          expect(h2.equity <= h2.target).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
    expect(partials).toBeGreaterThan(RUNS / 4);
  });

  test("the closed form agrees with a search over lot multiples", () => {
    fc.assert(
      fc.property(sliceCaseArb.filter(({ size, m }) => size / m.lotSize <= 2_000n), ({ m, v, a, size }) => {
        const h = accountHealth(a, v);
        const input = { size, price: v.prices.get(0)!, lotSize: m.lotSize, equity: h.equity, otherTarget: 0n, penaltyPpm: m.liquidation.penaltyPpm, bufferPpm: m.liquidation.targetBufferPpm };
        let smallest = size;
        for (let d = m.lotSize; d < size; d += m.lotSize) {
          if (restores(input, m, d)) {
            smallest = d;
            break;
          }
        }
        expect(restoringSlice(input, m)).toBe(smallest);
      }),
      { numRuns: Math.min(RUNS, 200) },
    );
  });

  test("penalty never exceeds positive equity, and its split adds up to the wei", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 0n, max: 100_000n }),
        fc.bigInt({ min: -(10n ** 28n), max: 10n ** 28n }),
        fc.bigInt({ min: 0n, max: PPM }),
        (n, f, e, share) => {
          const p = penalty(n, f, e);
          expect(p <= (e > 0n ? e : 0n)).toBe(true);
          expect(p <= ceilDiv(n * f, PPM)).toBe(true);
          const s = splitPenalty(p, share);
          expect(s.keeperTokens * TOKEN_SCALE + s.insuranceWad).toBe(p);
          expect(s.keeperTokens * TOKEN_SCALE <= (p * share) / PPM).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("liquidation price", () => {
  test("liquidatable just past the liquidation price, healthy just before it", () => {
    fc.assert(
      fc.property(
        tiersArb,
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.bigInt({ min: 10n ** 17n, max: 10n ** 23n }),
        fc.integer({ min: 1_050_000, max: 20_000_000 }),
        fc.constantFrom(1n, -1n),
        (tiers, units, price, marginPpmOfMm, side) => {
          const m = marketOf(tiers);
          const v = valuation([m], { 0: price });
          const size = side * units * 10n ** 15n;
          const probe: Account = { collateral: 0n, lastPartialAt: 0n, positions: [{ marketId: 0, size, entryPrice: price, entryFundingIndex: 0n }] };
          const collateral = (accountHealth(probe, v).maintenance * BigInt(marginPpmOfMm)) / PPM;
          const a = { ...probe, collateral };
          const lp = liquidationPrice(a, 0, v);
          if (lp === undefined) return;
          const eps = lp / 10n ** 8n + 1n;
          const at = (p: bigint) => accountHealth(a, { ...v, prices: new Map([[0, p]]) }).liquidatable;
          // Long: liquidatable below the price; short: above it.
          if (side > 0n) {
            expect(at(lp + eps)).toBe(false);
            if (lp > eps) expect(at(lp - eps)).toBe(true);
          } else {
            expect(at(lp - eps)).toBe(false);
            expect(at(lp + eps)).toBe(true);
          }
          expect(abs(lp - price) > 0n).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
