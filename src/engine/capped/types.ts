/**
 * The state the "capped" margin model works on (docs/capped-market.md). Every amount, price, size
 * and ratio is a D18 bigint (ratios: 1e18 = 100%); times are unix seconds; ids are the contract's
 * uint128 ids as bigints. Field names follow the contract's setters and getters.
 */

/** A market's configuration: setLiquidationParameters, setFundingParameters, setOrderFees, setMaxLiquidationParameters, setMaxMarketSize. */
export type CappedMarketConfig = {
  skewScale: bigint;
  makerFee: bigint;
  takerFee: bigint;
  initialMarginRatio: bigint;
  minimumInitialMarginRatio: bigint;
  maintenanceMarginScalar: bigint;
  flagRewardRatio: bigint;
  minimumPositionMargin: bigint;
  maxLiquidationLimitAccumulationMultiplier: bigint;
  maxSecondsInLiquidationWindow: bigint;
  /** 0: no bypass by premium/discount. */
  maxLiquidationPd: bigint;
  /** The zero address: none. */
  endorsedLiquidator: `0x${string}`;
  maxMarketSize: bigint;
};

/** One block timestamp's liquidations in a market. */
export type WindowEntry = { timestamp: bigint; amount: bigint };

/**
 * A market's liquidation record: its entries in time order (those outside the window may be
 * omitted: they count for nothing), and the timestamp of its last entry ever (0 if none).
 */
export type LiquidationWindow = { entries: readonly WindowEntry[]; latestTimestamp: bigint };

export type CappedMarket = {
  id: bigint;
  config: CappedMarketConfig;
  /** Σ size over the market's positions. */
  skew: bigint;
  /** Σ |size| (open interest, both sides). */
  size: bigint;
  window: LiquidationWindow;
};

export type CappedPosition = { marketId: bigint; size: bigint; latestInteractionPrice: bigint };

export type CappedAccount = {
  id: bigint;
  collateral: bigint;
  /** In flaggedAccounts(): collateral seized, positions being liquidated window by window. */
  flagged: boolean;
  /** Open positions, in the order of getAccountOpenPositions (the order liquidate() visits them). */
  positions: readonly CappedPosition[];
};

/** The global keeper reward guards (setKeeperRewardGuards). */
export type KeeperRewardGuards = {
  minKeeperRewardUsd: bigint;
  minKeeperProfitRatio: bigint;
  maxKeeperRewardUsd: bigint;
  maxKeeperScalingRatio: bigint;
};

/** USD cost of flagging and of one liquidation call at a block (getKeeperCosts). */
export type KeeperCosts = { flag: bigint; liquidate: bigint };

/** Everything one valuation needs: markets, D18 prices by market, the block's time and keeper terms. */
export type CappedValuation = {
  markets: ReadonlyMap<bigint, CappedMarket>;
  prices: ReadonlyMap<bigint, bigint>;
  timestamp: bigint;
  guards: KeeperRewardGuards;
  costs: KeeperCosts;
};

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as const;
