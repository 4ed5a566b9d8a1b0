/**
 * Price paths are pure and seeded: scripted paths hit their end points exactly, noisy ones repeat
 * for a seed and differ between seeds, and every price sits on the feed's tick.
 */
import { describe, expect, it } from "vitest";
import { WAD } from "../../src/engine/index.ts";
import { pricePath, type PricePathSpec } from "../../src/sim/pricePath.ts";
import { FloatRandom } from "../../src/sim/random.ts";

const TICK = 10n ** 10n; // an 8-decimal feed
const base = { startPrice: 60_000n * WAD, blockTimeSeconds: 5, tick: TICK, seed: "s", market: "BTC" };
const path = (spec: PricePathSpec, steps: number, over: Partial<typeof base> = {}) => pricePath({ ...base, ...over, spec, steps });

describe("scripted paths", () => {
  it("a crash ends at exactly −30%, flat before it starts, never rising", () => {
    const p = path({ kind: "crash", dropPpm: 300_000n, startSeconds: 60, overSeconds: 600 }, 156);
    expect(p).toHaveLength(157);
    expect(p.slice(0, 13).every((x) => x === 60_000n * WAD)).toBe(true); // up to t = 60 s
    expect(p[132]).toBe(42_000n * WAD); // t = 660 s: the end of the fall
    expect(p[131]).toBeGreaterThan(42_000n * WAD);
    expect(p[156]).toBe(42_000n * WAD);
    for (let i = 1; i < p.length; i++) expect(p[i]!).toBeLessThanOrEqual(p[i - 1]!);
    // Half-way down: exactly −15%.
    expect(p[72]).toBe(51_000n * WAD);
  });

  it("a crash with no duration is one step at its start", () => {
    const p = path({ kind: "crash", dropPpm: 100_000n, startSeconds: 10, overSeconds: 0 }, 4);
    expect(p).toEqual([60_000n, 60_000n, 54_000n, 54_000n, 54_000n].map((x) => x * WAD));
  });

  it("a wick goes down 15% and comes back to exactly where it started", () => {
    const p = path({ kind: "wick", dropPpm: 150_000n, startSeconds: 30, downSeconds: 20, upSeconds: 180 }, 130, { blockTimeSeconds: 2 });
    expect(p[15]).toBe(60_000n * WAD); // t = 30 s: the wick starts
    expect(p[25]).toBe(51_000n * WAD); // t = 50 s: the bottom
    expect(p.every((x) => x >= 51_000n * WAD)).toBe(true);
    expect(p[70]).toBe(55_500n * WAD); // half-way back
    expect(p[115]).toBe(60_000n * WAD); // t = 230 s: recovered
    expect(p[130]).toBe(60_000n * WAD);
    for (let i = 26; i <= 115; i++) expect(p[i]!).toBeGreaterThanOrEqual(p[i - 1]!);
  });

  it("a bleed ends exactly at its drop, with or without noise, and noise stays pinned at both ends", () => {
    const quiet = path({ kind: "bleed", dropPpm: 120_000n, startSeconds: 0, overSeconds: 10_800, volatility: 0 }, 180, { blockTimeSeconds: 60 });
    const noisy = path({ kind: "bleed", dropPpm: 120_000n, startSeconds: 0, overSeconds: 10_800, volatility: 0.015 / 60 }, 180, { blockTimeSeconds: 60 });
    for (const p of [quiet, noisy]) {
      expect(p[0]).toBe(60_000n * WAD);
      expect(p[180]).toBe(52_800n * WAD);
    }
    // Geometric: the same ratio every block (to the tick).
    const r1 = Number(quiet[1]!) / Number(quiet[0]!);
    const r90 = Number(quiet[91]!) / Number(quiet[90]!);
    expect(Math.abs(r1 - r90)).toBeLessThan(1e-9);
    expect(noisy).not.toEqual(quiet);
  });

  it("flat is flat; every price is on the tick and at least one tick", () => {
    expect(path({ kind: "flat" }, 3)).toEqual([60_000n, 60_000n, 60_000n, 60_000n].map((x) => x * WAD));
    const p = path({ kind: "gbm", drift: 0, volatility: 0.01, jumps: { ratePerSecond: 0.01, mean: -0.05, stdev: 0.02 } }, 500);
    for (const x of p) expect(x % TICK).toBe(0n);
    const tiny = pricePath({ ...base, startPrice: TICK, spec: { kind: "crash", dropPpm: 999_999n, startSeconds: 0, overSeconds: 5 }, steps: 2 });
    expect(tiny).toEqual([TICK, TICK, TICK]);
  });
});

describe("noisy paths are seeded", () => {
  const gbm: PricePathSpec = { kind: "gbm", drift: -0.0001, volatility: 0.002, jumps: { ratePerSecond: 1 / 600, mean: Math.log(0.95), stdev: 0.03 } };

  it("same seed, same path; another seed or market, another path", () => {
    const a = path(gbm, 200);
    expect(path(gbm, 200)).toEqual(a);
    expect(path(gbm, 200, { seed: "t" })).not.toEqual(a);
    expect(path(gbm, 200, { market: "ETH" })).not.toEqual(a);
    // A longer path starts the same way.
    expect(path(gbm, 300).slice(0, 201)).toEqual(a);
  });

  it("without volatility, GBM is its drift: e^(μt)", () => {
    const p = path({ kind: "gbm", drift: 0.1 / 3600, volatility: 0 }, 720); // 1 h of 5 s blocks
    expect(Number(p[720]!) / 1e18).toBeCloseTo(60_000 * Math.exp(0.1), 2);
  });

  it("the float stream: uniform in [0, 1), normal with mean 0 and variance 1, the same every time", () => {
    const r = FloatRandom.from("t");
    const u = Array.from({ length: 4_000 }, () => r.uniform());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const z = Array.from({ length: 4_000 }, () => r.normal());
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.06);
    expect(Math.abs(variance - 1)).toBeLessThan(0.08);
    expect(FloatRandom.from("t").uniform()).toBe(u[0]);
  });
});

describe("issue 15: upward moves and multi-leg paths", () => {
  it("legs compound: −12% over 90 s, +6% over 60 s, −14% over 60 s, each from the price its leg starts at, exact at each leg's end", () => {
    const legs = [
      { movePpm: -120_000n, overSeconds: 90 },
      { movePpm: 60_000n, overSeconds: 60 },
      { movePpm: -140_000n, overSeconds: 60 },
    ];
    const p = path({ kind: "legs", startSeconds: 30, legs }, 60);
    expect(p.slice(0, 7).every((x) => x === 60_000n * WAD)).toBe(true); // up to t = 30 s
    expect(p[24]).toBe(52_800n * WAD); // t = 120 s: −12%
    expect(p[36]).toBe(55_968n * WAD); // t = 180 s: +6% of 52,800
    expect(p[48]).toBe(48_132_480_000_000_000_000_000n); // t = 240 s: −14% of 55,968 = 48,132.48
    expect(p[60]).toBe(p[48]); // flat after the last leg
    for (let i = 25; i <= 36; i++) expect(p[i]!).toBeGreaterThanOrEqual(p[i - 1]!); // the +6% leg rises
  });

  it("a pump is one upward leg: +40% over 2 minutes, then flat; rises above 100% are allowed", () => {
    const p = path({ kind: "legs", startSeconds: 0, legs: [{ movePpm: 400_000n, overSeconds: 120 }] }, 30);
    expect(p[0]).toBe(60_000n * WAD);
    expect(p[12]).toBe(72_000n * WAD); // half-way: +20%
    expect(p[24]).toBe(84_000n * WAD);
    expect(p[30]).toBe(84_000n * WAD);
    const triple = path({ kind: "legs", startSeconds: 0, legs: [{ movePpm: 2_000_000n, overSeconds: 10 }] }, 2);
    expect(triple[2]).toBe(180_000n * WAD);
  });

  it("a leg to zero or below is refused", () => {
    expect(() => path({ kind: "legs", startSeconds: 0, legs: [{ movePpm: -1_000_000n, overSeconds: 10 }] }, 2)).toThrow(/a leg must move by more than −100%/);
  });
});
