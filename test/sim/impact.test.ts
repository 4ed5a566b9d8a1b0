/**
 * The lab's market-impact recurrence (issue 16): P_t = P_path_t × (1 + I_t),
 * I_t = I_{t−1} × 2^(−blockTime/halfLife) − L_{t−1}/depth. Decay, sign, the clamp at one tick, and
 * nothing moves while no liquidation happens (the model is off unless a scenario sets it).
 */
import { describe, expect, it } from "vitest";
import { WAD } from "../../src/engine/index.ts";
import { MarketImpact, decayPerBlock, impactedPrice, nextImpact } from "../../src/sim/impact.ts";

const USD = WAD;
const DEPTH = 100_000_000n * USD; // $1,000,000 per 1%

describe("decayPerBlock", () => {
  it("is 2^(−blockTime/halfLife) as a WAD fraction", () => {
    expect(decayPerBlock(30, 30)).toBe(WAD / 2n);
    expect(decayPerBlock(60, 30)).toBe(WAD / 4n);
    // 2^(−2/60) = 0.977159968..., to a double's precision.
    expect(Number(decayPerBlock(2, 60)) / 1e18).toBeCloseTo(2 ** (-2 / 60), 15);
    expect(decayPerBlock(2, 60)).toBe(decayPerBlock(2, 60));
  });

  it("refuses a zero block time or half-life", () => {
    expect(() => decayPerBlock(0, 30)).toThrow(RangeError);
    expect(() => decayPerBlock(2, 0)).toThrow(RangeError);
  });
});

describe("nextImpact", () => {
  it("a long closed (L > 0) pushes the price down by L / depth; a short closed pushes it up", () => {
    expect(nextImpact(0n, WAD / 2n, 1_000_000n * USD, DEPTH)).toBe(-WAD / 100n);
    expect(nextImpact(0n, WAD / 2n, -2_000_000n * USD, DEPTH)).toBe(WAD / 50n);
  });

  it("decays what is there by the factor, then adds the new move", () => {
    expect(nextImpact(-WAD / 100n, WAD / 2n, 0n, DEPTH)).toBe(-WAD / 200n);
    expect(nextImpact(-WAD / 100n, WAD / 2n, 500_000n * USD, DEPTH)).toBe(-WAD / 200n - WAD / 200n);
  });

  it("refuses a depth of 0", () => {
    expect(() => nextImpact(0n, WAD, 1n, 0n)).toThrow(RangeError);
  });
});

describe("impactedPrice", () => {
  it("is the path without impact, and floors to the tick with it", () => {
    expect(impactedPrice(60_000n * WAD, 0n)).toBe(60_000n * WAD);
    const tick = 10n ** 10n; // an 8-decimal feed
    expect(impactedPrice(60_000n * WAD, -WAD / 3n, tick)).toBe(40_000n * WAD);
    const p = impactedPrice(60_001n * WAD, -WAD / 7n, tick);
    expect(p % tick).toBe(0n);
    expect(p).toBeLessThanOrEqual((60_001n * WAD * 6n) / 7n);
    expect((60_001n * WAD * 6n) / 7n - p).toBeLessThan(tick);
  });

  it("never goes to zero or below: one tick is the floor", () => {
    const tick = 10n ** 10n;
    expect(impactedPrice(60_000n * WAD, -WAD, tick)).toBe(tick);
    expect(impactedPrice(60_000n * WAD, -3n * WAD, tick)).toBe(tick);
    expect(impactedPrice(60_000n * WAD, -WAD)).toBe(1n);
  });
});

describe("MarketImpact", () => {
  it("follows the path exactly while nothing is liquidated (off in effect)", () => {
    const m = new MarketImpact({ depthUsd: DEPTH, halfLifeSeconds: 30 }, 2, 10n ** 10n);
    const path = [60_000n, 59_500n, 59_000n].map((x) => x * WAD);
    expect(path.map((p) => m.advance(0n, p))).toEqual(path);
    expect(m.impact).toBe(0n);
  });

  it("moves the next price, then lets the move decay by half each half-life", () => {
    const m = new MarketImpact({ depthUsd: DEPTH, halfLifeSeconds: 30 }, 30, 1n);
    expect(m.advance(2_000_000n * USD, 50_000n * WAD)).toBe(49_000n * WAD); // −2%
    expect(m.advance(0n, 50_000n * WAD)).toBe(49_500n * WAD); // −1%
    expect(m.advance(0n, 50_000n * WAD)).toBe(49_750n * WAD); // −0.5%
    expect(m.advance(-1_000_000n * USD, 50_000n * WAD)).toBe(50_375n * WAD); // −0.25% + 1%
  });
});
