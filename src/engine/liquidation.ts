import { accountHealth, marketOf, type Health, type PositionValue } from "./health.ts";
import { PPM, TOKEN_SCALE, WAD, abs, ceilDiv, roundUpToLot } from "./math.ts";
import { fundingIndexAt, fundingOwed, notional, pnl } from "./position.ts";
import { targetRequirement, tierIndex } from "./tiers.ts";
import type { Account, MarketRules, Position, Tier, Valuation } from "./types.ts";

/** penalty = min(ceil(f × sliceNotional), max(E, 0)). */
export function penalty(sliceNotional: bigint, penaltyPpm: bigint, equity: bigint): bigint {
  const p = ceilDiv(sliceNotional * penaltyPpm, PPM);
  const cap = equity > 0n ? equity : 0n;
  return p > cap ? cap : p;
}

/**
 * The keeper's share in whole 6-decimal tokens (floor(penalty × share) floored to a token unit)
 * and the insurance fund's share (everything else), in WAD.
 */
export function splitPenalty(
  penaltyWad: bigint,
  keeperSharePpm: bigint,
): { keeperTokens: bigint; insuranceWad: bigint } {
  const keeperTokens = (penaltyWad * keeperSharePpm) / PPM / TOKEN_SCALE;
  return { keeperTokens, insuranceWad: penaltyWad - keeperTokens * TOKEN_SCALE };
}

/**
 * The penalty a slice of `size` pays at `price` and its split between keeper and insurance fund,
 * as the contract's quoteLiquidation answers and liquidate() charges: penalty on the slice's
 * notional, capped at the account's positive equity, then split.
 */
export function quoteSlice(
  size: bigint,
  price: bigint,
  penaltyPpm: bigint,
  equity: bigint,
  keeperSharePpm: bigint,
): { penalty: bigint; keeperTokens: bigint; insuranceWad: bigint } {
  const pen = penalty(notional(size, price), penaltyPpm, equity);
  return { penalty: pen, ...splitPenalty(pen, keeperSharePpm) };
}

/** What the max-slice rule needs about one position and its account. */
export type SliceInput = {
  size: bigint;
  price: bigint;
  lotSize: bigint;
  equity: bigint;
  /** Σ over the account's other positions of MM + buffer × N. */
  otherTarget: bigint;
  penaltyPpm: bigint;
  bufferPpm: bigint;
};

/**
 * Whether closing `delta` restores E' ≥ Σ(MM' + buffer × N') with E' = E − penalty, keeping 1 wei
 * in hand: realising the slice splits one floored PnL into two floors, so the real equity
 * afterwards can be 1 wei below E − penalty. Same as MarginMath.restores.
 */
export function restores(s: SliceInput, rules: Pick<MarketRules, "tiers" | "cums">, delta: bigint): boolean {
  const pen = penalty(notional(delta, s.price), s.penaltyPpm, s.equity);
  const need = s.otherTarget + targetRequirement(rules.tiers, rules.cums, s.bufferPpm, notional(s.size - delta, s.price));
  return s.equity - pen - 1n >= need;
}

/**
 * The smallest lot multiple that restores the target, or the whole size if none below it does.
 * Each tier line i gives Δ_i = ((mmr_i + b) × N − cum_i − (E − otherTarget) × 1e6) / ((mmr_i + b − f) × P);
 * Δ is the largest, rounded up to a lot, then checked against `restores` (at most two lots either
 * way) so the answer is exact for the integer rule. Same steps as MarginMath.restoringSlice.
 */
export function restoringSlice(s: SliceInput, rules: Pick<MarketRules, "tiers" | "cums">): bigint {
  const n = notional(s.size, s.price);
  const reserve = (s.equity - s.otherTarget) * PPM;
  let raw = 0n;
  rules.tiers.forEach((tier, i) => {
    const rate = tier.mmrPpm + s.bufferPpm;
    const num = n * rate - rules.cums[i]! - reserve;
    if (num <= 0n) return;
    const d = ceilDiv(num * WAD, (rate - s.penaltyPpm) * s.price);
    if (d > raw) raw = d;
  });
  let delta = roundUpToLot(raw, s.lotSize);
  if (delta === 0n) delta = s.lotSize;
  if (delta >= s.size) return s.size;
  for (let k = 0; k < 2 && !restores(s, rules, delta); k++) {
    delta += s.lotSize;
    if (delta >= s.size) return s.size;
  }
  for (let k = 0; k < 2 && delta > s.lotSize && restores(s, rules, delta - s.lotSize); k++) {
    delta -= s.lotSize;
  }
  return delta;
}

/** Bybit/OKX step-down: the smallest lot multiple taking the notional below its tier's floor. */
export function stepDownSlice(absSize: bigint, price: bigint, lotSize: bigint, tiers: readonly Tier[]): bigint {
  const t = tierIndex(tiers, notional(absSize, price));
  if (t === 0) return 0n;
  const keep = ((tiers[t]!.floor - 1n) * WAD) / price;
  if (keep >= absSize) return 0n;
  const delta = roundUpToLot(absSize - keep, lotSize);
  return delta > absSize ? absSize : delta;
}

/** At most `maxStepPpm` of the position, rounded up to a lot. */
export function stepCap(absSize: bigint, maxStepPpm: bigint, lotSize: bigint): bigint {
  return roundUpToLot(ceilDiv(absSize * maxStepPpm, PPM), lotSize);
}

/**
 * The largest slice of position `value` a keeper may liquidate now, given the account's health.
 * 0 when only a partial step is allowed and the cooldown runs. Same order as PerpMarket._maxSlice:
 * backstop or below threshold → all; else step-down or restoring slice; cap; dust; cooldown.
 */
export function maxSliceOf(h: Health, value: PositionValue, rules: MarketRules, timestamp: bigint): bigint {
  const absSize = abs(value.size);
  const liq = rules.liquidation;
  if (h.backstop || value.notional < liq.partialThreshold) return absSize;
  let slice = liq.tierStepDown ? stepDownSlice(absSize, value.price, rules.lotSize, rules.tiers) : 0n;
  if (slice === 0n) {
    slice = restoringSlice(
      {
        size: absSize,
        price: value.price,
        lotSize: rules.lotSize,
        equity: h.equity,
        otherTarget: h.target - value.target,
        penaltyPpm: liq.penaltyPpm,
        bufferPpm: liq.targetBufferPpm,
      },
      rules,
    );
  }
  const cap = stepCap(absSize, liq.maxStepPpm, rules.lotSize);
  if (slice > cap) slice = cap;
  if (slice > absSize) slice = absSize;
  const rest = absSize - slice;
  if (rest !== 0n && (rest < rules.lotSize || notional(rest, value.price) < liq.dustNotional)) slice = absSize;
  if (slice < absSize && timestamp < h.cooldownEndsAt) return 0n;
  return slice;
}

/** maxLiquidatable(account, market) as the contract's view answers it. */
export function maxLiquidatable(account: Account, marketId: number, v: Valuation, health?: Health): bigint {
  const h = health ?? accountHealth(account, v);
  const value = h.positions.find((p) => p.marketId === marketId);
  if (!value || !h.liquidatable) return 0n;
  return maxSliceOf(h, value, marketOf(v, marketId), v.timestamp);
}

/** The custom error the contract would revert a liquidation with, by name and arguments. */
export type LiquidationRefusal =
  | { error: "NoPosition" }
  | { error: "ZeroSize" }
  | { error: "NotLiquidatable"; equity: bigint; maintenance: bigint }
  | { error: "SliceTooLarge"; size: bigint; maxSlice: bigint }
  | { error: "SizeNotLotMultiple"; size: bigint; lotSize: bigint }
  | { error: "CooldownActive"; endsAt: bigint }
  | { error: "AdlRequired"; marketId: number };

/**
 * What the contract's ADL guard needs beyond the valuation: whether an ADL operator is set, and
 * the open interest on the side opposite to the liquidated position (the market's longSize or
 * shortSize). Without it, applyLiquidation assumes no operator.
 */
export type AdlGuard = { operated: boolean; oppositeOpenInterest: bigint };

/** Everything a liquidation changes, to the wei. */
export type LiquidationOutcome = {
  full: boolean;
  size: bigint;
  price: bigint;
  penalty: bigint;
  /** Paid to the keeper, in whole tokens (6 decimals). */
  keeperTokens: bigint;
  insuranceShare: bigint;
  realizedPnl: bigint;
  fundingPaid: bigint;
  /** Change of the pool balance (funding in, PnL out). */
  poolDelta: bigint;
  /** Bad debt settled when the account's last position closes with negative collateral. */
  badDebt: { covered: bigint; uncovered: bigint };
  /** The account afterwards (collateral after bad-debt settlement). */
  account: Account;
  remainingSize: bigint;
};

/**
 * Apply `liquidate(account, marketId, size)` as the contract would: the refusal it would revert
 * with, or the outcome. `insuranceFund` is the fund's balance before, for bad-debt cover. A last
 * close that would leave a deficit beyond the fund is refused with AdlRequired when ADL is on in the
 * market, `adl.operated`, and `adl.oppositeOpenInterest > 0` (PerpMarket._requireNoAdlDue).
 */
export function applyLiquidation(
  account: Account,
  marketId: number,
  size: bigint,
  v: Valuation,
  insuranceFund: bigint,
  adl?: AdlGuard,
): { ok: false; refusal: LiquidationRefusal } | { ok: true; outcome: LiquidationOutcome } {
  const position = account.positions.find((p) => p.marketId === marketId && p.size !== 0n);
  if (!position) return { ok: false, refusal: { error: "NoPosition" } };
  if (size === 0n) return { ok: false, refusal: { error: "ZeroSize" } };
  const h = accountHealth(account, v);
  if (!h.liquidatable) {
    return { ok: false, refusal: { error: "NotLiquidatable", equity: h.equity, maintenance: h.maintenance } };
  }
  const rules = marketOf(v, marketId);
  const value = h.positions.find((p) => p.marketId === marketId)!;
  const absSize = abs(value.size);
  if (size > absSize) return { ok: false, refusal: { error: "SliceTooLarge", size, maxSlice: absSize } };
  const full = size === absSize;
  if (!full && size % rules.lotSize !== 0n) {
    return { ok: false, refusal: { error: "SizeNotLotMultiple", size, lotSize: rules.lotSize } };
  }
  if (!full && !h.backstop && v.timestamp < h.cooldownEndsAt) {
    return { ok: false, refusal: { error: "CooldownActive", endsAt: h.cooldownEndsAt } };
  }
  const maxSlice = maxSliceOf(h, value, rules, v.timestamp);
  if (size > maxSlice) return { ok: false, refusal: { error: "SliceTooLarge", size, maxSlice } };

  const indexNow = fundingIndexAt(rules.funding, v.timestamp);
  const fundingPaid = fundingOwed(position.size, indexNow, position.entryFundingIndex);
  const closed = value.size > 0n ? size : -size;
  const realizedPnl = pnl(closed, value.price, value.entryPrice);
  const { penalty: pen, keeperTokens, insuranceWad } = quoteSlice(
    size,
    value.price,
    rules.liquidation.penaltyPpm,
    h.equity,
    v.global.keeperSharePpm,
  );

  let collateral = account.collateral - fundingPaid + realizedPnl - pen;
  const remainingSize = value.size - closed;
  const positions: Position[] = account.positions
    .filter((p) => p.size !== 0n && (p.marketId !== marketId || remainingSize !== 0n))
    .map((p) =>
      p.marketId === marketId ? { marketId, size: remainingSize, entryPrice: p.entryPrice, entryFundingIndex: indexNow } : p,
    );
  const badDebt = { covered: 0n, uncovered: 0n };
  if (positions.length === 0 && collateral < 0n) {
    const deficit = -collateral;
    const fund = insuranceFund + insuranceWad;
    if (rules.liquidation.adlEnabled && adl?.operated && adl.oppositeOpenInterest > 0n && deficit > fund) {
      return { ok: false, refusal: { error: "AdlRequired", marketId } };
    }
    badDebt.covered = deficit < fund ? deficit : fund;
    badDebt.uncovered = deficit - badDebt.covered;
    collateral = 0n;
  }
  return {
    ok: true,
    outcome: {
      full,
      size,
      price: value.price,
      penalty: pen,
      keeperTokens,
      insuranceShare: insuranceWad,
      realizedPnl,
      fundingPaid,
      poolDelta: fundingPaid - realizedPnl,
      badDebt,
      account: { collateral, lastPartialAt: full ? account.lastPartialAt : v.timestamp, positions },
      remainingSize,
    },
  };
}
