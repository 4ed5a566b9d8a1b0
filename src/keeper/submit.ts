/**
 * One tick's submissions: the protocol's candidates for some accounts, ranked and batched by the
 * planner, fitted to the gas budget's room and the block gas limit, handed to the executor. Gas is
 * valued at the native token's current price (nativePrice.ts), and on an OP-stack chain each
 * transaction's L1 data fee counts against its profit and the budget.
 */
import type { Address } from "viem";
import type { FeeHead } from "../chain/heads.ts";
import type { KeeperSettings } from "../config/keeper.ts";
import type { Executor } from "../execute/executor.ts";
import type { LiquidationItem, TxPlan } from "../execute/types.ts";
import type { Logger } from "../lib/logger.ts";
import { fitPlans } from "../plan/fitPlans.ts";
import { gasModelFor, planTransactions, type Candidate } from "../plan/planLiquidations.ts";
import type { SkipLog } from "../plan/skipLog.ts";
import type { Book, GasUnits } from "./protocol.ts";

export type SubmitContext = {
  book: Book;
  executor: Executor;
  settings: KeeperSettings;
  gas: GasUnits;
  logger: Logger;
  skips: SkipLog;
  blockGasLimit: bigint;
  /** The latest head's costs (headCosts.ts): the native price (USD WAD), and the L1 fee bound (wei) of a transaction of `items` liquidations, undefined off OP-stack chains. */
  costs: { readonly nativeUsd: bigint; l1FeeWei(items: number): bigint | undefined };
};

/**
 * Plan and submit liquidations for `accounts` at `head`. Accounts a candidate was found for are
 * added to `submitted` (deferred ones are taken out again, so the rescan may try them). Returns
 * the number of items the executor accepted.
 */
export function submitFor(
  ctx: SubmitContext,
  accounts: readonly Address[],
  head: FeeHead & { baseFeePerGas: bigint },
  observedAt: number,
  submitted: Set<string>,
): number {
  const { settings: s, executor, logger, skips } = ctx;
  const nativeUsd = ctx.costs.nativeUsd;
  const l1FeeWei = ctx.costs.l1FeeWei(1) === undefined ? undefined : (n: number) => ctx.costs.l1FeeWei(n) ?? 0n;
  const gas = gasModelFor({ gas: ctx.gas, priorityFeeWei: s.priorityFeeWei }, head.baseFeePerGas, { nativeUsd, ...(l1FeeWei ? { l1FeeWei } : {}) });
  // Only what the executor can take now: a target in flight, a busy account or a backoff would
  // make it refuse the whole batch, and the same batch would be planned again every head.
  const candidates = ctx.book.candidates(accounts, head.timestamp, gas, (account, marketId) => executor.admissible({ account, marketId }));
  for (const c of candidates) submitted.add(c.account);
  const policy = { minProfitUsd: s.minProfitUsd, backstopMode: s.backstopMode, maxBatch: s.maxBatch };
  const planned = planTransactions(candidates, gas, policy, (c, reason) => skips.skipped(c.account, reason, { market: c.marketId, rewardTokens: c.rewardTokens, profitUsd: c.profitUsd }));
  const profitWei = (items: readonly Candidate<Address>[]) => {
    const usd = items.reduce((sum, c) => sum + c.profitUsd, 0n);
    return usd > 0n ? (usd * 10n ** 18n) / nativeUsd : 0n;
  };
  // Sent on the engine's word, a transaction is always a batch, and its limit is the protocol's
  // measured model: the fixed part plus each item's worst case. A plan over the budget's room or
  // the block gas limit is split.
  const gasOf = (items: readonly unknown[]) => ctx.gas.batchBase + ctx.gas.batchItem * BigInt(items.length);
  const { txs, deferred } = fitPlans(planned, {
    gasOf,
    worstCaseWei: (g, items) => executor.worstCaseWei(g, profitWei(items)) + (l1FeeWei?.(items.length) ?? 0n),
    roomWei: executor.budgetRoomWei(),
    blockGasLimit: ctx.blockGasLimit,
  });
  // Deferred accounts stay open to the rest of this tick (the rescan, after receipts free room).
  for (const c of deferred) submitted.delete(c.account);
  if (deferred.length > 0) logger.info({ deferred: deferred.length, block: head.number }, "gas budget or block gas limit reached: the rest waits for a later head");
  let accepted = 0;
  for (const tx of txs) {
    const plan: TxPlan = { items: tx.items.map(toItem), expectedProfitWei: profitWei(tx.items), priceBlock: head.number, observedAt, gasLimit: tx.gas };
    const r = executor.submit(plan);
    if (r.accepted) {
      accepted += plan.items.length;
      for (const c of tx.items) {
        skips.sent(c.account);
        logger.info(
          { account: c.account, market: c.marketId, size: c.size, full: c.full, rewardTokens: c.rewardTokens, block: head.number },
          c.full ? "liquidating position in full" : "liquidating partially",
        );
      }
    } else if (r.reason !== "duplicate") {
      logger.debug({ reason: r.reason, items: plan.items.length }, "plan not admitted");
    }
  }
  return accepted;
}

/** The index's keys are checksummed once, when their events are decoded: no getAddress per send. */
function toItem(c: Candidate<Address>): LiquidationItem {
  return { account: c.account, marketId: c.marketId, size: c.size, expectedRewardTokens: c.rewardTokens };
}
