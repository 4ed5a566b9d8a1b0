/**
 * The compact account store (typed arrays, interned addresses) against a plain Map of the engine's
 * Account objects: the same answers, exactly, after any sequence of writes; and the index state
 * built on it keeps its reorg journal and checkpoint JSON with values across the whole int256 range.
 */
import fc from "fast-check";
import { getAddress, type Address } from "viem";
import { describe, expect, it } from "vitest";
import type { Account } from "../../../src/engine/index.ts";
import { AccountStore } from "../../../src/protocols/reference/accountStore.ts";
import { Int128Column } from "../../../src/protocols/reference/int128Column.ts";
import type { IndexEvent } from "../../../src/protocols/reference/events.ts";
import { IndexState, type FeedSnapshot } from "../../../src/protocols/reference/state.ts";
import { FEED_A, addMarket, block, collateral, global, liquidated, position } from "../../index/logs.ts";

const INT256_MIN = -(1n << 255n);
const INT256_MAX = (1n << 255n) - 1n;
/** The edges of the store's encodings: one lane, two lanes, the side map (and the marker value itself). */
const EDGES = [0n, 1n, -1n, (1n << 64n) - 1n, 1n << 64n, -(1n << 64n), -(1n << 63n), (1n << 127n) - 1n, -(1n << 127n) + 1n, -(1n << 127n), 1n << 127n, INT256_MIN, INT256_MAX];
const int256 = fc.oneof(fc.constantFrom(...EDGES), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: INT256_MIN, max: INT256_MAX }));

const addresses = Array.from({ length: 6 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`));
const accountArb: fc.Arbitrary<Account> = fc.record({
  collateral: int256,
  lastPartialAt: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), int256),
  positions: fc.array(fc.record({ marketId: fc.nat({ max: 2 ** 31 - 1 }), size: int256, entryPrice: int256, entryFundingIndex: int256 }), { maxLength: 8 }),
});
type Op = { kind: "set"; address: Address; account: Account } | { kind: "delete"; address: Address };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), address: fc.constantFrom(...addresses), account: accountArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), address: fc.constantFrom(...addresses) }) },
);

describe("Int128Column", () => {
  it("holds every edge of its encodings exactly, and overwrites a wide value with a narrow one", () => {
    const c = new Int128Column(EDGES.length);
    EDGES.forEach((v, i) => c.set(i, v));
    expect(EDGES.map((_, i) => c.get(i))).toEqual(EDGES);
    c.set(EDGES.indexOf(INT256_MIN), 5n);
    expect(c.get(EDGES.indexOf(INT256_MIN))).toBe(5n);
    c.grow(100);
    expect(c.get(EDGES.indexOf(INT256_MAX))).toBe(INT256_MAX);
  });
});

describe("AccountStore", () => {
  it("property: agrees with a Map of Account objects after any sequence of writes", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const store = new AccountStore();
        const model = new Map<Address, Account>();
        const views = new Map<Address, Account>();
        for (const op of ops) {
          if (op.kind === "set") {
            store.set(op.address, op.account);
            model.set(op.address, op.account);
          } else {
            expect(store.delete(op.address)).toBe(model.delete(op.address));
          }
          const live = store.live(op.address);
          if (live) views.set(op.address, live);
        }
        expect(store.size).toBe(model.size);
        for (const a of addresses) {
          expect(store.has(a)).toBe(model.has(a));
          expect(store.get(a)).toEqual(model.get(a));
          // A live view reads the store now: an emptied account reads as empty.
          const v = views.get(a);
          if (v) expect({ collateral: v.collateral, lastPartialAt: v.lastPartialAt, positions: v.positions }).toEqual(model.get(a) ?? { collateral: 0n, lastPartialAt: 0n, positions: [] });
        }
        const byAddress = <T>(xs: Iterable<[Address, T]>) => [...xs].sort(([x], [y]) => (x < y ? -1 : 1));
        expect(byAddress(store.entries())).toEqual(byAddress(model.entries()));
        expect(new Set(store.keys())).toEqual(new Set(model.keys()));
        expect([...store.values()].length).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });

  it("hands out snapshots: a stored account does not change under a reader that kept it", () => {
    const store = new AccountStore();
    const a = addresses[0]!;
    store.set(a, { collateral: 5n, lastPartialAt: 0n, positions: [{ marketId: 1, size: -3n, entryPrice: 7n, entryFundingIndex: -1n }] });
    const before = store.get(a)!;
    const live = store.live(a)!;
    store.set(a, { collateral: 6n, lastPartialAt: 9n, positions: [] });
    expect(before).toEqual({ collateral: 5n, lastPartialAt: 0n, positions: [{ marketId: 1, size: -3n, entryPrice: 7n, entryFundingIndex: -1n }] });
    expect(live.collateral).toBe(6n);
    expect(live.positions).toEqual([]);
    expect(store.live(addresses[1]!)).toBeUndefined();
  });

  it("reuses freed position rows: churn does not grow the store", () => {
    const store = new AccountStore();
    const pos = (n: number) => Array.from({ length: n }, (_, k) => ({ marketId: k, size: BigInt(k + 1), entryPrice: 10n ** 22n, entryFundingIndex: -(10n ** 20n) }));
    for (const a of addresses) store.set(a, { collateral: 1n, lastPartialAt: 0n, positions: pos(8) });
    const bytes = store.bytes;
    for (let i = 0; i < 2_000; i++) {
      const a = addresses[i % addresses.length]!;
      if (i % 3 === 0) store.delete(a);
      else store.set(a, { collateral: BigInt(i), lastPartialAt: 0n, positions: pos(i % 9) });
    }
    expect(store.bytes).toBe(bytes);
  });
});

const T0 = 1_700_000_000n;
const SNAP: FeedSnapshot = { decimals: 8, round: { answer: 60_000n * 10n ** 8n, updatedAt: T0, roundId: 1n } };

function applyBlock(s: IndexState, n: bigint, events: IndexEvent[]): void {
  for (const log of block(n, events)) s.apply(log, T0 + n, new Map(s.newFeedsOf(log).map((f) => [f, SNAP])));
  s.advanceTo(n);
}

describe("IndexState on the compact store", () => {
  it("property: with int256-wide values, rollbackTo(k) and a checkpoint round trip give the state as of block k", () => {
    const who = fc.constantFrom(...addresses.slice(0, 3));
    const eventArb: fc.Arbitrary<IndexEvent> = fc.oneof(
      fc.record({ a: who, v: int256 }).map(({ a, v }) => collateral(a, v)),
      fc.record({ a: who, m: fc.constantFrom(0n, 1n, 2n), size: int256, price: int256, index: int256 }).map(({ a, m, size, price, index }) => position(a, m, size, price < 0n ? -price : price, index)),
      fc.record({ a: who, m: fc.constantFrom(0n, 1n, 2n) }).map(({ a, m }) => position(a, m, 0n, 0n, 0n)),
      fc.record({ a: who, full: fc.boolean() }).map(({ a, full }) => liquidated(a, 0n, full, 1n)),
    );
    fc.assert(
      fc.property(fc.array(fc.array(eventArb, { maxLength: 6 }), { minLength: 1, maxLength: 10 }), fc.nat(), (blocks, pick) => {
        const s = new IndexState({ startBlock: 10n, maxReorgDepth: 64 });
        applyBlock(s, 10n, [global(30)]);
        applyBlock(s, 11n, addMarket(0n, FEED_A));
        const texts = [JSON.stringify(s.toJSON())];
        const accounts = [new Map(s.accounts)];
        blocks.forEach((events, i) => {
          applyBlock(s, 12n + BigInt(i), events);
          texts.push(JSON.stringify(s.toJSON()));
          accounts.push(new Map(s.accounts));
        });
        const k = pick % texts.length;
        const checkpoint = JSON.parse(texts[texts.length - 1]!) as unknown;
        // The checkpoint text is the state's own: decoding and encoding again changes nothing.
        expect(JSON.stringify(IndexState.fromJSON(checkpoint).toJSON())).toBe(texts[texts.length - 1]);
        for (const state of [s, IndexState.fromJSON(checkpoint)]) {
          state.rollbackTo(11n + BigInt(k));
          const { journal: _j, floor: _f, ...now } = state.toJSON();
          const { journal: _k, floor: _g, ...then } = JSON.parse(texts[k]!) as ReturnType<IndexState["toJSON"]>;
          expect(now).toEqual(then);
          expect(new Map(state.accounts)).toEqual(accounts[k]);
        }
      }),
      { numRuns: 150 },
    );
  });
});
