/**
 * A transaction of the keeper's own that is not a liquidation (the reward sweep, src/keeper/sweep.ts).
 * It goes through the nonce lock like every broadcast, and only while the executor has nothing
 * queued or in flight: it never takes a nonce a liquidation was about to use and never sits in front
 * of one already sent. It is not tracked as a liquidation (no items, no checkpoint entry): whoever
 * sent it follows its receipt and, if it is stuck, replaces it at the same nonce with higher fees
 * ({@link replaceOwn}). A restart that finds it still pending cancels it as an orphan.
 */
import { keccak256, type Address, type Hex } from "viem";
import { sign } from "./broadcast.ts";
import { currentHead, type ExecutorContext } from "./context.ts";
import { bumpFees, pickFees, quoteFees, type Fees } from "./fees.ts";
import { NonceConflictError, SendInsufficientFundsError, SendUnknownError, sendErrorOf } from "./sendError.ts";
import { pendingWei } from "./spend.ts";

/** The call: a contract and its calldata, no value. */
export type OwnTransaction = { to: Address; data: Hex };

/** What went out: enough to follow it and to replace it. */
export type OwnSent = { hash: Hex; nonce: number; gas: bigint; fees: Fees };

export type OwnRefusal = "busy" | "dry_run" | "draining" | "insufficient_funds" | "fee_above_cap" | "fee_cap_reached" | "budget" | "send_failed";

export type OwnSendResult = ({ sent: true } & OwnSent) | { sent: false; reason: OwnRefusal; error?: unknown };

/**
 * When an own transaction may go out: by default only with no liquidation queued or in flight (the
 * sweep); `behindInFlight` lets it follow liquidations already sent, at the next nonce (a duty the
 * venue needs now), never one still queued.
 */
export type OwnSendOptions = {
  behindInFlight?: boolean;
  /** The gas limit, when the node cannot estimate it (a call valid only after another not yet mined). */
  gas?: bigint;
};

/**
 * Send `tx` at the next nonce, unless liquidations are queued (`queued()`), in flight (see
 * {@link OwnSendOptions}), or sending is paused. Gas is the node's estimate × the executor's margin
 * (an estimate that reverts throws: the call would fail); fees a fresh quote at the head with no
 * profit to share; the hourly gas budget applies as to any send.
 */
export async function sendOwn(ctx: ExecutorContext, tx: OwnTransaction, queued: () => boolean, opts: OwnSendOptions = {}): Promise<OwnSendResult> {
  const early = refusal(ctx, queued, opts);
  if (early) return { sent: false, reason: early };
  await ctx.nonces.init();
  const gas = opts.gas ?? ((await ctx.publicClient.estimateGas({ account: ctx.keeper, to: tx.to, data: tx.data })) * ctx.gasMarginPpm + 999_999n) / 1_000_000n;
  const head = await currentHead(ctx);
  return ctx.nonces.exclusive(async (): Promise<OwnSendResult> => {
    // Checked again under the lock: a job queued meanwhile has not reached its broadcast yet.
    const late = refusal(ctx, queued, opts);
    if (late) return { sent: false, reason: late };
    const quote = quoteFees({ baseFeePerGas: head.baseFeePerGas, policy: ctx.policy, expectedProfitWei: 0n, gas });
    if (!quote.ok) return { sent: false, reason: "fee_above_cap" };
    const fees = pickFees(quote);
    if (!ctx.budget.allows(pendingWei(ctx), gas * fees.maxFeePerGas)) return { sent: false, reason: "budget" };
    if (ctx.resyncBeforeSend) {
      await ctx.nonces.resync("chain reorganised");
      ctx.resyncBeforeSend = false;
    }
    const nonce = ctx.nonces.next();
    try {
      const hash = await broadcast(ctx, tx, nonce, gas, fees);
      ctx.nonces.confirm(nonce);
      return { sent: true, hash, nonce, gas, fees };
    } catch (e) {
      ctx.nonces.release(nonce);
      const error = sendErrorOf(e, nonce);
      ctx.metrics.sendFailures.inc({ kind: error.kind });
      if (error instanceof NonceConflictError || error instanceof SendUnknownError) await ctx.nonces.resync(`own transaction: ${error.kind}`);
      if (error instanceof SendInsufficientFundsError) ctx.funds.markShort(gas * fees.maxFeePerGas);
      return { sent: false, reason: "send_failed", error };
    }
  });
}

/** `tx`, sent as `sent`, is stuck: the same call at the same nonce with bumped fees (capped as any send). */
export async function replaceOwn(ctx: ExecutorContext, tx: OwnTransaction, sent: OwnSent): Promise<OwnSendResult> {
  if (ctx.dryRun) return { sent: false, reason: "dry_run" };
  const head = await currentHead(ctx);
  const bumped = bumpFees(sent.fees, { baseFeePerGas: head.baseFeePerGas, policy: ctx.policy, expectedProfitWei: 0n, gas: sent.gas });
  if (!bumped.ok) return { sent: false, reason: bumped.reason };
  const fees = pickFees(bumped);
  return ctx.nonces.exclusive(async (): Promise<OwnSendResult> => {
    try {
      const hash = await broadcast(ctx, tx, sent.nonce, sent.gas, fees);
      return { sent: true, hash, nonce: sent.nonce, gas: sent.gas, fees };
    } catch (e) {
      const error = sendErrorOf(e, sent.nonce);
      ctx.metrics.sendFailures.inc({ kind: error.kind });
      return { sent: false, reason: "send_failed", error };
    }
  });
}

function refusal(ctx: ExecutorContext, queued: () => boolean, opts: OwnSendOptions): OwnRefusal | undefined {
  if (ctx.dryRun) return "dry_run";
  if (ctx.draining) return "draining";
  if (ctx.funds.backingOff()) return "insufficient_funds";
  if ((ctx.tracked.size > 0 && !opts.behindInFlight) || queued()) return "busy";
  return undefined;
}

async function broadcast(ctx: ExecutorContext, tx: OwnTransaction, nonce: number, gas: bigint, fees: Fees): Promise<Hex> {
  const signed = await sign(ctx, { to: tx.to, data: tx.data, value: 0n, nonce, gas, ...fees });
  await ctx.walletClient.sendRawTransaction({ serializedTransaction: signed });
  return keccak256(signed);
}
