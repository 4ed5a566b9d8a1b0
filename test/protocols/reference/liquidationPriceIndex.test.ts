/**
 * The compact liquidation-price index against the exact rule it stands for: after any sequence of
 * updates and removals, a price names every key whose latest entries it crosses in bigint arithmetic
 * (float64 prices may add an entry at the rounding edge, never drop one), and no key it removed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { liquidationPrice, type Account } from "../../../src/engine/index.ts";
import { LiquidationPriceIndex } from "../../../src/protocols/reference/liquidationPriceIndex.ts";
import { account, market, valuation, w } from "../../engine/fixtures.ts";

const btc = market(0, [[0, 4_000, 125], [50_000, 5_000, 100], [250_000, 10_000, 50]]);
const eth = market(1, [[0, 10_000, 50]]);
const v = valuation([btc, eth], { 0: w(60_000), 1: w(3_000) });
const MARGIN_PPM = 20_000n;

const positionArb = fc.record({
  market: fc.constantFrom(0, 1),
  side: fc.constantFrom(1n, -1n),
  units: fc.bigInt({ min: 1n, max: 5_000n }),
});
const accountArb: fc.Arbitrary<Account> = fc
  .record({ collateral: fc.bigInt({ min: 1n, max: 2_000_000n }), positions: fc.uniqueArray(positionArb, { maxLength: 2, selector: (p) => p.market }) })
  .map(({ collateral, positions }) =>
    account(
      w(Number(collateral)) / 100n,
      positions.map((p) => [p.market, p.side * p.units * 10n ** 15n, p.market === 0 ? w(60_000) : w(3_000)]),
    ),
  );
type Op = { kind: "update"; key: number; account: Account } | { kind: "remove"; key: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("update" as const), key: fc.nat({ max: 15 }), account: accountArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), key: fc.nat({ max: 15 }) }) },
);

/** The exact cut: longs with lp ≥ price − margin, shorts with lp ≤ price + margin (bigint). */
function exactCrossed(live: ReadonlyMap<number, Account>, marketId: number, price: bigint): Set<number> {
  const up = price + (price * MARGIN_PPM) / 1_000_000n;
  const down = price - (price * MARGIN_PPM) / 1_000_000n;
  const out = new Set<number>();
  for (const [key, a] of live) {
    for (const p of a.positions) {
      if (p.marketId !== marketId || p.size === 0n) continue;
      const lp = liquidationPrice(a, marketId, v);
      if (lp !== undefined && (p.size > 0n ? lp >= down : lp <= up)) out.add(key);
    }
  }
  return out;
}

describe("LiquidationPriceIndex", () => {
  it("property: after updates and removals, a price names exactly the keys it crosses (float64 only widens at the rounding edge)", () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 500, max: 1_500 }), fc.constantFrom(0, 1), (rounds, permille, marketId) => {
        const index = new LiquidationPriceIndex<number>(MARGIN_PPM);
        const live = new Map<number, Account>();
        const price = ((marketId === 0 ? w(60_000) : w(3_000)) * BigInt(permille)) / 1_000n;
        for (const ops of rounds) {
          for (const op of ops) {
            if (op.kind === "update") {
              index.update(op.key, op.account, v);
              live.set(op.key, op.account);
            } else {
              index.remove(op.key);
              live.delete(op.key);
            }
          }
          // A query between rounds sorts and compacts the lists that changed.
          const got = index.crossed(marketId, price);
          expect(new Set(got).size).toBe(got.length);
          const exact = exactCrossed(live, marketId, price);
          for (const key of exact) expect(got).toContain(key);
          for (const key of got) {
            expect(live.has(key)).toBe(true);
            if (!exact.has(key)) {
              // Only at the float64 edge of the cut.
              const a = live.get(key)!;
              const lp = liquidationPrice(a, marketId, v)!;
              const cut = a.positions.find((p) => p.marketId === marketId)!.size > 0n ? price - (price * MARGIN_PPM) / 1_000_000n : price + (price * MARGIN_PPM) / 1_000_000n;
              expect(Number(lp)).toBe(Number(cut));
            }
          }
        }
        expect(index.size).toBe([...live.values()].filter((a) => a.positions.some((p) => liquidationPrice(a, p.marketId, v) !== undefined)).length);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps string keys (the planner's tests) and forgets everything on clear()", () => {
    const index = new LiquidationPriceIndex<string>(0n);
    const a = account(w(1_000), [[0, w(1), w(60_000)]]);
    index.update("a", a, v);
    expect(index.crossed(0, w(70_000))).toEqual([]); // above its liquidation price (~59,236)
    expect(index.crossed(0, w(59_000))).toEqual(["a"]);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.crossed(0, w(59_000))).toEqual([]);
  });
});
