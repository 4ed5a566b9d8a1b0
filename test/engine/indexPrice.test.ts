/**
 * The index mark price (src/engine/indexPrice.ts): hand-computed medians and spreads, the
 * one-feed rule against the rule of before, and properties of the median over any feeds.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { answerToWad } from "../../src/chain/chainlink.ts";
import { PPM, WAD, aggregateIndex, indexMark, type FeedPrice, type IndexRules } from "../../src/engine/index.ts";
import { w } from "./fixtures.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const NOW = 10_000n;
const rules = (r: Partial<IndexRules> = {}): IndexRules => ({ maxStaleness: 3_600n, minSources: 1, maxDeviationPpm: 2n ** 32n - 1n, ...r }); // uint32 max: no guard
const fresh = (price: bigint, age = 0n): FeedPrice => ({ price, updatedAt: NOW - age });

describe("index mark: worked examples", () => {
  test("three fresh feeds 100, 101, 250: the median 101, spread ⌊150 × 1e6 / 101⌋ = 1,485,148 ppm", () => {
    const feeds = [fresh(w(250)), fresh(w(100)), fresh(w(101))];
    expect(indexMark(feeds, rules(), NOW)).toEqual({ ok: true, price: w(101), fresh: 3, spreadPpm: 1_485_148n });
    // The guard at the spread itself passes, one ppm below it refuses.
    expect(indexMark(feeds, rules({ maxDeviationPpm: 1_485_148n }), NOW).ok).toBe(true);
    expect(indexMark(feeds, rules({ maxDeviationPpm: 1_485_147n }), NOW)).toEqual({
      ok: false,
      reason: "deviation",
      fresh: 3,
      spreadPpm: 1_485_148n,
    });
  });

  test("a stale feed is left out: 100 and 103 fresh → mean 101.5, spread ⌊3 × 1e6 / 101.5⌋ = 29,556", () => {
    const feeds = [fresh(w(100)), fresh(w(250), 3_601n), fresh(w(103), 3_600n)];
    expect(indexMark(feeds, rules(), NOW)).toEqual({ ok: true, price: w("101.5"), fresh: 2, spreadPpm: 29_556n });
    expect(indexMark(feeds, rules({ minSources: 3 }), NOW)).toEqual({ ok: false, reason: "stale", fresh: 2 });
  });

  test("an even count floors the mean of the two middle values to the wei", () => {
    expect(aggregateIndex([3n, 4n])).toEqual({ mark: 3n, spreadPpm: 333_333n });
    expect(aggregateIndex([w(1), w(2), w(3), w(10)]).mark).toBe(w("2.5"));
  });

  test("answers ≤ 0 and answers from the future are not fresh among several feeds", () => {
    const feeds = [fresh(0n), fresh(-w(5)), { price: w(90), updatedAt: NOW + 1n }, fresh(w(100))];
    expect(indexMark(feeds, rules(), NOW)).toEqual({ ok: true, price: w(100), fresh: 1, spreadPpm: 0n });
    expect(indexMark(feeds, rules({ minSources: 2 }), NOW)).toEqual({ ok: false, reason: "stale", fresh: 1 });
  });

  test("one feed: the rule of before, whatever minSources and the guard say", () => {
    const strict = rules({ minSources: 3, maxDeviationPpm: 0n });
    expect(indexMark([fresh(w(7))], strict, NOW)).toEqual({ ok: true, price: w(7), fresh: 1, spreadPpm: 0n });
    expect(indexMark([fresh(0n)], strict, NOW)).toMatchObject({ ok: false, reason: "invalid" });
    expect(indexMark([fresh(w(7), 3_601n)], strict, NOW)).toMatchObject({ ok: false, reason: "stale" });
    expect(indexMark([], strict, NOW)).toMatchObject({ ok: false, reason: "missing" });
    expect(indexMark([fresh(w(7)), undefined], strict, NOW)).toMatchObject({ ok: false, reason: "missing" });
  });
});

/**
 * The one-feed rule as the keeper's priceStatus had it before the index (commit f79db58,
 * src/protocols/reference/valuation.ts), the mirror of PerpMarket._markPrice's one-feed path:
 * missing, then invalid (answer ≤ 0), then stale (too old or from the future).
 */
function oneFeedStatusBefore(round: { answer: bigint; updatedAt: bigint } | undefined, maxStaleness: bigint, now: bigint) {
  if (!round) return "missing";
  if (round.answer <= 0n) return "invalid";
  if (round.updatedAt > now || now - round.updatedAt > maxStaleness) return "stale";
  return "ok";
}

describe("index mark: properties", () => {
  test("one feed gives exactly the one-feed rule of before (ok, invalid, stale, missing) and the same price", () => {
    fc.assert(
      fc.property(
        fc.option(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), { freq: 8 }),
        fc.integer({ min: 0, max: 18 }),
        fc.bigInt({ min: 0n, max: 20_000n }),
        fc.bigInt({ min: 1n, max: 10_000n }),
        fc.bigInt({ min: 0n, max: 20_000n }),
        fc.integer({ min: 1, max: 7 }),
        (answer, decimals, updatedAt, maxStaleness, now, minSources) => {
          const round = answer === null ? undefined : { answer, updatedAt, price: answerToWad(answer, decimals) };
          const expected = oneFeedStatusBefore(round, maxStaleness, now);
          const r = indexMark([round], { maxStaleness, minSources, maxDeviationPpm: 0n }, now);
          expect(r.ok ? "ok" : r.reason).toBe(expected);
          if (r.ok) expect(r.price).toBe(round!.price);
        },
      ),
      { numRuns: RUNS },
    );
  });

  const feedsArb = fc.array(
    fc.record({ price: fc.bigInt({ min: -WAD, max: 10n ** 24n }), age: fc.bigInt({ min: -10n, max: 200n }) }),
    { minLength: 2, maxLength: 7 },
  );

  test("the median is a fresh answer (odd count) or the floored mean of two (even), between min and max", () => {
    fc.assert(
      fc.property(feedsArb, fc.integer({ min: 1, max: 7 }), (raw, minSources) => {
        const feeds = raw.map((f) => fresh(f.price, f.age));
        const r = indexMark(feeds, { maxStaleness: 100n, minSources, maxDeviationPpm: 10n ** 30n }, NOW);
        const values = raw.filter((f) => f.price > 0n && f.age >= 0n && f.age <= 100n).map((f) => f.price);
        expect(r.fresh).toBe(values.length);
        if (values.length < Math.max(minSources, 1)) {
          expect(r).toEqual({ ok: false, reason: "stale", fresh: values.length });
          return;
        }
        if (!r.ok) throw new Error(`refused: ${r.reason}`);
        const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        if (values.length % 2 === 1) expect(values).toContain(r.price);
        else {
          const pairs = values.flatMap((a, i) => values.slice(i + 1).map((b) => (a + b) / 2n));
          expect(pairs).toContain(r.price);
        }
        expect(r.price >= sorted[0]! && r.price <= sorted.at(-1)!).toBe(true);
        // As many fresh answers at or below the mark as at or above it.
        const below = values.filter((x) => x <= r.price).length;
        const above = values.filter((x) => x >= r.price).length;
        expect(below * 2 >= values.length && above * 2 >= values.length).toBe(true);
        expect(r.spreadPpm).toBe(((sorted.at(-1)! - sorted[0]!) * PPM) / r.price);
      }),
      { numRuns: RUNS },
    );
  });

  test("the order of the feeds and the prices of stale feeds do not matter", () => {
    fc.assert(
      fc.property(feedsArb, fc.bigInt({ min: 1n, max: 10n ** 24n }), fc.integer({ min: 0, max: 1_000_000 }), (raw, other, maxDev) => {
        const r = rules({ maxStaleness: 100n, minSources: 2, maxDeviationPpm: BigInt(maxDev) });
        const feeds = raw.map((f) => fresh(f.price, f.age));
        const base = indexMark(feeds, r, NOW);
        expect(indexMark([...feeds].reverse(), r, NOW)).toEqual(base);
        const restaled = raw.map((f) => (f.age > 100n ? fresh(other, f.age) : fresh(f.price, f.age)));
        expect(indexMark(restaled, r, NOW)).toEqual(base);
      }),
      { numRuns: RUNS },
    );
  });
});
