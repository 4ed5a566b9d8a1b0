/**
 * The shape of `report.json`, written by `perp-keeper simulate` and read by the HTML/SVG renderer.
 *
 * Units and exactness:
 *  - money is a decimal string in USD (collateral-token units, exact: "1234.567891"), never a float;
 *  - prices are decimal strings in USD (exact from the 18-decimal mark price);
 *  - sizes are decimal strings in base units (exact from the 18-decimal size);
 *  - counts are integers; block numbers and timestamps are integers (seconds).
 * Cumulative fields say so in their name (`cumulative…`); the rest are per block.
 * Every figure is read from the chain (events and contract state), not from the simulator's plan,
 * so the tests can check report.json against the chain's own events and final state.
 */

export const REPORT_VERSION = 1 as const;

/** One market's state at the end of a block. */
export type MarketBlockRow = {
  /** Mark price (USD) the market used at the end of the block. */
  price: string;
  /** Open interest, long side, base units. */
  longOpenInterest: string;
  /** Open interest, short side, base units. */
  shortOpenInterest: string;
  /** Open interest in USD at the block's price (longs + shorts). */
  openInterestUsd: string;
};

/** The state of one run (one preset) at the end of one block. */
export type BlockRow = {
  block: number;
  /** Seconds since the scenario's first block. */
  t: number;
  markets: Record<string, MarketBlockRow>;
  /** Accounts with equity below total maintenance margin at the end of the block. */
  belowMaintenance: number;
  /** Accounts with equity ≤ 0 at the end of the block (backstop territory). */
  underwater: number;
  /**
   * Σ −equity over the accounts with negative equity at the end of the block: bad debt that exists
   * but is not realised yet (it is, as BadDebt, when such an account's last position is closed).
   */
  openDeficit?: string;
  /** Liquidations included in this block: partial (position remains) and full (position closed). */
  partialLiquidations: number;
  fullLiquidations: number;
  /** Notional closed by liquidations in this block, USD at the fill price. */
  liquidatedNotionalUsd: string;
  /** Insurance fund at the end of the block. */
  insuranceFund: string;
  /** Bad debt recorded up to the end of the block. */
  cumulativeBadDebt: string;
  /** Penalties paid by traders up to the end of the block. */
  cumulativePenalties: string;
  /** Keeper profit (rewards − gas at the scenario's native price) up to the end of the block, all keepers. */
  cumulativeKeeperProfit: string;
};

/** One liquidation, as the market's `Liquidated` event reported it. */
export type LiquidationRow = {
  block: number;
  txHash: string;
  logIndex: number;
  keeper: string;
  account: string;
  market: string;
  /** Size closed, base units (absolute). */
  size: string;
  /** True when the account's position in this market is zero afterwards. */
  full: boolean;
  price: string;
  penalty: string;
  keeperReward: string;
  insuranceShare: string;
};

export type KeeperRow = {
  name: string;
  address: string;
  latencyMs: number;
  minProfitUsd: string;
  liquidations: number;
  rewards: string;
  gasCost: string;
  profit: string;
  transactions: number;
  revertedTransactions: number;
  /** Items of the keeper's batch transactions that failed inside a mined transaction (LiquidationFailed). */
  failedLiquidations?: number;
  /** The keeper liquidates at a loss when that protects solvency (backstop or full closes). */
  backstopMode?: boolean;
};

export type RunTotals = {
  liquidations: number;
  partialLiquidations: number;
  fullLiquidations: number;
  liquidatedNotionalUsd: string;
  penalties: string;
  keeperRewards: string;
  insuranceFundDelta: string;
  badDebt: string;
  badDebtEvents: number;
  /** Deficits of closed accounts paid by the insurance fund (Σ BadDebt.coveredByInsurance). */
  badDebtCoveredByInsurance?: string;
  keeperProfit: string;
  /** Accounts that were liquidated at least once. */
  accountsLiquidated: number;
  /** Accounts fully closed out by liquidation. */
  accountsClosed: number;
  /** Trader losses to liquidation: penalties plus bad debt socialised (≥ 0). */
  traderLiquidationLoss: string;
  /**
   * Loss nobody has paid when the run ends: bad debt recorded in the run plus the open deficit at
   * the end ({@link RunReport.final}'s openDeficit), the negative equity of accounts not closed yet.
   */
  lossNotCovered?: string;
};

export type RunWorst = {
  maxBelowMaintenance: number;
  maxBelowMaintenanceBlock: number;
  maxUnderwater: number;
  /** Most liquidations included in one block. */
  maxLiquidationsInBlock: number;
  /** Largest single bad-debt event. */
  maxBadDebtEvent: string;
  /** Lowest insurance fund seen. */
  minInsuranceFund: string;
  /** Longest time (blocks) an account stayed below maintenance before its first liquidation. */
  maxBlocksBelowMaintenanceBeforeLiquidation: number;
  /** Largest {@link BlockRow.openDeficit} seen. */
  maxOpenDeficit?: string;
};

/** One run: the scenario under one preset. */
export type RunReport = {
  /** The run's name: the preset, followed by `+VARIANT` for each market variant (`hyperliquid+BTC-steep`). */
  preset: string;
  /** Markets of the scenario run with a variant's tier table instead of their own. */
  variants?: { market: string; variant: string }[];
  /** The preset's file, and the preset it extends, if any. */
  presetSource?: string;
  presetExtends?: string;
  /** The markets as this run deployed them, with their tier tables (absent on a fork's own market). */
  markets?: MarketRules[];
  /**
   * Positions whose drawn leverage was above the maximum of their tier (the lowest maximum over
   * every tier table the comparison uses, so all runs have the same traders), capped to it.
   */
  leverageCapped?: { traders: number; positions: number; markets: Record<string, number> };
  /** Preset parameters as configured (human units), so a reader can see what was compared. */
  presetSummary: Record<string, string>;
  startBlock: number;
  endBlock: number;
  wallClockMs: number;
  blocks: BlockRow[];
  liquidations: LiquidationRow[];
  keepers: KeeperRow[];
  totals: RunTotals;
  worst: RunWorst;
  /** Final state read from the contract, for cross-checking. */
  final: {
    insuranceFund: string;
    badDebt: string;
    pool: string;
    openAccounts: number;
    /** Accounts below maintenance, and the unrealised bad debt, when the run ends. */
    belowMaintenance?: number;
    openDeficit?: string;
    /** Accounts with equity ≤ 0 when the run ends: only a keeper in backstop mode closes them (they pay no reward). */
    underwater?: number;
  };
};

/** A file the run read: the scenario, a markets or presets file (built-in or the user's). */
export type InputFile = {
  kind: "scenario" | "markets" | "presets";
  /** Built-ins relative to the repository (config/markets.json); a user's file as resolved. */
  path: string;
  builtin: boolean;
  /** SHA-256 of the file's bytes, hex; absent when it could not be read back. */
  sha256?: string;
};

/** A market's rules as deployed, in the files' units. */
export type MarketRules = {
  /** The scenario's symbol the market was deployed under. */
  symbol: string;
  /** The catalogue market whose table was used instead (a variant), if any. */
  variant?: string;
  description: string;
  /** The file that defined it, and the market it extends. */
  source?: string;
  extends?: string;
  /** Floor (USD notional), maintenance rate ("0.4%"), max leverage ("125x"). */
  tiers: { floor: string; mmr: string; maxLeverage: string }[];
};

export type LabReport = {
  version: typeof REPORT_VERSION;
  generatedAt: string;
  scenario: {
    name: string;
    description: string;
    /** The path of the scenario file, as given. */
    file: string;
    seed: string;
    blockTimeSeconds: number;
    blocks: number;
    traders: number;
    markets: string[];
    /** Pool and insurance fund funded at deployment (USD); absent when the run used a market already deployed. */
    liquidity?: { pool: string; insuranceFund: string };
    /** Fields the scenario left out whose defaults shape the outcome, with the value used. */
    defaults?: { field: string; value: string }[];
    /** The scenario file's SHA-256 (hex): the file a report was run from. */
    sha256?: string;
    /** The markets and presets files, built-ins first, in the order they were layered. */
    files?: InputFile[];
  };
  chain: {
    chainId: number;
    mode: "embedded" | "fork";
    forkUrl?: string;
    forkBlock?: number;
  };
  runs: RunReport[];
};
