import { getAddress, parseEventLogs, type Address, type Chain, type PublicClient, type Transport } from "viem";
import { getBlockReceipts } from "viem/actions";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import type { Deployment } from "../../chain/deploy.ts";
import type { Preset } from "../../config/presets.ts";
import { WAD, accountHealth, notional } from "../../engine/index.ts";
import { formatPpm, wadToDecimal } from "../../lib/units.ts";
import { Indexer } from "../../index/index.ts";
import { referenceOf } from "../../protocols/index.ts";
import { valuationAt } from "../../protocols/reference/index.ts";
import { silentLogger, type Logger } from "../../lib/logger.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { traderLosses } from "./lossSplit.ts";
import { backstopBlocks, backstopSpend, fundEvents, insuranceFundNeeded } from "./sizing.ts";
import type { BlockRow, KeeperRow, LiquidationRow, MarketBlockRow, RunReport, RunSizing, RunTotals, RunWorst } from "./types.ts";

/**
 * report.json's run section, built from the chain only: the market's own events (Liquidated,
 * BadDebt) and receipts of every block of the run, the contract's state at each block (insurance
 * fund, bad debt, pool), and the account state rebuilt from events by the keeper's indexer, valued
 * with the shared engine (accounts below maintenance, open interest). Nothing comes from the
 * simulator's plan. Collection ({@link observeRun}) is I/O; assembly ({@link assembleRunReport})
 * is pure.
 */

/** One Liquidated event. */
export type LiquidationEvent = {
  block: bigint;
  txHash: string;
  logIndex: number;
  account: Address;
  marketId: number;
  /** The market's symbol in the deployment. */
  market: string;
  keeper: Address;
  size: bigint;
  price: bigint;
  penalty: bigint;
  keeperReward: bigint;
  insuranceShare: bigint;
  remainingSize: bigint;
  full: boolean;
};

/** One BadDebt event. */
export type BadDebtEvent = { block: bigint; logIndex: number; account: Address; covered: bigint; uncovered: bigint };

/** One keeper's transactions in one block: gas paid, count, reverted, and batch items that failed inside them. */
export type GasSpent = { wei: bigint; transactions: number; reverted: number; failedItems: number };

/** What the chain says about one block of the run. */
export type BlockObservation = {
  block: bigint;
  timestamp: bigint;
  markets: { symbol: string; price: bigint; long: bigint; short: bigint }[];
  /** Accounts with equity below total maintenance margin, and with equity ≤ 0, at the end of the block. */
  belowMaintenance: Address[];
  underwater: number;
  /** Σ −equity over accounts with negative equity. */
  openDeficit: bigint;
  /** Equity of every account with a position, and of every account liquidated in the block (its collateral once closed). */
  equity: Map<Address, bigint>;
  /** Accounts with at least one position at the end of the block. */
  openAccounts: number;
  /** Accounts liquidated in this block that hold no position at its end (closed out). */
  closedOut: Address[];
  liquidations: LiquidationEvent[];
  badDebts: BadDebtEvent[];
  /** Gas of the keepers' transactions in this block, by keeper address. */
  gas: Map<Address, GasSpent>;
  insuranceFund: bigint;
  badDebt: bigint;
  pool: bigint;
};

export type RunKeeper = { name: string; address: Address; latencyMs: number; minProfitUsd: bigint; backstopMode: boolean };

export type ObserveRunParameters = {
  client: PublicClient<Transport, Chain>;
  deployment: Deployment;
  /** First and last block of the run (inclusive). */
  startBlock: bigint;
  endBlock: bigint;
  /** Symbols of the markets to report, in order. */
  markets: readonly string[];
  keepers: readonly Pick<RunKeeper, "address">[];
  logger?: Logger;
  /** Called after each block is read. */
  onBlock?: (done: number, total: number) => void;
};

/** Read every block of the run from the chain. */
export async function observeRun(p: ObserveRunParameters): Promise<BlockObservation[]> {
  const market = p.deployment.contracts.market;
  const logger = p.logger ?? silentLogger();
  const indexer = new Indexer({ client: p.client, source: referenceOf(p.deployment).index, deployBlock: p.deployment.deployBlock, logger, metrics: createMetrics(), maxReorgDepth: 8 });
  await indexer.backfill(p.startBlock - 1n);
  const ids = p.markets.map((s) => {
    const m = p.deployment.markets.find((x) => x.symbol === s);
    if (!m) throw new Error(`market ${s} is not in the deployment`);
    return { symbol: s, id: m.id };
  });
  const keepers = new Set(p.keepers.map((k) => getAddress(k.address)));
  const out: BlockObservation[] = [];
  const total = Number(p.endBlock - p.startBlock + 1n);
  for (let b = p.startBlock; b <= p.endBlock; b++) {
    const header = await p.client.getBlock({ blockNumber: b });
    await indexer.syncTo({ number: header.number, hash: header.hash, parentHash: header.parentHash, timestamp: header.timestamp });
    const at = { blockNumber: b };
    const read = (functionName: "insuranceFund" | "badDebt" | "poolBalance") => p.client.readContract({ address: market, abi: PerpMarket.abi, functionName, ...at });
    const [receipts, insuranceFund, badDebt, pool] = await Promise.all([getBlockReceipts(p.client, at), read("insuranceFund"), read("badDebt"), read("poolBalance")]);

    const gas = new Map<Address, GasSpent>();
    for (const r of receipts) {
      const from = getAddress(r.from);
      if (!keepers.has(from)) continue;
      const g = gas.get(from) ?? { wei: 0n, transactions: 0, reverted: 0, failedItems: 0 };
      g.wei += r.gasUsed * r.effectiveGasPrice;
      g.transactions++;
      if (r.status !== "success") g.reverted++;
      g.failedItems += parseEventLogs({ abi: PerpMarket.abi, logs: r.logs, eventName: "LiquidationFailed" }).length;
      gas.set(from, g);
    }
    const logs = receipts.flatMap((r) => r.logs).filter((l) => getAddress(l.address) === getAddress(market));
    const liquidations: LiquidationEvent[] = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" }).map((l) => ({
      block: b,
      txHash: l.transactionHash,
      logIndex: l.logIndex,
      account: getAddress(l.args.account),
      marketId: Number(l.args.marketId),
      market: p.deployment.markets.find((m) => m.id === Number(l.args.marketId))?.symbol ?? String(l.args.marketId),
      keeper: getAddress(l.args.keeper),
      size: l.args.size,
      price: l.args.price,
      penalty: l.args.penalty,
      keeperReward: l.args.keeperReward,
      insuranceShare: l.args.insuranceShare,
      remainingSize: l.args.remainingSize,
      full: l.args.full,
    }));
    const badDebts: BadDebtEvent[] = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "BadDebt" }).map((l) => ({
      block: b,
      logIndex: l.logIndex,
      account: getAddress(l.args.account),
      covered: l.args.coveredByInsurance,
      uncovered: l.args.uncovered,
    }));

    // State rebuilt from events, valued by the engine at the block's time.
    const v = valuationAt(indexer.state, header.timestamp);
    const below: Address[] = [];
    let underwater = 0;
    let openDeficit = 0n;
    let openAccounts = 0;
    const equity = new Map<Address, bigint>();
    const oi = new Map<number, { long: bigint; short: bigint }>(ids.map(({ id }) => [id, { long: 0n, short: 0n }]));
    for (const [address, account] of indexer.state.accounts) {
      if (account.positions.length === 0) continue;
      openAccounts++;
      for (const pos of account.positions) {
        const o = oi.get(pos.marketId);
        if (!o) continue;
        if (pos.size > 0n) o.long += pos.size;
        else o.short -= pos.size;
      }
      try {
        const h = accountHealth(account, v);
        equity.set(address, h.equity);
        if (h.liquidatable) below.push(address);
        if (h.equity <= 0n) underwater++;
        if (h.equity < 0n) openDeficit -= h.equity;
      } catch (e) {
        logger.warn({ err: e, account: address, block: b }, "cannot value account (stale price?)");
      }
    }
    const closedOut = [...new Set(liquidations.map((l) => l.account))].filter((a) => (indexer.state.accounts.get(a)?.positions.length ?? 0) === 0);
    for (const a of closedOut) equity.set(a, indexer.state.accounts.get(a)?.collateral ?? 0n);
    out.push({
      block: b,
      timestamp: header.timestamp,
      markets: ids.map(({ symbol, id }) => ({ symbol, price: indexer.state.price(id)?.price ?? 0n, ...oi.get(id)! })),
      belowMaintenance: below,
      underwater,
      openDeficit,
      equity,
      openAccounts,
      closedOut,
      liquidations,
      badDebts,
      gas,
      insuranceFund,
      badDebt,
      pool,
    });
    p.onBlock?.(out.length, total);
  }
  return out;
}

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
};

/** The run's report from its observations. Totals are sums of the rows; the worst figures are their extremes. */
export function assembleRunReport(obs: readonly BlockObservation[], p: AssembleRunParameters): RunReport {
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
  };
}
