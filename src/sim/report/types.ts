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

/**
 * Version 2 (issue 15): the loss split (`traderLoss` and `traderEquityLost` replace
 * `traderLiquidationLoss`, which counted bad debt as the traders'), `sizing` per run, and `seeds`
 * for a multi-seed report; `badDebtCoveredByInsurance` and `lossNotCovered` are always present.
 */
/**
 * Version 3 (issue 16): per run, `cascade` when the scenario gives a market an impact model (and
 * `pathPrice` in that market's block rows), and `tiersSpanned`, the per-tier statistic; a
 * multi-seed report pools `tiersSpanned` over seeds and adds the longest cascade to each seed.
 */
/**
 * Version 4 (issue 16, part 2): `adl` per run (auto-deleveraging and the bad debt it left), and
 * `price` in a run's markets when one reads an index of feeds or one of them alone.
 */
export const REPORT_VERSION = 4 as const;

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
  /** The scenario path's price for the block (the baseline), when the market has an impact model: `price` is then the path moved by liquidations. */
  pathPrice?: string;
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

/**
 * The run's totals. Who bore the losses (issue 15), each read from the chain:
 *  - liquidated traders: {@link RunTotals.traderLoss} = penalties + {@link RunTotals.traderEquityLost};
 *  - the insurance fund: {@link RunTotals.badDebtCoveredByInsurance};
 *  - nobody yet: {@link RunTotals.lossNotCovered} (bad debt recorded + deficits still open at the end).
 * Auto-deleveraging is not built, so no share is taken from profitable traders.
 */
export type RunTotals = {
  liquidations: number;
  partialLiquidations: number;
  fullLiquidations: number;
  liquidatedNotionalUsd: string;
  penalties: string;
  keeperRewards: string;
  insuranceFundDelta: string;
  /** Bad debt recorded in the run: Σ BadDebt.uncovered (the part the insurance fund could not pay). */
  badDebt: string;
  badDebtEvents: number;
  /** What the insurance fund paid: deficits of closed accounts it covered (Σ BadDebt.coveredByInsurance). */
  badDebtCoveredByInsurance: string;
  keeperProfit: string;
  /** Accounts that were liquidated at least once. */
  accountsLiquidated: number;
  /** Accounts fully closed out by liquidation. */
  accountsClosed: number;
  /** What liquidated traders lost to liquidation: penalties + {@link RunTotals.traderEquityLost} (≥ 0). */
  traderLoss: string;
  /**
   * Equity liquidated traders lost while the market had them below maintenance, beyond the
   * penalties. Per episode of an account that was liquidated at least once in it: the episode
   * starts at the end of the first block that finds the account below maintenance (or, for a
   * liquidation of an account not seen below at the previous block's end, that block's end) with
   * equity E₀, and ends at the end of the first block that finds it above maintenance again,
   * closed out, or at the run's end, with equity E₁ (after any bad debt was settled). Its part is
   * max(0, max(E₀, 0) − max(E₁, 0) − penalties of the episode): price moves against the position
   * while the liquidation was pending, down to zero equity. Below zero the loss is no longer the
   * trader's: it is the insurance fund's, or bad debt (recorded or still open). A close at the
   * mark moves no equity but the penalty, so this is the cost of the liquidation's pace (gaps,
   * keeper latency, partial steps, cooldowns), measured from what the chain first showed.
   */
  traderEquityLost: string;
  /**
   * What was left as open or recorded bad debt, nobody has paid it when the run ends: bad debt
   * recorded in the run plus the open deficit at the end ({@link RunReport.final}'s openDeficit),
   * the negative equity of accounts not closed yet.
   */
  lossNotCovered: string;
};

/**
 * Sizing answers for one run (issue 15), from the run's own events, in chain order.
 *
 * Insurance fund. The fund receives its penalty share (Liquidated.insuranceShare) and pays each
 * deficit of a closed account (BadDebt: covered + uncovered) up to its balance; nothing else in the
 * market depends on its size, so a different starting fund replays the same run with more or less
 * of each deficit covered. With S(i) the shares and D(i) the deficits up to event i,
 * `insuranceFundNeeded` = max(0, maxᵢ (D(i) − S(i)), D + openDeficit − S at the end): the smallest
 * starting fund that covers every deficit in full as it comes and can still pay the deficits open
 * when the run ends. `deficits` is the gross amount, D + openDeficit, without the fund's inflow.
 *
 * Backstop keeper. Only a keeper in backstop mode closes an account whose equity is ≤ 0, and such
 * a close pays no reward: its gas is the loss. `backstop` sums the run's backstop keepers: gas,
 * rewards, and `budget` = maxₜ (gas(t) − rewards(t)) over block ends, the most its operator had to
 * have put in at any point; a keeper that cannot swap rewards (collateral) into gas (native) needs
 * `gasCost` in the native token. Absent when no keeper of the run runs in backstop mode.
 */
export type RunSizing = {
  deficits: string;
  insuranceFundNeeded: string;
  /** Σ Liquidated.insuranceShare: the fund's inflow during the run. */
  insuranceShares: string;
  backstop?: {
    keepers: string[];
    gasCost: string;
    rewards: string;
    /** Liquidations by the backstop keepers that paid no reward (closes of accounts with no equity). */
    rewardlessCloses: number;
    budget: string;
  };
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

/** One market's impact model and the extra move it made: P_t / P_path_t − 1, a signed decimal fraction ("-0.0123" is −1.23%). */
export type CascadeMarket = {
  market: string;
  /** Depth, USD per 100% move. */
  depthUsd: string;
  halfLifeSeconds: number;
  /** The extra move of the largest magnitude, and its block. */
  worstExtraMove: string;
  worstExtraMoveBlock: number;
  extraMoveAtEnd: string;
};

/** Liquidations of one cascade generation (see {@link CascadeReport}). */
export type GenerationRow = {
  generation: number;
  liquidations: number;
  partialLiquidations: number;
  /** USD at the fill price. */
  notionalUsd: string;
  /** Distinct accounts liquidated in this generation. */
  accounts: number;
};

/**
 * Liquidation cascades (issue 16), when the scenario gives at least one market an impact model.
 * Definitions (src/sim/report/cascade.ts):
 *  - an account is made liquidatable in block t when it is liquidatable at the end of block t and
 *    was not at the end of block t − 1; it is impact-driven when it would not be liquidatable at
 *    the path's prices (the baseline) with the same on-chain state, valued by the engine;
 *  - its generation is 0 when it is liquidatable at the baseline, otherwise 1 + the highest
 *    generation among the liquidations of block t − 1 (whose notional moved P_t), or, if that block
 *    had none, of the most recent block that had some (the decayed impact is theirs); a liquidation
 *    has the generation of its account's current stretch below maintenance (0 when it was never
 *    seen below at a block's end);
 *  - the longest cascade is the most consecutive blocks with at least one impact-driven account made liquidatable.
 */
export type CascadeReport = {
  markets: CascadeMarket[];
  longestCascadeBlocks: number;
  /** First block of the longest cascade (absent when there was none). */
  longestCascadeFrom?: number;
  /** Accounts made liquidatable by impact alone (counted once per stretch below maintenance). */
  impactDrivenAccounts: number;
  /** One row per generation seen, from 0 up. */
  byGeneration: GenerationRow[];
};

/**
 * The per-tier statistic (issue 16): a published claim is that accounts whose positions span three
 * or more tiers see 68% more partial liquidation events than those within one tier. An account's
 * tiers spanned is its largest position's notional at opening (size × entry price when the run
 * starts) as a tier count: the index of its tier in that market's table + 1, capped at "3+".
 * Partial events are Liquidated events that leave a position.
 */
export type TierGroupRow = {
  tiers: "1" | "2" | "3+";
  accounts: number;
  partialLiquidations: number;
  /** partialLiquidations / accounts (decimal, 6 places); absent for a group without accounts. */
  perAccount?: string;
};

export type TierStatistic = {
  groups: TierGroupRow[];
  /** perAccount(3+) / perAccount(1) − 1, a decimal fraction (the claim: 0.68); absent when either is missing or group 1 has no partial event. */
  ratio3vs1?: string;
};

/**
 * Auto-deleveraging in one run (issue 16), from the market's `Deleveraged` events (src/sim/report/adl.ts).
 * The check: where the preset has ADL on, `coverableByOppositeSide` (bad debt left that the
 * profitable opposite positions could have covered at the time) must be 0.
 */
export type AdlReport = {
  /** The preset's `adl`: whether the markets deleverage at all. */
  enabled: boolean;
  /** The keeper that is the market's ADL operator (the scenario's backstop keeper, else its first). */
  operator?: string;
  /** Deleveraged events: one per counterparty of each deleverage. */
  events: number;
  /** Σ size × mark price of the positions closed. */
  deleveragedNotionalUsd: string;
  /** Counterparties closed by ADL (distinct accounts). */
  accountsHit: number;
  /** Bankrupt accounts closed by ADL (distinct accounts). */
  accountsDeleveraged: number;
  /** Σ profitGivenUp: what the counterparties gave up against a close at the mark (the deficit ADL covered). */
  profitGivenUp: string;
  /** Bad debt recorded in the run + the deficit of accounts still negative at the end beyond the insurance fund then. */
  badDebtLeft: string;
  /**
   * The part of {@link AdlReport.badDebtLeft} the opposite side could have covered: per block,
   * min(bad debt recorded, unrealised profit on the opposite sides), summed; and the same at the end
   * for the open deficit; bad debt recorded as a deleverage closes its account (the bankruptcy price's
   * rounding, a few wei) is not counted. With ADL on it must be 0.
   */
  coverableByOppositeSide: string;
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
  sizing: RunSizing;
  worst: RunWorst;
  /** Present when the scenario gives a market an impact model. */
  cascade?: CascadeReport;
  tiersSpanned: TierStatistic;
  /** Auto-deleveraging and the bad debt left after it (absent in reports before version 4). */
  adl?: AdlReport;
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
  /** The mark price's source when not the one feed: "median of 3 feeds (…)" or "feed 1 alone" (a `SYMBOL:feedN` run). */
  price?: string;
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
  /**
   * The runs in full. In a multi-seed report, those of the first seed ({@link LabReport.seeds}
   * has every seed's headline figures; the other seeds' block and liquidation rows are dropped).
   */
  runs: RunReport[];
  /** `simulate --seeds`: every run over several seeds. */
  seeds?: SeedsSection;
};

/** A figure as its distribution over seeds. Percentiles are nearest-rank, on the bad side (see distribution.ts). */
export type FigureDistribution = {
  /** Seeds it rests on. */
  n: number;
  median: string;
  p90: string;
  worst: string;
};

/** A nearest-rank percentile: the value at `rank` (1-based) of the n seeds ordered from best to worst. */
export type Percentile = {
  value: string;
  rank: number;
  /** rank = n: too few seeds to tell this percentile from the worst run. */
  isWorst: boolean;
};

/** A sizing answer over seeds: the amount that would have covered 90% and 99% of the runs. */
export type SizingAnswer = { n: number; p90: Percentile; p99: Percentile; worst: string };

/** One seed of one run: its headline figures. */
export type SeedEntry = {
  seed: string;
  totals: RunTotals;
  sizing: RunSizing;
  maxBelowMaintenance: number;
  openDeficitAtEnd: string;
  underwaterAtEnd: number;
  /** The run's longest cascade (blocks), when it had an impact model. */
  longestCascadeBlocks?: number;
  tiersSpanned: TierStatistic;
};

export type SeedRun = {
  preset: string;
  /** In the order of {@link SeedsSection.seeds}. */
  perSeed: SeedEntry[];
  /** Per headline figure (see HEADLINES in distribution.ts), keyed by its id. */
  distribution: Record<string, FigureDistribution>;
  sizing: { insuranceFund: SizingAnswer; backstopBudget?: SizingAnswer };
  /** The per-tier statistic pooled over seeds: accounts and partial events summed. */
  tiersSpanned: TierStatistic;
};

export type SeedsSection = {
  /** Every seed, in order; the first is the one {@link LabReport.runs} shows in full. */
  seeds: string[];
  runs: SeedRun[];
};
