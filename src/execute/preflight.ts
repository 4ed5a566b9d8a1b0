/**
 * Preflight: what a plan would do before it is sent. Either the node simulates it (eth_simulateV1,
 * or eth_call + eth_estimateGas), or, with `preflight: "engine"`, a plan the engine computed at the
 * current head goes out on the engine's word. Items that revert are dropped with their decoded
 * error, and the backoff that error asks for is applied here (`applyRevert`).
 */
import { decodeContractRevert, type DecodedRevert, type ItemOutcome, type LiquidationCall } from "./calls.ts";
import { backOff, type ExecutorContext } from "./context.ts";
import { describe } from "./items.ts";
import { gasLimitFromUsed, simulateCall } from "./simulateCall.ts";
import type { LiquidationItem, SkippedItem, TxPlan } from "./types.ts";

export type Simulation = {
  ok: LiquidationItem[];
  skipped: SkippedItem[];
  gas?: bigint;
  /** Keeper reward the eth_call returned for the items kept (tokens). */
  rewardTokens?: bigint;
  rpcError?: unknown;
};

/**
 * One `eth_simulateV1` execution gives the outcome and the gas together; nodes without it get
 * eth_call and eth_estimateGas alongside each other (see simulateCall.ts). A single item that
 * reverts is skipped with its decoded error; a batch's failing items are dropped from its
 * outcomes and the gas is measured again for what is left.
 */
export async function simulate(ctx: ExecutorContext, items: LiquidationItem[]): Promise<Simulation> {
  if (ctx.simulateV1 !== false) {
    try {
      const r = await simulateOnce(ctx, items);
      if (r !== undefined) return r;
      ctx.simulateV1 = false;
      ctx.logger.info({ msg: "the node has no eth_simulateV1: simulating with eth_call + eth_estimateGas" });
    } catch (e) {
      return { ok: [], skipped: [], rpcError: e };
    }
  }
  const call = ctx.calls.encode(items);
  const [sim, est] = await Promise.allSettled([ctx.calls.simulate(ctx.publicClient, call, ctx.keeper), estimate(ctx, call)]);
  if (sim.status === "rejected") return simulationRejected(ctx, items, sim.reason);
  if (!call.batch) {
    if (est.status === "rejected") return simulationRejected(ctx, items, est.reason);
    return { ok: items, skipped: [], gas: est.value, rewardTokens: sim.value[0]!.keeperReward };
  }
  const { ok, skipped, rewardTokens } = batchOutcomes(ctx, items, sim.value);
  if (ok.length === 0) return { ok, skipped };
  if (skipped.length === 0 && est.status === "fulfilled") return { ok, skipped, gas: est.value, rewardTokens };
  try {
    return { ok, skipped, gas: await estimate(ctx, ctx.calls.encode(ok)), rewardTokens };
  } catch (e) {
    const again = simulationRejected(ctx, ok, e);
    return { ...again, skipped: [...skipped, ...again.skipped] };
  }
}

/** Whether `plan` may go out on the engine's word (see `ExecutorInputs.preflight`). */
export function engineVouches(ctx: ExecutorContext, plan: TxPlan): plan is TxPlan & { gasLimit: bigint } {
  return (
    ctx.preflight === "engine" &&
    !ctx.dryRun &&
    plan.gasLimit !== undefined &&
    plan.priceBlock !== undefined &&
    ctx.head !== undefined &&
    plan.priceBlock === ctx.head.number &&
    ctx.now() >= ctx.distrustUntil
  );
}

/** Whether transactions are simulated by the node now ("node"), or may go out on the engine's word. */
export function preflightMode(ctx: ExecutorContext): "node" | "engine" {
  return ctx.preflight === "engine" && ctx.now() >= ctx.distrustUntil ? "engine" : "node";
}

/** Switch to node simulation for `distrustMs`. */
export function distrustEngine(ctx: ExecutorContext, why: string): void {
  if (ctx.preflight !== "engine") return;
  ctx.distrustUntil = ctx.now() + ctx.distrustMs;
  ctx.metrics.engineDistrusted.inc();
  ctx.logger.warn({ msg: `${why}: simulating every transaction with the node for a while`, ms: ctx.distrustMs });
}

/** The eth_simulateV1 path; `undefined` when the node does not have the method. */
async function simulateOnce(ctx: ExecutorContext, items: LiquidationItem[]): Promise<Simulation | undefined> {
  const call = ctx.calls.encode(items);
  const r = await simulateCall(ctx.publicClient, { from: ctx.keeper, to: ctx.calls.target, data: call.data });
  if (r === undefined) return undefined;
  if (r.status === "reverted") {
    const decoded = ctx.calls.decodeRevert(r.returnData);
    return { ok: [], skipped: items.map((item) => applyRevert(ctx, item, decoded)) };
  }
  const gas = gasLimitFromUsed(r.gasUsed);
  const outcomes = ctx.calls.decodeOutcomes(call, r.returnData);
  if (!call.batch) return { ok: items, skipped: [], gas, rewardTokens: outcomes[0]!.keeperReward };
  const { ok, skipped, rewardTokens } = batchOutcomes(ctx, items, outcomes);
  if (ok.length === 0) return { ok, skipped };
  if (skipped.length === 0) return { ok, skipped, gas, rewardTokens };
  // Failed items burn gas too: measure what is left on its own.
  const again = await simulateOnce(ctx, ok);
  if (again === undefined) return undefined;
  return { ...again, skipped: [...skipped, ...again.skipped] };
}

function batchOutcomes(
  ctx: ExecutorContext,
  items: LiquidationItem[],
  outcomes: readonly ItemOutcome[],
): { ok: LiquidationItem[]; skipped: SkippedItem[]; rewardTokens: bigint } {
  const ok: LiquidationItem[] = [];
  const skipped: SkippedItem[] = [];
  let rewardTokens = 0n;
  items.forEach((item, i) => {
    const o = outcomes[i];
    if (o?.ok) {
      ok.push(item);
      rewardTokens += o.keeperReward;
    } else skipped.push(applyRevert(ctx, item, o ? ctx.calls.decodeRevert(o.revertData) : { errorName: "unknown", args: [] }));
  });
  return { ok, skipped, rewardTokens };
}

function simulationRejected(ctx: ExecutorContext, items: LiquidationItem[], e: unknown): Simulation {
  const decoded = decodeContractRevert(e);
  if (decoded === undefined) return { ok: [], skipped: [], rpcError: e };
  return { ok: [], skipped: items.map((item) => applyRevert(ctx, item, decoded)) };
}

/** Log, back off as the revert asks, and report the item as skipped. */
export function applyRevert(ctx: ExecutorContext, item: LiquidationItem, d: DecodedRevert): SkippedItem {
  return applyRevertKeyed(ctx, item, d).skipped;
}

/** {@link applyRevert}, also naming the backoff key it set (an account's cooldown, a market's price), if any. */
export function applyRevertKeyed(ctx: ExecutorContext, item: LiquidationItem, d: DecodedRevert): { skipped: SkippedItem; backoffKey: string | undefined } {
  const action = ctx.calls.revertAction(d, item);
  const fields = { ...describe(item), error: d.errorName };
  let backoffKey: string | undefined;
  switch (action.kind) {
    case "skip":
      ctx.logger.info({ msg: "skipped: state moved", ...fields });
      break;
    case "cooldown": {
      // Until the cooldown's end on the chain's clock (a wall-clock wait would outlast a warped chain).
      backoffKey = `a:${action.account.toLowerCase()}`;
      ctx.admission.backOffUntilChainTime(backoffKey, action.endsAt);
      ctx.logger.info({ msg: "backing off", key: backoffKey, untilChainTime: action.endsAt, ...fields });
      break;
    }
    case "market_backoff":
      backoffKey = `m:${action.marketId}`;
      backOff(ctx, backoffKey, ctx.priceBackoffMs, fields);
      break;
    case "unknown":
      ctx.logger.warn({ msg: "skipped: unknown revert", ...fields, args: d.args.map(String) });
      break;
  }
  return { skipped: { item, errorName: d.errorName === "unknown" ? undefined : d.errorName }, backoffKey };
}

/** eth_estimateGas from the keeper's address. */
export function estimate(ctx: ExecutorContext, call: LiquidationCall): Promise<bigint> {
  return ctx.calls.estimateGas(ctx.publicClient, call, ctx.keeper);
}
