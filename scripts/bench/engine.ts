/**
 * Engine throughput: exact health evaluations per second, and a full rescan of N accounts × 3
 * positions (equity, MM, IM, liquidatable, backstop), on one core, wall and CPU time, and the
 * process's resident memory with the book and its screen built. Run: npm run bench:engine
 * (BENCH_ACCOUNTS=1000000 for the million-account figure). Writes --json PATH when given.
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

/** Wall and CPU time (this process: user + system) of `fn`, median and best over `rounds` after two warm-ups. */
function timed(rounds: number, fn: () => number): { median: number; best: number; cpuMedian: number; result: number } {
  fn();
  fn(); // warm the JIT
  const times: number[] = [];
  const cpu: number[] = [];
  let result = 0;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { median: +times[Math.floor(times.length / 2)]!.toFixed(1), best: +times[0]!.toFixed(1), cpuMedian: +cpu[Math.floor(cpu.length / 2)]!.toFixed(1), result };
}

export function benchEngine(accounts = 100_000, positionsEach = 3, opts: { exactRounds?: number } = {}) {
  const { book, v } = syntheticBook(accounts, positionsEach);
  const exact = timed(opts.exactRounds ?? 5, () => {
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
  // What the process holds with the book and its screen built (after a full GC when --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const rssMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  return {
    accounts,
    positionsEach,
    liquidatable: exact.result,
    exactFullEvaluation: {
      rescanMs: { median: exact.median, best: exact.best },
      healthEvaluationsPerSecond: Math.round((accounts / exact.median) * 1000),
    },
    screenedRescan: {
      rescanMs: { median: screened.median, best: screened.best, cpuMedian: screened.cpuMedian },
      healthEvaluationsPerSecond: Math.round((accounts / screened.median) * 1000),
      exactEvaluationsInBand: exactInBand,
      buildMs: +buildMs.toFixed(1),
    },
    rssMb,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
  // The exact engine over a million accounts takes seconds a pass: fewer passes there.
  const out = benchEngine(n, 3, { exactRounds: n >= 500_000 ? 1 : 5 });
  const json = process.argv.indexOf("--json");
  const text = JSON.stringify(out, bigintToString, 2);
  if (json > 0) writeFileSync(process.argv[json + 1]!, text + "\n");
  process.stdout.write(text + "\n");
}
