/**
 * Index mark price parity: a market reading 1–7 feeds (decimals 6, 8, 18) with random answers (some
 * ≤ 0) and ages (fresh, at the staleness edge, one second past it, from the future, long stale),
 * `minSources` and `maxDeviationPpm` drawn at and around their boundaries. Each case is set up on
 * Anvil; at one block the contract's markPrice (or its custom error and arguments) must equal the
 * engine's indexMark over the same answers, and accountHealth of an account with a position in the
 * market the engine's accountHealth (or both refuse, with the same error).
 */
import fc from "fast-check";
import { encodeFunctionData } from "viem";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { feedAnswer } from "../../src/chain/prices.ts";
import { readAccount, readGlobalParams, readMarketStates } from "../../src/chain/reads.ts";
import { PPM, accountHealth, aggregateIndex, initialMargin, isFresh, indexMark, notional, type FeedPrice, type IndexMark } from "../../src/engine/index.ts";
import { expect } from "vitest";
import { OWNER as OWNER_WALLET } from "../support/market.ts";
import { BANKRUPT, DECIMALS, inCase, send, viewOrError, type CaseWorld, type ContractError, type Decimals } from "./caseWorld.ts";
import { healthFields, marketArgs, simpleMarketArb, type SimpleMarket } from "./caseMarkets.ts";

const MAX_UINT32 = 2n ** 32n - 1n;
const ROUND = 1_000n;

type AnswerKind = "ok" | "zero" | "negative";
type FeedCase = { decimals: Decimals; slot: number; kind: AnswerKind; devPpm: bigint; age: bigint };

export type IndexCase = {
  market: SimpleMarket;
  maxStaleness: bigint;
  feeds: FeedCase[];
  minSources: { mode: "fresh" | "fresh+1" | "random"; pick: number };
  deviation: { mode: "exact" | "below" | "random" | "zero" | "max"; pick: bigint };
  price: bigint;
  position: { side: 1n | -1n; lots: bigint; extraPermille: number };
};

const ageArb = (maxStaleness: bigint): fc.Arbitrary<bigint> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: maxStaleness }) },
    { weight: 2, arbitrary: fc.constantFrom(0n, maxStaleness, maxStaleness + 1n) },
    { weight: 1, arbitrary: fc.bigInt({ min: -50n, max: -1n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: maxStaleness + 1n, max: maxStaleness + 1_000_000n }) },
  );

const feedArb = (maxStaleness: bigint): fc.Arbitrary<FeedCase> =>
  fc.record({
    decimals: fc.constantFrom(...DECIMALS),
    slot: fc.nat(),
    kind: fc.oneof({ weight: 8, arbitrary: fc.constant<AnswerKind>("ok") }, { weight: 1, arbitrary: fc.constantFrom<AnswerKind>("zero", "negative") }),
    devPpm: fc.oneof(fc.constant(0n), fc.bigInt({ min: -2_000n, max: 2_000n }), fc.bigInt({ min: -400_000n, max: 400_000n }), fc.constant(-999_999n)),
    age: ageArb(maxStaleness),
  });

export const indexCaseArb: fc.Arbitrary<IndexCase> = fc
  .record({
    maxStaleness: fc.oneof(fc.bigInt({ min: 30n, max: 600n }), fc.bigInt({ min: 30n, max: 200_000n })),
    n: fc.oneof({ weight: 1, arbitrary: fc.constant(1) }, { weight: 8, arbitrary: fc.integer({ min: 2, max: 7 }) }),
  })
  .chain(({ maxStaleness, n }) =>
    fc.record({
      market: simpleMarketArb,
      maxStaleness: fc.constant(maxStaleness),
      feeds: fc.array(feedArb(maxStaleness), { minLength: n, maxLength: n }),
      minSources: fc.record({
        mode: fc.oneof(
          { weight: 3, arbitrary: fc.constant("fresh" as const) },
          { weight: 1, arbitrary: fc.constant("fresh+1" as const) },
          { weight: 2, arbitrary: fc.constant("random" as const) },
        ),
        pick: fc.nat(),
      }),
      deviation: fc.record({
        mode: fc.constantFrom("exact" as const, "below" as const, "random" as const, "zero" as const, "max" as const),
        pick: fc.bigInt({ min: 0n, max: 300_000n }),
      }),
      // Whole micro-dollars, so a 6-decimals feed carries it exactly.
      price: fc.bigInt({ min: 10_000n, max: 100_000_000_000n }).map((micro) => micro * 10n ** 12n),
      position: fc.record({
        side: fc.constantFrom(1n as const, -1n as const),
        lots: fc.oneof(fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 1n, max: 1_000_000n })),
        extraPermille: fc.integer({ min: 0, max: 500 }),
      }),
    }),
  );

/** The raw answer of a feed of the case. */
function rawAnswer(p: IndexCase, f: FeedCase): bigint {
  const base = feedAnswer(p.price, f.decimals);
  if (f.kind === "zero") return 0n;
  if (f.kind === "negative") return -base;
  const a = feedAnswer((p.price * (PPM + f.devPpm)) / PPM, f.decimals);
  return a > 0n ? a : 1n;
}

/** The index rules the case sets, resolved against its own answers (the boundaries need the fresh set). */
function resolveRules(c: IndexCase, answers: readonly FeedPrice[], now: bigint): { minSources: number; maxDeviationPpm: bigint } {
  const n = c.feeds.length;
  const fresh = answers.filter((a) => isFresh(a, now, c.maxStaleness)).map((a) => a.price);
  const k = fresh.length;
  const clamp = (x: number) => Math.max(1, Math.min(n, x));
  const minSources = n === 1 ? 1 : c.minSources.mode === "fresh" ? clamp(k) : c.minSources.mode === "fresh+1" ? clamp(k + 1) : 1 + (c.minSources.pick % n);
  const spread = k >= 2 ? aggregateIndex(fresh).spreadPpm : c.deviation.pick;
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  const maxDeviationPpm = {
    exact: min(spread, MAX_UINT32),
    below: spread > 0n ? min(spread - 1n, MAX_UINT32) : 0n,
    random: c.deviation.pick,
    zero: 0n,
    max: MAX_UINT32,
  }[c.deviation.mode];
  return { minSources, maxDeviationPpm };
}

/** The custom error the contract's _markPrice gives for an engine refusal. */
function expectedError(mark: Extract<IndexMark, { ok: false }>, c: IndexCase, answers: readonly FeedPrice[], raw: readonly bigint[], rules: { minSources: number; maxDeviationPpm: bigint }): ContractError {
  if (c.feeds.length === 1) {
    if (mark.reason === "invalid") return { name: "InvalidPrice", args: [0n, raw[0]!] };
    return { name: "StalePrice", args: [0n, answers[0]!.updatedAt, c.maxStaleness] };
  }
  if (mark.reason === "deviation") return { name: "PriceDeviation", args: [0n, mark.spreadPpm!, rules.maxDeviationPpm] };
  return { name: "TooFewFreshFeeds", args: [0n, BigInt(mark.fresh), BigInt(rules.minSources)] };
}

export type IndexStats = { cases: number; outcomes: Record<string, number>; boundary: Record<string, number> };

export function newIndexStats(): IndexStats {
  return { cases: 0, outcomes: {}, boundary: {} };
}

const bump = (r: Record<string, number>, k: string) => void (r[k] = (r[k] ?? 0) + 1);

/** Set the case up on chain, then compare markPrice and accountHealth with the engine at one block. */
export async function runIndexCase(w: CaseWorld, c: IndexCase, stats: IndexStats): Promise<void> {
  stats.cases++;
  await inCase(w, async () => {
    const chain = w.chain;
    const trader = w.address(BANKRUPT);
    // Distinct feeds: the slot picks one of the seven of its decimals not yet taken.
    const used = new Set<string>();
    const feeds = c.feeds.map((f) => {
      const pool = w.feeds[f.decimals];
      for (let i = 0; ; i++) {
        const feed = pool[(f.slot + i) % pool.length]!;
        if (!used.has(feed.proxy)) return used.add(feed.proxy), feed;
      }
    });
    const first = feeds[0]!;
    const t0 = (await chain.publicClient.getBlock()).timestamp;
    const now = t0 + 1_000n; // the block every figure is read at; the set-up takes far fewer blocks

    await send(w, OWNER_WALLET, w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "addMarket", args: marketArgs(c.market, first.proxy, c.maxStaleness) }));
    await send(w, OWNER_WALLET, first.aggregator, encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(c.price, first.decimals)] }));
    const size = c.position.lots * c.market.lotSize;
    const n = notional(size, c.price);
    const need = initialMargin(c.market.tiers, n) + (n * c.market.tradingFeePpm) / PPM + 1n;
    const tokens = (need + (need * BigInt(c.position.extraPermille)) / 1000n) / 10n ** 12n + 1n;
    await send(w, BANKRUPT, w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "deposit", args: [trader, tokens] }));
    await send(w, BANKRUPT, w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "trade", args: [0n, c.position.side * size] }));

    const raw = c.feeds.map((f) => rawAnswer(c, f));
    const answers: FeedPrice[] = c.feeds.map((f, i) => ({ price: raw[i]! * 10n ** BigInt(18 - f.decimals), updatedAt: now - f.age }));
    const rules = resolveRules(c, answers, now);
    await send(w, OWNER_WALLET, w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "setIndexFeeds", args: [0n, feeds.map((f) => f.proxy), rules.minSources, Number(rules.maxDeviationPpm)] }));
    for (const [i, f] of feeds.entries()) {
      const updatedAt = answers[i]!.updatedAt;
      await send(w, OWNER_WALLET, f.aggregator, encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateRoundData", args: [ROUND, raw[i]!, updatedAt, updatedAt] }));
    }
    const latest = await chain.publicClient.getBlock();
    expect(latest.timestamp < now, "the set-up outran the case's read time").toBe(true);
    await chain.testClient.setNextBlockTimestamp({ timestamp: now });
    await chain.testClient.mine({ blocks: 1 });
    const blockNumber = latest.number + 1n;
    const at = { blockNumber };
    const read = chain.publicClient;

    const [onchainMark, onchainHealth, ix] = await Promise.all([
      viewOrError(() => read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "markPrice", args: [0n], ...at })),
      viewOrError(() => read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "accountHealth", args: [trader], ...at })),
      read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "indexFeeds", args: [0n], ...at }),
    ]);
    expect(ix).toEqual([feeds.map((f) => f.proxy), rules.minSources, Number(rules.maxDeviationPpm)]);

    const mark = indexMark(answers, { maxStaleness: c.maxStaleness, ...rules }, now);
    if (!mark.ok) {
      const error = expectedError(mark, c, answers, raw, rules);
      bump(stats.outcomes, error.name);
      if (c.deviation.mode === "below" && mark.reason === "deviation") bump(stats.boundary, "deviation one below the spread: refused");
      expect(onchainMark).toEqual({ ok: false, error });
      expect(onchainHealth, "accountHealth refuses as markPrice does").toEqual({ ok: false, error });
      return;
    }
    bump(stats.outcomes, feeds.length === 1 ? "ok (one feed)" : `ok (${mark.fresh} of ${feeds.length} fresh)`);
    if (c.deviation.mode === "exact" && mark.fresh >= 2) bump(stats.boundary, "deviation at the spread: accepted");
    if (mark.fresh === rules.minSources && feeds.length > 1) bump(stats.boundary, "fresh = minSources: accepted");
    if (answers.some((a) => a.updatedAt === now - c.maxStaleness && a.price > 0n)) bump(stats.boundary, "a feed exactly maxStaleness old: fresh");
    expect(onchainMark).toEqual({ ok: true, value: mark.price });

    const [markets, global, account] = await Promise.all([readMarketStates(chain, w.market, at), readGlobalParams(chain, w.market, at), readAccount(chain, w.market, trader, at)]);
    const h = accountHealth(account, { markets, prices: new Map([[0, mark.price]]), timestamp: now, global });
    expect(onchainHealth.ok).toBe(true);
    if (onchainHealth.ok) expect(healthFields(onchainHealth.value)).toEqual(healthFields(h));
    expect(h.positions[0]!.price).toBe(mark.price);
  });
}
