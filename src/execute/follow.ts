/**
 * Following transactions to the chain, once a head: a used nonce is settled (which of our
 * broadcasts was mined: reward, gas, failed batch items, targets released) or, when none of our
 * hashes has a receipt, dropped; an unused one may be replaced (replace.ts). A reorg puts our mined
 * transactions that are pending again back under follow-up, and a restart those it left in flight.
 */
import { isAddressEqual, TransactionReceiptNotFoundError, type Hex, type TransactionReceipt } from "viem";
import { targetKey } from "./admission.ts";
import { nodeKnows } from "./broadcast.ts";
import type { DecodedRevert, FailedItem } from "./calls.ts";
import { backOff, countItems, type ExecutorContext, type Tracked } from "./context.ts";
import { describe, kindOfItems, type Kind } from "./items.ts";
import { applyRevertKeyed, distrustEngine } from "./preflight.ts";
import { maybeReplace } from "./replace.ts";
import { receiptL1FeeWei, type MinedTx } from "./spend.ts";
import type { BlockHead, InFlightTx } from "./types.ts";

/** Settle what was mined, replace what is stuck, drop what another transaction displaced. */
export async function processBlock(ctx: ExecutorContext, block: BlockHead): Promise<void> {
  await ctx.funds.recheck();
  if (ctx.tracked.size === 0) return;
  // Settled as of this head, not the node's latest: the planner works on the index at this head,
  // and an account freed by a receipt from a later block would be planned on a stale state.
  const latestNonce = await ctx.publicClient.getTransactionCount({ address: ctx.keeper, blockNumber: block.number });
  const recs = [...ctx.tracked.values()].sort((a, b) => a.tx.nonce - b.tx.nonce);
  for (const rec of recs) {
    try {
      if (rec.tx.nonce < latestNonce) await settle(ctx, rec, block);
      else await maybeReplace(ctx, rec, block);
    } catch (e) {
      ctx.logger.warn({ msg: "could not follow transaction; retrying next block", hash: rec.tx.hash, nonce: rec.tx.nonce, err: e });
    }
  }
}

/** The nonce is used: find which of our broadcasts was mined, or conclude none was. */
async function settle(ctx: ExecutorContext, rec: Tracked, block: BlockHead): Promise<void> {
  const hashes = [rec.tx.hash, ...(rec.tx.previousHashes ?? [])];
  const receipts = await Promise.all(hashes.map((hash) => receiptOf(ctx, hash)));
  const receipt = receipts.find((r) => r !== undefined);
  if (receipt !== undefined && receipt.blockNumber > block.number) return; // mined after this head: settled at its own
  if (receipt === undefined) {
    // One block of grace, in case the node's receipt index lags its nonce.
    if (rec.missingSince === undefined) {
      rec.missingSince = block.number;
      return;
    }
    if (block.number <= rec.missingSince) return;
    dropped(ctx, rec, "our nonce was used by a transaction we did not send");
    await ctx.nonces.exclusive(() => ctx.nonces.resync("nonce used by an unknown transaction"));
    return;
  }

  finish(ctx, rec);
  rememberMined(ctx, rec, receipt.blockNumber);
  const gasWei = receipt.gasUsed * receipt.effectiveGasPrice;
  const l1 = receiptL1FeeWei(ctx, receipt, Math.max(1, rec.tx.items.length));
  ctx.budget.record(gasWei + l1.wei);
  ctx.counters.gasSpentWei += gasWei;
  ctx.metrics.gasSpentWei.inc(Number(gasWei));
  if (l1.wei > 0n) ctx.metrics.l1FeeWei.inc(Number(l1.wei));
  const kind = kindOfItems(rec.tx.items);
  const fields = { hash: receipt.transactionHash, nonce: rec.tx.nonce, block: receipt.blockNumber, gasUsed: receipt.gasUsed, gasWei, ...(l1.from === "none" ? {} : { l1FeeWei: l1.wei }) };
  const mined = (m: Pick<MinedTx, "liquidated" | "failed" | "rewardTokens" | "reverted">) =>
    ctx.costs.onMined?.({ hash: receipt.transactionHash, block: receipt.blockNumber, timestamp: block.timestamp, items: rec.tx.items, gasWei, l1FeeWei: l1.wei, l1FeeFrom: l1.from, ...m });

  if (receipt.to === null || !isAddressEqual(receipt.to, ctx.calls.target)) {
    ctx.counters.dropped++;
    ctx.metrics.transactions.inc({ outcome: "dropped" });
    countItems(ctx, "dropped", kind, rec.tx.items.length);
    ctx.logger.info({ msg: "cancel mined", ...fields });
    return;
  }
  if (receipt.status !== "success") {
    ctx.counters.reverted++;
    ctx.metrics.transactions.inc({ outcome: "reverted" });
    for (const item of rec.tx.items) {
      ctx.metrics.liquidations.inc({ result: "reverted", kind });
      backOff(ctx, `t:${targetKey(item)}`, ctx.revertBackoffMs, { ...describe(item), why: "transaction reverted" });
    }
    ctx.logger.warn({ msg: "liquidation reverted on chain", ...fields, items: rec.tx.items.map(describe) });
    mined({ liquidated: 0, failed: rec.tx.items.length, rewardTokens: 0n, reverted: true });
    if (rec.engineOnly) distrustEngine(ctx, "a transaction sent on the engine's word reverted");
    return;
  }
  const result = ctx.calls.decodeReceipt(receipt.logs, ctx.keeper);
  ctx.counters.mined++;
  ctx.counters.rewardTokens += result.rewardTokens;
  ctx.metrics.transactions.inc({ outcome: "mined" });
  ctx.metrics.rewardEarnedTokens.inc(Number(result.rewardTokens));
  countItems(ctx, "success", kind, result.liquidated.length);
  mined({ liquidated: result.liquidated.length, failed: result.failed.length, rewardTokens: result.rewardTokens, reverted: false });
  await failedItems(ctx, rec, result.failed, kind);
  ctx.logger.info({
    msg: "liquidation mined",
    ...fields,
    rewardTokens: result.rewardTokens,
    liquidated: result.liquidated.length,
    failed: result.failed.map((f) => ({ account: f.account, marketId: f.marketId, error: f.errorName })),
  });
}

/**
 * Items that failed inside a mined batch (LiquidationFailed). Each applies what its error asks (a
 * cooldown until its real end, read from the chain when the event lacks it; a market backoff),
 * and its target backs off for `failedItemBackoffMs` of chain time: the state it was planned on
 * has moved, and the next plan is made on a head that shows it. When the batch went out on the
 * engine's word, the call is replayed on the state the engine planned on: an item that fails there
 * too means the engine and the contract disagree (node simulation for a while); one that succeeds
 * there lost a race.
 */
async function failedItems(ctx: ExecutorContext, rec: Tracked, failed: readonly FailedItem[], kind: Kind): Promise<void> {
  if (failed.length === 0) return;
  const items = [...rec.tx.items, ...(rec.released ?? [])];
  const waitS = BigInt(Math.ceil(ctx.failedItemBackoffMs / 1000));
  for (const f of failed) {
    ctx.metrics.liquidations.inc({ result: "reverted", kind });
    const item = items.find((i) => isAddressEqual(i.account, f.account) && i.marketId === f.marketId);
    if (!item) continue;
    let decoded: DecodedRevert = { errorName: f.errorName, args: f.args };
    try {
      decoded = await ctx.calls.completeRevert(ctx.publicClient, decoded, item.account);
    } catch (e) {
      ctx.logger.warn({ msg: "could not read the cooldown's end; the target's own backoff applies", ...describe(item), err: e });
    }
    const { backoffKey } = applyRevertKeyed(ctx, item, decoded);
    const until = (ctx.head?.timestamp ?? 0n) + waitS;
    ctx.admission.backOffUntilChainTime(`t:${targetKey(item)}`, until);
    rec.receiptBackoffs = [...(rec.receiptBackoffs ?? []), `t:${targetKey(item)}`, ...(backoffKey ? [backoffKey] : [])];
    ctx.logger.info({ msg: "backing off", key: `t:${targetKey(item)}`, untilChainTime: until, ...describe(item), why: "failed on chain", error: f.errorName });
  }
  const onPlanState = await replayOnPlanState(ctx, rec, failed);
  if (onPlanState === false) {
    ctx.logger.info({ msg: "batch items failed because the state moved after the plan (lost a race)", failed: failed.length });
    return;
  }
  distrustEngine(
    ctx,
    onPlanState === true
      ? "an item sent on the engine's word failed on the state the engine planned on"
      : "an item sent on the engine's word failed, and the plan's state could not be re-checked",
  );
}

/**
 * Do the failed items fail on the state the batch was planned on (true), or succeed there (false:
 * a lost race), or could that not be told ("unknown")? A node-simulated send passed on the state
 * it was sent at, so its failures are races too (false).
 */
async function replayOnPlanState(ctx: ExecutorContext, rec: Tracked, failed: readonly FailedItem[]): Promise<boolean | "unknown"> {
  const call = rec.call;
  if (!call || !rec.engineOnly || ctx.preflight !== "engine" || rec.priceBlock === undefined || !call.batch) return false;
  const r = await ctx.calls.failsAt(ctx.publicClient, { call, keeper: ctx.keeper, block: rec.priceBlock, failed });
  return r === undefined ? "unknown" : r;
}

async function receiptOf(ctx: ExecutorContext, hash: Hex): Promise<TransactionReceipt | undefined> {
  try {
    return await ctx.publicClient.getTransactionReceipt({ hash });
  } catch (e) {
    if (e instanceof TransactionReceiptNotFoundError) return undefined;
    throw e;
  }
}

function rememberMined(ctx: ExecutorContext, rec: Tracked, block: bigint): void {
  ctx.mined.set(rec.tx.nonce, { rec, block });
  for (const [nonce, m] of ctx.mined) if (m.block + ctx.reorgMemoryBlocks < block) ctx.mined.delete(nonce);
}

/**
 * The chain reorganised (see `Executor.onReorg`): a mined transaction of ours that is pending
 * again is followed again and its targets reserved; a gone one is forgotten. The nonce is read
 * from the node before the next send.
 */
export async function onReorg(ctx: ExecutorContext): Promise<void> {
  ctx.resyncBeforeSend = true;
  for (const [nonce, m] of [...ctx.mined]) {
    const hashes = [m.rec.tx.hash, ...(m.rec.tx.previousHashes ?? [])];
    try {
      if ((await Promise.all(hashes.map((h) => receiptOf(ctx, h)))).some((r) => r !== undefined)) continue;
      ctx.mined.delete(nonce);
      // What its failed items said was said by a block that is gone: their backoffs go with it
      // (a target front-run in the dropped block may be open again, and is planned at once).
      const lifted = m.rec.receiptBackoffs ?? [];
      for (const key of lifted) ctx.admission.lift(key);
      m.rec.receiptBackoffs = undefined;
      if (lifted.length > 0) ctx.logger.info({ msg: "reorg: lifted the backoffs a vanished receipt set", nonce, keys: lifted });
      const pending = (await Promise.all(hashes.map((h) => nodeKnows(ctx, h)))).some(Boolean);
      if (!pending || ctx.tracked.has(nonce) || m.rec.tx.items.some((i) => ctx.admission.isReserved(i))) {
        ctx.logger.warn({ msg: "reorg: a mined transaction of ours is gone", nonce, hashes });
        continue;
      }
      const sentAtBlock = ctx.head?.number ?? m.rec.tx.sentAtBlock;
      ctx.tracked.set(nonce, { ...m.rec, tx: { ...m.rec.tx, sentAtBlock }, missingSince: undefined });
      ctx.admission.reserve(m.rec.tx.items);
      ctx.logger.warn({ msg: "reorg: a mined transaction of ours is pending again; following it", nonce, hash: m.rec.tx.hash });
    } catch (e) {
      ctx.logger.warn({ msg: "reorg: could not check a mined transaction", nonce, err: e });
    }
  }
}

/** `rec` will never be mined: count it dropped and free its targets. */
export function dropped(ctx: ExecutorContext, rec: Tracked, why: string): void {
  finish(ctx, rec);
  ctx.counters.dropped++;
  ctx.metrics.transactions.inc({ outcome: "dropped" });
  countItems(ctx, "dropped", kindOfItems(rec.tx.items), rec.tx.items.length);
  const hashes = [rec.tx.hash, ...(rec.tx.previousHashes ?? [])];
  ctx.logger.warn({ msg: `dropped: ${why}`, nonce: rec.tx.nonce, hashes, items: rec.tx.items.map(describe) });
}

/** Stop tracking `rec` and free its targets. */
function finish(ctx: ExecutorContext, rec: Tracked): void {
  if (ctx.tracked.get(rec.tx.nonce) === rec) {
    ctx.tracked.delete(rec.tx.nonce);
    ctx.journal?.settled(rec.tx.nonce);
  }
  for (const item of [...rec.tx.items, ...(rec.released ?? [])]) ctx.admission.release(item);
}

/** Track what a previous instance left in flight (see `Executor.restore`). */
export function restore(ctx: ExecutorContext, list: readonly InFlightTx[]): void {
  for (const tx of list) {
    if (ctx.tracked.has(tx.nonce) || tx.items.some((i) => ctx.admission.isReserved(i))) {
      ctx.logger.warn({ msg: "restore: nonce or target already tracked; ignored", nonce: tx.nonce, hash: tx.hash });
      continue;
    }
    const { raw: _never, ...clean } = tx;
    const restored: InFlightTx = { ...clean, items: [...tx.items] };
    // The exact call that was sent (a lone item may have gone out isolated in liquidateBatch),
    // so a fee bump rebroadcasts the same calldata, priced on the same profit.
    // No items: the cancel (a self-transfer) of an orphaned nonce, which has no market call.
    const cancel = restored.items.length === 0;
    ctx.tracked.set(tx.nonce, {
      tx: restored,
      ...(cancel ? {} : { call: ctx.calls.restore(restored.items, tx.functionName) }),
      expectedProfitWei: tx.expectedProfitWei ?? 0n,
      cancelled: cancel,
      capWarned: false,
    });
    ctx.admission.reserve(tx.items);
    ctx.logger.info({ msg: "restored in-flight transaction", nonce: tx.nonce, hash: tx.hash, items: tx.items.map(describe) });
  }
}
