/**
 * Protocol-neutral planning: rank candidates by profit and pack them into transactions. A protocol
 * finds the candidates (its engine sizes each slice and its reward); this file only prices gas.
 */

const WAD = 10n ** 18n;

/** One liquidation the keeper could send now, with its economics. `K`: the account key's type. */
export type Candidate<K extends string = string> = {
  account: K;
  marketId: number;
  size: bigint;
  full: boolean;
  backstop: boolean;
  /** Keeper's reward, whole collateral tokens (6 decimals). */
  rewardTokens: bigint;
  /** Reward in USD, WAD (the collateral token is a dollar). */
  rewardUsd: bigint;
  /** Expected gas cost of this item in USD, WAD (its share of a batch when batched). */
  gasUsd: bigint;
  /** rewardUsd − gasUsd. */
  profitUsd: bigint;
};

export type GasModel = {
  /** Gas units of a single liquidate() call. */
  singleGas: bigint;
  /** Fixed gas of a liquidateBatch() call, and per item in it. */
  batchBaseGas: bigint;
  batchItemGas: bigint;
  /** Expected price per gas unit (base fee + priority), wei. */
  gasPriceWei: bigint;
  /** Native token price in USD, WAD. */
  nativeUsd: bigint;
};

export type PlanPolicy = {
  /** Minimum profit per item, USD WAD. */
  minProfitUsd: bigint;
  /** Liquidate at a loss to protect solvency (protocol teams). */
  backstopMode: boolean;
  /** Items per transaction at most; 1 disables batching. */
  maxBatch: number;
};

/** The gas model of keeper settings at a head's base fee. */
export function gasModelFor(
  s: { gas: { single: bigint; batchBase: bigint; batchItem: bigint }; priorityFeeWei: bigint; nativeUsd: bigint },
  baseFeePerGas: bigint,
): GasModel {
  return {
    singleGas: s.gas.single,
    batchBaseGas: s.gas.batchBase,
    batchItemGas: s.gas.batchItem,
    gasPriceWei: baseFeePerGas + s.priorityFeeWei,
    nativeUsd: s.nativeUsd,
  };
}

/** Gas cost in USD WAD of `gas` units. */
export function gasCostUsd(gas: bigint, g: GasModel): bigint {
  return (gas * g.gasPriceWei * g.nativeUsd) / WAD;
}

/**
 * Why the planner left a candidate out: its profit is below the minimum, or it is below the
 * minimum and only a backstop keeper (backstopMode) would take it at a loss.
 */
export type PlanSkipReason = "below_min_profit" | "backstop_only";

/** A transaction to send: one or several items, ranked by profit. */
export type PlannedTx<K extends string = string> = { items: Candidate<K>[]; profitUsd: bigint; gas: bigint };

/**
 * Rank candidates by profit, drop those below the minimum (unless backstop mode keeps accounts in
 * backstop or with negative margin), and pack them into transactions: a batch of n items costs
 * batchBase + n × batchItem gas instead of n × single, so batching pays from two items on; each
 * item's gas share is re-priced inside its batch before the profit check.
 */
export function planTransactions<K extends string>(
  candidates: readonly Candidate<K>[],
  g: GasModel,
  policy: PlanPolicy,
  onSkip?: (c: Candidate<K>, reason: PlanSkipReason) => void,
): PlannedTx<K>[] {
  const batchItem = gasCostUsd(g.batchItemGas, g);
  const batchBase = gasCostUsd(g.batchBaseGas, g);
  const maxBatch = Math.max(1, policy.maxBatch);
  const ranked = [...candidates].sort((a, b) => (a.profitUsd > b.profitUsd ? -1 : a.profitUsd < b.profitUsd ? 1 : 0));
  const keep = (c: Candidate<K>, gasShare: bigint) => {
    const profit = c.rewardUsd - gasShare;
    return profit >= policy.minProfitUsd || (policy.backstopMode && (c.backstop || c.full));
  };
  const skip = (c: Candidate<K>) => onSkip?.(c, c.backstop || c.full ? "backstop_only" : "below_min_profit");
  const txs: PlannedTx<K>[] = [];
  let i = 0;
  while (i < ranked.length) {
    const chunk = ranked.slice(i, i + maxBatch);
    i += chunk.length;
    if (chunk.length === 1) {
      const c = chunk[0]!;
      if (keep(c, c.gasUsd)) txs.push({ items: [c], profitUsd: c.profitUsd, gas: g.singleGas });
      else skip(c);
      continue;
    }
    const share = batchItem + batchBase / BigInt(chunk.length);
    for (const c of chunk) if (!keep(c, share)) skip(c);
    const items = chunk
      .filter((c) => keep(c, share))
      .map((c) => ({ ...c, gasUsd: share, profitUsd: c.rewardUsd - share }));
    if (items.length === 0) continue;
    if (items.length === 1) {
      const c = chunk.find((x) => x.account === items[0]!.account && x.marketId === items[0]!.marketId)!;
      if (keep(c, c.gasUsd)) txs.push({ items: [c], profitUsd: c.profitUsd, gas: g.singleGas });
      else skip(c);
      continue;
    }
    txs.push({
      items,
      profitUsd: items.reduce((s, c) => s + c.profitUsd, 0n),
      gas: g.batchBaseGas + g.batchItemGas * BigInt(items.length),
    });
  }
  return txs;
}

