/**
 * The keeper tick against the executor on a real Anvil: it plans only what the executor can take
 * (defect 1), a batch item the contract refuses where the engine did not expect it is not sent
 * again (defect 2), what is liquidatable at start is acted on at once and skips are said once
 * (defect 10), and an empty wallet makes the daemon unhealthy (defect 7).
 */
import { parseEther, parseGwei, type Address } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../../src/chain/clients.ts";
import { loadKeeperSettings, type KeeperSettings } from "../../src/config/keeper.ts";
import { createKeeper } from "../../src/keeper/createKeeper.ts";
import type { Keeper } from "../../src/keeper/keeper.ts";
import { referenceMarket } from "../../src/protocols/reference/index.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { waitFor, withSnapshot } from "../support/anvil.ts";
import { KEEPER, OWNER, SMALL, counterValue, logSink, openLong, pokeLastPartialAt, setPrice, setupWorld, type LogSink, type World } from "../execute/world.ts";

let w: World;
/** Liquidatable at 0.47 (300 USDC behind 8 000 SMALLCAP long from 0.5). */
let a: Address;
let a2: Address;
/** 330 USDC behind the same: healthy at 0.47, liquidatable at 0.465 (where A is not underwater yet). */
let b: Address;

beforeAll(async () => {
  w = await setupWorld();
  a = await openLong(w, 1);
  a2 = await openLong(w, 2);
  b = await openLong(w, 3, { tokens: 330n });
});

withSnapshot();

function keeperFor(overrides: Partial<KeeperSettings> = {}): { keeper: Keeper; metrics: ReturnType<typeof createMetrics>; logs: LogSink } {
  const settings: KeeperSettings = { ...loadKeeperSettings({ minProfitUsd: "0" }), ...overrides };
  const metrics = createMetrics();
  const { sink, destination } = logSink();
  const keeper = createKeeper({ protocol: referenceMarket(w.deployment.contracts.market),
    publicClient: w.chain.publicClient as unknown as ChainClients["publicClient"],
    walletClient: w.chain.wallet(KEEPER) as unknown as ChainClients["walletClient"],
    deployment: w.deployment,
    settings,
    logger: createLogger({ level: "debug", destination }),
    metrics,
    checkpoint: false,
  });
  return { keeper, metrics, logs: sink };
}

async function head() {
  const blk = await w.chain.publicClient.getBlock({ blockTag: "latest" });
  return { number: blk.number, hash: blk.hash, parentHash: blk.parentHash, timestamp: blk.timestamp, baseFeePerGas: blk.baseFeePerGas ?? 0n };
}

/** Dev account `i` deposits `amount` more USDC. */
async function deposit(i: number, amount: bigint): Promise<void> {
  const wallet = w.chain.wallet(i);
  const units = amount * 10n ** 6n;
  const token = w.deployment.contracts.token;
  for (const hash of [
    await wallet.writeContract({ address: token, abi: MockUSDC.abi, functionName: "mint", args: [wallet.account.address, units] }),
    await wallet.writeContract({ address: token, abi: MockUSDC.abi, functionName: "approve", args: [w.market, units] }),
    await wallet.writeContract({ address: w.market, abi: PerpMarket.abi, functionName: "deposit", args: [wallet.account.address, units] }),
  ]) {
    await w.chain.publicClient.waitForTransactionReceipt({ hash });
  }
}

const isLiquidatable = (account: Address) =>
  w.chain.publicClient.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [account] });

/** Our transactions' items still in flight, as "account" strings. */
const inFlightAccounts = (k: Keeper) => k.executor.inFlight().flatMap((t) => t.items.map((i) => i.account));

describe("defect 1: one busy target does not block a batch", () => {
  it("target A's transaction stays unmined, B becomes liquidatable, maxBatch 2: B is sent on the next head", async () => {
    // a2 out of the way (well collateralised): only A, then A and B, are liquidatable.
    await deposit(2, 2_000n);
    // A will top up 1 USDC in the block that crosses B: both accounts then change in one tick, so
    // the keeper values them together and (before the fix) batched A, in flight, with B.
    const walletA = w.chain.wallet(1);
    const token = w.deployment.contracts.token;
    for (const hash of [
      await walletA.writeContract({ address: token, abi: MockUSDC.abi, functionName: "mint", args: [a, 10n ** 6n] }),
      await walletA.writeContract({ address: token, abi: MockUSDC.abi, functionName: "approve", args: [w.market, 10n ** 6n] }),
    ]) {
      await w.chain.publicClient.waitForTransactionReceipt({ hash });
    }
    const { keeper } = keeperFor({ maxBatch: 2 });
    await keeper.start();
    await setPrice(w, "0.47");
    expect(await isLiquidatable(a)).toBe(true);
    expect(await isLiquidatable(a2)).toBe(false);
    expect(await isLiquidatable(b)).toBe(false);
    await w.chain.testClient.setAutomine(false);
    try {
      // Only A is liquidatable: its transaction goes to the pool.
      await keeper.onHead(await head());
      await waitFor(() => keeper.executor.inFlight().length === 1, { message: "A sent" });
      expect(inFlightAccounts(keeper)).toEqual([a]);
      // Its transaction loses every block (block gas limit below it); the price falls further and
      // A tops up, in one block.
      await w.chain.testClient.setBlockGasLimit({ gasLimit: 300_000n });
      const feed = w.deployment.markets[SMALL]!;
      const hashes = [
        await w.chain.wallet(OWNER).writeContract({
          address: feed.feed,
          abi: MockAggregatorV3.abi,
          functionName: "updateAnswer",
          args: [parseEther("0.465") / 10n ** BigInt(18 - feed.feedDecimals)],
          gas: 100_000n,
        }),
        await walletA.writeContract({ address: w.market, abi: PerpMarket.abi, functionName: "deposit", args: [a, 10n ** 6n], gas: 150_000n }),
      ];
      await w.chain.testClient.mine({ blocks: 1 });
      const receipts = await Promise.all(hashes.map((hash) => w.chain.publicClient.getTransactionReceipt({ hash })));
      expect(receipts.map((r) => r.status)).toEqual(["success", "success"]);
      expect(receipts[0]!.blockNumber).toBe(receipts[1]!.blockNumber);
      expect(keeper.executor.inFlight()).toHaveLength(1); // A's liquidation still pending
      // (Anvil refuses calls and new transactions above the block gas limit: lift it, without mining.)
      await w.chain.testClient.setBlockGasLimit({ gasLimit: 30_000_000n });
      expect(await isLiquidatable(b)).toBe(true);

      // Next head: A and B are liquidatable (one batch of 2 before the fix, refused for A); A is in
      // flight, so B goes out now, alone.
      await keeper.onHead(await head());
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
  it("the contract sees a cooldown the index does not: one failed item, no second transaction for that target on the next blocks, and the executor in simulate mode", async () => {
    const owner = w.chain.wallet(OWNER);
    const set = await owner.writeContract({
      address: w.market,
      abi: PerpMarket.abi,
      functionName: "setGlobalLiquidationParams",
      args: [{ cooldown: 60, backstopPpm: 0, keeperSharePpm: 500_000 }],
    });
    await w.chain.publicClient.waitForTransactionReceipt({ hash: set });
    const { keeper, metrics } = keeperFor({ preflight: "engine", maxBatch: 1 });
    await keeper.start();
    await setPrice(w, "0.47");
    // Only a is made to disagree; a2 stays as the engine sees it.
    await pokeLastPartialAt(w, a, (await head()).timestamp);
    await w.chain.testClient.mine({ blocks: 1 });

    await keeper.onHead(await head()); // a and a2 sent on the engine's word (automine mines them)
    await waitFor(() => keeper.executor.stats().sent === 2, { message: "both sent" });
    for (let i = 0; i < 4; i++) {
      await w.chain.testClient.mine({ blocks: 1 });
      await keeper.onHead(await head());
    }
    const s = keeper.executor.stats();
    expect(s).toMatchObject({ sent: 2, mined: 2, reverted: 0 });
    expect(await counterValue(metrics.liquidations, { result: "reverted" })).toBe(1);
    expect(keeper.executor.preflightMode()).toBe("node");
    expect(await isLiquidatable(a)).toBe(true); // still there, and still left alone until its cooldown ends
    expect(keeper.executor.admissible({ account: a, marketId: SMALL })).toBe(false);
    await keeper.stop(0);
  });
});

describe("defect 10: act on the state found at start, and say why an account is skipped", () => {
  it("accounts already liquidatable at start are sent for by start(), before any new head", async () => {
    await setPrice(w, "0.47");
    const { keeper, logs } = keeperFor();
    await keeper.start();
    await waitFor(() => keeper.executor.stats().sent > 0, { message: "sent for the accounts found at start" });
    expect(logs.messages()).toContain("acting on the state found at start");
    await keeper.stop(0);
  });

  it("each skipped account is logged once per reason, with a counter by reason", async () => {
    await setPrice(w, "0.47");
    const { keeper, metrics, logs } = keeperFor({ minProfitUsd: parseEther("1000000") });
    await keeper.start();
    for (let i = 0; i < 3; i++) {
      await w.chain.testClient.mine({ blocks: 1 });
      await keeper.onHead(await head());
    }
    const skips = logs.lines.filter((l) => l.reason === "below_min_profit");
    expect(skips.map((l) => l.account).sort()).toEqual([a, a2].sort());
    expect(await counterValue(metrics.candidatesSkipped, { reason: "below_min_profit" })).toBe(2);
    expect(keeper.executor.stats().sent).toBe(0);
    await keeper.stop(0);
  });
});

describe("defect 7: an empty wallet makes the daemon unhealthy", () => {
  it("insufficient funds: /healthz's probe says not ok, with the reason", async () => {
    await setPrice(w, "0.47");
    const balance = await w.chain.publicClient.getBalance({ address: w.keeper });
    await w.chain.testClient.setBalance({ address: w.keeper, value: parseGwei("1") });
    const { keeper, metrics } = keeperFor({ preflight: "node" });
    await keeper.start();
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await head());
    await waitFor(() => !keeper.executor.walletStatus().ok, { message: "the send refused for lack of funds" });
    const h = keeper.health();
    expect(h.ok).toBe(false);
    expect(h.details.reasons).toEqual(["wallet has insufficient funds"]);
    expect(await counterValue(metrics.walletInsufficientFunds)).toBe(1);

    await w.chain.testClient.setBalance({ address: w.keeper, value: balance });
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await head());
    expect(keeper.health().ok).toBe(true);
    await keeper.stop(0);
  });
});
