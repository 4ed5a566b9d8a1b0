import { formatPpm } from "../lib/units.ts";
import { PPM, ceilDiv } from "./math.ts";
import type { LiquidationParams, Tier } from "./types.ts";

export const MAX_TIERS = 16;

/**
 * The "maintenance amounts" of a tier table, scaled by 1e6 to stay exact:
 * cum_0 = 0, cum_i = cum_{i−1} + floor_i × (mmr_i − mmr_{i−1}).
 */
export function cumAmounts(tiers: readonly Tier[]): bigint[] {
  const cums: bigint[] = [0n];
  for (let i = 1; i < tiers.length; i++) {
    const t = tiers[i]!;
    cums.push(cums[i - 1]! + t.floor * (t.mmrPpm - tiers[i - 1]!.mmrPpm));
  }
  return cums;
}

/** Index of the tier holding `notional`: the last whose floor is at or below it. */
export function tierIndex(tiers: readonly Tier[], notional: bigint): number {
  let i = tiers.length - 1;
  while (i > 0 && tiers[i]!.floor > notional) i--;
  return i;
}

/** MM(N) = N × mmr − cum of N's tier, rounded up; equal to the max over all tier lines. */
export function maintenanceMargin(tiers: readonly Tier[], cums: readonly bigint[], notional: bigint): bigint {
  return requirements(tiers, cums, 0n, notional).maintenance;
}

/** IM(N) = N / maxLeverage of N's tier, rounded up. */
export function initialMargin(tiers: readonly Tier[], notional: bigint): bigint {
  if (notional === 0n) return 0n;
  return ceilDiv(notional, tiers[tierIndex(tiers, notional)]!.maxLeverage);
}

/** MM(N) + buffer × N, rounded up: what a partial step restores. */
export function targetRequirement(
  tiers: readonly Tier[],
  cums: readonly bigint[],
  bufferPpm: bigint,
  notional: bigint,
): bigint {
  return requirements(tiers, cums, bufferPpm, notional).target;
}

/** Maintenance, initial and target requirement of one notional, with one tier lookup. */
export function requirements(
  tiers: readonly Tier[],
  cums: readonly bigint[],
  bufferPpm: bigint,
  notional: bigint,
): { maintenance: bigint; initial: bigint; target: bigint } {
  if (notional === 0n) return { maintenance: 0n, initial: 0n, target: 0n };
  const t = tierIndex(tiers, notional);
  const tier = tiers[t]!;
  const maintenance = ceilDiv(notional * tier.mmrPpm - cums[t]!, PPM);
  return {
    maintenance,
    initial: ceilDiv(notional, tier.maxLeverage),
    target: maintenance + ceilDiv(notional * bufferPpm, PPM),
  };
}

/** A broken rule, named after the contract's custom error that refuses it. */
export type RuleViolation = { error: string; message: string };

/**
 * The contract's checks on a tier table and liquidation parameters, in the same order, so a
 * config can be refused before any transaction is sent. Returns every violation found.
 */
export function validateMarketRules(tiers: readonly Tier[], liq: LiquidationParams): RuleViolation[] {
  const out: RuleViolation[] = [];
  if (tiers.length === 0) return [{ error: "EmptyTiers", message: "the tier table is empty" }];
  if (tiers.length > MAX_TIERS) {
    out.push({ error: "TooManyTiers", message: `${tiers.length} tiers, at most ${MAX_TIERS}` });
  }
  if (tiers[0]!.floor !== 0n) {
    out.push({ error: "FirstTierFloorNotZero", message: "the first tier must start at notional 0" });
  }
  tiers.forEach((t, i) => {
    if (t.mmrPpm <= 0n || t.maxLeverage <= 0n || t.mmrPpm * t.maxLeverage >= PPM) {
      out.push({
        error: "InvalidTierRate",
        message: `tier ${i}: maintenance rate ${formatPpm(t.mmrPpm)} must be positive and below the initial rate 1/${t.maxLeverage}`,
      });
    }
    if (i === 0) return;
    const prev = tiers[i - 1]!;
    if (t.floor <= prev.floor) {
      out.push({ error: "TierFloorsNotIncreasing", message: `tier ${i}: floor must be above tier ${i - 1}'s` });
    }
    if (t.mmrPpm <= prev.mmrPpm) {
      out.push({
        error: "TierRatesNotIncreasing",
        message: `tier ${i}: maintenance rate must be above tier ${i - 1}'s (${formatPpm(t.mmrPpm)} ≤ ${formatPpm(prev.mmrPpm)})`,
      });
    }
    if (t.maxLeverage > prev.maxLeverage) {
      out.push({ error: "TierLeverageIncreasing", message: `tier ${i}: max leverage must not rise with notional` });
    }
  });
  if (liq.maxStepPpm <= 0n || liq.maxStepPpm > PPM) {
    out.push({ error: "InvalidPpm", message: `maxStep ${formatPpm(liq.maxStepPpm)} must be above 0% and at most 100%` });
  }
  if (liq.targetBufferPpm < 0n || liq.targetBufferPpm >= PPM) {
    out.push({ error: "InvalidPpm", message: `targetBuffer ${formatPpm(liq.targetBufferPpm)} must be below 100%` });
  }
  const minRate = tiers[0]!.mmrPpm + liq.targetBufferPpm;
  if (liq.penaltyPpm < 0n || liq.penaltyPpm >= minRate) {
    out.push({
      error: "PenaltyNotBelowTarget",
      message: `penalty ${formatPpm(liq.penaltyPpm)} must be below the first tier's maintenance rate plus buffer (${formatPpm(tiers[0]!.mmrPpm)} + ${formatPpm(liq.targetBufferPpm)} = ${formatPpm(minRate)})`,
    });
  }
  return out;
}
