import type { Address } from "viem";
import type { Preset } from "../../config/presets.ts";
import { WAD, notional } from "../../engine/index.ts";
import { formatPpm, wadToDecimal } from "../../lib/units.ts";
import type { ImpactSpec } from "../impact.ts";
import { adlReport } from "./adl.ts";
import { cascadeReport } from "./cascade.ts";
import { traderLosses } from "./lossSplit.ts";
import type { BlockObservation, RunKeeper, RunObservations } from "./observe.ts";
import { backstopBlocks, backstopSpend, fundEvents, insuranceFundNeeded } from "./sizing.ts";
import { tierStatistic } from "./tiersSpanned.ts";
import type { BlockRow, KeeperRow, LiquidationRow, MarketBlockRow, RunReport, RunSizing, RunTotals, RunWorst } from "./types.ts";

export { observeRun, type BadDebtEvent, type BlockObservation, type DeleverageEvent, type OppositeProfit, type GasSpent, type LiquidationEvent, type ObserveRunParameters, type RunKeeper, type RunObservations } from "./observe.ts";

/**
 * report.json's run section, assembled from the chain's observations (observe.ts: the market's
 * events and receipts, its state at each block, the account state rebuilt by the keeper's indexer
 * and valued with the shared engine). Nothing comes from the simulator's plan. Collection
 * ({@link observeRun}) is I/O; assembly ({@link assembleRunReport}) is pure.
 */

// ---------------------------------------------------------------------------------------------
// Assembly (pure)
// ---------------------------------------------------------------------------------------------

/** WAD → exact decimal string ("1234.5", "-0.000001", "0"). */
export function decimal(x: bigint): string {
  return wadToDecimal(x).toFixed();
}

/** Gas in wei → USD (WAD) at `nativeUsd` (WAD USD per native token), rounded down to 1e-18. */
export function gasUsd(wei: bigint, nativeUsd: bigint): bigint {
  return (wei * nativeUsd) / WAD;
}

export type AssembleRunParameters = {
  preset: Preset;
  keepers: readonly RunKeeper[];
  nativeUsd: bigint;
  wallClockMs: number;
  /** Insurance fund and bad debt before the run's first block (for the deltas). */
  before: { insuranceFund: bigint; badDebt: bigint };
  /** Markets with an impact model: the run gets a cascade section (cascade.ts). */
  impact?: ReadonlyMap<string, ImpactSpec>;
  /** The keeper that is the market's ADL operator, by name. */
  adlOperator?: string;
};

/** The run's report from its observations. Totals are sums of the rows; the worst figures are their extremes. */
export function assembleRunReport(observed: RunObservations, p: AssembleRunParameters): RunReport {
  const obs = observed.blocks;
  if (obs.length === 0) throw new Error("no blocks observed");
  const t0 = obs[0]!.timestamp;
  const keeperSet = new Set(p.keepers.map((k) => k.address));
  const blocks: BlockRow[] = [];
  const liquidations: LiquidationRow[] = [];
  let penalties = 0n;
  let rewardsAll = 0n;
  let notionalAll = 0n;
  let keeperRewards = 0n;
  // Gas is summed in wei per keeper and priced once, so the running figure ends equal to the keeper rows.
  const keeperWei = new Map<Address, bigint>();
  const keeperGasUsd = () => [...keeperWei.values()].reduce((s, wei) => s + gasUsd(wei, p.nativeUsd), 0n);
  let badDebtEvents = 0;
  let badDebtCovered = 0n;
  let maxBadDebtEvent = 0n;
  const worst: RunWorst = {
    maxBelowMaintenance: 0,
    maxBelowMaintenanceBlock: Number(obs[0]!.block),
    maxUnderwater: 0,
    maxLiquidationsInBlock: 0,
    maxBadDebtEvent: "0",
    minInsuranceFund: decimal(obs[0]!.insuranceFund),
    maxBlocksBelowMaintenanceBeforeLiquidation: 0,
    maxOpenDeficit: "0",
  };
  let maxOpenDeficit = 0n;
  let minInsurance = obs[0]!.insuranceFund;
  const belowSince = new Map<Address, bigint>();
  const liquidatedAccounts = new Set<Address>();
  const closedAccounts = new Set<Address>();

  for (const o of obs) {
    const markets: Record<string, MarketBlockRow> = {};
    for (const m of o.markets) {
      markets[m.symbol] = {
        price: decimal(m.price),
        longOpenInterest: decimal(m.long),
        shortOpenInterest: decimal(m.short),
        openInterestUsd: decimal(notional(m.long + m.short, m.price)),
        ...(m.pathPrice !== undefined ? { pathPrice: decimal(m.pathPrice) } : {}),
      };
    }
    let blockNotional = 0n;
    let partial = 0;
    let full = 0;
    for (const l of o.liquidations) {
      const n = notional(l.size, l.price);
      blockNotional += n;
      penalties += l.penalty;
      rewardsAll += l.keeperReward;
      if (keeperSet.has(l.keeper)) keeperRewards += l.keeperReward;
      if (l.full) full++;
      else partial++;
      // The streak below maintenance that this (first) liquidation ends.
      const since = belowSince.get(l.account);
      if (since !== undefined && !liquidatedAccounts.has(l.account)) {
        worst.maxBlocksBelowMaintenanceBeforeLiquidation = Math.max(worst.maxBlocksBelowMaintenanceBeforeLiquidation, Number(o.block - since));
      }
      liquidatedAccounts.add(l.account);
      liquidations.push({
        block: Number(l.block),
        txHash: l.txHash,
        logIndex: l.logIndex,
        keeper: l.keeper,
        account: l.account,
        market: l.market,
        size: decimal(l.size),
        full: l.full,
        price: decimal(l.price),
        penalty: decimal(l.penalty),
        keeperReward: decimal(l.keeperReward),
        insuranceShare: decimal(l.insuranceShare),
      });
    }
    notionalAll += blockNotional;
    for (const d of o.badDebts) {
      badDebtEvents++;
      badDebtCovered += d.covered;
      if (d.uncovered > maxBadDebtEvent) maxBadDebtEvent = d.uncovered;
    }
    for (const a of o.closedOut) closedAccounts.add(a);
    for (const [address, g] of o.gas) keeperWei.set(address, (keeperWei.get(address) ?? 0n) + g.wei);

    // Streaks: an account enters the set when it first falls below maintenance (until it recovers).
    const below = new Set(o.belowMaintenance);
    for (const a of below) if (!belowSince.has(a)) belowSince.set(a, o.block);
    for (const a of [...belowSince.keys()]) if (!below.has(a)) belowSince.delete(a);

    if (below.size > worst.maxBelowMaintenance) {
      worst.maxBelowMaintenance = below.size;
      worst.maxBelowMaintenanceBlock = Number(o.block);
    }
    worst.maxUnderwater = Math.max(worst.maxUnderwater, o.underwater);
    worst.maxLiquidationsInBlock = Math.max(worst.maxLiquidationsInBlock, o.liquidations.length);
    if (o.insuranceFund < minInsurance) minInsurance = o.insuranceFund;
    if (o.openDeficit > maxOpenDeficit) maxOpenDeficit = o.openDeficit;

    blocks.push({
      block: Number(o.block),
      t: Number(o.timestamp - t0),
      markets,
      belowMaintenance: below.size,
      underwater: o.underwater,
      openDeficit: decimal(o.openDeficit),
      partialLiquidations: partial,
      fullLiquidations: full,
      liquidatedNotionalUsd: decimal(blockNotional),
      insuranceFund: decimal(o.insuranceFund),
      cumulativeBadDebt: decimal(o.badDebt),
      cumulativePenalties: decimal(penalties),
      cumulativeKeeperProfit: decimal(keeperRewards - keeperGasUsd()),
    });
  }
  worst.maxBadDebtEvent = decimal(maxBadDebtEvent);
  worst.minInsuranceFund = decimal(minInsurance);
  worst.maxOpenDeficit = decimal(maxOpenDeficit);

  const last = obs[obs.length - 1]!;

  const keepers: KeeperRow[] = p.keepers.map((k) => {
    let wei = 0n;
    let transactions = 0;
    let reverted = 0;
    let failedItems = 0;
    for (const o of obs) {
      const g = o.gas.get(k.address);
      if (!g) continue;
      wei += g.wei;
      transactions += g.transactions;
      reverted += g.reverted;
      failedItems += g.failedItems;
    }
    const mine = obs.flatMap((o) => o.liquidations).filter((l) => l.keeper === k.address);
    const rewards = mine.reduce((s, l) => s + l.keeperReward, 0n);
    const gasCost = gasUsd(wei, p.nativeUsd);
    return {
      name: k.name,
      address: k.address,
      latencyMs: k.latencyMs,
      minProfitUsd: decimal(k.minProfitUsd),
      liquidations: mine.length,
      rewards: decimal(rewards),
      gasCost: decimal(gasCost),
      profit: decimal(rewards - gasCost),
      transactions,
      revertedTransactions: reverted,
      failedLiquidations: failedItems,
      backstopMode: k.backstopMode,
    };
  });

  const badDebt = last.badDebt - p.before.badDebt;
  const losses = traderLosses(obs);
  const sizing = runSizing(obs, p);
  const totals: RunTotals = {
    liquidations: liquidations.length,
    partialLiquidations: liquidations.filter((l) => !l.full).length,
    fullLiquidations: liquidations.filter((l) => l.full).length,
    liquidatedNotionalUsd: decimal(notionalAll),
    penalties: decimal(penalties),
    keeperRewards: decimal(rewardsAll),
    insuranceFundDelta: decimal(last.insuranceFund - p.before.insuranceFund),
    badDebt: decimal(badDebt),
    badDebtEvents,
    badDebtCoveredByInsurance: decimal(badDebtCovered),
    keeperProfit: decimal(keeperRewards - keeperGasUsd()),
    accountsLiquidated: liquidatedAccounts.size,
    accountsClosed: closedAccounts.size,
    traderLoss: decimal(losses.total),
    traderEquityLost: decimal(losses.equityLost),
    lossNotCovered: decimal(badDebt + last.openDeficit),
  };

  return {
    preset: p.preset.name,
    presetSummary: presetSummary(p.preset),
    startBlock: Number(obs[0]!.block),
    endBlock: Number(last.block),
    wallClockMs: p.wallClockMs,
    blocks,
    liquidations,
    keepers,
    totals,
    sizing,
    worst,
    ...(p.impact && p.impact.size > 0 ? { cascade: cascadeReport(obs, p.impact) } : {}),
    tiersSpanned: tierStatistic(observed.tiersSpanned, obs.flatMap((o) => o.liquidations)),
    adl: adlReport(obs, { enabled: p.preset.liquidation.adlEnabled, ...(p.adlOperator !== undefined ? { operator: p.adlOperator } : {}), badDebt }),
    final: {
      insuranceFund: decimal(last.insuranceFund),
      badDebt: decimal(last.badDebt),
      pool: decimal(last.pool),
      openAccounts: last.openAccounts,
      belowMaintenance: last.belowMaintenance.length,
      openDeficit: decimal(last.openDeficit),
      underwater: last.underwater,
    },
  };
}

/** The run's sizing answers (RunSizing in types.ts). */
function runSizing(obs: readonly BlockObservation[], p: AssembleRunParameters): RunSizing {
  const fund = insuranceFundNeeded(
    obs.flatMap((o) => fundEvents(o.liquidations, o.badDebts)),
    obs[obs.length - 1]!.openDeficit,
  );
  const backstops = p.keepers.filter((k) => k.backstopMode);
  const spend = backstops.length > 0 ? backstopSpend(backstopBlocks(obs, backstops.map((k) => k.address), (wei) => gasUsd(wei, p.nativeUsd))) : undefined;
  return {
    deficits: decimal(fund.deficits),
    insuranceFundNeeded: decimal(fund.needed),
    insuranceShares: decimal(fund.shares),
    ...(spend
      ? {
          backstop: {
            keepers: backstops.map((k) => k.name),
            gasCost: decimal(spend.gasCost),
            rewards: decimal(spend.rewards),
            rewardlessCloses: spend.rewardlessCloses,
            budget: decimal(spend.budget),
          },
        }
      : {}),
  };
}

/** The preset's parameters in human units. */
export function presetSummary(preset: Preset): Record<string, string> {
  const l = preset.liquidation;
  const g = preset.global;
  const none = 2n ** 256n - 1n;
  return {
    description: preset.description,
    cooldown: `${g.cooldown}s`,
    backstop: formatPpm(g.backstopPpm),
    keeperShare: formatPpm(g.keeperSharePpm),
    penalty: formatPpm(l.penaltyPpm),
    targetBuffer: formatPpm(l.targetBufferPpm),
    maxStep: formatPpm(l.maxStepPpm),
    tierStepDown: String(l.tierStepDown),
    partialThreshold: l.partialThreshold === none ? "none" : decimal(l.partialThreshold),
    dustNotional: decimal(l.dustNotional),
    adl: String(l.adlEnabled),
  };
}
