/**
 * The reference market's book, on an index state built from events: what the keeper asks of a
 * protocol each head (the fast path's suspects, the full rescan, candidates, sizes now), answered
 * by the engine, with accounts that close leaving the book and unpriced markets left out.
 */
import type { Address } from "viem";
import { describe, expect, it } from "vitest";
import { maxLiquidatable } from "../../../src/engine/index.ts";
import type { GasModel } from "../../../src/plan/planLiquidations.ts";
import { ReferenceBook } from "../../../src/protocols/reference/book.ts";
import type { IndexLog } from "../../../src/protocols/reference/events.ts";
import { IndexState, type FeedSnapshot } from "../../../src/protocols/reference/state.ts";
import { valuationAt } from "../../../src/protocols/reference/valuation.ts";
import { ALICE, BOB, FEED_A, MARKET, addMarket, answer, block, collateral, global, position } from "../../index/logs.ts";

const WAD = 10n ** 18n;
const T0 = 1_700_000_000n;
const SNAP: FeedSnapshot = { decimals: 8, round: { answer: 60_000n * 10n ** 8n, updatedAt: T0, roundId: 1n } };
const GAS: GasModel = { singleGas: 600_000n, batchBaseGas: 420_000n, batchItemGas: 190_000n, gasPriceWei: 10n ** 9n, nativeUsd: 3_000n * WAD };

function apply(s: IndexState, logs: IndexLog[]): bigint {
  for (const log of logs) s.apply(log, T0 + log.blockNumber, new Map(s.newFeedsOf(log).map((f) => [f, SNAP])));
  s.advanceTo(logs[0]!.blockNumber);
  return T0 + logs[0]!.blockNumber;
}

/** ALICE: 1 BTC long at 60,000 on $600 (100x); BOB: the same on $10,000. */
function world() {
  const s = new IndexState({ startBlock: 10n });
  apply(s, block(10n, [global(30)]));
  apply(s, block(11n, addMarket(0n, FEED_A)));
  const t = apply(s, block(12n, [collateral(ALICE, 600n * WAD), position(ALICE, 0n, WAD), collateral(BOB, 10_000n * WAD), position(BOB, 0n, WAD)]));
  s.takeChanges();
  const book = new ReferenceBook(() => s, MARKET);
  book.reset(t);
  return { s, book };
}

describe("ReferenceBook", () => {
  it("follows every open account, and a price that crosses ALICE's liquidation price names her on the fast path", () => {
    const { s, book } = world();
    expect(book.size).toBe(2);
    expect(book.liquidatable(T0 + 12n)).toEqual([]);

    const t = apply(s, block(13n, [{ ...answer(FEED_A, 59_600n * 10n ** 8n, 2n, T0 + 13n) }]));
    const changes = s.takeChanges();
    expect(book.sync(changes, t, false)).toEqual([]);
    const fast = book.suspects(changes, t);
    expect(fast.liquidatable).toEqual([ALICE]);
    expect(fast.moved).toBeGreaterThanOrEqual(1);
    expect(book.liquidatable(t)).toEqual([ALICE]);

    // Candidates and sizes are the engine's: the max slice at this valuation.
    const want = maxLiquidatable(s.account(ALICE)!, 0, valuationAt(s, t));
    expect(want).toBeGreaterThan(0n);
    const [c, ...rest] = book.candidates([ALICE, BOB], t, GAS, () => true);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ account: ALICE, marketId: 0, size: want });
    expect(book.sizeNow({ account: ALICE, marketId: 0 }, t)).toBe(want);
    expect(book.sizeNow({ account: BOB, marketId: 0 }, t)).toBe(0n);
    // What the executor cannot take is left out before the best is chosen.
    expect(book.candidates([ALICE], t, GAS, (a: Address) => a !== ALICE)).toEqual([]);
  });

  it("an account whose position closes leaves the book, and is reported gone", () => {
    const { s, book } = world();
    const t = apply(s, block(13n, [position(ALICE, 0n, 0n, 0n), collateral(ALICE, 0n)]));
    expect(book.sync(s.takeChanges(), t, false)).toEqual([ALICE]);
    expect(book.size).toBe(1);
  });

  it("a market whose price went stale values nothing: no account is liquidatable and no size is allowed", () => {
    const { s, book } = world();
    const t = apply(s, block(13n, [{ ...answer(FEED_A, 59_600n * 10n ** 8n, 2n, T0 + 13n) }]));
    book.sync(s.takeChanges(), t, false);
    const later = t + 3_601n; // past the market's 3,600 s maxStaleness
    expect(book.liquidatable(later)).toEqual([]);
    expect(book.sizeNow({ account: ALICE, marketId: 0 }, later)).toBe(0n);
    // And the same account at a fresh time still is.
    expect(book.liquidatable(t)).toEqual([ALICE]);
  });

  it("says which markets are unpriced and how many accounts they leave unvalued (each account once)", () => {
    const { s, book } = world();
    const t = apply(s, block(13n, [{ ...answer(FEED_A, 59_600n * 10n ** 8n, 2n, T0 + 13n) }]));
    book.sync(s.takeChanges(), t, false);
    expect(book.unpriced(t)).toEqual({ markets: [], accounts: 0 });
    expect(book.unpriced(t + 3_600n)).toEqual({ markets: [], accounts: 0 }); // at the limit: still usable
    expect(book.unpriced(t + 3_601n)).toEqual({ markets: [{ marketId: 0, why: "stale", accounts: 2 }], accounts: 2 });
    // A closed account is not counted.
    const t2 = apply(s, block(14n, [position(ALICE, 0n, 0n, 0n), collateral(ALICE, 0n)]));
    book.sync(s.takeChanges(), t2, false);
    expect(book.unpriced(t + 3_601n)).toEqual({ markets: [{ marketId: 0, why: "stale", accounts: 1 }], accounts: 1 });
  });
});
