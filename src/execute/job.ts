/**
 * One admitted plan, from preflight to broadcast: simulate (or take the engine's word) → drop
 * reverting items → gas × margin → fees (fees.ts) → budget → sign and send (broadcast.ts). Every
 * item that does not go out is released and counted as skipped.
 */
import type { Hex } from "viem";
import { targetKey } from "./admission.ts";
import { broadcastNew } from "./broadcast.ts";
import { countItems, currentHead, type ExecutorContext } from "./context.ts";
import { quoteFees } from "./fees.ts";
import { dropped } from "./follow.ts";
import { describe, kindOfItems, sumExpected, type Kind } from "./items.ts";
import { engineVouches, simulate, type Simulation } from "./preflight.ts";
import { SendFailedError, SendInsufficientFundsError } from "./sendError.ts";
import { budgetHasRoom, GasBudgetExceededError } from "./spend.ts";
import type { InFlightTx, JobResult, SkippedItem, TxPlan } from "./types.ts";

/** Run `plan`, which `submit` admitted and reserved, to a broadcast, a dry run or a skip. */
export async function runJob(ctx: ExecutorContext, plan: TxPlan): Promise<JobResult> {
  const planKind = kindOfItems(plan.items);
  let sent: InFlightTx | undefined;
  let dryRun = false;
  let skipped: SkippedItem[] = [];
  try {
    if (ctx.draining) return { status: "skipped", reason: "draining", skipped };

    // Known from onBlock in a running keeper; fetched once otherwise (CooldownActive needs chain time).
    const head = await currentHead(ctx);
    const engineOnly = engineVouches(ctx, plan);
    const sim: Simulation = engineOnly
      ? { ok: plan.items, skipped: [], gas: plan.gasLimit, rewardTokens: sumExpected(plan.items) }
      : await simulate(ctx, plan.items);
    skipped = sim.skipped;
    if (sim.rpcError !== undefined) {
      ctx.logger.warn({ msg: "simulation failed (not a revert)", err: sim.rpcError });
      return { status: "skipped", reason: "rpc_error", skipped, error: sim.rpcError };
    }
    if (sim.ok.length === 0 || sim.gas === undefined) return { status: "skipped", reason: "reverted", skipped };

    const items = sim.ok;
    // Unsimulated, a lone item goes through liquidateBatch too: losing a race costs a failed
    // item, not a reverted transaction (and does not read as the engine being wrong).
    const call = ctx.calls.encode(items, { isolate: engineOnly });
    const kind: Kind = call.batch ? "batch" : "single";
    const gas = engineOnly ? sim.gas : (sim.gas * ctx.gasMarginPpm + 999_999n) / 1_000_000n;
    const baseFeePerGas = (ctx.head ?? head).baseFeePerGas; // onBlock may have moved on meanwhile
    const fees = quoteFees({ baseFeePerGas, policy: ctx.policy, expectedProfitWei: plan.expectedProfitWei, gas });
    if (!fees.ok) {
      ctx.logger.warn({ msg: "base fee above the cap: not sending", baseFeePerGas, feeCapWei: ctx.policy.feeCapWei });
      return { status: "skipped", reason: "fee_above_cap", skipped };
    }
    if (ctx.dryRun) {
      dryRun = true;
      ctx.counters.dryRun++;
      countItems(ctx, "dry_run", kind, items.length);
      ctx.logger.info({
        msg: "dry run: would send",
        function: call.functionName,
        items: items.map(describe),
        gas,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        expectedProfitWei: plan.expectedProfitWei,
        simulatedRewardTokens: sim.rewardTokens,
        expectedRewardTokens: sumExpected(items),
        priceBlock: plan.priceBlock,
      });
      return { status: "dry_run", items, skipped, gas, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    }

    try {
      const entry = (hash: Hex, nonce: number): InFlightTx => ({
        hash,
        nonce,
        items,
        sentAtBlock: ctx.head?.number ?? head.number,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
        replacements: 0,
        gas,
        functionName: call.functionName,
        expectedProfitWei: plan.expectedProfitWei,
      });
      sent = await broadcastNew(ctx, call, gas, fees, entry, (tx) => {
        const nonce = tx.nonce;
        const superseded = ctx.tracked.get(nonce);
        if (superseded !== undefined) dropped(ctx, superseded, "the node took a new transaction at its nonce");
        ctx.tracked.set(nonce, { tx, call, expectedProfitWei: plan.expectedProfitWei, cancelled: false, capWarned: false, engineOnly, priceBlock: plan.priceBlock });
        return tx;
      });
    } catch (e) {
      if (e instanceof GasBudgetExceededError) {
        ctx.logger.info({ msg: e.shortMessage, details: e.details });
        budgetHasRoom(ctx);
        return { status: "skipped", reason: "budget", skipped };
      }
      if (e instanceof SendFailedError) ctx.metrics.sendFailures.inc({ kind: e.kind });
      if (e instanceof SendInsufficientFundsError) {
        ctx.funds.markShort(gas * fees.maxFeePerGas);
        return { status: "skipped", reason: "insufficient_funds", skipped, error: e };
      }
      ctx.logger.error({ msg: "send failed", err: e, items: items.map(describe) });
      return { status: "skipped", reason: "send_failed", skipped, error: e };
    }
    ctx.funds.markOk("a send went through");
    if (plan.observedAt !== undefined) ctx.metrics.priceToBroadcast.observe((ctx.now() - plan.observedAt) / 1000);
    const broadcast = sent;
    ctx.counters.sent++;
    ctx.metrics.transactions.inc({ outcome: "sent" });
    ctx.logger.info({
      msg: "liquidation sent",
      hash: broadcast.hash,
      nonce: broadcast.nonce,
      function: call.functionName,
      items: items.map(describe),
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      simulatedRewardTokens: sim.rewardTokens,
      expectedRewardTokens: sumExpected(items),
      priceBlock: plan.priceBlock,
    });
    return { status: "sent", tx: { ...sent, items: [...items] }, skipped };
  } finally {
    const keep = new Set(sent?.items.map(targetKey) ?? []);
    let notSent = 0;
    for (const item of plan.items) {
      if (keep.has(targetKey(item))) continue;
      ctx.admission.release(item);
      notSent++;
    }
    // Dry-run items were counted as dry_run; every other item not sent counts as skipped.
    if (dryRun) notSent -= plan.items.length - skipped.length;
    countItems(ctx, "skipped", planKind, notSent);
    ctx.counters.skipped += notSent;
  }
}
