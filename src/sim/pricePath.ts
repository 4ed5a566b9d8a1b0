import { PPM } from "../engine/index.ts";
import { BaseError } from "../lib/errors.ts";
import { FloatRandom } from "./random.ts";

/**
 * Deterministic price paths for the parameter lab: one WAD price per block, from a seed. Pure.
 *
 * Scripted paths (crash, wick, bleed without noise) are computed in bigint, so their end points
 * are exact: a 30% crash from 60,000 ends at 42,000.000…, a wick ends where it started. Paths with
 * noise (gbm, bleed with volatility) are computed in float64 log space from a seeded stream and
 * converted once per block. Every price is floored to `tick` (the feed's precision), and never
 * below one tick.
 */

export type JumpSpec = {
  /** Expected jumps per second (Poisson intensity). */
  ratePerSecond: number;
  /** Mean and standard deviation of one jump's log return. */
  mean: number;
  stdev: number;
};

export type PricePathSpec =
  /** The start price throughout. */
  | { kind: "flat" }
  /** Straight-line fall by `dropPpm` of the start price from `startSeconds` over `overSeconds`, then flat. */
  | { kind: "crash"; dropPpm: bigint; startSeconds: number; overSeconds: number }
  /** Straight down by `dropPpm` over `downSeconds`, straight back to the start price over `upSeconds`. */
  | { kind: "wick"; dropPpm: bigint; startSeconds: number; downSeconds: number; upSeconds: number }
  /**
   * A steady geometric decline by `dropPpm` over `overSeconds` (the same percentage each block),
   * with optional noise: a Brownian bridge of `volatility` (per √second), zero at both ends, so the
   * end point stays exact.
   */
  | { kind: "bleed"; dropPpm: bigint; startSeconds: number; overSeconds: number; volatility: number }
  /** Geometric Brownian motion with Merton jumps: drift per second, volatility per √second. */
  | { kind: "gbm"; drift: number; volatility: number; jumps?: JumpSpec }
  /**
   * Legs one after the other from `startSeconds`: each moves the price by `movePpm` (signed; above
   * −100%) of the price it starts at, in a straight line over `overSeconds`, then flat. A pump is
   * one upward leg. Exact in bigint at each leg's end.
   */
  | { kind: "legs"; startSeconds: number; legs: readonly PathLeg[] }
  /** Prices from a file (csvPrices.ts): each block takes the last point at or before its time (the first before it). */
  | { kind: "csv"; points: readonly PricePoint[] };

export type PricePathKind = PricePathSpec["kind"];

export type PathLeg = { movePpm: bigint; overSeconds: number };

/** A point of a CSV path: seconds since the scenario starts, and a WAD price. */
export type PricePoint = { t: number; price: bigint };

export type PricePathParameters = {
  spec: PricePathSpec;
  /** Price at t = 0 (WAD). Ignored by csv paths, which start at their first point. */
  startPrice: bigint;
  /** Blocks after the start: the path has `steps + 1` prices, index i at t = i × blockTimeSeconds. */
  steps: number;
  blockTimeSeconds: number;
  /** Price precision (WAD): 10^(18 − feed decimals). Default 1 (no rounding). */
  tick?: bigint;
  /** Seed of the random stream; with `market`, names the stream (each market its own). */
  seed: string;
  market: string;
};

export class PricePathError extends BaseError {
  override name = "PricePathError";
}

/** Fixed-point scale for float ratios turned into bigint prices. */
const RATIO_SCALE = 1_000_000_000_000;

/** The price path: `steps + 1` WAD prices, one per block, index 0 at t = 0. */
export function pricePath(p: PricePathParameters): bigint[] {
  if (!Number.isSafeInteger(p.steps) || p.steps < 0) throw new PricePathError(`steps must be a whole number ≥ 0, got ${p.steps}`);
  if (!(p.blockTimeSeconds > 0)) throw new PricePathError(`blockTimeSeconds must be above 0, got ${p.blockTimeSeconds}`);
  const tick = p.tick ?? 1n;
  if (tick <= 0n) throw new PricePathError("tick must be above 0");
  const spec = p.spec;
  if (spec.kind !== "csv" && p.startPrice <= 0n) throw new PricePathError("the start price must be above 0");
  if ("dropPpm" in spec && (spec.dropPpm < 0n || spec.dropPpm >= PPM)) throw new PricePathError("a drop must be in [0%, 100%)");
  if (spec.kind === "legs" && spec.legs.some((l) => l.movePpm <= -PPM || l.overSeconds < 0)) throw new PricePathError("a leg must move by more than −100%, over a duration ≥ 0");
  const times = Array.from({ length: p.steps + 1 }, (_, i) => i * p.blockTimeSeconds);
  const raw = rawPath(spec, p.startPrice, times, FloatRandom.from("price-path", p.seed, p.market));
  return raw.map((x) => {
    const floored = x - (x % tick);
    return floored < tick ? tick : floored;
  });
}

function rawPath(spec: PricePathSpec, s: bigint, times: readonly number[], rng: FloatRandom): bigint[] {
  switch (spec.kind) {
    case "flat":
      return times.map(() => s);
    case "crash":
      return times.map((t) => linearFall(s, spec.dropPpm, t - spec.startSeconds, spec.overSeconds));
    case "wick": {
      const bottom = (s * (PPM - spec.dropPpm)) / PPM;
      const upFrom = spec.startSeconds + spec.downSeconds;
      return times.map((t) => {
        if (t <= upFrom) return linearFall(s, spec.dropPpm, t - spec.startSeconds, spec.downSeconds);
        return lerp(bottom, s, t - upFrom, spec.upSeconds);
      });
    }
    case "bleed":
      return bleed(spec, s, times, rng);
    case "gbm":
      return gbm(spec, s, times, rng);
    case "legs":
      return legsPath(spec, s, times);
    case "csv":
      return csvPath(spec.points, times);
  }
}

function legsPath(spec: Extract<PricePathSpec, { kind: "legs" }>, s: bigint, times: readonly number[]): bigint[] {
  // Each leg's start time and price; the price at t is on the leg that holds t, or the last end.
  const starts: { t: number; from: bigint; to: bigint; over: number }[] = [];
  let t = spec.startSeconds;
  let price = s;
  for (const leg of spec.legs) {
    const to = price + (price * leg.movePpm) / PPM;
    starts.push({ t, from: price, to, over: leg.overSeconds });
    t += leg.overSeconds;
    price = to;
  }
  return times.map((x) => {
    if (starts.length === 0 || x <= starts[0]!.t) return s;
    const leg = [...starts].reverse().find((l) => x > l.t) ?? starts[0]!;
    return lerp(leg.from, leg.to, x - leg.t, leg.over);
  });
}

/** s − s × drop × min(max(elapsed, 0), over) / over, exact in bigint (over 0: a step at elapsed 0). */
function linearFall(s: bigint, dropPpm: bigint, elapsed: number, over: number): bigint {
  return s - lerp(0n, (s * dropPpm) / PPM, elapsed, over);
}

/** From `a` to `b` as `elapsed` goes from 0 to `over` (clamped), floored; exact at both ends. */
function lerp(a: bigint, b: bigint, elapsed: number, over: number): bigint {
  if (elapsed <= 0) return over <= 0 && elapsed === 0 ? b : a;
  if (elapsed >= over) return b;
  // Times are block multiples (integers in practice); scale to micro-seconds to stay in bigint.
  const num = BigInt(Math.round(elapsed * 1e6));
  const den = BigInt(Math.round(over * 1e6));
  return a + ((b - a) * num) / den;
}

/** s × ratio, with the float ratio rounded to 1e-12. */
function scale(s: bigint, ratio: number): bigint {
  if (!Number.isFinite(ratio)) throw new PricePathError("the path overflowed (volatility or drift too large)");
  return (s * BigInt(Math.round(ratio * RATIO_SCALE))) / BigInt(RATIO_SCALE);
}

function bleed(spec: Extract<PricePathSpec, { kind: "bleed" }>, s: bigint, times: readonly number[], rng: FloatRandom): bigint[] {
  const end = (s * (PPM - spec.dropPpm)) / PPM;
  const logEnd = Math.log(Number(PPM - spec.dropPpm) / 1e6);
  // Brownian motion sampled at each time inside the window, then pinned to 0 at both ends.
  const inside = times.map((t) => Math.min(Math.max(t - spec.startSeconds, 0), spec.overSeconds));
  const w: number[] = [];
  let acc = 0;
  let prev = 0;
  for (const u of inside) {
    if (spec.volatility > 0 && u > prev) acc += spec.volatility * Math.sqrt(u - prev) * rng.normal();
    prev = u;
    w.push(acc);
  }
  const wEnd = acc;
  return times.map((_, i) => {
    const u = inside[i]!;
    if (u <= 0) return s;
    if (u >= spec.overSeconds) return end;
    const f = u / spec.overSeconds;
    const bridge = w[i]! - f * wEnd;
    return scale(s, Math.exp(logEnd * f + bridge));
  });
}

function gbm(spec: Extract<PricePathSpec, { kind: "gbm" }>, s: bigint, times: readonly number[], rng: FloatRandom): bigint[] {
  const out: bigint[] = [s];
  let logRatio = 0;
  for (let i = 1; i < times.length; i++) {
    const dt = times[i]! - times[i - 1]!;
    logRatio += (spec.drift - (spec.volatility * spec.volatility) / 2) * dt + spec.volatility * Math.sqrt(dt) * rng.normal();
    const j = spec.jumps;
    if (j && j.ratePerSecond > 0) {
      const n = rng.poisson(j.ratePerSecond * dt);
      for (let k = 0; k < n; k++) logRatio += j.mean + j.stdev * rng.normal();
    }
    out.push(scale(s, Math.exp(logRatio)));
  }
  return out;
}

function csvPath(points: readonly PricePoint[], times: readonly number[]): bigint[] {
  if (points.length === 0) throw new PricePathError("a csv path needs at least one point");
  let k = 0;
  return times.map((t) => {
    while (k + 1 < points.length && points[k + 1]!.t <= t) k++;
    return points[k]!.price;
  });
}
