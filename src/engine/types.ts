/**
 * The data the margin engine works on. Amounts, prices and sizes are WAD bigints; rates are ppm
 * bigints; times are unix seconds as bigints. Field names follow the contract's structs.
 */

/** One line of a tier table: from `floor` notional up, maintenance rate and max leverage. */
export type Tier = {
  floor: bigint;
  mmrPpm: bigint;
  maxLeverage: bigint;
};

export type LiquidationParams = {
  /** f: penalty on the slice's notional. */
  penaltyPpm: bigint;
  /** b: a partial step restores E' ≥ MM' + b × N'. */
  targetBufferPpm: bigint;
  /** Cap on one step for positions at or above `partialThreshold` (1e6 = no cap). */
  maxStepPpm: bigint;
  /** A step takes the position one tier down (Bybit/OKX). */
  tierStepDown: boolean;
  /** Positions with notional below this are closed in full. */
  partialThreshold: bigint;
  /** A remainder with notional below this is closed too. */
  dustNotional: bigint;
  /** Auto-deleveraging: a deficit beyond the insurance fund is closed against profitable opposite positions (docs/reference-market.md). */
  adlEnabled: boolean;
};

/**
 * A liquidation policy that changes nothing: no penalty, no buffer, no step cap, no dust rule.
 * For checks of a market's tier rules alone (presets, seeding, tests).
 */
export const NEUTRAL_LIQUIDATION: Readonly<LiquidationParams> = Object.freeze({
  penaltyPpm: 0n,
  targetBufferPpm: 0n,
  maxStepPpm: 1_000_000n,
  tierStepDown: false,
  partialThreshold: 0n,
  dustNotional: 0n,
  adlEnabled: false,
});

export type GlobalLiquidationParams = {
  cooldown: bigint;
  backstopPpm: bigint;
  keeperSharePpm: bigint;
};

export type FundingState = {
  /** Cumulative index (WAD quote per unit size) at `lastUpdate`. */
  index: bigint;
  /** WAD quote per unit size per second; positive: longs pay. */
  ratePerSecond: bigint;
  lastUpdate: bigint;
};

/** A market's rules as the engine needs them. `cums` comes from `cumAmounts(tiers)`. */
export type MarketRules = {
  id: number;
  lotSize: bigint;
  tradingFeePpm: bigint;
  tiers: readonly Tier[];
  cums: readonly bigint[];
  liquidation: LiquidationParams;
};

export type MarketState = MarketRules & { funding: FundingState };

export type Position = {
  marketId: number;
  size: bigint;
  entryPrice: bigint;
  entryFundingIndex: bigint;
};

export type Account = {
  collateral: bigint;
  /** Timestamp of the last partial liquidation step, 0 if none. */
  lastPartialAt: bigint;
  positions: readonly Position[];
};

/** What the engine needs to value positions at one moment. Time is an argument, never a clock. */
export type Valuation = {
  markets: ReadonlyMap<number, MarketState>;
  prices: ReadonlyMap<number, bigint>;
  timestamp: bigint;
  global: GlobalLiquidationParams;
};
