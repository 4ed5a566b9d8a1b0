/**
 * Engine throughput: exact health evaluations per second, and a full rescan of N accounts × 3
 * positions (equity, MM, IM, liquidatable, backstop), on one core. Run: npm run bench:engine.
 * Writes bench/engine.json when --json PATH is given.
 */
import { writeFileSync } from "node:fs";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { HealthScreen, WAD, accountHealth, type Account, type MarketState, type Valuation } from "../../src/engine/index.ts";
import { bigintToString } from "../../src/lib/json.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticBook(accounts: number, positionsEach: number, seed = 1) {
  const specs = loadMarkets();
  const preset = loadPreset("hyperliquid");
  const markets: MarketState[] = specs.map((s, id) => ({
    id,
    lotSize: s.lotSize,
    tradingFeePpm: s.tradingFeePpm,
    tiers: s.tiers,
    cums: s.cums,
    liquidation: preset.liquidation,
    funding: { index: 0n, ratePerSecond: 10n ** 10n, lastUpdate: 0n },
  }));
  const r = rng(seed);
  const book: Account[] = [];
  for (let i = 0; i < accounts; i++) {
    const positions = [];
    let im = 0n;
    for (let k = 0; k < positionsEach; k++) {
      const m = specs[k % specs.length]!;
      const lots = BigInt(1 + Math.floor(r() * 5_000));
      const size = (r() < 0.5 ? 1n : -1n) * lots * m.lotSize;
      const entry = (m.initialPrice * BigInt(900 + Math.floor(r() * 200))) / 1000n;
      positions.push({ marketId: k % specs.length, size, entryPrice: entry, entryFundingIndex: 0n });
      im += ((size < 0n ? -size : size) * entry) / WAD / 10n;
    }
    book.push({ collateral: im, lastPartialAt: 0n, positions });
  }
  const v: Valuation = {
    markets: new Map(markets.map((m) => [m.id, m])),
    prices: new Map(specs.map((s, id) => [id, s.initialPrice])),
    timestamp: 3_600n,
    global: preset.global,
  };
  return { book, v };
}

function timed(rounds: number, fn: () => number): { median: number; best: number; result: number } {
  fn();
  fn(); // warm the JIT
  const times: number[] = [];
  let result = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: +times[Math.floor(times.length / 2)]!.toFixed(1), best: +times[0]!.toFixed(1), result };
}

export function benchEngine(accounts = 100_000, positionsEach = 3) {
  const { book, v } = syntheticBook(accounts, positionsEach);
  const exact = timed(5, () => {
    let n = 0;
    for (const a of book) if (accountHealth(a, v).liquidatable) n++;
    return n;
  });
  const screen = new HealthScreen();
  const tBuild = performance.now();
  book.forEach((a, i) => screen.set(i, a));
  const buildMs = performance.now() - tBuild;
  let exactInBand = 0;
  const screened = timed(9, () => {
    const r = screen.scan(v);
    exactInBand = r.exactEvaluations;
    return r.liquidatable.length;
  });
  if (screened.result !== exact.result) throw new Error(`screen found ${screened.result} liquidatable, exact ${exact.result}`);
  return {
    accounts,
    positionsEach,
    liquidatable: exact.result,
    exactFullEvaluation: {
      rescanMs: { median: exact.median, best: exact.best },
      healthEvaluationsPerSecond: Math.round((accounts / exact.median) * 1000),
    },
    screenedRescan: {
      rescanMs: { median: screened.median, best: screened.best },
      healthEvaluationsPerSecond: Math.round((accounts / screened.median) * 1000),
      exactEvaluationsInBand: exactInBand,
      buildMs: +buildMs.toFixed(1),
    },
    targetMs: 100,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = benchEngine(Number(process.env.BENCH_ACCOUNTS ?? 100_000));
  const json = process.argv.indexOf("--json");
  const text = JSON.stringify(out, bigintToString, 2);
  if (json > 0) writeFileSync(process.argv[json + 1]!, text + "\n");
  process.stdout.write(text + "\n");
}
