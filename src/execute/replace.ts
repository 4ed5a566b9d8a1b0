/**
 * Replacement of a stuck transaction (not mined after `replaceAfterBlocks`, or offering less than
 * the base fee): every item is checked again at the current head (see revalidate.ts) and the
 * nonce is rebroadcast with bumped fees, as the same calldata, a re-plan with only the items still
 * valid, or a cancel.
 *
 * Cancels: after `replaceAfterBlocks` without inclusion, if `isStillValid` is false for every item
 * the transaction is replaced by a 0-value self-transfer (21 000 gas) with bumped fees. It costs
 * gas, so it is done only when the target is gone; it is cheaper than letting the liquidation be
 * mined and revert (the whole call's gas), and it frees the nonce, which would otherwise hold back
 * every later transaction of the key. If any item is still valid the same calldata is rebroadcast
 * with bumped fees (a batch isolates items that fail on chain).
 */
import { keccak256, type Hex } from "viem";
import { CANCEL_GAS, sign } from "./broadcast.ts";
import type { LiquidationCall } from "./calls.ts";
import type { ExecutorContext, Tracked } from "./context.ts";
import { bumpFees, pickFees } from "./fees.ts";
import { describe, sumExpected } from "./items.ts";
import { journalEntry } from "./journal.ts";
import { estimate } from "./preflight.ts";
import { revalidate, type Revalidation } from "./revalidate.ts";
import { SendInsufficientFundsError, sendErrorOf } from "./sendError.ts";
import { pendingWei, UNKNOWN_GAS } from "./spend.ts";
import type { BlockHead, LiquidationItem } from "./types.ts";

/** Not mined after `replaceAfterBlocks`: bump fees at the same nonce, or cancel. */
export async function maybeReplace(ctx: ExecutorContext, rec: Tracked, block: BlockHead): Promise<void> {
  rec.missingSince = undefined;
  // A transaction offering less than the base fee cannot be included at all: replace it now.
  const underpriced = block.baseFeePerGas != null && rec.tx.maxFeePerGas < block.baseFeePerGas;
  if (!underpriced && block.number - rec.tx.sentAtBlock < ctx.replaceAfterBlocks) return;
  // Every item is checked again at this head: calldata with an item that would fail is never
  // rebroadcast (see revalidate.ts).
  const check: Revalidation = rec.cancelled || rec.call === undefined
    ? { kind: "cancel" }
    : revalidate(rec.tx.items, { isStillValid: (i) => stillValid(ctx, i), sizeNow: ctx.sizeNow && ((i) => sizeNowOf(ctx, i)) });
  const cancel = check.kind === "cancel";
  // Defined whenever the transaction is not a cancel (a rec without a call is always cancelled).
  const call = (check.kind === "replan" ? ctx.calls.encode(check.items, { isolate: true }) : rec.call) as LiquidationCall;
  const expectedProfitWei = cancel ? 0n : check.kind === "replan" ? scaleProfit(rec.expectedProfitWei, rec.tx.items, check.items) : rec.expectedProfitWei;
  const gas = cancel ? CANCEL_GAS : (rec.tx.gas ?? (await regas(ctx, rec)));
  const fees = bumpFees(
    { maxFeePerGas: rec.tx.maxFeePerGas, maxPriorityFeePerGas: rec.tx.maxPriorityFeePerGas },
    { baseFeePerGas: block.baseFeePerGas, policy: ctx.policy, expectedProfitWei, gas },
  );
  const fields = { nonce: rec.tx.nonce, hash: rec.tx.hash, blocks: block.number - rec.tx.sentAtBlock, cancel, replan: check.kind === "replan" };
  if (!fees.ok) {
    if (!rec.capWarned) ctx.logger.warn({ msg: "stuck transaction cannot be bumped under the fee cap", ...fields, reason: fees.reason });
    rec.capWarned = true;
    return;
  }
  if (!cancel) {
    const others = pendingWei(ctx) - (rec.tx.gas ?? UNKNOWN_GAS) * rec.tx.maxFeePerGas;
    if (!ctx.budget.allows(others, gas * fees.maxFeePerGas)) {
      ctx.logger.info({ msg: "fee bump would exceed the hourly gas budget; waiting", ...fields });
      return;
    }
  }
  const tx = cancel
    ? { to: ctx.keeper, data: "0x" as Hex, value: 0n, nonce: rec.tx.nonce, gas, ...pickFees(fees) }
    : { to: ctx.calls.target, data: call.data, value: 0n, nonce: rec.tx.nonce, gas, ...pickFees(fees) };
  const signed = await sign(ctx, tx);
  const hash = keccak256(signed);
  // The journal names every hash that may be mined at this nonce, the new one included.
  ctx.journal?.sent(
    rec.tx.nonce,
    journalEntry({
      ...rec.tx,
      hash,
      previousHashes: [...(rec.tx.previousHashes ?? []), rec.tx.hash],
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      gas,
      ...(cancel ? { items: rec.tx.items } : { items: check.kind === "replan" ? check.items : rec.tx.items, functionName: call.functionName }),
    }),
  );
  try {
    await ctx.walletClient.sendRawTransaction({ serializedTransaction: signed });
  } catch (e) {
    const error = sendErrorOf(e, rec.tx.nonce);
    ctx.metrics.sendFailures.inc({ kind: error.kind });
    if (error instanceof SendInsufficientFundsError) ctx.funds.markShort(gas * fees.maxFeePerGas);
    // Nonce too low: one of our broadcasts (or another's) was just mined; the next block settles it.
    ctx.logger.info({ msg: "replacement not accepted; keeping the pending one", ...fields, kind: error.kind });
    return;
  }
  const previous = rec.tx.hash;
  rec.tx = {
    ...rec.tx,
    hash,
    previousHashes: [...(rec.tx.previousHashes ?? []), previous],
    sentAtBlock: block.number,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    replacements: rec.tx.replacements + 1,
    gas,
  };
  if (check.kind === "replan") {
    // The earlier broadcasts may still be the one mined: their dropped items stay held until the nonce settles.
    rec.released = [...(rec.released ?? []), ...check.dropped];
    rec.call = call;
    rec.expectedProfitWei = expectedProfitWei;
    rec.priceBlock = block.number;
    rec.tx = { ...rec.tx, items: check.items, functionName: call.functionName, expectedProfitWei };
  }
  if (cancel && !rec.cancelled) {
    rec.cancelled = true;
    ctx.counters.cancelled++;
  }
  ctx.counters.replaced++;
  ctx.metrics.transactions.inc({ outcome: "replaced" });
  ctx.logger.info({
    msg: cancel
      ? "stuck transaction cancelled"
      : check.kind === "replan"
        ? "stuck transaction re-planned: only items still valid at this head, with higher fees"
        : "stuck transaction replaced with higher fees",
    ...fields,
    ...(check.kind === "replan" ? { items: check.items.map(describe), dropped: check.dropped.map(describe) } : {}),
    replacedBy: hash,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  });
}

function stillValid(ctx: ExecutorContext, item: LiquidationItem): boolean {
  try {
    return ctx.isStillValid(item);
  } catch (e) {
    ctx.logger.warn({ msg: "isStillValid threw; not sending the item again", ...describe(item), err: e });
    return false;
  }
}

function sizeNowOf(ctx: ExecutorContext, item: LiquidationItem): bigint {
  try {
    return ctx.sizeNow?.(item) ?? 0n;
  } catch (e) {
    ctx.logger.warn({ msg: "sizeNow threw; not sending the item again", ...describe(item), err: e });
    return 0n;
  }
}

/** Gas for a restored transaction whose checkpoint lacks it. */
async function regas(ctx: ExecutorContext, rec: Tracked): Promise<bigint> {
  if (!rec.call) return CANCEL_GAS;
  const estimated = await estimate(ctx, rec.call);
  return (estimated * ctx.gasMarginPpm + 999_999n) / 1_000_000n;
}
/** A plan's expected profit, scaled to the reward of the items a re-plan kept. */
function scaleProfit(profitWei: bigint, before: readonly LiquidationItem[], after: readonly LiquidationItem[]): bigint {
  const was = sumExpected(before);
  return was > 0n ? (profitWei * sumExpected(after)) / was : 0n;
}
