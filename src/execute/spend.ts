/**
 * The hourly gas budget as the executor applies it: what the last hour's receipts cost (see
 * gasBudget.ts) plus the worst case of every transaction in flight (gas limit × maxFeePerGas) must
 * stay within `gasBudgetWeiPerHour`. On an OP-stack chain a transaction's L1 data fee counts too:
 * its upper bound while in flight, the receipt's `l1Fee` (or that bound) once mined.
 */
import type { Hex, TransactionReceipt } from "viem";
import { BaseError } from "../lib/errors.ts";
import type { ExecutorContext } from "./context.ts";
import { quoteFees } from "./fees.ts";
import type { LiquidationItem } from "./types.ts";

/** One mined liquidation transaction, as the executor settled it (for a profit ledger). */
export type MinedTx = {
  hash: Hex;
  block: bigint;
  /** The head's time when the receipt was settled (seconds). */
  timestamp: bigint;
  /** Items liquidated (the receipt's events), and failed inside the batch. */
  liquidated: number;
  failed: number;
  items: readonly LiquidationItem[];
  /** Keeper rewards received, in collateral tokens (6 decimals). */
  rewardTokens: bigint;
  /** L2 gas: gasUsed × effectiveGasPrice (wei). */
  gasWei: bigint;
  /** L1 data fee (wei): the receipt's `l1Fee`, else the keeper's estimate; 0 off OP-stack chains. */
  l1FeeWei: bigint;
  l1FeeFrom: "receipt" | "estimate" | "none";
  /** Whether the transaction reverted (a cost with no reward). */
  reverted: boolean;
};

/** What the executor is told of costs beyond L2 gas, and whom it tells of what was mined. */
export type ExecutorCosts = {
  /** L1 data fee upper bound (wei) of a transaction of `items` liquidations; undefined (or absent) off OP-stack chains. */
  l1FeeWei?: (items: number) => bigint | undefined;
  /** Called once per mined liquidation transaction of ours (success or revert), after it is counted. */
  onMined?: (m: MinedTx) => void;
};

/** The L1 fee a mined transaction paid: the receipt's `l1Fee` (OP-stack nodes add it), else the estimate. */
export function receiptL1FeeWei(ctx: Pick<ExecutorContext, "costs">, receipt: TransactionReceipt, items: number): { wei: bigint; from: MinedTx["l1FeeFrom"] } {
  const raw = (receipt as TransactionReceipt & { l1Fee?: unknown }).l1Fee;
  if (typeof raw === "bigint") return { wei: raw, from: "receipt" };
  if (typeof raw === "string" && /^0x[0-9a-fA-F]+$/.test(raw)) return { wei: BigInt(raw), from: "receipt" };
  const estimate = ctx.costs.l1FeeWei?.(items);
  return estimate === undefined ? { wei: 0n, from: "none" } : { wei: estimate, from: "estimate" };
}

/** Worst-case gas assumed for a restored transaction whose checkpoint has no gas limit. */
export const UNKNOWN_GAS = 1_000_000n;

/** Sending would take the worst-case gas spend of the last hour over the budget. */
export class GasBudgetExceededError extends BaseError {
  override name = "GasBudgetExceededError";
  constructor(details: { worstCaseWei: bigint; spentWei: bigint; pendingWei: bigint; budgetWei: bigint }) {
    super("sending would exceed the hourly gas budget", {
      details: Object.entries(details)
        .map(([k, v]) => `${k}=${v}`)
        .join(" "),
    });
  }
}

/** Wei the hourly budget may still commit now: budget − spent in the window − worst case in flight. */
export function budgetRoomWei(ctx: ExecutorContext): bigint {
  const room = ctx.budget.budgetWei - ctx.budget.spent() - pendingWei(ctx);
  return room > 0n ? room : 0n;
}

/** The worst case a new transaction of `gas` and `expectedProfitWei` would commit at the current head (gas × maxFeePerGas). */
export function worstCaseWei(ctx: ExecutorContext, gas: bigint, expectedProfitWei: bigint): bigint {
  const fees = quoteFees({ baseFeePerGas: ctx.head?.baseFeePerGas ?? null, policy: ctx.policy, expectedProfitWei, gas });
  return gas * (fees.ok ? fees.maxFeePerGas : ctx.policy.feeCapWei);
}

/** Worst case of what is in flight: gas limit × maxFeePerGas, plus each one's L1 fee bound. */
export function pendingWei(ctx: ExecutorContext): bigint {
  let sum = 0n;
  const l1 = ctx.costs.l1FeeWei;
  for (const rec of ctx.tracked.values()) {
    sum += (rec.tx.gas ?? UNKNOWN_GAS) * rec.tx.maxFeePerGas;
    if (l1 !== undefined) sum += l1(Math.max(1, rec.tx.items.length)) ?? 0n;
  }
  return sum;
}

/** Whether anything may be sent; logs once when the budget trips and once when it recovers. */
export function budgetHasRoom(ctx: ExecutorContext): boolean {
  const pending = pendingWei(ctx);
  const room = ctx.budget.hasRoom(pending);
  if (!room && !ctx.budgetTripped) {
    ctx.budgetTripped = true;
    const fields = { spentWei: ctx.budget.spent(), pendingWei: pending, budgetWei: ctx.budget.budgetWei };
    ctx.logger.warn({ msg: "hourly gas budget exhausted: refusing new sends", ...fields });
  } else if (room && ctx.budgetTripped) {
    ctx.budgetTripped = false;
    const fields = { spentWei: ctx.budget.spent(), pendingWei: pending, budgetWei: ctx.budget.budgetWei };
    ctx.logger.info({ msg: "hourly gas budget has room again", ...fields });
  }
  return room;
}
