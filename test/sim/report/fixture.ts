import { Decimal } from "decimal.js";
import type { BlockRow, KeeperRow, LabReport, LiquidationRow, MarketBlockRow, RunReport } from "../../../src/sim/report/types.ts";
import { REPORT_VERSION } from "../../../src/sim/report/types.ts";
import { seedEntry, seedRun } from "../../../src/sim/distribution.ts";
import { tierStatistic, type TierGroup } from "../../../src/sim/report/tiersSpanned.ts";
import { mulberry32 } from "../../support/random.ts";

/**
 * A plausible LabReport for the renderer's tests, built by a toy crash simulation: deterministic
 * (seeded), internally consistent (per-block rows, events, totals and worst figures agree), and
 * different enough between presets to make the charts and the table worth looking at.
 * It is not the protocol's arithmetic: the real simulator replaces it in an integration test.
 */

export type FixtureOptions = {
  presets?: readonly string[];
  blocks?: number;
  traders?: number;
  seed?: number;
  /** Give BTC an impact model: each run's BTC price is the path moved by its liquidations, and the run has a cascade section. */
  impact?: boolean;
};

type Policy = {
  penalty: number;
  targetBuffer: number;
  maxStep: number;
  /** Notional (USD) above which a liquidation may be partial; Infinity: always full. */
  partialThreshold: number;
  cooldownBlocks: number;
  tierStepDown: boolean;
  /** Full close when equity falls below this fraction of maintenance. */
  backstop: number;
  keeperShare: number;
};

const POLICIES: Record<string, Policy> = {
  reference: { penalty: 0.005, targetBuffer: 0.005, maxStep: 1, partialThreshold: 0, cooldownBlocks: 0, tierStepDown: false, backstop: 0, keeperShare: 0.5 },
  hyperliquid: { penalty: 0.0025, targetBuffer: 0.0025, maxStep: 0.2, partialThreshold: 100_000, cooldownBlocks: 15, tierStepDown: false, backstop: 2 / 3, keeperShare: 0.5 },
  binance: { penalty: 0.0035, targetBuffer: 0.001, maxStep: 1, partialThreshold: 250_000, cooldownBlocks: 0, tierStepDown: false, backstop: 0, keeperShare: 0.4 },
  bybit: { penalty: 0.003, targetBuffer: 0, maxStep: 1, partialThreshold: 0, cooldownBlocks: 0, tierStepDown: true, backstop: 0, keeperShare: 0.4 },
  okx: { penalty: 0.003, targetBuffer: 0.001, maxStep: 1, partialThreshold: 0, cooldownBlocks: 0, tierStepDown: true, backstop: 0, keeperShare: 0.4 },
  bitmex: { penalty: 0.003, targetBuffer: 0, maxStep: 1, partialThreshold: Infinity, cooldownBlocks: 0, tierStepDown: false, backstop: 0, keeperShare: 0.3 },
  deribit: { penalty: 0.0035, targetBuffer: 0, maxStep: 1, partialThreshold: Infinity, cooldownBlocks: 0, tierStepDown: false, backstop: 0, keeperShare: 0.2 },
};

const MARKETS = [
  { name: "BTC", start: 60_000, drop: 0.1, dp: 2 },
  { name: "ETH", start: 3_000, drop: 0.13, dp: 2 },
  { name: "SOL", start: 150, drop: 0.17, dp: 4 },
] as const;

const BLOCK_TIME = 2;
const START_BLOCK = 120;
const INSURANCE_START = 150_000;
const GAS_USD = 0.42;

function hex(rand: () => number, chars: number): string {
  let s = "0x";
  for (let i = 0; i < chars; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

const usd = (x: number) => x.toFixed(6);
const sum = (xs: readonly string[]) => xs.reduce((a, x) => a.plus(x), new Decimal(0)).toFixed(6);

function mmRate(notional: number): number {
  return notional < 100_000 ? 0.005 : notional < 500_000 ? 0.01 : 0.02;
}

/** The fixture's tier table (0, 100k, 500k) as tiers spanned. */
function tiersOf(notional: number): TierGroup {
  return notional < 100_000 ? "1" : notional < 500_000 ? "2" : "3+";
}

/** The lower edge of the next tier down, for tier step-down. */
function tierFloor(notional: number): number {
  return notional >= 500_000 ? 499_999 : notional >= 100_000 ? 99_999 : 0;
}

/** Price paths: calm, a slide, a gap at 40% of the run, more slide, a partial rebound. */
function pricePaths(blocks: number, rand: () => number): number[][] {
  return MARKETS.map((m) => {
    const out: number[] = [];
    let p = m.start;
    const slideStart = Math.floor(blocks * 0.1);
    const gap = Math.floor(blocks * 0.4);
    const slideEnd = Math.floor(blocks * 0.55);
    const perBlock = (m.drop * 0.7) / Math.max(1, slideEnd - slideStart);
    for (let i = 0; i < blocks; i++) {
      const noise = (rand() - 0.5) * 0.003;
      let step = noise;
      if (i >= slideStart && i < slideEnd) step -= perBlock;
      if (i === gap) step -= m.drop * 0.2;
      if (i >= slideEnd) step += 0.0012;
      p = p * (1 + step);
      out.push(Number(p.toFixed(m.dp)));
    }
    return out;
  });
}

type Trader = {
  address: string;
  market: number;
  sign: 1 | -1;
  size: number;
  entry: number;
  collateral: number;
};

function traders(count: number, rand: () => number): Trader[] {
  return Array.from({ length: count }, (_, i) => {
    const market = i % MARKETS.length;
    const start = MARKETS[market]!.start;
    const notional = Math.exp(Math.log(8_000) + rand() * (Math.log(900_000) - Math.log(8_000)));
    const leverage = 2 + rand() * 18;
    return {
      address: hex(rand, 40),
      market,
      sign: rand() < 0.82 ? 1 : -1,
      size: Number((notional / start).toFixed(4)),
      entry: start,
      collateral: notional / leverage,
    };
  });
}

const DESCRIPTIONS: Record<string, string> = {
  reference: "the reference market's worked example: restore MM + 0.5% buffer, no step cap, 0.5% penalty.",
  hyperliquid: "Positions above 100k notional are liquidated in 20% steps with a 30 s cooldown.",
  binance: "Large positions are reduced partially, smaller ones closed in full.",
  bybit: "A liquidation first steps the position down one risk-limit tier.",
  okx: "Tier step-down like Bybit, with a small buffer above maintenance.",
  bitmex: "Full liquidation only.",
  deribit: "Full liquidation only, with a larger penalty to the insurance fund.",
};

function summary(preset: string, p: Policy): Record<string, string> {
  const pct = (x: number) => `${Number((x * 100).toFixed(4))}%`;
  return {
    description: DESCRIPTIONS[preset] ?? "A preset of its own.",
    penalty: pct(p.penalty),
    targetBuffer: pct(p.targetBuffer),
    maxStep: pct(p.maxStep),
    partialThreshold: p.partialThreshold === Infinity ? "none" : String(p.partialThreshold),
    tierStepDown: String(p.tierStepDown),
    cooldown: `${p.cooldownBlocks * BLOCK_TIME}s`,
    keeperShare: pct(p.keeperShare),
  };
}

function simulateRun(preset: string, runIndex: number, prices: number[][], population: readonly Trader[], seed: number): RunReport {
  const policy = POLICIES[preset] ?? POLICIES.reference!;
  const rand = mulberry32(seed * 7919 + runIndex * 104_729);
  const accounts = population.map((t) => ({ ...t }));
  const keepers = [
    { name: "fast", address: hex(rand, 40), latencyMs: 120, minProfit: 0.5, perBlock: 4 },
    { name: "patient", address: hex(rand, 40), latencyMs: 850, minProfit: 5, perBlock: 2 },
  ];
  const kStats = keepers.map(() => ({ liquidations: 0, rewards: [] as string[], gas: [] as string[], txs: 0, reverted: 0 }));
  const blocks: BlockRow[] = [];
  const liquidations: LiquidationRow[] = [];
  const belowSince = new Map<number, number>();
  const lastLiquidated = new Map<number, number>();
  const liquidatedOnce = new Set<number>();
  const closed = new Set<number>();
  let fund = INSURANCE_START;
  let minFund = fund;
  const badDebt: string[] = [];
  let maxBadDebt = 0;
  let socialised = 0;
  const penalties: string[] = [];
  const notionals: string[] = [];
  let keeperProfit = 0;
  let waitMax = 0;
  let maxBelow = 0;
  let maxBelowBlock = START_BLOCK;
  let maxUnder = 0;
  let maxInBlock = 0;
  let maxDeficit = 0;
  let lastBelow = 0;
  let lastUnder = 0;
  let lastDeficit = 0;
  let partialCount = 0;
  let fullCount = 0;
  // The loss split and the sizing answers (RunTotals.traderEquityLost, RunSizing), the same way round.
  const episodeStart = new Map<number, number>();
  const episodePenalties = new Map<number, number>();
  let equityLost = 0;
  let cumDebt = 0;
  let cumShares = 0;
  let fundNeeded = 0;
  let backstopNet = 0;
  let backstopBudget = 0;
  let rewardless = 0;

  const equity = (a: Trader, p: number) => a.collateral + a.sign * a.size * (p - a.entry);

  for (let i = 0; i < prices[0]!.length; i++) {
    const block = START_BLOCK + i;
    const price = (m: number) => prices[m]![i]!;
    // Candidates: below maintenance, past cooldown, largest notional first (keepers rank by profit).
    const candidates = accounts
      .map((a, idx) => ({ a, idx }))
      .filter(({ a, idx }) => {
        if (a.size === 0) return false;
        const n = a.size * price(a.market);
        const below = equity(a, price(a.market)) < mmRate(n) * n;
        if (!below) belowSince.delete(idx);
        else if (!belowSince.has(idx)) {
          belowSince.set(idx, i);
          if (!episodeStart.has(idx)) episodeStart.set(idx, equity(a, price(a.market)));
        }
        const cooled = i - (lastLiquidated.get(idx) ?? -1e9) > policy.cooldownBlocks;
        // Keepers see a block's price one block late.
        return below && cooled && (belowSince.get(idx) ?? i) < i;
      })
      .sort((x, y) => y.a.size * price(y.a.market) - x.a.size * price(x.a.market));

    let inBlock = 0;
    let bPartial = 0;
    let bFull = 0;
    const bNotional: string[] = [];
    let next = 0;
    keepers.forEach((k, ki) => {
      for (let taken = 0; taken < k.perBlock && next < candidates.length; next++) {
        const { a, idx } = candidates[next]!;
        const p = price(a.market);
        const n = a.size * p;
        const e = equity(a, p);
        const mr = mmRate(n);
        let f = 1;
        const partialAllowed = n > policy.partialThreshold && e > policy.backstop * mr * n && e > 0;
        if (partialAllowed) {
          const target = mr + policy.targetBuffer;
          f = Math.min(1, Math.max(0, (target * n - e) / ((target - policy.penalty) * n)));
          if (policy.tierStepDown) f = Math.max(f, Math.min(1, 1 - tierFloor(n) / n));
          f = Math.min(f, policy.maxStep);
          if (f > 0.97 || (1 - f) * n < 10) f = 1;
        }
        const closedSize = f === 1 ? a.size : Number((a.size * f).toFixed(4));
        if (closedSize <= 0) continue;
        const closedNotional = closedSize * p;
        const full = closedSize === a.size;
        let penalty = Math.min(policy.penalty * closedNotional, Math.max(0, e));
        const reward = penalty * policy.keeperShare;
        if (reward - GAS_USD < k.minProfit && e > 0) {
          continue; // not worth it for this keeper; the next one may take it
        }
        penalty = Number(penalty.toFixed(6));
        const keeperReward = Number((penalty * policy.keeperShare).toFixed(6));
        const insuranceShare = Number((penalty - keeperReward).toFixed(6));
        // Settle: realise the closed part's PnL, pay the penalty.
        a.collateral += a.sign * closedSize * (p - a.entry) - penalty;
        a.size = Number((a.size - closedSize).toFixed(4));
        episodePenalties.set(idx, (episodePenalties.get(idx) ?? 0) + penalty);
        if (full) {
          a.size = 0;
          equityLost += Math.max(0, Math.max(0, episodeStart.get(idx) ?? e) - Math.max(0, a.collateral) - episodePenalties.get(idx)!);
          if (a.collateral < 0) {
            const debt = Number((-a.collateral).toFixed(6));
            const covered = Math.min(fund, debt);
            fund -= covered;
            socialised += debt - covered;
            cumDebt += debt;
            fundNeeded = Math.max(fundNeeded, cumDebt - cumShares);
            badDebt.push(usd(debt));
            maxBadDebt = Math.max(maxBadDebt, debt);
          }
          a.collateral = 0;
          closed.add(idx);
          fullCount++;
          bFull++;
        } else {
          partialCount++;
          bPartial++;
        }
        fund += insuranceShare;
        cumShares += insuranceShare;
        const gas = Number((GAS_USD * (0.8 + rand() * 0.4)).toFixed(6));
        if (k.name === "fast") {
          backstopNet += gas - keeperReward;
          backstopBudget = Math.max(backstopBudget, backstopNet);
          if (keeperReward === 0) rewardless++;
        }
        keeperProfit += keeperReward - gas;
        const st = kStats[ki]!;
        st.liquidations++;
        st.txs++;
        st.rewards.push(usd(keeperReward));
        st.gas.push(usd(gas));
        penalties.push(usd(penalty));
        bNotional.push(usd(closedNotional));
        notionals.push(usd(closedNotional));
        if (!liquidatedOnce.has(idx)) waitMax = Math.max(waitMax, i - (belowSince.get(idx) ?? i));
        liquidatedOnce.add(idx);
        lastLiquidated.set(idx, i);
        liquidations.push({
          block,
          txHash: hex(rand, 64),
          logIndex: inBlock,
          keeper: k.address,
          account: a.address,
          market: MARKETS[a.market]!.name,
          size: closedSize.toFixed(4),
          full,
          price: p.toFixed(MARKETS[a.market]!.dp),
          penalty: usd(penalty),
          keeperReward: usd(keeperReward),
          insuranceShare: usd(insuranceShare),
        });
        inBlock++;
        taken++;
      }
      if (rand() < 0.03) {
        kStats[ki]!.txs++;
        kStats[ki]!.reverted++; // lost a race
      }
    });
    minFund = Math.min(minFund, fund);
    maxInBlock = Math.max(maxInBlock, inBlock);

    const markets: Record<string, MarketBlockRow> = {};
    MARKETS.forEach((m, mi) => {
      let long = 0;
      let short = 0;
      for (const a of accounts) if (a.market === mi) a.sign > 0 ? (long += a.size) : (short += a.size);
      markets[m.name] = {
        price: price(mi).toFixed(m.dp),
        longOpenInterest: long.toFixed(4),
        shortOpenInterest: short.toFixed(4),
        openInterestUsd: usd((long + short) * price(mi)),
      };
    });
    let below = 0;
    let under = 0;
    let deficit = 0;
    for (const a of accounts) {
      if (a.size === 0) continue;
      const p = price(a.market);
      const e = equity(a, p);
      if (e < mmRate(a.size * p) * a.size * p) below++;
      if (e <= 0) under++;
      if (e < 0) deficit -= e;
    }
    maxDeficit = Math.max(maxDeficit, deficit);
    lastBelow = below;
    lastUnder = under;
    lastDeficit = deficit;
    if (below > maxBelow) {
      maxBelow = below;
      maxBelowBlock = block;
    }
    maxUnder = Math.max(maxUnder, under);
    blocks.push({
      block,
      t: i * BLOCK_TIME,
      markets,
      belowMaintenance: below,
      underwater: under,
      openDeficit: usd(deficit),
      partialLiquidations: bPartial,
      fullLiquidations: bFull,
      liquidatedNotionalUsd: sum(bNotional),
      insuranceFund: usd(fund),
      cumulativeBadDebt: sum(badDebt),
      cumulativePenalties: sum(penalties),
      cumulativeKeeperProfit: usd(keeperProfit),
    });
  }

  const keeperRows: KeeperRow[] = keepers.map((k, ki) => {
    const st = kStats[ki]!;
    const rewards = sum(st.rewards);
    const gas = sum(st.gas);
    return {
      name: k.name,
      address: k.address,
      latencyMs: k.latencyMs,
      minProfitUsd: usd(k.minProfit),
      liquidations: st.liquidations,
      rewards,
      gasCost: gas,
      profit: new Decimal(rewards).minus(gas).toFixed(6),
      transactions: st.txs,
      revertedTransactions: st.reverted,
      backstopMode: k.name === "fast",
    };
  });
  const totalPenalties = sum(penalties);
  const totalBadDebt = sum(badDebt);
  const rewards = sum(keeperRows.map((k) => k.rewards));
  return {
    preset,
    presetSummary: summary(preset, policy),
    startBlock: START_BLOCK,
    endBlock: START_BLOCK + blocks.length - 1,
    wallClockMs: 9_000 + Math.round(rand() * 6_000),
    blocks,
    liquidations,
    keepers: keeperRows,
    totals: {
      liquidations: partialCount + fullCount,
      partialLiquidations: partialCount,
      fullLiquidations: fullCount,
      liquidatedNotionalUsd: sum(notionals),
      penalties: totalPenalties,
      keeperRewards: rewards,
      insuranceFundDelta: usd(fund - INSURANCE_START),
      badDebt: totalBadDebt,
      badDebtEvents: badDebt.length,
      keeperProfit: sum(keeperRows.map((k) => k.profit)),
      accountsLiquidated: liquidatedOnce.size,
      accountsClosed: closed.size,
      badDebtCoveredByInsurance: new Decimal(totalBadDebt).minus(usd(socialised)).toFixed(6),
      traderLoss: new Decimal(totalPenalties).plus(usd(equityLost)).toFixed(6),
      traderEquityLost: usd(equityLost),
      lossNotCovered: new Decimal(totalBadDebt).plus(usd(lastDeficit)).toFixed(6),
    },
    sizing: {
      deficits: new Decimal(totalBadDebt).plus(usd(lastDeficit)).toFixed(6),
      insuranceFundNeeded: usd(Math.max(0, fundNeeded, cumDebt + lastDeficit - cumShares)),
      insuranceShares: usd(cumShares),
      backstop: { keepers: ["fast"], gasCost: keeperRows[0]!.gasCost, rewards: keeperRows[0]!.rewards, rewardlessCloses: rewardless, budget: usd(backstopBudget) },
    },
    tiersSpanned: tierStatistic(
      new Map(population.map((t) => [t.address as `0x${string}`, tiersOf(t.size * t.entry)])),
      liquidations.map((l) => ({ account: l.account as `0x${string}`, full: l.full })),
    ),
    worst: {
      maxBelowMaintenance: maxBelow,
      maxBelowMaintenanceBlock: maxBelowBlock,
      maxUnderwater: maxUnder,
      maxLiquidationsInBlock: maxInBlock,
      maxBadDebtEvent: usd(maxBadDebt),
      minInsuranceFund: usd(minFund),
      maxBlocksBelowMaintenanceBeforeLiquidation: waitMax,
      maxOpenDeficit: usd(maxDeficit),
    },
    final: {
      insuranceFund: usd(fund),
      badDebt: totalBadDebt,
      pool: usd(accounts.reduce((acc, a) => acc + Math.max(0, a.collateral), 0)),
      openAccounts: accounts.filter((a) => a.size > 0).length,
      belowMaintenance: lastBelow,
      openDeficit: usd(lastDeficit),
      underwater: lastUnder,
    },
  };
}

/** A LabReport of `presets` (default reference, hyperliquid, bitmex) over the same crash. */
export function fixtureReport(options: FixtureOptions = {}): LabReport {
  const presets = options.presets ?? ["reference", "hyperliquid", "bitmex"];
  const blocks = options.blocks ?? 100;
  const seed = options.seed ?? 42;
  const rand = mulberry32(seed);
  const prices = pricePaths(blocks, rand);
  const population = traders(options.traders ?? 90, rand);
  return {
    version: REPORT_VERSION,
    generatedAt: "2026-11-21T12:00:00.000Z",
    scenario: {
      name: "Three-market crash",
      description:
        "BTC, ETH and SOL slide for a few minutes, gap down in one block, slide further and rebound a little. 90 traders, mostly long, 2–20x leverage, positions from $8k to $900k.",
      file: "scenarios/three-market-crash.json",
      seed: String(seed),
      blockTimeSeconds: BLOCK_TIME,
      blocks,
      traders: population.length,
      markets: MARKETS.map((m) => m.name),
    },
    chain: { chainId: 31337, mode: "embedded" },
    runs: presets.map((p, i) => {
      const run = simulateRun(p, i, prices, population, seed);
      return options.impact ? withImpact(run) : run;
    }),
  };
}

/**
 * A toy of the impact model on BTC: the price is the path moved by the previous block's liquidated
 * notional (depth $20M per 100%, decay 0.9 a block), and a liquidation's generation is its place in
 * the current streak of blocks with liquidations (capped at 4). Plausible shapes, not the lab's rule.
 */
function withImpact(run: RunReport): RunReport {
  let impact = 0;
  let previous = 0;
  let streak = 0;
  let longest = 0;
  let longestFrom = run.startBlock;
  let worst = 0;
  let worstBlock = run.startBlock;
  let end = 0;
  const gens = new Map<number, { liquidations: number; partial: number; notional: Decimal; accounts: Set<string> }>();
  const blocks = run.blocks.map((b) => {
    impact = impact * 0.9 - previous / 20_000_000;
    const path = b.markets.BTC!.price;
    const price = new Decimal(path).mul(1 + impact).toDecimalPlaces(2);
    const here = run.liquidations.filter((l) => l.block === b.block);
    streak = here.length > 0 ? streak + 1 : 0;
    if (streak - 1 > longest) {
      longest = streak - 1;
      longestFrom = b.block - longest + 1;
    }
    for (const l of here) {
      const g = gens.get(Math.min(4, Math.max(0, streak - 1))) ?? { liquidations: 0, partial: 0, notional: new Decimal(0), accounts: new Set<string>() };
      g.liquidations++;
      if (!l.full) g.partial++;
      g.notional = g.notional.plus(new Decimal(l.size).mul(l.price));
      g.accounts.add(l.account);
      gens.set(Math.min(4, Math.max(0, streak - 1)), g);
    }
    previous = here.filter((l) => l.market === "BTC").reduce((acc, l) => acc + Number(l.size) * Number(l.price), 0);
    end = price.div(path).minus(1).toNumber();
    if (Math.abs(end) > Math.abs(worst)) {
      worst = end;
      worstBlock = b.block;
    }
    return { ...b, markets: { ...b.markets, BTC: { ...b.markets.BTC!, price: price.toFixed(2), pathPrice: path } } };
  });
  return {
    ...run,
    blocks,
    cascade: {
      markets: [{ market: "BTC", depthUsd: "20000000", halfLifeSeconds: 13.16, worstExtraMove: worst.toFixed(8), worstExtraMoveBlock: worstBlock, extraMoveAtEnd: end.toFixed(8) }],
      longestCascadeBlocks: longest,
      ...(longest > 0 ? { longestCascadeFrom: longestFrom } : {}),
      impactDrivenAccounts: [...gens.entries()].filter(([g]) => g > 0).reduce((acc, [, r]) => acc + r.accounts.size, 0),
      byGeneration: [...gens.entries()]
        .sort(([a], [b]) => a - b)
        .map(([generation, r]) => ({ generation, liquidations: r.liquidations, partialLiquidations: r.partial, notionalUsd: r.notional.toFixed(6), accounts: r.accounts.size })),
    },
  };
}

/**
 * A multi-seed LabReport (`simulate --seeds`): `seeds` fixture crashes per preset, the first in
 * full, every seed's headline figures and their distribution, as src/sim/seeds.ts assembles them.
 */
export function fixtureSeedsReport(options: FixtureOptions & { seeds?: number } = {}): LabReport {
  const n = options.seeds ?? 12;
  const reports = Array.from({ length: n }, (_, i) => fixtureReport({ ...options, seed: (options.seed ?? 42) + i }));
  const first = reports[0]!;
  return {
    ...first,
    seeds: {
      seeds: reports.map((r) => r.scenario.seed),
      runs: first.runs.map((run, i) => seedRun(run.preset, reports.map((r) => seedEntry(r.scenario.seed, r.runs[i]!)))),
    },
  };
}
