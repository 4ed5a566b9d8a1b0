/**
 * The float64 screen must give exactly the exact engine's answer, including accounts a few wei
 * from the boundary, with funding, several markets and both sides.
 */
import fc from "fast-check";
import { expect, test } from "vitest";
import { HealthScreen, NEUTRAL_LIQUIDATION, WAD, accountHealth, cumAmounts, type Account, type MarketState, type Valuation } from "../../src/engine/index.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

const markets: MarketState[] = [
  [[0n, 4_000n, 125n], [50_000n, 5_000n, 100n], [250_000n, 10_000n, 50n]],
  [[0n, 20_000n, 20n], [5_000n, 50_000n, 10n]],
].map((rows, id) => {
  const tiers = rows.map(([f, m, l]) => ({ floor: f! * WAD, mmrPpm: m!, maxLeverage: l! }));
  return {
    id,
    lotSize: 10n ** 15n,
    tradingFeePpm: 0n,
    tiers,
    cums: cumAmounts(tiers),
    liquidation: NEUTRAL_LIQUIDATION,
    funding: { index: 123n * 10n ** 15n, ratePerSecond: 7n * 10n ** 12n, lastUpdate: 100n },
  };
});

const positionArb = fc.record({
  marketId: fc.constantFrom(0, 1),
  size: fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n }).filter((s) => s !== 0n),
  entryPrice: fc.bigInt({ min: 10n ** 15n, max: 10n ** 23n }),
  entryFundingIndex: fc.bigInt({ min: 0n, max: 10n ** 17n }),
});

const bookArb = fc.record({
  prices: fc.tuple(fc.bigInt({ min: 10n ** 15n, max: 10n ** 23n }), fc.bigInt({ min: 10n ** 15n, max: 10n ** 23n })),
  accounts: fc.array(
    fc.record({
      positions: fc.uniqueArray(positionArb, { minLength: 0, maxLength: 2, selector: (p) => p.marketId }),
      // Offset of collateral from the boundary: a few wei, or anywhere.
      offset: fc.oneof(fc.bigInt({ min: -5n, max: 5n }), fc.bigInt({ min: -(10n ** 24n), max: 10n ** 24n })),
    }),
    { minLength: 1, maxLength: 40 },
  ),
});

test("the screen's liquidatable set equals the exact engine's", () => {
  let nearBoundary = 0;
  fc.assert(
    fc.property(bookArb, ({ prices, accounts }) => {
      const v: Valuation = {
        markets: new Map(markets.map((m) => [m.id, m])),
        prices: new Map([[0, prices[0]], [1, prices[1]]]),
        timestamp: 5_000n,
        global: { cooldown: 0n, backstopPpm: 0n, keeperSharePpm: 0n },
      };
      const book: Account[] = accounts.map(({ positions, offset }) => {
        const probe: Account = { collateral: 0n, lastPartialAt: 0n, positions };
        const h = accountHealth(probe, v);
        // Collateral that puts equity exactly `offset` wei from maintenance.
        return { ...probe, collateral: h.maintenance - h.equity + offset };
      });
      const screen = new HealthScreen();
      book.forEach((a, i) => screen.set(i, a));
      const exact = book.flatMap((a, i) => (accountHealth(a, v).liquidatable ? [i] : []));
      const r = screen.scan(v);
      nearBoundary += r.exactEvaluations;
      expect(r.liquidatable).toEqual(exact);
      // A scan of some slots (the keeper's fast path) is the full answer restricted to them.
      const some = book.flatMap((_, i) => (i % 3 !== 1 ? [i] : []));
      expect(screen.scan(v, new Set(some)).liquidatable).toEqual(exact.filter((i) => i % 3 !== 1));
    }),
    { numRuns: RUNS },
  );
  // The band must actually be exercised.
  expect(nearBoundary).toBeGreaterThan(0);
});

test("replacing and deleting accounts", () => {
  const v: Valuation = {
    markets: new Map(markets.map((m) => [m.id, m])),
    prices: new Map([[0, 57_000n * WAD], [1, WAD]]),
    timestamp: 100n,
    global: { cooldown: 0n, backstopPpm: 0n, keeperSharePpm: 0n },
  };
  const sick: Account = { collateral: 34_000n * WAD, lastPartialAt: 0n, positions: [{ marketId: 0, size: 10n * WAD, entryPrice: 60_000n * WAD, entryFundingIndex: 123n * 10n ** 15n }] };
  const healthy: Account = { ...sick, collateral: 100_000n * WAD };
  const screen = new HealthScreen();
  screen.set(0, sick);
  screen.set(5, healthy);
  expect(screen.scan(v).liquidatable).toEqual([0]);
  screen.set(0, healthy);
  screen.set(5, sick);
  expect(screen.scan(v).liquidatable).toEqual([5]);
  screen.delete(5);
  expect(screen.scan(v).liquidatable).toEqual([]);
  // Without a usable price for its market, an account is left alone (the contract would revert).
  screen.set(5, sick);
  const r = screen.scan({ ...v, prices: new Map([[1, WAD]]) });
  expect([r.liquidatable, r.unpriced]).toEqual([[], 2]);
});
