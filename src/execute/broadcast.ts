/**
 * Signing and sending. A new transaction takes the next nonce under the nonce lock, which also
 * covers the budget check and tracking, so concurrent jobs see each other's spend; nonce trouble
 * resyncs and retries. After a restart, nonces an earlier instance left in the pool without a
 * record are cancelled (`adoptOrphans`).
 */
import { keccak256, type Address, type Hex } from "viem";
import type { LiquidationCall } from "./calls.ts";
import { currentHead, type ExecutorContext } from "./context.ts";
import { bumpFees, pickFees, quoteFees, type Fees } from "./fees.ts";
import { journalEntry } from "./journal.ts";
import { NonceConflictError, ReplacementUnderpricedError, SendNonceTooLowError, SendUnknownError, sendErrorOf, type SendFailedError } from "./sendError.ts";
import { GasBudgetExceededError, pendingWei } from "./spend.ts";
import type { InFlightTx } from "./types.ts";

/** Gas of a plain transfer: the cancel transaction. */
export const CANCEL_GAS = 21_000n;
/** Fee bumps tried on the cancel of an orphaned nonce whose fees are unknown. */
const ORPHAN_ATTEMPTS = 6;
/** Attempts at a new nonce after nonce trouble (resync in between). */
const SEND_ATTEMPTS = 3;

/**
 * Sign and broadcast at a new nonce, under the nonce lock, which also covers the budget check
 * and `track` (so concurrent jobs see each other's spend). "Already known" (viem: NonceTooLow)
 * for this very transaction counts as sent; other nonce trouble resyncs and retries.
 */
export async function broadcastNew(
  ctx: ExecutorContext,
  call: LiquidationCall,
  gas: bigint,
  fees: Fees,
  entry: (hash: Hex, nonce: number) => InFlightTx,
  track: (tx: InFlightTx) => InFlightTx,
): Promise<InFlightTx> {
  await ctx.nonces.init();
  return ctx.nonces.exclusive(async () => {
    if (ctx.resyncBeforeSend) {
      await ctx.nonces.resync("chain reorganised");
      ctx.resyncBeforeSend = false;
    }
    const worstCaseWei = gas * fees.maxFeePerGas;
    const pending = pendingWei(ctx);
    if (!ctx.budget.allows(pending, worstCaseWei)) {
      throw new GasBudgetExceededError({ worstCaseWei, spentWei: ctx.budget.spent(), pendingWei: pending, budgetWei: ctx.budget.budgetWei });
    }
    let last: SendFailedError | undefined;
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
      const nonce = ctx.nonces.next();
      let signed: Hex;
      try {
        signed = await sign(ctx, { to: ctx.calls.target, data: call.data, value: 0n, nonce, gas, ...fees });
      } catch (e) {
        ctx.nonces.release(nonce);
        throw e;
      }
      const hash = keccak256(signed);
      const tx = entry(hash, nonce);
      ctx.journal?.sent(nonce, journalEntry(tx));
      try {
        await ctx.walletClient.sendRawTransaction({ serializedTransaction: signed });
        ctx.nonces.confirm(nonce);
        return track(tx);
      } catch (e) {
        const error = sendErrorOf(e, nonce);
        last = error;
        if ((error instanceof SendNonceTooLowError || error instanceof SendUnknownError) && (await nodeKnows(ctx, hash))) {
          ctx.nonces.confirm(nonce);
          return track(tx);
        }
        // Not ours at this nonce: hand it back, then let a resync say where the key really is.
        ctx.journal?.settled(nonce);
        ctx.nonces.release(nonce);
        if (error instanceof NonceConflictError) {
          ctx.logger.warn({ msg: "nonce taken or out of order: resyncing", nonce, kind: error.kind });
          await ctx.nonces.resync(error.kind);
          continue;
        }
        // Unknown (a timeout?): the node may still have taken it, and the pending count will say.
        if (error instanceof SendUnknownError) await ctx.nonces.resync("send failed for an unknown reason");
        throw error;
      }
    }
    // Nonce trouble every time: reported as the nonce being taken.
    throw new SendNonceTooLowError(last instanceof ReplacementUnderpricedError ? last : last?.cause);
  });
}

/** Whether the node has this exact transaction (pool or chain). Any failure counts as no. */
export async function nodeKnows(ctx: ExecutorContext, hash: Hex): Promise<boolean> {
  try {
    await ctx.publicClient.getTransaction({ hash });
    return true;
  } catch {
    return false;
  }
}

/** Sign an EIP-1559 transaction with the keeper's account (locally when it can). */
export async function sign(ctx: ExecutorContext, tx: { to: Address; data: Hex; value: bigint; nonce: number; gas: bigint } & Fees): Promise<Hex> {
  const account = ctx.walletClient.account;
  const request = { ...tx, type: "eip1559" as const, chainId: ctx.walletClient.chain.id };
  if (account.signTransaction) return account.signTransaction(request);
  return ctx.walletClient.signTransaction({ ...tx, type: "eip1559", account, chain: ctx.walletClient.chain });
}

/** Cancel the nonces an earlier instance left in the pool without a record (see `Executor.adoptOrphans`). */
export async function adoptOrphans(ctx: ExecutorContext): Promise<number[]> {
  if (ctx.dryRun) return [];
  const [latest, pending] = await Promise.all([
    ctx.publicClient.getTransactionCount({ address: ctx.keeper, blockTag: "latest" }),
    ctx.publicClient.getTransactionCount({ address: ctx.keeper, blockTag: "pending" }),
  ]);
  const orphans: number[] = [];
  for (let n = latest; n < pending; n++) if (!ctx.tracked.has(n)) orphans.push(n);
  for (const nonce of orphans) await ctx.nonces.exclusive(() => cancelOrphan(ctx, nonce));
  return orphans;
}

async function cancelOrphan(ctx: ExecutorContext, nonce: number): Promise<void> {
  const head = await currentHead(ctx);
  // What the orphan offered is unknown: start from a fresh quote and bump until the node takes it.
  let fees: Fees | undefined;
  const fresh = quoteFees({ baseFeePerGas: head.baseFeePerGas, policy: ctx.policy, expectedProfitWei: 0n, gas: CANCEL_GAS });
  if (fresh.ok) fees = pickFees(fresh);
  for (let attempt = 0; fees !== undefined && attempt < ORPHAN_ATTEMPTS; attempt++) {
    const signed = await sign(ctx, { to: ctx.keeper, data: "0x", value: 0n, nonce, gas: CANCEL_GAS, ...fees });
    const tx: InFlightTx = { hash: keccak256(signed), nonce, items: [], sentAtBlock: head.number, ...fees, replacements: 1, gas: CANCEL_GAS };
    ctx.journal?.sent(nonce, journalEntry(tx));
    try {
      await ctx.walletClient.sendRawTransaction({ serializedTransaction: signed });
    } catch (e) {
      const error = sendErrorOf(e, nonce);
      if (error instanceof ReplacementUnderpricedError) {
        const next = bumpFees(fees, { baseFeePerGas: head.baseFeePerGas, policy: ctx.policy, expectedProfitWei: 0n, gas: CANCEL_GAS });
        fees = next.ok ? pickFees(next) : undefined;
        continue;
      }
      ctx.journal?.settled(nonce);
      // nonce_too_low: the orphan was mined meanwhile; anything else: the next head's follow-up decides.
      ctx.logger.info({ msg: "orphaned nonce: cancel not accepted", nonce, kind: error.kind });
      return;
    }
    ctx.tracked.set(nonce, { tx, expectedProfitWei: 0n, cancelled: true, capWarned: false });
    ctx.counters.cancelled++;
    ctx.logger.warn({ msg: "orphaned nonce from an earlier run (no record of it): cancelled", nonce, hash: tx.hash, maxFeePerGas: fees.maxFeePerGas });
    return;
  }
  ctx.logger.warn({ msg: "orphaned nonce from an earlier run could not be cancelled under the fee cap; later sends wait behind it", nonce });
}
