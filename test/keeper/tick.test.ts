/**
 * The keeper tick against the executor on a real Anvil: it plans only what the executor can take
 * (defect 1), a batch item the contract refuses where the engine did not expect it is not sent
 * again (defect 2), what is liquidatable at start is acted on at once and skips are said once
 * (defect 10), and an empty wallet makes the daemon unhealthy (defect 7).
 */
import { parseEther, parseGwei, type Address } from "viem";
import { describe, expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { KeeperSettings } from "../../src/config/keeper.ts";
import { waitFor } from "../support/anvil.ts";
import { headOf } from "../support/blocks.ts";
import { counterValue } from "../support/executor.ts";
import { it, test, type World } from "../support/fixtures.ts";
import type { RefKeeper } from "../support/keepers.ts";
import { KEEPER, SMALLCAP as SMALL, deposit, fund, openLong, pokeLastPartialAt, setGlobalParams, trader } from "../support/market.ts";

test.override({ preset: "reference" });

/** Liquidatable at 0.47 (300 USDC behind 8 000 SMALLCAP long from 0.5). */
let a: Address;
let a2: Address;
/** 330 USDC behind the same: healthy at 0.47, liquidatable at 0.465 (where A is not underwater yet). */
let b: Address;
const keeperAddress = trader(KEEPER);

test.beforeAll(async ({ world: w }) => {
  a = await openLong(w, 1);
  a2 = await openLong(w, 2);
  b = await openLong(w, 3, { tokens: 330n });
});

/** The keeper account's keeper, logging at debug. */
const keeperFor = (w: World, overrides: Partial<KeeperSettings> = {}) => w.keeper(KEEPER, overrides, { logLevel: "debug" });

const isLiquidatable = (w: World, account: Address) =>
  w.chain.publicClient.readContract({ address: w.deployment.contracts.market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [account] });

/** Our transactions' items still in flight, as "account" strings. */
const inFlightAccounts = (k: RefKeeper) => k.executor.inFlight().flatMap((t) => t.items.map((i) => i.account));

describe("defect 1: one busy target does not block a batch", () => {
  it("target A's transaction stays unmined, B becomes liquidatable, maxBatch 2: B is sent on the next head", async ({ world: w }) => {
    // a2 out of the way (well collateralised): only A, then A and B, are liquidatable.
    await deposit(w, 2, 2_000n);
    // A will top up 1 USDC in the block that crosses B: both accounts then change in one tick, so
    // the keeper values them together and (before the fix) batched A, in flight, with B.
    const walletA = w.chain.wallet(1);
    await fund(w, 1, 10n ** 6n);
    const { keeper } = keeperFor(w, { maxBatch: 2 });
    await keeper.start();
    await w.prices.set(SMALL, parseEther("0.47"));
    expect(await isLiquidatable(w, a)).toBe(true);
    expect(await isLiquidatable(w, a2)).toBe(false);
    expect(await isLiquidatable(w, b)).toBe(false);
    await w.chain.testClient.setAutomine(false);
    try {
      // Only A is liquidatable: its transaction goes to the pool.
      await keeper.onHead(await headOf(w.chain));
      await waitFor(() => keeper.executor.inFlight().length === 1, { message: "A sent" });
      expect(inFlightAccounts(keeper)).toEqual([a]);
      // Its transaction loses every block (block gas limit below it); the price falls further (a new
      // round on the aggregator writes six fresh storage slots, over 100k gas) and A tops up, in one block.
      await w.chain.testClient.setBlockGasLimit({ gasLimit: 300_000n });
      const hashes = [
        await w.prices.send(SMALL, parseEther("0.465"), { gas: 145_000n }),
        await walletA.writeContract({ address: w.deployment.contracts.market, abi: PerpMarket.abi, functionName: "deposit", args: [a, 10n ** 6n], gas: 150_000n }),
      ];
      await w.chain.testClient.mine({ blocks: 1 });
      const receipts = await Promise.all(hashes.map((hash) => w.chain.publicClient.getTransactionReceipt({ hash })));
      expect(receipts.map((r) => r.status)).toEqual(["success", "success"]);
      expect(receipts[0]!.blockNumber).toBe(receipts[1]!.blockNumber);
      expect(keeper.executor.inFlight()).toHaveLength(1); // A's liquidation still pending
      // (Anvil refuses calls and new transactions above the block gas limit: lift it, without mining.)
      await w.chain.testClient.setBlockGasLimit({ gasLimit: 30_000_000n });
      expect(await isLiquidatable(w, b)).toBe(true);

      // Next head: A and B are liquidatable (one batch of 2 before the fix, refused for A); A is in
      // flight, so B goes out now, alone.
      await keeper.onHead(await headOf(w.chain));
      await waitFor(() => keeper.executor.inFlight().length === 2, { message: "B sent" });
      expect(inFlightAccounts(keeper).sort()).toEqual([a, b].sort());
    } finally {
      await w.chain.testClient.setBlockGasLimit({ gasLimit: 30_000_000n });
      await w.chain.testClient.request({ method: "anvil_dropAllTransactions" } as never);
      await w.chain.testClient.setAutomine(true);
    }
    await keeper.stop(0);
  });
});

describe("defect 2: a failed batch item backs its target off", () => {
  it("the contract sees a cooldown the index does not: one failed item, no second transaction for that target on the next blocks, and the executor in simulate mode", async ({ world: w }) => {
    await setGlobalParams(w, { cooldown: 60n, backstopPpm: 0n, keeperSharePpm: 500_000n });
    const { keeper, metrics } = keeperFor(w, { preflight: "engine", maxBatch: 1 });
    await keeper.start();
    await w.prices.set(SMALL, parseEther("0.47"));
    // Only a is made to disagree; a2 stays as the engine sees it.
    await pokeLastPartialAt(w, a, (await headOf(w.chain)).timestamp);
    await w.chain.testClient.mine({ blocks: 1 });

    await keeper.onHead(await headOf(w.chain)); // a and a2 sent on the engine's word (automine mines them)
    await waitFor(() => keeper.executor.stats().sent === 2, { message: "both sent" });
    for (let i = 0; i < 4; i++) {
      await w.chain.testClient.mine({ blocks: 1 });
      await keeper.onHead(await headOf(w.chain));
    }
    const s = keeper.executor.stats();
    expect(s).toMatchObject({ sent: 2, mined: 2, reverted: 0 });
    expect(await counterValue(metrics.liquidations, { result: "reverted" })).toBe(1);
    expect(keeper.executor.preflightMode()).toBe("node");
    expect(await isLiquidatable(w, a)).toBe(true); // still there, and still left alone until its cooldown ends
    expect(keeper.executor.admissible({ account: a, marketId: SMALL })).toBe(false);
    await keeper.stop(0);
  });
});

describe("defect 10: act on the state found at start, and say why an account is skipped", () => {
  it("accounts already liquidatable at start are sent for by start(), before any new head", async ({ world: w }) => {
    await w.prices.set(SMALL, parseEther("0.47"));
    const { keeper, logs } = keeperFor(w);
    await keeper.start();
    await waitFor(() => keeper.executor.stats().sent > 0, { message: "sent for the accounts found at start" });
    expect(logs.messages()).toContain("acting on the state found at start");
    await keeper.stop(0);
  });

  it("each skipped account is logged once per reason, with a counter by reason", async ({ world: w }) => {
    await w.prices.set(SMALL, parseEther("0.47"));
    const { keeper, metrics, logs } = keeperFor(w, { minProfitUsd: parseEther("1000000") });
    await keeper.start();
    for (let i = 0; i < 3; i++) {
      await w.chain.testClient.mine({ blocks: 1 });
      await keeper.onHead(await headOf(w.chain));
    }
    const skips = logs.lines.filter((l) => l.reason === "below_min_profit");
    expect(skips.map((l) => l.account).sort()).toEqual([a, a2].sort());
    expect(await counterValue(metrics.candidatesSkipped, { reason: "below_min_profit" })).toBe(2);
    expect(keeper.executor.stats().sent).toBe(0);
    await keeper.stop(0);
  });
});

describe("defect 7: an empty wallet makes the daemon unhealthy", () => {
  it("insufficient funds: /healthz's probe says not ok, with the reason", async ({ world: w }) => {
    await w.prices.set(SMALL, parseEther("0.47"));
    const balance = await w.chain.publicClient.getBalance({ address: keeperAddress });
    await w.chain.testClient.setBalance({ address: keeperAddress, value: parseGwei("1") });
    const { keeper, metrics } = keeperFor(w, { preflight: "node" });
    await keeper.start();
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await headOf(w.chain));
    await waitFor(() => !keeper.executor.walletStatus().ok, { message: "the send refused for lack of funds" });
    const h = keeper.readiness();
    expect(h.ok).toBe(false);
    expect((h.body.reasons as { code: string }[]).map((r) => r.code)).toEqual(["insufficient_funds"]);
    expect(await counterValue(metrics.walletInsufficientFunds)).toBe(1);

    await w.chain.testClient.setBalance({ address: keeperAddress, value: balance });
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await headOf(w.chain));
    expect(keeper.readiness().ok).toBe(true);
    await keeper.stop(0);
  });
});
