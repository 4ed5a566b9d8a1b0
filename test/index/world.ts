/**
 * A reference market on the worker's Anvil for the indexer tests: deployment, traders, prices,
 * liquidations, owner changes; and the check that an index equals what the contract reads.
 */
import { createPublicClient, custom, getAddress, http, type Address, type EIP1193Parameters, type Hash, type Hex, type PublicClient } from "viem";
import { foundry } from "viem/chains";
import { beforeAll, beforeEach, expect } from "vitest";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../../src/chain/clients.ts";
import { deployReferenceMarket, type Deployment } from "../../src/chain/deploy.ts";
import { feedAnswer } from "../../src/chain/prices.ts";
import { readAccount, readGlobalParams, readMarkPrices, readMarketStates } from "../../src/chain/reads.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { parseWad } from "../../src/lib/units.ts";
import type { BlockHead } from "../../src/chain/heads.ts";
import { Indexer, type IndexerInputs } from "../../src/index/indexer.ts";
import { priceStatus, referenceMarket, valuationAt, type IndexLog, type IndexState } from "../../src/protocols/reference/index.ts";

/** The reference market's indexer, as the tests build it. */
export type RefIndexer = Indexer<IndexState, IndexLog>;
type RefInputs = IndexerInputs<IndexState, IndexLog>;
import { createLogger, silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { getTestChain, testAccounts, withSnapshot, type TestChain } from "../support/anvil.ts";

export const w = (x: string | number) => parseWad(x);
export const OWNER = 0;
export const KEEPER = 9;
export const BTC = 0;
export const ETH = 1;
export const SMALLCAP = 2;

export type World = {
  chain: TestChain;
  deployment: Deployment;
  market: Address;
  token: Address;
  /** Current feed and decimals of each market (tests that swap feeds update it). */
  feeds: Map<number, { feed: Address; decimals: number }>;
};

export const trader = (i: number): Address => testAccounts[i]!.address;

async function mined(chain: TestChain, hash: Promise<Hash>): Promise<bigint> {
  const r = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (r.status !== "success") throw new Error(`transaction reverted: ${r.transactionHash}`);
  return r.blockNumber;
}

/** Deploy the reference market (config/markets.json, the hyperliquid preset) on the worker chain. */
export async function deployWorld(): Promise<World> {
  const chain = await getTestChain();
  // Every block one second after the last, whatever the machine's load: funding and staleness then
  // depend on the scenario alone, not on how long its transactions took on the wall clock.
  await chain.testClient.setBlockTimestampInterval({ interval: 1 });
  const c: ChainClients = { publicClient: chain.publicClient, walletClient: chain.wallet(OWNER) };
  const deployment = await deployReferenceMarket(c, { markets: loadMarkets(), preset: loadPreset("hyperliquid") });
  return {
    chain,
    deployment,
    market: deployment.contracts.market,
    token: deployment.contracts.token,
    feeds: new Map(deployment.markets.map((m) => [m.id, { feed: m.feed, decimals: m.feedDecimals }])),
  };
}

/**
 * The per-file world: deployed once (plus `setup`, e.g. the scenario), then every test starts from
 * that chain state (snapshot/revert) and the same feed map.
 */
export function useWorld(setup?: (wd: World) => Promise<void>): () => World {
  let wd: World | undefined;
  let feeds: World["feeds"] | undefined;
  beforeAll(async () => {
    wd = await deployWorld();
    await setup?.(wd);
    feeds = new Map(wd.feeds);
  });
  withSnapshot();
  beforeEach(() => {
    wd!.feeds = new Map(feeds);
  });
  return () => wd!;
}

export async function deposit(wd: World, i: number, tokens: bigint): Promise<bigint> {
  const wallet = wd.chain.wallet(i);
  const amount = tokens * 10n ** 6n;
  await mined(wd.chain, wallet.writeContract({ address: wd.token, abi: MockUSDC.abi, functionName: "mint", args: [wallet.account.address, amount] }));
  await mined(wd.chain, wallet.writeContract({ address: wd.token, abi: MockUSDC.abi, functionName: "approve", args: [wd.market, amount] }));
  return mined(wd.chain, wallet.writeContract({ address: wd.market, abi: PerpMarket.abi, functionName: "deposit", args: [wallet.account.address, amount] }));
}

export async function withdraw(wd: World, i: number, amountWad: bigint): Promise<bigint> {
  return mined(wd.chain, wd.chain.wallet(i).writeContract({ address: wd.market, abi: PerpMarket.abi, functionName: "withdraw", args: [amountWad] }));
}

export async function trade(wd: World, i: number, marketId: number, size: bigint): Promise<bigint> {
  return mined(
    wd.chain,
    wd.chain.wallet(i).writeContract({ address: wd.market, abi: PerpMarket.abi, functionName: "trade", args: [BigInt(marketId), size] }),
  );
}

/** Publish a WAD price on a market's current feed (the deployer owns the feeds). */
export async function publish(wd: World, marketId: number, priceWad: bigint): Promise<bigint> {
  const f = wd.feeds.get(marketId)!;
  return mined(
    wd.chain,
    wd.chain.wallet(OWNER).writeContract({
      address: f.feed,
      abi: MockAggregatorV3.abi,
      functionName: "updateAnswer",
      args: [feedAnswer(priceWad, f.decimals)],
    }),
  );
}

/** Liquidate the largest slice the contract allows now; returns that slice. */
export async function liquidateMax(wd: World, account: Address, marketId: number): Promise<bigint> {
  const size = await wd.chain.publicClient.readContract({
    address: wd.market,
    abi: PerpMarket.abi,
    functionName: "maxLiquidatable",
    args: [account, BigInt(marketId)],
  });
  if (size === 0n) throw new Error(`${account} is not liquidatable in market ${marketId}`);
  await mined(
    wd.chain,
    wd.chain.wallet(KEEPER).writeContract({ address: wd.market, abi: PerpMarket.abi, functionName: "liquidate", args: [account, BigInt(marketId), size] }),
  );
  return size;
}

export async function setFundingRate(wd: World, marketId: number, rate: bigint): Promise<bigint> {
  return mined(
    wd.chain,
    wd.chain.wallet(OWNER).writeContract({ address: wd.market, abi: PerpMarket.abi, functionName: "setFundingRate", args: [BigInt(marketId), rate] }),
  );
}

export async function deployFeed(wd: World, decimals: number, priceWad: bigint): Promise<Address> {
  const r = await wd.chain.publicClient.waitForTransactionReceipt({
    hash: await wd.chain.wallet(OWNER).deployContract({
      abi: MockAggregatorV3.abi,
      bytecode: MockAggregatorV3.bytecode,
      args: [decimals, "TEST / USD", feedAnswer(priceWad, decimals)],
    }),
  });
  if (!r.contractAddress) throw new Error("feed deployment failed");
  return getAddress(r.contractAddress);
}

/** Point a market at a new feed (MarketParamsUpdated with another feed and decimals). */
export async function switchFeed(wd: World, marketId: number, decimals: number, priceWad: bigint): Promise<Address> {
  const feed = await deployFeed(wd, decimals, priceWad);
  const m = await wd.chain.publicClient.readContract({ address: wd.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(marketId)] });
  await mined(
    wd.chain,
    wd.chain.wallet(OWNER).writeContract({
      address: wd.market,
      abi: PerpMarket.abi,
      functionName: "setMarketParams",
      args: [BigInt(marketId), { ...m.params, feed, maxStaleness: m.params.maxStaleness + 60 }],
    }),
  );
  wd.feeds.set(marketId, { feed, decimals });
  return feed;
}

/** Owner changes of every kind: tiers, liquidation parameters, global parameters, a new market. */
export async function ownerChanges(wd: World): Promise<void> {
  const owner = wd.chain.wallet(OWNER);
  const [ethTiers] = await wd.chain.publicClient.readContract({ address: wd.market, abi: PerpMarket.abi, functionName: "getTiers", args: [BigInt(ETH)] });
  const tiers = ethTiers.map((t, i) => (i === 0 ? { ...t, maxLeverage: 80 } : t));
  await mined(wd.chain, owner.writeContract({ address: wd.market, abi: PerpMarket.abi, functionName: "setTiers", args: [BigInt(ETH), tiers] }));
  const small = await wd.chain.publicClient.readContract({ address: wd.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(SMALLCAP)] });
  await mined(
    wd.chain,
    owner.writeContract({
      address: wd.market,
      abi: PerpMarket.abi,
      functionName: "setLiquidationParams",
      args: [BigInt(SMALLCAP), { ...small.liq, maxStepPpm: 500_000, dustNotional: w(25) }],
    }),
  );
  await mined(
    wd.chain,
    owner.writeContract({
      address: wd.market,
      abi: PerpMarket.abi,
      functionName: "setGlobalLiquidationParams",
      args: [{ cooldown: 60, backstopPpm: 500_000, keeperSharePpm: 400_000 }],
    }),
  );
  // A fourth market on a new 6-decimal feed.
  const feed = await deployFeed(wd, 6, w("2.5"));
  const [smallTiers] = await wd.chain.publicClient.readContract({ address: wd.market, abi: PerpMarket.abi, functionName: "getTiers", args: [BigInt(SMALLCAP)] });
  await mined(
    wd.chain,
    owner.writeContract({
      address: wd.market,
      abi: PerpMarket.abi,
      functionName: "addMarket",
      args: [{ feed, maxStaleness: 600, tradingFeePpm: 2_000, lotSize: w(1) }, small.liq, smallTiers],
    }),
  );
  wd.feeds.set(3, { feed, decimals: 6 });
}

/**
 * A history with every event kind, step by step: deposits, trades on three markets, a withdrawal
 * to zero, a funding rate, price moves, a partial (BTC, 20% step) and a full (SMALLCAP)
 * liquidation, a feed swap, tier/liquidation/global parameter changes and a new market.
 */
export const scenarioSteps: [string, (wd: World) => Promise<unknown>][] = [
  ["trader 1 deposits", (wd) => deposit(wd, 1, 7_000n)],
  ["trader 1 goes long 5 BTC (300k notional)", (wd) => trade(wd, 1, BTC, w(5))],
  ["trader 2 deposits", (wd) => deposit(wd, 2, 2_000n)],
  ["trader 2 shorts ETH", (wd) => trade(wd, 2, ETH, -w(10))],
  ["trader 3 deposits", (wd) => deposit(wd, 3, 10_000n)],
  ["trader 3 longs SMALLCAP", (wd) => trade(wd, 3, SMALLCAP, w(20_000))],
  ["trader 3 longs ETH", (wd) => trade(wd, 3, ETH, w("2.5"))],
  ["trader 4 deposits", (wd) => deposit(wd, 4, 500n)],
  ["trader 4 withdraws everything", (wd) => withdraw(wd, 4, w(500))],
  ["trader 5 deposits", (wd) => deposit(wd, 5, 250n)],
  ["trader 5 shorts SMALLCAP", (wd) => trade(wd, 5, SMALLCAP, -w(9_000))],
  ["ETH funding rate", (wd) => setFundingRate(wd, ETH, 10n ** 12n)],
  ["BTC drops to 58,900", (wd) => publish(wd, BTC, w(58_900))],
  ["partial liquidation of trader 1", (wd) => liquidateMax(wd, trader(1), BTC)],
  ["SMALLCAP rises to 0.52", (wd) => publish(wd, SMALLCAP, w("0.52"))],
  ["full liquidation of trader 5", (wd) => liquidateMax(wd, trader(5), SMALLCAP)],
  ["BTC moves to an 18-decimal feed", (wd) => switchFeed(wd, BTC, 18, w(59_000))],
  ["owner changes tiers, liquidation and global parameters, adds a market", (wd) => ownerChanges(wd)],
  ["trader 2 buys ETH back", (wd) => trade(wd, 2, ETH, w(4))],
  ["trader 3 flips SMALLCAP short", (wd) => trade(wd, 3, SMALLCAP, -w(30_000))],
  ["ETH funding turns negative", (wd) => setFundingRate(wd, ETH, -(10n ** 11n))],
];

export async function scenario(wd: World, steps = scenarioSteps): Promise<void> {
  for (const [, step] of steps) await step(wd);
}

export function indexerInputs(wd: World, over: Partial<RefInputs> = {}): RefInputs {
  return {
    client: wd.chain.publicClient,
    source: referenceMarket(wd.market).index,
    deployBlock: wd.deployment.deployBlock,
    logger: silentLogger(),
    metrics: createMetrics(),
    ...over,
  };
}

/** A logger that keeps its lines, parsed, for assertions. */
export function captureLogger(level = "info") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } as unknown as NodeJS.WritableStream,
  });
  return { logger, lines };
}

export async function latestHead(chain: TestChain): Promise<BlockHead> {
  const b = await chain.publicClient.getBlock();
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? null };
}

/** Every account, market, feed price and the global parameters of the index equal the contract's at its head. */
export async function expectIndexMatchesChain(ix: RefIndexer, wd: World): Promise<void> {
  const head = ix.head!;
  const chainBlock = await wd.chain.publicClient.getBlock({ blockNumber: head.number });
  expect(head.hash).toBe(chainBlock.hash);
  expect(head.timestamp).toBe(chainBlock.timestamp);
  const c: Pick<ChainClients, "publicClient"> = { publicClient: wd.chain.publicClient };
  const at = { blockNumber: head.number };
  const [markets, global] = await Promise.all([readMarketStates(c, wd.market, at), readGlobalParams(c, wd.market, at)]);
  expect(ix.state.global).toEqual(global);
  const engineView = new Map([...ix.state.markets].map(([id, { feed: _f, feedDecimals: _d, maxStaleness: _s, ...m }]) => [id, m]));
  expect(engineView).toEqual(markets);
  for (const id of markets.keys()) {
    const m = await wd.chain.publicClient.readContract({ address: wd.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(id)], ...at });
    const indexed = ix.state.markets.get(id)!;
    expect({ feed: indexed.feed, feedDecimals: indexed.feedDecimals, maxStaleness: indexed.maxStaleness }).toEqual({
      feed: m.params.feed,
      feedDecimals: m.feedDecimals,
      maxStaleness: BigInt(m.params.maxStaleness),
    });
    const [roundId, answer, , updatedAt] = await wd.chain.publicClient.readContract({
      address: m.params.feed,
      abi: MockAggregatorV3.abi,
      functionName: "latestRoundData",
      ...at,
    });
    expect(ix.state.price(id)).toEqual({ answer, updatedAt, roundId: BigInt(roundId), price: answer * 10n ** BigInt(18 - m.feedDecimals) });
  }
  const addresses = new Set<Address>([...testAccounts.map((a) => a.address), ...ix.state.accounts.keys()]);
  for (const address of addresses) {
    const a = await readAccount(c, wd.market, address, at);
    const open = a.collateral !== 0n || a.positions.length > 0;
    expect(ix.state.account(address), address).toEqual(open ? a : undefined);
    expect(ix.state.lastPartialAt(address)).toBe(a.lastPartialAt);
  }
  // The scanner's valuation equals the contract's mark prices where they are fresh.
  const v = valuationAt(ix.state, head.timestamp);
  expect(v.timestamp).toBe(head.timestamp);
  const fresh = [...markets.keys()].filter((id) => priceStatus(ix.state, id, head.timestamp) === "ok");
  expect(v.prices).toEqual(await readMarkPrices(c, wd.market, fresh, at));
}

/** The index without its journal: what two indexers at the same block must agree on. */
export function indexView(ix: RefIndexer) {
  const { journal: _j, floor: _f, maxReorgDepth: _d, ...rest } = ix.state.toJSON();
  return rest;
}

export type { Hex };

export type Call = { method: string; params: unknown; failed: boolean };
export type Fault = (method: string, params: readonly unknown[]) => Error | undefined;
export type Tamper = (method: string, params: readonly unknown[], result: unknown) => unknown;

/**
 * A client whose transport forwards to Anvil, except that `fault` may throw an error instead and
 * `tamper` may change the answer. Every request is recorded in `calls`.
 */
export function faultyClient(url: string, fault: Fault, calls: Call[], tamper?: Tamper): PublicClient {
  const base = http(url, { retryCount: 0 })({ chain: foundry, retryCount: 0 });
  const transport = custom({
    async request({ method, params }: EIP1193Parameters) {
      const p = (params ?? []) as readonly unknown[];
      const e = fault(method, p);
      calls.push({ method, params: p, failed: e !== undefined });
      if (e) throw e;
      const result: unknown = await base.request({ method, params } as never);
      return tamper ? tamper(method, p, result) : result;
    },
  });
  return createPublicClient({ chain: foundry, transport, cacheTime: 0 }) as PublicClient;
}
