/**
 * Differential parity between the TypeScript engine and the Solidity market.
 *
 * fast-check generates market parameters (tier tables, penalties, buffers, caps, thresholds, dust,
 * lots, cooldowns, backstops), an account with 1–4 positions on both sides at leverages up to the
 * tier maximum, funding, and price moves. Each case is set up for real on Anvil (snapshot/revert),
 * then every figure the engine computes is compared with the contract's views, and each
 * liquidation step's outcome (collateral, positions, cooldown stamp, pool, insurance fund, bad
 * debt, keeper tokens, revert reason) with the chain's state after executing it: equal to the wei.
 */
import fc from "fast-check";
import {
  BaseError,
  ContractFunctionRevertedError,
  type Address,
  type Hex,
} from "viem";
import { expect } from "vitest";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { feedAnswer, publisherOf } from "../../src/chain/prices.ts";
import { readAccount, readValuation } from "../../src/chain/reads.ts";
import {
  PPM,
  WAD,
  abs,
  accountHealth,
  applyLiquidation,
  fundingIndexAt,
  initialMargin,
  maxLiquidatable,
  notional,
  penalty,
  splitPenalty,
  validateMarketRules,
  type Account,
  type LiquidationParams,
  type Tier,
  type Valuation,
} from "../../src/engine/index.ts";
import { revertSnapshot, takeSnapshot, type TestChain } from "../support/anvil.ts";
import { mined, receiptOf } from "../support/blocks.ts";
import { test, type World as SharedWorld } from "../support/fixtures.ts";
import { OWNER, deployFeed, fund } from "../support/market.ts";

const FEED_DECIMALS = [18, 8, 18, 6] as const;
const MAX_UINT256 = 2n ** 256n - 1n;
const GAS = 3_000_000n;

type MarketCase = {
  tiers: Tier[];
  liq: LiquidationParams;
  lotSize: bigint;
  tradingFeePpm: bigint;
  /** Funding per second as parts per billion of the entry price (±100 ppb/s ≈ ±0.86% a day). */
  fundingPpb: bigint;
};

/** `adversePermille`: how far the price moves against the position (negative: in its favour). */
type PositionCase = { side: 1n | -1n; lots: bigint; entry: bigint; adversePermille: number };

type Case = {
  markets: MarketCase[];
  positions: PositionCase[];
  global: { cooldown: bigint; backstopPpm: bigint; keeperSharePpm: bigint };
  extraMarginPermille: number;
  insuranceTokens: bigint;
  elapsed: bigint;
  steps: { pick: number; partialLots: number; overshoot: boolean; warp: bigint }[];
};

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/** A valid tier table: floors increasing from 0, rates increasing, leverage non-increasing. */
const tiersArb: fc.Arbitrary<Tier[]> = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    floors: fc.uniqueArray(fc.bigInt({ min: 1n, max: 5_000_000n }), { minLength: 3, maxLength: 3 }),
    floorWei: fc.bigInt({ min: 0n, max: WAD - 1n }),
    mmr0: fc.integer({ min: 1_000, max: 50_000 }),
    steps: fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 3, maxLength: 3 }),
    levCut: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 4, maxLength: 4 }), // percent
  })
  .map(({ n, floors, floorWei, mmr0, steps, levCut }) => {
    const sorted = [...floors].sort((a, b) => (a < b ? -1 : 1)).slice(0, n - 1);
    const tiers: Tier[] = [];
    let mmr = BigInt(mmr0);
    let lev = 10_000n;
    for (let i = 0; i < n; i++) {
      if (i > 0) mmr += BigInt(steps[i - 1]!);
      const maxLev = (PPM - 1n) / mmr;
      const cap = [lev, maxLev, 200n].reduce((a, b) => (a < b ? a : b));
      lev = cap - (cap * BigInt(levCut[i]!)) / 100n;
      if (lev < 1n) lev = 1n;
      const floor = i === 0 ? 0n : sorted[i - 1]! * WAD + (i === 1 ? floorWei : 0n);
      tiers.push({ floor, mmrPpm: mmr, maxLeverage: lev });
    }
    return tiers;
  });

const marketArb: fc.Arbitrary<MarketCase> = fc
  .record({
    tiers: tiersArb,
    buffer: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 20_000n })),
    penaltyFrac: fc.integer({ min: 0, max: 999 }),
    maxStep: fc.oneof(fc.constant(PPM), fc.bigInt({ min: 1n, max: PPM })),
    tierStepDown: fc.boolean(),
    threshold: fc.oneof(fc.constant(0n), fc.constant(MAX_UINT256), fc.bigInt({ min: 0n, max: 2_000_000n * WAD })),
    dust: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1_000n * WAD })),
    lotExp: fc.integer({ min: 12, max: 18 }),
    tradingFeePpm: fc.bigInt({ min: 0n, max: 1_000n }),
    fundingPpb: fc.oneof(fc.constant(0n), fc.bigInt({ min: -100n, max: 100n })),
  })
  .map((r) => {
    const maxPenalty = r.tiers[0]!.mmrPpm + r.buffer - 1n;
    return {
      tiers: r.tiers,
      liq: {
        penaltyPpm: (maxPenalty * BigInt(r.penaltyFrac)) / 999n,
        targetBufferPpm: r.buffer,
        maxStepPpm: r.maxStep,
        tierStepDown: r.tierStepDown,
        partialThreshold: r.threshold,
        dustNotional: r.dust,
        adlEnabled: false,
      },
      lotSize: 10n ** BigInt(r.lotExp),
      tradingFeePpm: r.tradingFeePpm,
      fundingPpb: r.fundingPpb,
    };
  });

const positionArb: fc.Arbitrary<PositionCase> = fc.record({
  side: fc.constantFrom(1n as const, -1n as const),
  lots: fc.oneof(fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 1n, max: 5_000_000n })),
  // Entry price in whole micro-dollars so every feed's decimals can represent it.
  entry: fc.bigInt({ min: 10_000n, max: 100_000_000_000n }).map((micro) => micro * 10n ** 12n),
  // Mostly against the position, enough to cross maintenance at high leverage; sometimes far.
  adversePermille: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: -20, max: 60 }) },
    { weight: 1, arbitrary: fc.integer({ min: -300, max: 500 }) },
  ),
});

export const caseArb: fc.Arbitrary<Case> = fc
  .integer({ min: 1, max: 4 })
  .chain((n) =>
    fc.record({
      markets: fc.array(marketArb, { minLength: n, maxLength: n }),
      positions: fc.array(positionArb, { minLength: n, maxLength: n }),
      global: fc.record({
        cooldown: fc.bigInt({ min: 0n, max: 120n }),
        backstopPpm: fc.oneof(fc.constant(0n), fc.constant(666_667n), fc.bigInt({ min: 0n, max: PPM })),
        keeperSharePpm: fc.bigInt({ min: 0n, max: PPM }),
      }),
      extraMarginPermille: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 50 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
      ),
      insuranceTokens: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 100_000n * 10n ** 6n })),
      elapsed: fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 86_400n })),
      steps: fc.array(
        fc.record({
          pick: fc.nat(),
          partialLots: fc.integer({ min: 0, max: 3 }),
          overshoot: fc.boolean(),
          warp: fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 200n })),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  )
  .filter((c) => c.markets.every((m) => validateMarketRules(m.tiers, m.liq).length === 0));

// ---------------------------------------------------------------------------------------------
// Chain set-up
// ---------------------------------------------------------------------------------------------

/**
 * The shared world's market, deployed for the cases: no market of its own (each case adds its
 * markets, ids from 0), no insurance fund, a pool of 10^18 tokens.
 */
const PARITY_DEPLOYMENT = { markets: [], poolTokens: 10n ** 18n, insuranceTokens: 0n };

type World = {
  chain: TestChain;
  market: Address;
  token: Address;
  /** One feed (a Chainlink proxy) per case market, of FEED_DECIMALS. */
  feeds: Address[];
  /** Each feed's aggregator, where its prices are published. */
  aggregators: Address[];
  trader: Address;
  keeper: Address;
  /** The snapshot every case starts from. */
  base: Hex;
};

/** Four feeds, and the owner and the trader funded and approved without limit (for the cases' deposits and insurance). */
async function setupCases(w: SharedWorld): Promise<Omit<World, "base">> {
  const feeds: Address[] = [];
  for (const d of FEED_DECIMALS) feeds.push(await deployFeed(w.chain, d, WAD, "parity"));
  const aggregators = await Promise.all(feeds.map((f) => publisherOf(w.chain, f)));
  const huge = 10n ** 30n;
  for (const i of [OWNER, 1]) await fund(w, i, huge);
  return {
    chain: w.chain,
    market: w.deployment.contracts.market,
    token: w.deployment.contracts.token,
    feeds,
    aggregators,
    trader: w.chain.wallet(1).account.address,
    keeper: w.chain.wallet(2).account.address,
  };
}

/** Exit price: entry moved against the position, rounded to what the feed can represent. */
function exitPrice(p: PositionCase, decimals: number): bigint {
  const unit = 10n ** BigInt(18 - decimals);
  const raw = (p.entry * (1000n - p.side * BigInt(p.adversePermille))) / 1000n;
  const rounded = (raw / unit) * unit;
  return rounded > 0n ? rounded : unit;
}

function revertName(e: unknown): string | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  return r instanceof ContractFunctionRevertedError ? r.data?.errorName : undefined;
}

// ---------------------------------------------------------------------------------------------
// One case
// ---------------------------------------------------------------------------------------------

export type CaseStats = { cases: number; liquidatable: number; steps: number; partial: number; full: number; refused: number; badDebt: number };

export function newStats(): CaseStats {
  return { cases: 0, liquidatable: 0, steps: 0, partial: 0, full: 0, refused: 0, badDebt: 0 };
}

/** Compare every engine figure with the contract's views at the latest block. */
async function compareViews(w: World, account: Account, v: Valuation, block: bigint): Promise<void> {
  const read = w.chain.publicClient;
  const at = { blockNumber: block };
  const h = accountHealth(account, v);
  const [ch, values] = await Promise.all([
    read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "accountHealth", args: [w.trader], ...at }),
    read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "positionValues", args: [w.trader], ...at }),
  ]);
  expect({
    collateral: ch.collateral,
    equity: ch.equity,
    maintenance: ch.maintenance,
    initial: ch.initial,
    target: ch.target,
    liquidatable: ch.liquidatable,
    backstop: ch.backstop,
    cooldownEndsAt: ch.cooldownEndsAt,
  }).toEqual({
    collateral: h.collateral,
    equity: h.equity,
    maintenance: h.maintenance,
    initial: h.initial,
    target: h.target,
    liquidatable: h.liquidatable,
    backstop: h.backstop,
    cooldownEndsAt: h.cooldownEndsAt,
  });
  const byMarket = new Map(values.map((x) => [Number(x.marketId), x]));
  for (const p of h.positions) {
    const c = byMarket.get(p.marketId)!;
    expect({
      price: c.price,
      notional: c.notional,
      pnl: c.pnl,
      funding: c.funding,
      maintenance: c.maintenance,
      initial: c.initial,
      target: c.target,
    }).toEqual({
      price: p.price,
      notional: p.notional,
      pnl: p.pnl,
      funding: p.funding,
      maintenance: p.maintenance,
      initial: p.initial,
      target: p.target,
    });
  }
  expect(values.length).toBe(h.positions.length);
  for (const id of v.markets.keys()) {
    const [onchainMax, onchainIndex] = await Promise.all([
      read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [w.trader, BigInt(id)], ...at }),
      read.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "fundingIndexNow", args: [BigInt(id)], ...at }),
    ]);
    const engineMax = maxLiquidatable(account, id, v, h);
    expect(onchainMax, `maxLiquidatable market ${id}`).toBe(engineMax);
    expect(onchainIndex).toBe(fundingIndexAt(v.markets.get(id)!.funding, v.timestamp));
    if (engineMax > 0n) {
      const m = v.markets.get(id)!;
      const [pen, reward, ins] = await read.readContract({
        address: w.market,
        abi: PerpMarket.abi,
        functionName: "quoteLiquidation",
        args: [w.trader, BigInt(id), engineMax],
        ...at,
      });
      const enginePen = penalty(notional(engineMax, v.prices.get(id)!), m.liquidation.penaltyPpm, h.equity);
      const split = splitPenalty(enginePen, v.global.keeperSharePpm);
      expect([pen, reward, ins]).toEqual([enginePen, split.keeperTokens, split.insuranceWad]);
    }
  }
}

type Totals = { insuranceFund: bigint; badDebt: bigint; poolBalance: bigint; keeperTokens: bigint; tokensHeld: bigint; totalCollateral: bigint };

async function totals(w: World): Promise<Totals> {
  const read = w.chain.publicClient;
  const c = { address: w.market, abi: PerpMarket.abi } as const;
  const [insuranceFund, badDebt, poolBalance, totalCollateral, keeperTokens, tokensHeld] = await Promise.all([
    read.readContract({ ...c, functionName: "insuranceFund" }),
    read.readContract({ ...c, functionName: "badDebt" }),
    read.readContract({ ...c, functionName: "poolBalance" }),
    read.readContract({ ...c, functionName: "totalCollateral" }),
    read.readContract({ address: w.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [w.keeper] }),
    read.readContract({ address: w.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [w.market] }),
  ]);
  return { insuranceFund, badDebt, poolBalance, keeperTokens, tokensHeld, totalCollateral };
}

/** Set the case up on chain, compare views, run the liquidation steps, compare outcomes. */
export async function runCase(w: World, c: Case, stats: CaseStats): Promise<void> {
  const chain = w.chain;
  const owner = chain.wallet(0);
  const trader = chain.wallet(1);
  const keeper = chain.wallet(2);
  const send = (hash: Promise<Hex>) => mined(chain, hash);
  const mk = { address: w.market, abi: PerpMarket.abi, gas: GAS } as const;
  stats.cases++;
  try {
    await send(owner.writeContract({ ...mk, functionName: "setGlobalLiquidationParams", args: [{
      cooldown: Number(c.global.cooldown),
      backstopPpm: Number(c.global.backstopPpm),
      keeperSharePpm: Number(c.global.keeperSharePpm),
    }] }));
    if (c.insuranceTokens > 0n) await send(owner.writeContract({ ...mk, functionName: "fundInsurance", args: [c.insuranceTokens] }));

    // Markets, entry prices, and the collateral that the positions need (IM + fees + extra).
    let need = 0n;
    for (const [i, m] of c.markets.entries()) {
      const p = c.positions[i]!;
      const dec = FEED_DECIMALS[i]!;
      await send(owner.writeContract({ address: w.aggregators[i]!, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(p.entry, dec)], gas: GAS }));
      await send(owner.writeContract({ ...mk, functionName: "addMarket", args: [
        { feed: w.feeds[i]!, maxStaleness: 200_000, tradingFeePpm: Number(m.tradingFeePpm), lotSize: m.lotSize },
        {
          penaltyPpm: Number(m.liq.penaltyPpm),
          targetBufferPpm: Number(m.liq.targetBufferPpm),
          maxStepPpm: Number(m.liq.maxStepPpm),
          tierStepDown: m.liq.tierStepDown,
          partialThreshold: m.liq.partialThreshold,
          dustNotional: m.liq.dustNotional,
          adlEnabled: m.liq.adlEnabled,
        },
        m.tiers.map((t) => ({ floor: t.floor, mmrPpm: Number(t.mmrPpm), maxLeverage: Number(t.maxLeverage) })),
      ] }));
      const n = notional(p.lots * m.lotSize, p.entry);
      need += initialMargin(m.tiers, n) + (n * m.tradingFeePpm) / PPM + 1n;
    }
    need += (need * BigInt(c.extraMarginPermille)) / 1000n;
    const tokens = need / 10n ** 12n + 1n;
    await send(trader.writeContract({ ...mk, functionName: "deposit", args: [w.trader, tokens] }));
    for (const [i, m] of c.markets.entries()) {
      const p = c.positions[i]!;
      await send(trader.writeContract({ ...mk, functionName: "trade", args: [BigInt(i), p.side * p.lots * m.lotSize] }));
    }
    // Funding starts once every position is open, so it cannot starve the set-up of margin.
    for (const [i, m] of c.markets.entries()) {
      const rate = (c.positions[i]!.entry * m.fundingPpb) / 1_000_000_000n;
      if (rate !== 0n) await send(owner.writeContract({ ...mk, functionName: "setFundingRate", args: [BigInt(i), rate] }));
    }

    // Time passes; prices move.
    const t0 = (await chain.publicClient.getBlock()).timestamp;
    await chain.testClient.setNextBlockTimestamp({ timestamp: t0 + c.elapsed });
    for (const [i, p] of c.positions.entries()) {
      const dec = FEED_DECIMALS[i]!;
      await send(owner.writeContract({ address: w.aggregators[i]!, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(exitPrice(p, dec), dec)], gas: GAS }));
    }

    let liquidatableSeen = false;
    for (const step of c.steps) {
      const block = await chain.publicClient.getBlockNumber();
      const v = await readValuation(chain, w.market, { blockNumber: block });
      const account = await readAccount(chain, w.market, w.trader, { blockNumber: block });
      await compareViews(w, account, v, block);
      const h = accountHealth(account, v);
      if (!h.liquidatable) break;
      liquidatableSeen = true;

      // The step executes in the next block, one `warp` later: value it at that timestamp.
      const ts = v.timestamp + step.warp;
      const vNext: Valuation = { ...v, timestamp: ts };
      const positions = accountHealth(account, vNext).positions;
      const target = positions[step.pick % positions.length]!;
      const maxNow = maxLiquidatable(account, target.marketId, vNext);
      const lot = v.markets.get(target.marketId)!.lotSize;
      let size = maxNow;
      if (step.overshoot) size = maxNow + lot;
      else if (step.partialLots > 0 && maxNow > BigInt(step.partialLots) * lot) size = maxNow - BigInt(step.partialLots) * lot;
      if (size === 0n) size = lot;
      const predicted = applyLiquidation(account, target.marketId, size, vNext, (await totals(w)).insuranceFund);
      const before = await totals(w);
      await chain.testClient.setNextBlockTimestamp({ timestamp: ts });
      let hash: Hex | undefined;
      let reverted: string | undefined;
      try {
        await chain.publicClient.simulateContract({
          ...mk,
          account: keeper.account,
          functionName: "liquidate",
          args: [w.trader, BigInt(target.marketId), size],
          blockOverrides: { time: ts },
        });
        hash = await keeper.writeContract({ ...mk, functionName: "liquidate", args: [w.trader, BigInt(target.marketId), size] });
      } catch (e) {
        reverted = revertName(e);
        if (reverted === undefined) throw e;
      }
      stats.steps++;
      if (!predicted.ok) {
        stats.refused++;
        expect(reverted, `engine predicted ${predicted.refusal.error}`).toBe(predicted.refusal.error);
        await chain.testClient.mine({ blocks: 1 });
        continue;
      }
      expect(reverted, "engine predicted success").toBeUndefined();
      const receipt = await receiptOf(chain, hash!);
      expect(receipt.status).toBe("success");
      const o = predicted.outcome;
      if (o.full) stats.full++;
      else stats.partial++;
      if (o.badDebt.uncovered > 0n || o.badDebt.covered > 0n) stats.badDebt++;
      const after = await totals(w);
      const acctAfter = await readAccount(chain, w.market, w.trader);
      expect(acctAfter.collateral).toBe(o.account.collateral);
      expect(acctAfter.lastPartialAt).toBe(o.account.lastPartialAt);
      const sortById = (xs: readonly { marketId: number }[]) => [...xs].sort((a, b) => a.marketId - b.marketId);
      expect(sortById(acctAfter.positions)).toEqual(sortById(o.account.positions));
      expect(after.insuranceFund).toBe(before.insuranceFund + o.insuranceShare - o.badDebt.covered);
      expect(after.badDebt).toBe(before.badDebt + o.badDebt.uncovered);
      expect(after.poolBalance).toBe(before.poolBalance + o.poolDelta);
      expect(after.keeperTokens - before.keeperTokens).toBe(o.keeperTokens);
      expect(after.tokensHeld * 10n ** 12n).toBe(after.totalCollateral + after.poolBalance + after.insuranceFund - after.badDebt);
      expect(abs(o.remainingSize)).toBe(abs(target.size) - size);
    }
    if (liquidatableSeen) stats.liquidatable++;
  } finally {
    await revertSnapshot(w.base);
    w.base = await takeSnapshot();
  }
}

/**
 * Register part `part` of `parts` of the parity suite (each part is its own test file, so the parts
 * run in parallel workers). Default: 1,000 cases in all; PARITY_RUNS=100000 for the long run.
 */
export function defineParityTest(part: number, parts = 2): void {
  const total = Number(process.env.PARITY_RUNS ?? 1000);
  const runs = Math.ceil(total / parts);
  const seed = Number(process.env.PARITY_SEED ?? 20261121) + part;
  let cases: Omit<World, "base">;
  test.override({ deploy: PARITY_DEPLOYMENT });
  test.beforeAll(async ({ world }) => {
    cases = await setupCases(world);
  });
  test(`engine equals contract to the wei on ${runs} generated cases (part ${part})`, { timeout: Math.max(600_000, runs * 2_000) }, async () => {
    // Taken inside the test, after its own snapshot: a case's revert to it leaves that one valid.
    const world: World = { ...cases, base: await takeSnapshot() };
    const stats = newStats();
    await fc.assert(fc.asyncProperty(caseArb, (c) => runCase(world, c, stats)), { numRuns: runs, seed, endOnFailure: false });
    console.info(`parity part ${part}: ${JSON.stringify(stats)}`);
    // The generator must actually reach liquidations, partial and full steps, and refusals.
    expect(stats.liquidatable).toBeGreaterThan(runs / 5);
    expect(stats.partial).toBeGreaterThan(0);
    expect(stats.full).toBeGreaterThan(0);
    expect(stats.refused).toBeGreaterThan(0);
  });
}
