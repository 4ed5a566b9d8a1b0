/**
 * A reference market on the worker's Anvil, traders to liquidate, and an executor factory for the
 * executor tests. Deployed once per test file (beforeAll); every test runs inside a snapshot.
 */
import { Writable } from "node:stream";
import { encodeAbiParameters, keccak256, numberToHex, parseEther, parseGwei, parseUnits, type Address, type Hex } from "viem";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { deployReferenceMarket, type Deployment } from "../../src/chain/deploy.ts";
import { publishPrice } from "../../src/chain/prices.ts";
import { readAccount, readValuation } from "../../src/chain/reads.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { maxLiquidatable } from "../../src/engine/index.ts";
import { Executor, type ExecutorInputs } from "../../src/execute/executor.ts";
import type { BlockHead, LiquidationItem, TxPlan } from "../../src/execute/types.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { getTestChain, waitFor, type TestChain } from "../support/anvil.ts";
import { referenceCalls } from "../../src/protocols/reference/calls.ts";

/** Dev account indices: 0 deploys and publishes prices, 9 is the keeper, 1–8 trade. */
export const OWNER = 0;
export const KEEPER = 9;
export const BTC = 0;
/** SMALLCAP: tier-0 maintenance 2% above the reference penalty 0.5%, so liquidations are partial. */
export const SMALL = 2;

export type World = {
  chain: TestChain;
  deployment: Deployment;
  market: Address;
  keeper: Address;
  /** Trader addresses by dev account index. */
  trader: (i: number) => Address;
};

export async function setupWorld(): Promise<World> {
  const chain = await getTestChain();
  const owner = { publicClient: chain.publicClient, walletClient: chain.wallet(OWNER) };
  const deployment = await deployReferenceMarket(owner, { markets: loadMarkets(), preset: loadPreset("reference") });
  return {
    chain,
    deployment,
    market: deployment.contracts.market,
    keeper: chain.wallet(KEEPER).account.address,
    trader: (i) => chain.wallet(i).account.address,
  };
}

async function mined(w: World, hash: Promise<Hex>): Promise<void> {
  const r = await w.chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (r.status !== "success") throw new Error(`setup transaction reverted: ${r.transactionHash}`);
}

/**
 * Trader `i` deposits `tokens` (whole USDC) and opens a long of `units` in `marketId` at the
 * current price. Defaults: 300 USDC behind 8 000 SMALLCAP at 0.5 (13x), liquidatable below
 * ~0.4724, and at 0.47 a partial step (about half) restores it.
 */
export async function openLong(
  w: World,
  i: number,
  opts: { tokens?: bigint; units?: string; marketId?: number } = {},
): Promise<Address> {
  const wallet = w.chain.wallet(i);
  const amount = (opts.tokens ?? 300n) * 10n ** 6n;
  const token = w.deployment.contracts.token;
  await mined(w, wallet.writeContract({ address: token, abi: MockUSDC.abi, functionName: "mint", args: [wallet.account.address, amount] }));
  await mined(w, wallet.writeContract({ address: token, abi: MockUSDC.abi, functionName: "approve", args: [w.market, amount] }));
  await mined(
    w,
    wallet.writeContract({ address: w.market, abi: PerpMarket.abi, functionName: "deposit", args: [wallet.account.address, amount] }),
  );
  await mined(
    w,
    wallet.writeContract({
      address: w.market,
      abi: PerpMarket.abi,
      functionName: "trade",
      args: [BigInt(opts.marketId ?? SMALL), parseUnits(opts.units ?? "8000", 18)],
    }),
  );
  return wallet.account.address;
}

/** Publish a price (in dollars, decimal string) on `marketId`'s feed. */
export async function setPrice(w: World, dollars: string, marketId = SMALL): Promise<void> {
  const feed = w.deployment.markets[marketId]!;
  const owner = { publicClient: w.chain.publicClient, walletClient: w.chain.wallet(OWNER) };
  await publishPrice(owner, feed.feed, parseEther(dollars), feed.feedDecimals);
}

/** The slice the engine says may be liquidated now (read from the chain, valued by src/engine). */
export async function sliceOf(w: World, account: Address, marketId = SMALL): Promise<bigint> {
  const [acct, v] = await Promise.all([readAccount(w.chain, w.market, account), readValuation(w.chain, w.market)]);
  return maxLiquidatable(acct, marketId, v);
}

/** An item for `account`'s largest slice now, with the contract's quoted reward. */
export async function itemFor(w: World, account: Address, marketId = SMALL): Promise<LiquidationItem> {
  const size = await sliceOf(w, account, marketId);
  if (size === 0n) throw new Error(`${account} is not liquidatable`);
  const [, reward] = await w.chain.publicClient.readContract({
    address: w.market,
    abi: PerpMarket.abi,
    functionName: "quoteLiquidation",
    args: [account, BigInt(marketId), size],
  });
  return { account, marketId, size, expectedRewardTokens: reward };
}

export function plan(items: LiquidationItem[], extra: Partial<TxPlan> = {}): TxPlan {
  return { items, expectedProfitWei: 0n, ...extra };
}

/** Log lines an executor wrote (JSON objects). */
export type LogSink = { lines: Record<string, unknown>[]; messages: () => string[] };

export function logSink(): { sink: LogSink; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { sink: { lines, messages: () => lines.map((l) => String(l.msg)) }, destination };
}

export type TestExecutor = { executor: Executor; metrics: Metrics; logs: LogSink };

/** An executor for the keeper account with generous defaults. */
export function makeExecutor(w: World, overrides: Partial<ExecutorInputs> = {}): TestExecutor {
  const metrics = createMetrics();
  const { sink, destination } = logSink();
  const executor = new Executor({
    publicClient: w.chain.publicClient,
    walletClient: w.chain.wallet(KEEPER),
    calls: referenceCalls(w.market),
    logger: createLogger({ level: "debug", destination }),
    metrics,
    concurrency: 2,
    feeCapWei: parseGwei("1000"),
    priorityFeeWei: parseGwei("1"),
    gasBudgetWeiPerHour: parseEther("10"),
    dryRun: false,
    isStillValid: () => true,
    ...overrides,
  });
  return { executor, metrics, logs: sink };
}

export async function latestHead(w: World): Promise<BlockHead> {
  const b = await w.chain.publicClient.getBlock({ blockTag: "latest" });
  return { number: b.number, baseFeePerGas: b.baseFeePerGas, timestamp: b.timestamp };
}

/**
 * Feed the executor the latest head, as the daemon's block watcher does. With automine on, first
 * wait (bounded) until every transaction of the keeper's that the node took is in a block: Anvil
 * can answer eth_sendRawTransaction before the block carrying it is "latest", so reading the head
 * at once would depend on how busy the machine is.
 */
export async function tick(w: World, executor: Executor): Promise<BlockHead> {
  if (await w.chain.testClient.getAutomine()) {
    await waitFor(async () => (await keeperNonce(w, "latest")) === (await keeperNonce(w, "pending")), {
      timeoutMs: 10_000,
      message: "the keeper's transactions mined (automine)",
    });
  }
  const head = await latestHead(w);
  await executor.onBlock(head);
  return head;
}

/** Warp the chain's clock by `seconds`, mine a block, and hand the executor the new head. */
export async function advanceChainTime(w: World, executor: Executor, seconds: number): Promise<BlockHead> {
  await w.chain.testClient.increaseTime({ seconds });
  await w.chain.testClient.mine({ blocks: 1 });
  return tick(w, executor);
}

export function keeperNonce(w: World, blockTag: "latest" | "pending" = "pending"): Promise<number> {
  return w.chain.publicClient.getTransactionCount({ address: w.keeper, blockTag });
}

/** Liquidated events for `account` since `fromBlock`. */
export async function liquidatedEvents(w: World, account: Address, fromBlock = 0n) {
  return w.chain.publicClient.getContractEvents({
    address: w.market,
    abi: PerpMarket.abi,
    eventName: "Liquidated",
    args: { account },
    fromBlock,
    toBlock: "latest",
  });
}

/** Sum of a counter's values whose labels match `labels`. */
type CounterLike = { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> };

export async function counterValue(c: CounterLike, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/**
 * Write `lastPartialAt[account] = at` straight into the market's storage (anvil_setStorageAt): no
 * event, so an indexer (and the engine valuing it) does not see it, while the contract does. The
 * mapping's slot is found by probing: each candidate is written, read back through the public
 * getter, and restored unless it was the one.
 */
export async function pokeLastPartialAt(w: World, account: Address, at: bigint): Promise<void> {
  const test = w.chain.testClient;
  const read = () => w.chain.publicClient.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "lastPartialAt", args: [account] });
  const value = numberToHex(at, { size: 32 });
  for (let slot = 0n; slot < 128n; slot++) {
    const key = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [account, slot]));
    const before = await w.chain.publicClient.getStorageAt({ address: w.market, slot: key });
    await test.setStorageAt({ address: w.market, index: key, value });
    if (BigInt(await read()) === at) return;
    await test.setStorageAt({ address: w.market, index: key, value: before ?? numberToHex(0n, { size: 32 }) });
  }
  throw new Error("lastPartialAt's storage slot not found");
}
