/**
 * Fit planned transactions into what may be sent now: each transaction's gas limit under the block
 * gas limit, and the worst case of everything sent this round (limit × maxFeePerGas) within the gas
 * budget's room. A transaction that does not fit is split (its items are ranked by profit, so the
 * best go first); what still does not fit is left for a later head, when the transactions in
 * flight have settled and the budget has room again. Never refused whole.
 */
import type { PlannedTx } from "./planLiquidations.ts";

export type FitLimits<K extends string> = {
  /** Gas limit of a transaction of these items (base + Σ per-item headroom). */
  gasOf: (items: PlannedTx<K>["items"]) => bigint;
  /** Worst-case wei of a transaction with that limit and profit (limit × its maxFeePerGas). */
  worstCaseWei: (gas: bigint, items: PlannedTx<K>["items"]) => bigint;
  /** Wei the budget may still commit now. */
  roomWei: bigint;
  blockGasLimit: bigint;
};

export type Fitted<K extends string> = { txs: PlannedTx<K>[]; deferred: PlannedTx<K>["items"] };

export function fitPlans<K extends string>(planned: readonly PlannedTx<K>[], limits: FitLimits<K>): Fitted<K> {
  const txs: PlannedTx<K>[] = [];
  const deferred: PlannedTx<K>["items"] = [];
  let room = limits.roomWei;
  for (const tx of planned) {
    let rest = tx.items;
    while (rest.length > 0) {
      const n = largestFit(rest, (k) => {
        const items = rest.slice(0, k);
        const gas = limits.gasOf(items);
        return gas <= limits.blockGasLimit && limits.worstCaseWei(gas, items) <= room;
      });
      if (n === 0) {
        deferred.push(...rest);
        break;
      }
      const items = rest.slice(0, n);
      const gas = limits.gasOf(items);
      room -= limits.worstCaseWei(gas, items);
      txs.push({ items, profitUsd: items.reduce((s, c) => s + c.profitUsd, 0n), gas });
      rest = rest.slice(n);
    }
  }
  return { txs, deferred };
}

/** The largest k in [0, n] with fits(k), for a `fits` that holds up to some k and not beyond. */
function largestFit(items: readonly unknown[], fits: (k: number) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
