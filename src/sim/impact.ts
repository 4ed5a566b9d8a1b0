import { WAD } from "../engine/index.ts";

/**
 * Market impact in the lab (issue 16): liquidated notional moves the next prices, by an amount set
 * by the market's depth, and the move decays with a half-life. The scenario's path stays the
 * baseline:
 *
 *   P_t = P_path_t × (1 + I_t),   I_t = I_{t−1} × 2^(−blockTime / halfLife) − L_{t−1} / depth
 *
 * where L_{t−1} is the signed notional (USD at the fill price) liquidated in the previous block:
 * closing a long sells, so L > 0 pushes the price down; closing a short buys. `depth` is USD per
 * 100% move. Everything is WAD bigint; the decay factor alone is computed in floating point, once
 * per scenario ({@link decayPerBlock}), and then applied as a WAD fraction, so a seed gives the
 * same prices on every run. The price is floored to the feed's tick and never goes below one tick:
 * a depth small against the liquidated notional can drive I_t to −100% or below, and the market
 * then reads one tick (the lab says so in its docs). Pure.
 */

export type ImpactSpec = {
  /** USD (WAD) per 100% move. */
  depthUsd: bigint;
  halfLifeSeconds: number;
};

/** 2^(−blockTime / halfLife) as a WAD fraction, rounded to the nearest 1e-18 of a double's value. */
export function decayPerBlock(blockTimeSeconds: number, halfLifeSeconds: number): bigint {
  if (!(blockTimeSeconds > 0) || !(halfLifeSeconds > 0)) throw new RangeError("block time and half-life must be above 0");
  const f = 2 ** (-blockTimeSeconds / halfLifeSeconds);
  // A double of f has 53 bits; × 1e18 and rounded, it is the same integer on every platform.
  return BigInt(Math.round(f * 1e18));
}

/** I_t from I_{t−1} (WAD, signed), the decay (WAD) and L_{t−1} (WAD USD, signed): truncated toward zero at each step. */
export function nextImpact(previous: bigint, decay: bigint, liquidatedNotional: bigint, depthUsd: bigint): bigint {
  if (depthUsd <= 0n) throw new RangeError("depth must be above 0");
  return (previous * decay) / WAD - (liquidatedNotional * WAD) / depthUsd;
}

/** P_path × (1 + I), floored to `tick`, and at least one tick (the clamp). */
export function impactedPrice(pathPrice: bigint, impact: bigint, tick = 1n): bigint {
  const raw = (pathPrice * (WAD + impact)) / WAD;
  const floored = raw - (((raw % tick) + tick) % tick);
  return floored < tick ? tick : floored;
}

/** One market's impact through a run: `advance` with each block's liquidated notional, in order. */
export class MarketImpact {
  /** I_t (WAD, signed) after the last {@link advance}. */
  impact = 0n;
  readonly decay: bigint;

  constructor(
    readonly spec: ImpactSpec,
    blockTimeSeconds: number,
    readonly tick: bigint,
  ) {
    this.decay = decayPerBlock(blockTimeSeconds, spec.halfLifeSeconds);
  }

  /** The next block: I_t from I_{t−1} and L_{t−1}; returns P_t for the path's price of that block. */
  advance(liquidatedNotional: bigint, pathPrice: bigint): bigint {
    this.impact = nextImpact(this.impact, this.decay, liquidatedNotional, this.spec.depthUsd);
    return impactedPrice(pathPrice, this.impact, this.tick);
  }
}
