/**
 * Protocol-neutral planning: rank candidates by profit and pack them into transactions. A protocol
 * finds the candidates (its engine sizes each slice and its reward); this file only prices gas:
 * L2 gas at the head's gas price, and on an OP-stack chain the transaction's L1 data fee, both in
 * USD at the native token's current price. A transaction's profit is reward − L2 gas − L1 fee.
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
  /**
   * L1 data fee (wei) of a transaction of `items` liquidations (an upper bound), on an OP-stack
   * chain; absent elsewhere. A protocol's candidates price L2 gas only: the planner adds this.
   */
  l1FeeWei?: (items: number) => bigint;
};

export type PlanPolicy = {
  /** Minimum profit per item, USD WAD. */
  minProfitUsd: bigint;
  /** Liquidate at a loss to protect solvency (protocol teams). */
  backstopMode: boolean;
  /** Items per transaction at most; 1 disables batching. */
  maxBatch: number;
};

/** The costs of one head beside the settings: the native token's current price and the L1 fee model. */
export type HeadCosts = { nativeUsd?: bigint; l1FeeWei?: (items: number) => bigint };

/**
 * The gas model of keeper settings at a head's base fee. The native price is the head's
 * (`costs.nativeUsd`), else the settings' fixed one; with neither it throws a RangeError.
 */
export function gasModelFor(
  s: { gas: { single: bigint; batchBase: bigint; batchItem: bigint }; priorityFeeWei: bigint; nativeUsd?: bigint | undefined },
  baseFeePerGas: bigint,
  costs: HeadCosts = {},
): GasModel {
  const nativeUsd = costs.nativeUsd ?? s.nativeUsd;
  if (nativeUsd === undefined) throw new RangeError("no native-token price to value gas at");
  return {
    singleGas: s.gas.single,
    batchBaseGas: s.gas.batchBase,
    batchItemGas: s.gas.batchItem,
    gasPriceWei: baseFeePerGas + s.priorityFeeWei,
    nativeUsd,
    ...(costs.l1FeeWei ? { l1FeeWei: costs.l1FeeWei } : {}),
  };
}

/** The L1 data fee in USD WAD of a transaction of `items` liquidations (0 off OP-stack chains). */
export function l1FeeUsd(items: number, g: GasModel): bigint {
  return g.l1FeeWei === undefined ? 0n : (g.l1FeeWei(items) * g.nativeUsd) / WAD;
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
  const l1Single = l1FeeUsd(1, g);
  const maxBatch = Math.max(1, policy.maxBatch);
  const ranked = [...candidates].sort((a, b) => (a.profitUsd > b.profitUsd ? -1 : a.profitUsd < b.profitUsd ? 1 : 0));
  const keep = (c: Candidate<K>, gasShare: bigint) => {
    const profit = c.rewardUsd - gasShare;
    return profit >= policy.minProfitUsd || (policy.backstopMode && (c.backstop || c.full));
  };
  // A lone item pays the candidate's L2 gas and a one-item transaction's L1 fee.
  const alone = (c: Candidate<K>): Candidate<K> => (l1Single === 0n ? c : { ...c, gasUsd: c.gasUsd + l1Single, profitUsd: c.rewardUsd - c.gasUsd - l1Single });
  const skip = (c: Candidate<K>) => onSkip?.(c, c.backstop || c.full ? "backstop_only" : "below_min_profit");
  const txs: PlannedTx<K>[] = [];
  let i = 0;
  while (i < ranked.length) {
    const chunk = ranked.slice(i, i + maxBatch);
    i += chunk.length;
    if (chunk.length === 1) {
      const c = alone(chunk[0]!);
      if (keep(c, c.gasUsd)) txs.push({ items: [c], profitUsd: c.profitUsd, gas: g.singleGas });
      else skip(c);
      continue;
    }
    const n = BigInt(chunk.length);
    const share = batchItem + batchBase / n + l1FeeUsd(chunk.length, g) / n;
    for (const c of chunk) if (!keep(c, share)) skip(c);
    const items = chunk
      .filter((c) => keep(c, share))
      .map((c) => ({ ...c, gasUsd: share, profitUsd: c.rewardUsd - share }));
    if (items.length === 0) continue;
    if (items.length === 1) {
      const c = alone(chunk.find((x) => x.account === items[0]!.account && x.marketId === items[0]!.marketId)!);
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

