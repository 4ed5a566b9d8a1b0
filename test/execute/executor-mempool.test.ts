/**
 * Executor and the mempool, on a real Anvil with automine off where a transaction must wait:
 * stuck transactions are bumped (or cancelled), the fee cap holds, and a key shared with another
 * process is survived.
 *
 * How a transaction is kept pending: the block gas limit is lowered below its gas limit after it
 * entered the pool (anvil_setBlockGasLimit). Anvil keeps it pending and mines empty blocks, the
 * way a real node keeps a transaction that loses every block. (Raising the base fee above its
 * maxFeePerGas does not do: Anvil evicts such a transaction from the pool at the next block.)
 * While the limit is low Anvil also refuses a new transaction of that gas, so a test restores the
 * limit before the executor rebroadcasts; a 21 000-gas cancel fits under it anyway.
 */
import { parseEther, parseGwei, type Address, type Hex } from "viem";
import { describe, expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { Executor } from "../../src/execute/executor.ts";
import { bumped } from "../../src/execute/fees.ts";
import type { LiquidationItem } from "../../src/execute/types.ts";
import { itemFor, keeperNonce, makeExecutor, plan, sliceOf, submitAndWait, tick } from "../support/executor.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { BTC, KEEPER, SMALLCAP as SMALL, liquidations, openLong, trader } from "../support/market.ts";

test.override({ preset: "reference" });

let risky: Address[];
const keeper = trader(KEEPER);

test.beforeAll(async ({ world: w }) => {
  risky = [];
  for (const i of [1, 2]) risky.push(await openLong(w, i));
  await w.prices.set(SMALL, parseEther("0.47"));
});

// evm_revert restores blocks but not Anvil's fee manager: a base fee raised by an earlier test
// would still apply to the next block. Line it up with the head again.
test.beforeEach(async ({ world: w }) => {
  const head = await w.chain.publicClient.getBlock({ blockTag: "latest" });
  await w.chain.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: head.baseFeePerGas ?? 0n });
});

// Before the revert to the test's snapshot: the pool is emptied and automine and the block gas
// limit restored (none of them is part of an Anvil snapshot).
test.afterEach(async ({ world: w }) => {
  await w.chain.testClient.request({ method: "anvil_dropAllTransactions" } as never);
  await w.chain.testClient.setBlockGasLimit({ gasLimit: BLOCK_GAS_LIMIT });
  await w.chain.testClient.setAutomine(true);
});

const BLOCK_GAS_LIMIT = 30_000_000n;
/** Above a 21 000-gas transfer, below any liquidation. */
const LOW_GAS_LIMIT = 100_000n;

/** Keep liquidations out of blocks (they stay pending), or let them in again. */
async function blockLiquidations(w: World, on: boolean): Promise<void> {
  await w.chain.testClient.setBlockGasLimit({ gasLimit: on ? LOW_GAS_LIMIT : BLOCK_GAS_LIMIT });
}

async function pendingInPool(w: World): Promise<number> {
  return (await w.chain.testClient.getTxpoolStatus()).pending;
}

async function sent(executor: Executor, items: LiquidationItem[]) {
  const out = await submitAndWait(executor, items);
  if (out.status !== "sent") {
    throw new Error(`not sent: ${JSON.stringify(out, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
  }
  return out.tx;
}

/** Mine one block and hand its head to the executor. */
async function mineAndTick(w: World, executor: Executor): Promise<void> {
  await w.chain.testClient.mine({ blocks: 1 });
  await tick(w, executor);
}

async function receiptExists(w: World, hash: Hex): Promise<boolean> {
  return w.chain.publicClient.getTransactionReceipt({ hash }).then(
    () => true,
    () => false,
  );
}

describe("Executor (mempool)", () => {
  it("bumps a stuck transaction after replaceAfterBlocks; only the replacement is mined", async ({ world: w }) => {
    const { executor, metrics } = makeExecutor(w, { replaceAfterBlocks: 3 });
    const item = await itemFor(w, risky[0]!);
    const from = await w.chain.publicClient.getBlockNumber();
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    const original = await sent(executor, [item]);
    expect(original.gas).toBeGreaterThan(LOW_GAS_LIMIT);

    await blockLiquidations(w, true);
    await mineAndTick(w, executor);
    await mineAndTick(w, executor);
    expect(executor.stats().replaced).toBe(0);
    expect(executor.inFlight()[0]!.hash).toBe(original.hash);
    await w.chain.testClient.mine({ blocks: 1 }); // third block without it
    expect(await pendingInPool(w)).toBe(1); // still there, competing with the replacement
    await blockLiquidations(w, false);
    await tick(w, executor);

    const [replacement] = executor.inFlight();
    expect(replacement).toBeDefined();
    expect(replacement!.nonce).toBe(original.nonce);
    expect(replacement!.hash).not.toBe(original.hash);
    expect(replacement!.replacements).toBe(1);
    expect(replacement!.previousHashes).toEqual([original.hash]);
    expect(replacement!.maxFeePerGas).toBeGreaterThanOrEqual(bumped(original.maxFeePerGas));
    expect(replacement!.maxPriorityFeePerGas).toBeGreaterThanOrEqual(bumped(original.maxPriorityFeePerGas));
    expect(executor.submit(plan([item]))).toMatchObject({ accepted: false, reason: "duplicate" });
    expect(await pendingInPool(w)).toBe(1); // the replacement displaced the original

    await mineAndTick(w, executor);
    expect(executor.inFlight()).toEqual([]);
    expect(executor.stats()).toMatchObject({ sent: 1, replaced: 1, mined: 1, reverted: 0, dropped: 0 });
    expect(await receiptExists(w, replacement!.hash)).toBe(true);
    expect(await receiptExists(w, original.hash)).toBe(false);
    const events = await liquidations(w, from, item.account);
    expect(events.map((e) => e.txHash)).toEqual([replacement!.hash]);
    expect(executor.stats().rewardTokens).toBe(item.expectedRewardTokens);
    const replaced = (await metrics.transactions.get()).values.find((v) => v.labels.outcome === "replaced");
    expect(replaced?.value).toBe(1);
  });

  it("cancels a stuck transaction whose targets are gone (self-transfer at the same nonce)", async ({ world: w }) => {
    let valid = true;
    const { executor } = makeExecutor(w, { replaceAfterBlocks: 3, isStillValid: () => valid });
    const item = await itemFor(w, risky[0]!);
    const from = await w.chain.publicClient.getBlockNumber();
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    const original = await sent(executor, [item]);
    const nonce = original.nonce;

    await blockLiquidations(w, true);
    valid = false; // the planner's engine says the account is no longer liquidatable
    for (let i = 0; i < 3; i++) await mineAndTick(w, executor);
    const [cancel] = executor.inFlight();
    expect(await pendingInPool(w)).toBe(1);
    expect(cancel!.hash).not.toBe(original.hash);
    expect(executor.stats()).toMatchObject({ cancelled: 1, replaced: 1 });
    const tx = await w.chain.publicClient.getTransaction({ hash: cancel!.hash });
    expect(tx.to?.toLowerCase()).toBe(keeper.toLowerCase());
    expect(tx.value).toBe(0n);
    expect(tx.nonce).toBe(nonce);

    await mineAndTick(w, executor); // the cancel fits under the low limit
    expect(executor.inFlight()).toEqual([]);
    expect(executor.stats()).toMatchObject({ mined: 0, dropped: 1, cancelled: 1, reverted: 0 });
    expect(await receiptExists(w, original.hash)).toBe(false);
    expect(executor.stats().gasSpentWei).toBeGreaterThan(0n);
    expect(await liquidations(w, from, item.account)).toEqual([]);
    expect(await keeperNonce(w, "latest")).toBe(nonce + 1);
    const pos = await w.chain.publicClient.readContract({
      address: w.deployment.contracts.market,
      abi: PerpMarket.abi,
      functionName: "getPosition",
      args: [item.account, BigInt(SMALL)],
    });
    expect(pos.size).toBe(8000n * 10n ** 18n);
  });

  it("sends nothing while the base fee is above the cap: refused at admission, skipped in the job", async ({ world: w }) => {
    const { executor } = makeExecutor(w, { feeCapWei: parseGwei("5") });
    const item = await itemFor(w, risky[0]!);
    const nonce0 = await keeperNonce(w);
    await w.chain.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: parseGwei("50") });
    await w.chain.testClient.mine({ blocks: 1 });

    // No head seen yet: admitted, and the job finds the base fee above the cap.
    expect(await submitAndWait(executor, [item])).toMatchObject({ status: "skipped", reason: "fee_above_cap" });
    // With the head known, admission refuses at once.
    await tick(w, executor);
    expect(executor.submit(plan([item]))).toMatchObject({ accepted: false, reason: "fee_above_cap" });
    expect(await keeperNonce(w)).toBe(nonce0);
    expect(executor.stats()).toMatchObject({ sent: 0, skipped: 1 });
  });

  it("resyncs when another process used the key's next nonce, and the liquidation still goes out", async ({ world: w }) => {
    const { executor, logs } = makeExecutor(w);
    await executor.init();
    const n = await keeperNonce(w);
    // The same key, from elsewhere.
    const other = await w.chain.wallet(KEEPER).sendTransaction({ to: keeper, value: 0n });
    await w.chain.publicClient.waitForTransactionReceipt({ hash: other });

    const item = await itemFor(w, risky[0]!);
    await tick(w, executor);
    const tx = await sent(executor, [item]);
    expect(tx.nonce).toBe(n + 1);
    await tick(w, executor);
    expect(executor.stats()).toMatchObject({ sent: 1, mined: 1, reverted: 0 });
    expect(logs.lines.some((l) => l.msg === "nonce resynced" && l.from === n && l.to === n + 1)).toBe(true);
  });

  it("marks ours dropped when a transaction we did not send takes its nonce, then carries on", async ({ world: w }) => {
    const { executor, metrics } = makeExecutor(w);
    const item = await itemFor(w, risky[0]!);
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    const ours = await sent(executor, [item]);
    // Another process replaces it in the pool: same nonce, higher fees.
    await w.chain.wallet(KEEPER).sendTransaction({
      to: keeper,
      value: 0n,
      nonce: ours.nonce,
      maxFeePerGas: ours.maxFeePerGas * 3n,
      maxPriorityFeePerGas: ours.maxPriorityFeePerGas * 3n,
    });
    await mineAndTick(w, executor); // nonce used, no receipt of ours: one block of grace
    expect(executor.stats().dropped).toBe(0);
    await mineAndTick(w, executor);
    expect(executor.stats()).toMatchObject({ dropped: 1, mined: 0 });
    expect(executor.inFlight()).toEqual([]);
    expect((await metrics.transactions.get()).values.find((v) => v.labels.outcome === "dropped")?.value).toBe(1);

    // The target is free again and the next nonce is right.
    const again = await sent(executor, [item]);
    expect(again.nonce).toBe(ours.nonce + 1);
    await mineAndTick(w, executor);
    expect(executor.stats()).toMatchObject({ mined: 1, dropped: 1 });
  });

  it("a liquidation that loses the race reverts on chain: counted, gas recorded, target backed off", async ({ world: w }) => {
    const { executor, metrics } = makeExecutor(w, { revertBackoffMs: 60_000 });
    const item = await itemFor(w, risky[0]!);
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    const ours = await sent(executor, [item]);
    // A competitor takes the same slice with a higher tip and lands first in the same block.
    const rival = w.chain.wallet(7);
    await rival.writeContract({
      address: w.deployment.contracts.market,
      abi: PerpMarket.abi,
      functionName: "liquidate",
      args: [item.account, BigInt(item.marketId), item.size],
      gas: ours.gas!,
      maxFeePerGas: ours.maxFeePerGas * 4n,
      maxPriorityFeePerGas: ours.maxPriorityFeePerGas * 4n,
    });
    await mineAndTick(w, executor);
    const receipt = await w.chain.publicClient.getTransactionReceipt({ hash: ours.hash });
    expect(receipt.status).toBe("reverted");
    expect(executor.stats()).toMatchObject({ sent: 1, mined: 0, reverted: 1, rewardTokens: 0n });
    expect(executor.stats().gasSpentWei).toBe(receipt.gasUsed * receipt.effectiveGasPrice);
    expect((await metrics.liquidations.get()).values.find((v) => v.labels.result === "reverted")?.value).toBe(1);
    const target = `t:${item.account.toLowerCase()}:${item.marketId}`;
    expect(executor.submit(plan([item]))).toMatchObject({ accepted: false, reason: "backoff", target });
  });

  it("drain() stops intake and waits for what is in flight; on timeout it hands it back", async ({ world: w }) => {
    const { executor } = makeExecutor(w, { drainPollMs: 20 });
    const [a, b] = [await itemFor(w, risky[0]!), await itemFor(w, risky[1]!)];
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    const tx = await sent(executor, [a]);

    // Stuck: drain gives up at the deadline and returns it for the checkpoint.
    await blockLiquidations(w, true);
    await w.chain.testClient.mine({ blocks: 1 });
    const t0 = performance.now();
    const late = await executor.drain(300);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(late.settled).toBe(false);
    expect(late.inFlight.map((t) => t.hash)).toEqual([tx.hash]);
    expect(executor.submit(plan([b]))).toMatchObject({ accepted: false, reason: "draining" });

    // Once a block can include it, drain settles.
    await blockLiquidations(w, false);
    const draining = executor.drain(5_000);
    await w.chain.testClient.mine({ blocks: 1 });
    expect(await draining).toEqual({ settled: true, inFlight: [] });
    expect(executor.stats()).toMatchObject({ mined: 1 });
  });
});

describe("defect 5: a stuck transaction is re-validated before a fee bump", () => {
  it("a competitor's step leaves one item of our stuck batch doomed: the replacement carries only the valid one, and we pay for no failed item", async ({ world: w }) => {
    // The planner's engine at the current head, as the keeper wires it: valid while size ≤ the max slice now.
    const maxNow = new Map<Address, bigint>();
    const { executor, metrics, logs } = makeExecutor(w, {
      replaceAfterBlocks: 2,
      isStillValid: (i) => i.size > 0n && i.size <= (maxNow.get(i.account) ?? 0n),
      sizeNow: (i) => maxNow.get(i.account) ?? 0n,
    });
    const [a, b] = [await itemFor(w, risky[0]!), await itemFor(w, risky[1]!)];
    for (const i of [a, b]) maxNow.set(i.account, i.size);
    const from = await w.chain.publicClient.getBlockNumber();
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    const ours = await sent(executor, [a, b]);

    // A block that fits a competitor's single liquidation but not our batch.
    const rivalGas = 400_000n;
    expect(ours.gas!).toBeGreaterThan(rivalGas + 50_000n);
    await w.chain.testClient.setBlockGasLimit({ gasLimit: rivalGas + 25_000n });
    const rivalHash = await w.chain.wallet(7).writeContract({
      address: w.deployment.contracts.market,
      abi: PerpMarket.abi,
      functionName: "liquidate",
      args: [a.account, BigInt(SMALL), a.size],
      gas: rivalGas,
      maxFeePerGas: ours.maxFeePerGas * 4n,
      maxPriorityFeePerGas: ours.maxPriorityFeePerGas * 4n,
    });
    await mineAndTick(w, executor);
    expect((await w.chain.publicClient.getTransactionReceipt({ hash: rivalHash })).status).toBe("success");
    expect(executor.inFlight().map((t) => t.hash)).toEqual([ours.hash]);
    for (const i of [a, b]) maxNow.set(i.account, await sliceOf(w, i.account));
    expect(maxNow.get(a.account)).toBe(0n);

    await w.chain.testClient.mine({ blocks: 1 }); // 2 blocks without it
    // (Anvil refuses a new transaction above the block gas limit: lift it before the replacement.)
    await w.chain.testClient.setBlockGasLimit({ gasLimit: BLOCK_GAS_LIMIT });
    await tick(w, executor); // re-validated, re-planned with b alone
    const [replan] = executor.inFlight();
    expect(replan!.nonce).toBe(ours.nonce);
    expect(replan!.items).toEqual([b]);
    expect(logs.messages().some((m) => m.startsWith("stuck transaction re-planned"))).toBe(true);

    await mineAndTick(w, executor);
    expect(executor.inFlight()).toEqual([]);
    expect(await receiptExists(w, replan!.hash)).toBe(true);
    expect(await receiptExists(w, ours.hash)).toBe(false);
    expect(executor.stats()).toMatchObject({ mined: 1, reverted: 0, replaced: 1 });
    // No failed item paid for: nothing of ours reverted, on chain or inside the batch.
    expect((await metrics.liquidations.get()).values.find((v) => v.labels.result === "reverted")).toBeUndefined();
    const mine = (await liquidations(w, from, b.account)).filter((e) => e.keeper === keeper);
    expect(mine).toHaveLength(1);
  });
});

describe("defect 6: one step at a time per account", () => {
  it("while a step on an account is pending, a step on its other market is not taken; once it is mined, it is", async ({ world: w }) => {
    const { executor } = makeExecutor(w);
    const item = await itemFor(w, risky[0]!);
    const other: LiquidationItem = { account: item.account, marketId: BTC, size: 10n ** 15n, expectedRewardTokens: 0n };
    const second = await itemFor(w, risky[1]!);
    await w.chain.testClient.setAutomine(false);
    await tick(w, executor);
    await sent(executor, [item]);
    await blockLiquidations(w, true);
    await mineAndTick(w, executor);

    expect(executor.admissible(other)).toBe(false);
    expect(executor.submit(plan([other]))).toMatchObject({ accepted: false, reason: "account_busy", target: `a:${item.account.toLowerCase()}` });
    // Two steps on one account in one plan are refused too.
    expect(executor.submit(plan([second, { ...other, account: risky[1]! }]))).toMatchObject({ accepted: false, reason: "invalid_plan" });

    await blockLiquidations(w, false);
    await mineAndTick(w, executor);
    expect(executor.inFlight()).toEqual([]);
    expect(executor.admissible(other)).toBe(true);
  });
});

describe("defect 7: restore() rebroadcasts exactly the call that was sent", () => {
  it("a lone item sent isolated in liquidateBatch, restored from the checkpoint, is bumped with the same calldata and its profit", async ({ world: w }) => {
    const first = makeExecutor(w, { preflight: "engine" }).executor;
    const item = await itemFor(w, risky[0]!);
    await w.chain.testClient.setAutomine(false);
    const head = await tick(w, first);
    const profit = 10n ** 16n;
    const r = first.submit(plan([item], { priceBlock: head.number, gasLimit: 500_000n, expectedProfitWei: profit }));
    if (!r.accepted) throw new Error("refused");
    const out = await r.done;
    if (out.status !== "sent") throw new Error(`not sent: ${out.status}`);
    const original = await w.chain.publicClient.getTransaction({ hash: out.tx.hash });
    const checkpoint = JSON.parse(JSON.stringify(first.inFlight(), (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as Record<string, unknown>[];
    expect(checkpoint[0]).toMatchObject({ functionName: "liquidateBatch", expectedProfitWei: profit.toString() });

    const { executor } = makeExecutor(w, { replaceAfterBlocks: 1 });
    executor.restore(first.inFlight());
    await blockLiquidations(w, true);
    await w.chain.testClient.mine({ blocks: 1 });
    await blockLiquidations(w, false);
    await tick(w, executor);
    const [bumpedTx] = executor.inFlight();
    expect(bumpedTx!.hash).not.toBe(out.tx.hash);
    expect(bumpedTx!.expectedProfitWei).toBe(profit);
    const replacement = await w.chain.publicClient.getTransaction({ hash: bumpedTx!.hash });
    expect(replacement.input).toBe(original.input);
  });
});
