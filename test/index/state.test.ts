import fc from "fast-check";
import type { Address } from "viem";
import { describe, expect, it } from "vitest";
import { cumAmounts } from "../../src/engine/index.ts";
import type { IndexEvent, IndexLog } from "../../src/protocols/reference/events.ts";
import {
  IndexState,
  IndexStateError,
  MissingTimestampError,
  UnknownFeedError,
  type FeedSnapshot,
} from "../../src/protocols/reference/state.ts";
import { CheckpointFormatError, IndexStateOutdatedError } from "../../src/index/checkpoint.ts";
import { RollbackTooDeepError } from "../../src/index/source.ts";
import {
  ALICE,
  BOB,
  FEED_A,
  FEED_B,
  TIERS,
  addMarket,
  answer,
  block,
  collateral,
  global,
  liquidated,
  position,
} from "./logs.ts";

const WAD = 10n ** 18n;
const T0 = 1_700_000_000n;
const SNAP_A: FeedSnapshot = { decimals: 8, round: { answer: 60_000n * 10n ** 8n, updatedAt: T0 - 5n, roundId: 1n } };
const SNAP_B: FeedSnapshot = { decimals: 18, round: undefined };

/** Apply a block's logs with its timestamp (T0 + number) and the feed snapshots a new feed needs. */
function applyBlock(s: IndexState, logs: IndexLog[], snaps: Record<Address, FeedSnapshot> = { [FEED_A]: SNAP_A, [FEED_B]: SNAP_B }) {
  for (const log of logs) {
    s.apply(log, T0 + log.blockNumber, new Map(s.newFeedsOf(log).flatMap((f) => (snaps[f] ? [[f, snaps[f]] as const] : []))));
  }
  if (logs[0]) s.advanceTo(logs[0].blockNumber);
}

/** A state with one market on FEED_A (8 decimals), at block 11. */
function withMarket(maxReorgDepth?: number): IndexState {
  const s = new IndexState({ startBlock: 10n, maxReorgDepth });
  applyBlock(s, block(10n, [global(30)]));
  applyBlock(s, block(11n, addMarket(0n, FEED_A)));
  return s;
}

/** The state without its journal: what the keeper sees. */
const view = (s: IndexState) => {
  const { journal: _j, floor: _f, ...rest } = s.toJSON();
  return rest;
};

describe("IndexState reducer", () => {
  it("builds a market from addMarket's five events", () => {
    const s = withMarket();
    const m = s.markets.get(0)!;
    expect(m).toEqual({
      id: 0,
      lotSize: 10n ** 15n,
      tradingFeePpm: 500n,
      tiers: TIERS.map((t) => ({ floor: t.floor, mmrPpm: BigInt(t.mmrPpm), maxLeverage: BigInt(t.maxLeverage) })),
      cums: cumAmounts(TIERS.map((t) => ({ floor: t.floor, mmrPpm: BigInt(t.mmrPpm), maxLeverage: BigInt(t.maxLeverage) }))),
      liquidation: {
        penaltyPpm: 2_500n,
        targetBufferPpm: 2_500n,
        maxStepPpm: 200_000n,
        tierStepDown: false,
        partialThreshold: 100_000n * WAD,
        dustNotional: 10n * WAD,
        adlEnabled: false,
      },
      funding: { index: 0n, ratePerSecond: 0n, lastUpdate: T0 + 11n },
      feed: FEED_A,
      feedDecimals: 8,
      maxStaleness: 3600n,
      feeds: [FEED_A],
      minSources: 1,
      maxDeviationPpm: 0n,
    });
    // docs/reference-market.md 'The reference example', scaled by 1e6: cum = 0 / 50 / 1,300.
    expect(m.cums).toEqual([0n, 50n * WAD * 1_000_000n, 1_300n * WAD * 1_000_000n]);
    expect(s.global).toEqual({ cooldown: 30n, backstopPpm: 666_667n, keeperSharePpm: 500_000n });
    expect(s.price(0)).toEqual({ ...SNAP_A.round, price: 60_000n * WAD });
  });

  it("needs the feed's decimals and the block timestamp where the contract uses them", () => {
    const s = new IndexState({ startBlock: 1n });
    const [paramsLog, , , addedLog] = block(1n, addMarket(0n, FEED_A));
    expect(() => s.apply(paramsLog!)).toThrow(UnknownFeedError);
    s.apply(paramsLog!, undefined, new Map([[FEED_A, SNAP_A]]));
    expect(() => s.apply(addedLog!)).toThrow(MissingTimestampError);
    expect(IndexState.needsTimestamp(addedLog!)).toBe(true);
    expect(IndexState.needsTimestamp(block(2n, [liquidated(ALICE, 0n, false, 1n)])[0]!)).toBe(true);
    expect(IndexState.needsTimestamp(block(2n, [liquidated(ALICE, 0n, true, 0n)])[0]!)).toBe(false);
  });

  it("prices follow AnswerUpdated of tracked feeds only, scaled to WAD by multiplication", () => {
    const s = withMarket();
    applyBlock(s, block(12n, [answer(FEED_A, 59_123_45678901n, 2n, T0 + 12n), answer(FEED_B, 7n, 9n, T0)]));
    expect(s.price(0)).toEqual({ answer: 59_123_45678901n, updatedAt: T0 + 12n, roundId: 2n, price: 59_123_45678901n * 10n ** 10n });
    expect(s.feeds.has(FEED_B)).toBe(false);
    // A new feed with 18 decimals and no round yet: the market has no price until its first answer.
    applyBlock(s, block(13n, [{ eventName: "MarketParamsUpdated", args: { marketId: 0n, params: { feed: FEED_B, maxStaleness: 60, tradingFeePpm: 700, lotSize: 1n } } }]));
    expect(s.markets.get(0)).toMatchObject({ feed: FEED_B, feedDecimals: 18, maxStaleness: 60n, tradingFeePpm: 700n, lotSize: 1n });
    expect(s.price(0)).toBeUndefined();
    applyBlock(s, block(14n, [answer(FEED_B, -5n, 1n, T0 + 14n)]));
    expect(s.price(0)).toEqual({ answer: -5n, updatedAt: T0 + 14n, roundId: 1n, price: -5n });
  });

  it("funding follows FundingRateUpdated", () => {
    const s = withMarket();
    applyBlock(s, block(12n, [{ eventName: "FundingRateUpdated", args: { marketId: 0n, rate: -7n, index: 123n, timestamp: T0 + 99n } }]));
    expect(s.markets.get(0)!.funding).toEqual({ index: 123n, ratePerSecond: -7n, lastUpdate: T0 + 99n });
  });

  it("keeps positions in the contract's accountMarkets order (push, swap-and-pop)", () => {
    const s = withMarket();
    applyBlock(s, block(12n, [...addMarket(1n, FEED_A), ...addMarket(2n, FEED_A)]));
    applyBlock(s, block(13n, [collateral(ALICE, 1_000n * WAD), position(ALICE, 0n, WAD), position(ALICE, 1n, -WAD), position(ALICE, 2n, 2n * WAD)]));
    expect(s.account(ALICE)!.positions.map((p) => p.marketId)).toEqual([0, 1, 2]);
    applyBlock(s, block(14n, [position(ALICE, 0n, 0n, 0n), position(ALICE, 1n, -3n * WAD, 5n)]));
    expect(s.account(ALICE)!.positions).toEqual([
      { marketId: 2, size: 2n * WAD, entryPrice: 60_000n * WAD, entryFundingIndex: 0n },
      { marketId: 1, size: -3n * WAD, entryPrice: 5n, entryFundingIndex: 0n },
    ]);
    // Lookups accept any address case (each read is a fresh snapshot of the compact store: equal, not the same object).
    expect(s.account(ALICE.toLowerCase() as Address)).toEqual(s.account(ALICE));
    expect(s.account(ALICE)).toBeDefined();
  });

  it("drops an account with no position and zero collateral, and keeps its cooldown stamp", () => {
    const s = withMarket();
    applyBlock(s, block(12n, [collateral(ALICE, 5n), position(ALICE, 0n, WAD)]));
    applyBlock(s, block(13n, [position(ALICE, 0n, WAD / 2n), liquidated(ALICE, 0n, false, WAD / 2n)]));
    expect(s.account(ALICE)!.lastPartialAt).toBe(T0 + 13n);
    applyBlock(s, block(14n, [position(ALICE, 0n, 0n, 0n), liquidated(ALICE, 0n, true, 0n), collateral(ALICE, 0n)]));
    expect(s.account(ALICE)).toBeUndefined();
    expect(s.accounts.size).toBe(0);
    expect(s.lastPartialAt(ALICE)).toBe(T0 + 13n);
    applyBlock(s, block(15n, [collateral(ALICE, 1n)]));
    expect(s.account(ALICE)).toEqual({ collateral: 1n, lastPartialAt: T0 + 13n, positions: [] });
    // Negative collateral (bad debt before settlement) is non-zero: the account stays.
    applyBlock(s, block(16n, [collateral(BOB, -1n)]));
    expect(s.account(BOB)?.collateral).toBe(-1n);
  });

  it("refuses logs out of (block, logIndex) order", () => {
    const s = withMarket();
    const logs = block(12n, [collateral(ALICE, 1n), collateral(ALICE, 2n)]);
    s.apply(logs[1]!);
    expect(() => s.apply(logs[0]!)).toThrow(IndexStateError);
    expect(() => s.apply(logs[1]!)).toThrow(IndexStateError);
    s.advanceTo(12n);
    expect(() => s.apply(block(12n, [collateral(ALICE, 3n)])[0]!)).toThrow(IndexStateError);
  });

  it("reports what changed, rolled-back entries included", () => {
    const s = withMarket();
    s.takeChanges();
    applyBlock(s, block(12n, [collateral(ALICE, 1n), answer(FEED_A, 1n, 2n, T0)]));
    expect(s.takeChanges()).toEqual({ accounts: new Set([ALICE]), markets: new Set(), prices: new Set([0]), global: false });
    applyBlock(s, block(13n, [global(0), collateral(BOB, 1n), { eventName: "FundingRateUpdated", args: { marketId: 0n, rate: 1n, index: 0n, timestamp: T0 } }]));
    s.rollbackTo(11n);
    expect(s.takeChanges()).toEqual({ accounts: new Set([ALICE, BOB]), markets: new Set([0]), prices: new Set([0]), global: true });
    expect(s.takeChanges()).toEqual({ accounts: new Set(), markets: new Set(), prices: new Set(), global: false });
  });
});

describe("IndexState undo journal", () => {
  it("rolls back to any journaled block exactly, and no further", () => {
    const s = withMarket(3);
    const views = new Map<bigint, ReturnType<typeof view>>([[11n, view(s)]]);
    applyBlock(s, block(12n, [collateral(ALICE, 10n), position(ALICE, 0n, WAD)]));
    views.set(12n, view(s));
    applyBlock(s, block(13n, [answer(FEED_A, 2n, 2n, T0), liquidated(ALICE, 0n, false, WAD)]));
    views.set(13n, view(s));
    s.advanceTo(14n); // an empty block
    views.set(14n, view(s));
    applyBlock(s, block(15n, [position(ALICE, 0n, 0n, 0n), collateral(ALICE, 0n), global(1)]));
    expect(s.floor).toBe(12n);
    expect(() => s.rollbackTo(11n)).toThrow(RollbackTooDeepError);
    s.rollbackTo(14n);
    expect(view(s)).toEqual(views.get(14n));
    s.rollbackTo(12n);
    expect(view(s)).toEqual(views.get(12n));
    expect(s.block).toBe(12n);
    // And the state goes on from there.
    applyBlock(s, block(13n, [collateral(BOB, 1n)]));
    expect(s.account(BOB)?.collateral).toBe(1n);
    expect(s.account(ALICE)?.lastPartialAt).toBe(0n);
  });

  it("rolls back half-applied blocks", () => {
    const s = withMarket();
    const before = view(s);
    s.apply(block(12n, [collateral(ALICE, 1n)])[0]!);
    expect(() => s.rollbackTo(12n)).toThrow(IndexStateError);
    s.rollbackTo(11n);
    expect(view(s)).toEqual(before);
  });

  it("property: after random blocks, rollbackTo(k) equals the state as of block k", () => {
    const accounts = [ALICE, BOB];
    const eventArb: fc.Arbitrary<IndexEvent & { address?: Address }> = fc.oneof(
      fc.record({ a: fc.constantFrom(...accounts), v: fc.bigInt({ min: -5n, max: 5n }) }).map(({ a, v }) => collateral(a, v)),
      fc
        .record({ a: fc.constantFrom(...accounts), m: fc.constantFrom(0n, 1n), size: fc.bigInt({ min: -3n, max: 3n }) })
        .map(({ a, m, size }) => position(a, m, size, size === 0n ? 0n : 7n)),
      fc.record({ a: fc.constantFrom(...accounts), full: fc.boolean() }).map(({ a, full }) => liquidated(a, 0n, full, 1n)),
      fc.bigInt({ min: 1n, max: 9n }).map((x) => answer(FEED_A, x, x, T0 + x)),
      fc.bigInt({ min: 1n, max: 9n }).map((x) => answer(FEED_B, x, x, T0 + x)),
      fc.integer({ min: 0, max: 60 }).map((c) => global(c)),
      fc.bigInt({ min: -9n, max: 9n }).map((r) => ({ eventName: "FundingRateUpdated", args: { marketId: 1n, rate: r, index: r * 3n, timestamp: T0 + 1n } }) as IndexEvent),
      fc.constantFrom(FEED_A, FEED_B).map(
        (feed) => ({ eventName: "MarketParamsUpdated", args: { marketId: 1n, params: { feed, maxStaleness: 9, tradingFeePpm: 1, lotSize: 1n } } }) as IndexEvent,
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.array(eventArb, { maxLength: 5 }), { minLength: 1, maxLength: 12 }), fc.nat(), (blocks, pick) => {
        const s = withMarket(64);
        applyBlock(s, block(12n, addMarket(1n, FEED_A)));
        const views = [view(s)];
        blocks.forEach((events, i) => {
          const n = 13n + BigInt(i);
          if (events.length === 0) s.advanceTo(n);
          else applyBlock(s, block(n, events));
          views.push(view(s));
        });
        const k = pick % views.length;
        const json = JSON.parse(JSON.stringify(s.toJSON()));
        s.rollbackTo(12n + BigInt(k));
        expect(view(s)).toEqual(views[k]);
        // The journal survives a checkpoint round-trip.
        const restored = IndexState.fromJSON(json);
        restored.rollbackTo(12n + BigInt(k));
        expect(view(restored)).toEqual(views[k]);
      }),
      { numRuns: 200 },
    );
  });
});

describe("IndexState checkpoints", () => {
  it("round-trips through JSON text", () => {
    const s = withMarket();
    applyBlock(s, block(12n, [collateral(ALICE, -3n), position(ALICE, 0n, -WAD, 5n, -9n), liquidated(ALICE, 0n, false, -WAD)]));
    const text = JSON.stringify(s.toJSON());
    expect(text).not.toMatch(/\d+n/);
    const restored = IndexState.fromJSON(JSON.parse(text));
    expect(restored.toJSON()).toEqual(s.toJSON());
    expect(restored.account(ALICE)).toEqual(s.account(ALICE));
    expect(restored.prices).toEqual(s.prices);
    expect(restored.block).toBe(12n);
  });

  it("refuses a damaged checkpoint with one clear error", () => {
    const json = withMarket().toJSON();
    expect(() => IndexState.fromJSON({ ...json, block: "12.5" })).toThrow(CheckpointFormatError);
    expect(() => IndexState.fromJSON({ ...json, accounts: [["0xnope", {}]] })).toThrow(/accounts/);
    expect(() => IndexState.fromJSON({ ...json, version: 4 })).toThrow(CheckpointFormatError);
  });

  it("refuses a version 2 checkpoint (one feed per market, no insurance fund): it is rebuilt from the chain", () => {
    const json = withMarket().toJSON();
    expect(() => IndexState.fromJSON({ ...json, version: 2 })).toThrow(IndexStateOutdatedError);
    expect(() => IndexState.fromJSON({ ...json, version: 2 })).toThrow(/version 2 records no index feeds/);
  });

  it("refuses a version 1 checkpoint (feeds without aggregators): it is rebuilt from the chain", () => {
    const json = withMarket().toJSON();
    const v1 = { ...json, version: 1, feeds: json.feeds.map(([a, f]) => [a, { decimals: f.decimals, round: f.round }]) };
    expect(() => IndexState.fromJSON(v1)).toThrow(/version 1 records no feed aggregators/);
  });

  it("refuses to serialise a half-applied block", () => {
    const s = withMarket();
    s.apply(block(12n, [collateral(ALICE, 1n)])[0]!);
    expect(() => s.toJSON()).toThrow(IndexStateError);
  });
});

describe("defect 7: the partials table keeps each cooldown stamp once", () => {
  const partialsOf = (s: IndexState) => s.toJSON().partials;

  it("a live account carries its stamp; only an emptied account's stamp stays in `partials`", () => {
    const s = withMarket();
    for (let i = 0; i < 50; i++) {
      const who = `0x${(i + 1).toString(16).padStart(40, "0")}` as Address;
      applyBlock(s, block(BigInt(12 + 2 * i), [collateral(who, 5n), position(who, 0n, WAD)]));
      applyBlock(s, block(BigInt(13 + 2 * i), [position(who, 0n, WAD / 2n), liquidated(who, 0n, false, WAD / 2n)]));
    }
    expect(s.accounts.size).toBe(50);
    expect(partialsOf(s)).toEqual([]);
    expect(s.lastPartialAt(`0x${(1).toString(16).padStart(40, "0")}` as Address)).toBe(T0 + 13n);

    // ALICE empties: the contract keeps her stamp, and so does the index, once.
    applyBlock(s, block(200n, [collateral(ALICE, 5n), position(ALICE, 0n, WAD)]));
    applyBlock(s, block(201n, [position(ALICE, 0n, WAD / 2n), liquidated(ALICE, 0n, false, WAD / 2n)]));
    applyBlock(s, block(202n, [position(ALICE, 0n, 0n, 0n), liquidated(ALICE, 0n, true, 0n), collateral(ALICE, 0n)]));
    expect(partialsOf(s)).toHaveLength(1);
    expect(s.lastPartialAt(ALICE)).toBe(T0 + 201n);
    // She comes back: the stamp moves into her account again.
    applyBlock(s, block(203n, [collateral(ALICE, 1n)]));
    expect(s.account(ALICE)?.lastPartialAt).toBe(T0 + 201n);
    expect(partialsOf(s)).toEqual([]);
  });

  it("a reorg restores where the stamp was kept", () => {
    const s = withMarket();
    applyBlock(s, block(12n, [collateral(ALICE, 5n), position(ALICE, 0n, WAD)]));
    applyBlock(s, block(13n, [position(ALICE, 0n, WAD / 2n), liquidated(ALICE, 0n, false, WAD / 2n)]));
    const at13 = view(s);
    applyBlock(s, block(14n, [position(ALICE, 0n, 0n, 0n), liquidated(ALICE, 0n, true, 0n), collateral(ALICE, 0n)]));
    const at14 = view(s);
    applyBlock(s, block(15n, [collateral(ALICE, 1n)]));
    s.rollbackTo(14n);
    expect(view(s)).toEqual(at14);
    s.rollbackTo(13n);
    expect(view(s)).toEqual(at13);
    expect(s.account(ALICE)?.lastPartialAt).toBe(T0 + 13n);
  });
});
