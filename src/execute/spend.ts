/**
 * The hourly gas budget as the executor applies it: what the last hour's receipts cost (see
 * gasBudget.ts) plus the worst case of every transaction in flight (gas limit × maxFeePerGas) must
 * stay within `gasBudgetWeiPerHour`.
 */
import { BaseError } from "../lib/errors.ts";
import type { ExecutorContext } from "./context.ts";
import { quoteFees } from "./fees.ts";

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

/** Worst case of what is in flight: gas limit × maxFeePerGas. */
export function pendingWei(ctx: ExecutorContext): bigint {
  let sum = 0n;
  for (const rec of ctx.tracked.values()) sum += (rec.tx.gas ?? UNKNOWN_GAS) * rec.tx.maxFeePerGas;
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
