/**
 * Properties of the capped margin model (fast-check): the keeper reward stays within its caps, the
 * window is honoured, an account that could open its positions is not liquidable at the same
 * prices, a liquidation conserves skew, open interest and the pool, and the reward an account
 * reserves pays for its whole liquidation, window by window.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ZERO_ADDRESS,
  accountMargins,
  applyLiquidation,
  entriesInWindow,
  keeperReward,
  liquidationCapacity,
  maxLiquidationAmountInWindow,
  maximumRewardCap,
  minimumRewardCap,
  takeCapacity,
  type CappedAccount,
  type CappedMarket,
  type CappedMarketConfig,
  type CappedValuation,
  type KeeperCosts,
  type KeeperRewardGuards,
} from "../../../src/engine/capped/index.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const E18 = 10n ** 18n;
const KEEPER = "0x00000000000000000000000000000000000000a1" as const;
const T0 = 1_700_000_000n;

/** A D18 amount between lo and hi units, with up to `dp` decimals. */
const units = (lo: number, hi: number, dp = 4) =>
  fc.bigInt({ min: BigInt(lo) * 10n ** BigInt(dp), max: BigInt(hi) * 10n ** BigInt(dp) }).map((x) => x * 10n ** BigInt(18 - dp));

const configArb: fc.Arbitrary<CappedMarketConfig> = fc.record({
  skewScale: fc.oneof(units(1, 1_000_000), fc.constant(0n)),
  makerFee: units(0, 1, 5).map((x) => x / 100n),
  takerFee: units(0, 1, 5).map((x) => x / 100n),
  initialMarginRatio: units(0, 3),
  minimumInitialMarginRatio: units(0, 1).map((x) => x / 5n + E18 / 200n),
  // ≤ 1: maintenance never exceeds initial (the contract's setters do not check it; the doc's model assumes it).
  maintenanceMarginScalar: units(0, 1).map((x) => (x === 0n ? 1n : x)),
  flagRewardRatio: units(0, 1, 6).map((x) => x / 50n),
  minimumPositionMargin: units(0, 200),
  maxLiquidationLimitAccumulationMultiplier: units(0, 5),
  maxSecondsInLiquidationWindow: fc.bigInt({ min: 0n, max: 600n }),
  maxLiquidationPd: fc.constant(0n),
  endorsedLiquidator: fc.constant(ZERO_ADDRESS),
  maxMarketSize: fc.constant(10n ** 30n),
});

const guardsArb: fc.Arbitrary<KeeperRewardGuards> = fc.record({
  minKeeperRewardUsd: units(0, 20),
  minKeeperProfitRatio: units(0, 1),
  maxKeeperRewardUsd: units(0, 1_000),
  maxKeeperScalingRatio: units(0, 1),
});

const costsArb: fc.Arbitrary<KeeperCosts> = fc.record({ flag: units(0, 50), liquidate: units(0, 50) });

/** An account with up to four positions, one per market, with their markets and prices. */
const worldArb = fc
  .record({
    positions: fc.array(
      fc.record({
        config: configArb,
        size: units(-5_000, 5_000, 3).filter((s) => s !== 0n),
        entry: units(1, 100_000, 2).filter((p) => p > 0n),
        movePermille: fc.integer({ min: -900, max: 900 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    collateral: units(0, 10_000_000),
    guards: guardsArb,
    costs: costsArb,
  })
  .map(({ positions, collateral, guards, costs }) => {
    const markets: CappedMarket[] = positions.map((p, i) => ({ id: BigInt(i + 1), config: p.config, skew: p.size, size: p.size < 0n ? -p.size : p.size, window: { entries: [], latestTimestamp: 0n } }));
    const prices = new Map(positions.map((p, i) => [BigInt(i + 1), (p.entry * BigInt(1000 + p.movePermille)) / 1000n || 1n] as const));
    const account: CappedAccount = { id: 7n, collateral, flagged: false, positions: positions.map((p, i) => ({ marketId: BigInt(i + 1), size: p.size, latestInteractionPrice: p.entry })) };
    const v: CappedValuation = { markets: new Map(markets.map((m) => [m.id, m])), prices, timestamp: T0, guards, costs };
    return { account, v };
  });

describe("keeper reward", () => {
  test("within its caps: at most min(margin × scaling, maxKeeperRewardUsd), at least the lower of the minimum cap and that", () => {
    fc.assert(
      fc.property(guardsArb, units(0, 1_000), units(0, 100), units(0, 1_000_000), (g, rewards, cost, margin) => {
        const r = keeperReward(g, rewards, cost, margin);
        const hi = maximumRewardCap(g, margin);
        expect(r).toBeLessThanOrEqual(hi);
        expect(hi).toBeLessThanOrEqual(g.maxKeeperRewardUsd);
        if (margin > 0n) expect(r).toBeLessThanOrEqual((margin * g.maxKeeperScalingRatio) / E18);
        const lo = minimumRewardCap(g, cost);
        expect(r).toBeGreaterThanOrEqual(lo < hi ? lo : hi);
        expect(lo).toBeGreaterThanOrEqual(cost + g.minKeeperRewardUsd);
      }),
      { numRuns: RUNS },
    );
  });

  test("a liquidation pays at most maxKeeperRewardUsd, and at most seized × scaling when it flags an account with collateral", () => {
    fc.assert(
      fc.property(worldArb, ({ account, v }) => {
        const r = applyLiquidation({ account, sender: KEEPER, v, book: { flaggedAccounts: [], poolBalance: 10n ** 30n } });
        if (!r.ok) return;
        expect(r.outcome.reward).toBeLessThanOrEqual(v.guards.maxKeeperRewardUsd);
        if (r.outcome.seized > 0n) expect(r.outcome.reward).toBeLessThanOrEqual((r.outcome.seized * v.guards.maxKeeperScalingRatio) / E18);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("the liquidation window", () => {
  test("honoured: at no time do the amounts recorded in the last maxSeconds exceed the window's maximum", () => {
    const stepArb = fc.record({ dt: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 200n })), requested: units(0, 2_000, 3) });
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 40 }), (config, steps) => {
        const maxIn = maxLiquidationAmountInWindow(config);
        let m: Pick<CappedMarket, "config" | "window"> = { config, window: { entries: [], latestTimestamp: 0n } };
        let now = T0;
        for (const s of steps) {
          now += s.dt;
          const before = liquidationCapacity(m, now);
          const take = takeCapacity(m, s.requested, KEEPER, 0n, now);
          if (maxIn === 0n) {
            expect(take).toMatchObject({ amount: s.requested, rule: "unlimited" });
            continue;
          }
          expect(take.amount).toBe(before.capacity < s.requested ? before.capacity : s.requested);
          m = { config, window: take.window };
          const inWindow = entriesInWindow(m.window, config.maxSecondsInLiquidationWindow, now).reduce((a, e) => a + e.amount, 0n);
          expect(inWindow).toBeLessThanOrEqual(maxIn);
          expect(liquidationCapacity(m, now).capacity).toBe(maxIn - inWindow);
        }
        // And over the whole history: every window (t − maxSeconds, t] ending at an entry.
        for (const end of m.window.entries) {
          const sum = m.window.entries.filter((e) => e.timestamp <= end.timestamp && e.timestamp > end.timestamp - config.maxSecondsInLiquidationWindow).reduce((a, e) => a + e.amount, 0n);
          expect(sum).toBeLessThanOrEqual(maxIn);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("the pd bypass gives at most one window's maximum, once per block, only while |skew| / skewScale < maxLiquidationPd", () => {
    fc.assert(
      fc.property(configArb, units(1, 1, 0), units(0, 2_000, 3), units(-20_000, 20_000, 2), (config, pd, requested, skew) => {
        const c = { ...config, maxLiquidationPd: pd / 10n };
        const maxIn = maxLiquidationAmountInWindow(c);
        fc.pre(maxIn > 0n && requested > 0n && c.maxSecondsInLiquidationWindow >= 2n);
        const full: Pick<CappedMarket, "config" | "window"> = { config: c, window: { entries: [{ timestamp: T0 - 1n, amount: maxIn }], latestTimestamp: T0 - 1n } };
        const take = takeCapacity(full, requested, KEEPER, skew, T0);
        const abs = skew < 0n ? -skew : skew;
        const small = (abs * E18) / c.skewScale < c.maxLiquidationPd;
        expect(take.rule).toBe(small ? "pd" : "none");
        expect(take.amount).toBe(small ? (requested < maxIn ? requested : maxIn) : 0n);
        if (small) expect(takeCapacity({ config: c, window: take.window }, requested, KEEPER, skew, T0).amount).toBe(0n);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("eligibility", () => {
  test("an account whose margin covers its initial margin and the largest reward it can reserve is not liquidable", () => {
    fc.assert(
      fc.property(worldArb, units(0, 1_000), ({ account, v }, extra) => {
        const probe = accountMargins(account, v);
        const pnl = probe.positions.reduce((s, p) => s + p.pnl, 0n);
        const windows = probe.maxWindows > 1n ? probe.maxWindows : 1n;
        const collateral = probe.requiredInitialMargin - pnl + v.guards.maxKeeperRewardUsd * windows + extra;
        fc.pre(collateral >= 0n);
        const healthy = { ...account, collateral };
        const m = accountMargins(healthy, v);
        expect(m.availableMargin).toBeGreaterThanOrEqual(m.requiredInitialMargin + m.liquidationReward);
        expect(m.eligible).toBe(false);
        expect(applyLiquidation({ account: healthy, sender: KEEPER, v, book: { flaggedAccounts: [], poolBalance: 10n ** 30n } })).toEqual({
          ok: false,
          refusal: { error: "NotEligibleForLiquidation", accountId: account.id },
        });
      }),
      { numRuns: RUNS },
    );
  });
});

describe("a liquidation", () => {
  test("moves skew and open interest by exactly what it closes, never grows or flips a position, and balances the pool", () => {
    fc.assert(
      fc.property(worldArb, ({ account, v }) => {
        const pool = 10n ** 30n;
        const r = applyLiquidation({ account, sender: KEEPER, v, book: { flaggedAccounts: [3n], poolBalance: pool } });
        expect(r.ok).toBe(accountMargins(account, v).eligible);
        if (!r.ok) return;
        const o = r.outcome;
        expect(o.book.poolBalance).toBe(pool + o.seized - o.reward);
        expect(o.seized).toBe(account.collateral);
        for (const p of account.positions) {
          const reached = o.positions.find((x) => x.marketId === p.marketId)!;
          const after = o.account.positions.find((x) => x.marketId === p.marketId)?.size ?? 0n;
          const absBefore = p.size < 0n ? -p.size : p.size;
          const absAfter = after < 0n ? -after : after;
          expect(absBefore - absAfter).toBe(reached.amount);
          expect(after === 0n || after > 0n === p.size > 0n).toBe(true);
          const mb = v.markets.get(p.marketId)!;
          const ma = o.v.markets.get(p.marketId)!;
          expect(ma.skew - mb.skew).toBe(after - p.size);
          expect(mb.size - ma.size).toBe(reached.amount);
        }
        expect(o.book.flaggedAccounts).toEqual(o.fullLiquidation ? [3n] : [3n, account.id]);
      }),
      { numRuns: RUNS },
    );
  });

  test("with fresh windows and calls a window apart, it takes max(maxWindows, 1) calls, and the reward reserved pays for all of them", () => {
    fc.assert(
      fc.property(worldArb, ({ account, v }) => {
        const reserved = accountMargins(account, v);
        fc.pre(reserved.eligible && reserved.maxWindows <= 40n);
        const spacing = [...v.markets.values()].reduce((s, m) => (m.config.maxSecondsInLiquidationWindow > s ? m.config.maxSecondsInLiquidationWindow : s), 1n);
        let state = { account, v, book: { flaggedAccounts: [] as readonly bigint[], poolBalance: 10n ** 30n } };
        let paid = 0n;
        let calls = 0n;
        for (let t = T0; state.account.positions.length > 0; t += spacing) {
          const r = applyLiquidation({ account: state.account, sender: KEEPER, v: { ...state.v, timestamp: t }, book: state.book });
          if (!r.ok) throw new Error(r.refusal.error);
          state = r.outcome;
          paid += r.outcome.reward;
          calls++;
          expect(calls).toBeLessThanOrEqual(reserved.maxWindows + 1n);
        }
        expect(calls).toBe(reserved.maxWindows > 1n ? reserved.maxWindows : 1n);
        expect(paid).toBeLessThanOrEqual(reserved.liquidationReward);
        // A call that costs nothing and earns no flag reward pays 0, where the reserve still counts the minimum.
        if (v.costs.liquidate > 0n) expect(paid).toBe(reserved.liquidationReward);
      }),
      { numRuns: RUNS },
    );
  });
});
