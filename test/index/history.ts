/**
 * What the indexer tests index: a history with every event kind the reference market emits, step
 * by step, on the shared world (test/support/fixtures.ts); the indexer as they build it; and a
 * client whose answers can fail or be tampered with.
 */
import { createPublicClient, custom, http, type Address, type EIP1193Parameters, type PublicClient } from "viem";
import { foundry } from "viem/chains";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { Indexer, type IndexerInputs } from "../../src/index/indexer.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { parseWad } from "../../src/lib/units.ts";
import { referenceMarket, type IndexLog, type IndexState } from "../../src/protocols/reference/index.ts";
import { mined } from "../support/blocks.ts";
import type { World } from "../support/fixtures.ts";
import { publishOnOldAggregator } from "../support/prices.ts";
import {
  BTC,
  ETH,
  OWNER,
  SMALLCAP,
  deployFeed,
  deployPlainFeed,
  deposit,
  liquidateMax,
  setFundingRate,
  setGlobalParams,
  trade,
  trader,
  withdraw,
  type Deployed,
} from "../support/market.ts";

/** A WAD amount from a decimal (`w(5)`, `w("0.52")`). */
export const w = (x: string | number) => parseWad(x);

/** The reference market's indexer, as the tests build it. */
export type RefIndexer = Indexer<IndexState, IndexLog>;
type RefInputs = IndexerInputs<IndexState, IndexLog>;

export function indexerInputs(wd: Deployed, over: Partial<RefInputs> = {}): RefInputs {
  return {
    client: wd.chain.publicClient,
    source: referenceMarket(wd.deployment.contracts.market).index,
    deployBlock: wd.deployment.deployBlock,
    logger: silentLogger(),
    metrics: createMetrics(),
    ...over,
  };
}

/** The index without its journal: what two indexers at the same block must agree on. */
export function indexView(ix: RefIndexer) {
  const { journal: _j, floor: _f, maxReorgDepth: _d, ...rest } = ix.state.toJSON();
  return rest;
}

const owner = (wd: Deployed) => ({ address: wd.deployment.contracts.market, abi: PerpMarket.abi, read: wd.chain.publicClient, wallet: wd.chain.wallet(OWNER) });

/**
 * Points a market at a new feed (MarketParamsUpdated with another feed and decimals): a Chainlink
 * proxy, or with `plain` a feed that emits its own prices (as deployments before proxies had).
 */
export async function switchFeed(wd: Deployed, marketId: number, decimals: number, priceWad: bigint, plain = false): Promise<Address> {
  const { address, abi, read, wallet } = owner(wd);
  const feed = await (plain ? deployPlainFeed : deployFeed)(wd.chain, decimals, priceWad);
  const m = await read.readContract({ address, abi, functionName: "getMarket", args: [BigInt(marketId)] });
  await mined(wd.chain, wallet.writeContract({ address, abi, functionName: "setMarketParams", args: [BigInt(marketId), { ...m.params, feed, maxStaleness: m.params.maxStaleness + 60 }] }));
  return feed;
}

/** Owner changes of every kind: tiers, liquidation parameters, global parameters, a new market. */
export async function ownerChanges(wd: Deployed): Promise<void> {
  const { address, abi, read, wallet } = owner(wd);
  const [ethTiers] = await read.readContract({ address, abi, functionName: "getTiers", args: [BigInt(ETH)] });
  const tiers = ethTiers.map((t, i) => (i === 0 ? { ...t, maxLeverage: 80 } : t));
  await mined(wd.chain, wallet.writeContract({ address, abi, functionName: "setTiers", args: [BigInt(ETH), tiers] }));
  const small = await read.readContract({ address, abi, functionName: "getMarket", args: [BigInt(SMALLCAP)] });
  await mined(
    wd.chain,
    wallet.writeContract({ address, abi, functionName: "setLiquidationParams", args: [BigInt(SMALLCAP), { ...small.liq, maxStepPpm: 500_000, dustNotional: w(25) }] }),
  );
  await setGlobalParams(wd, { cooldown: 60n, backstopPpm: 500_000n, keeperSharePpm: 400_000n });
  // A fourth market on a new 6-decimal feed.
  const feed = await deployFeed(wd.chain, 6, w("2.5"));
  const [smallTiers] = await read.readContract({ address, abi, functionName: "getTiers", args: [BigInt(SMALLCAP)] });
  await mined(
    wd.chain,
    wallet.writeContract({ address, abi, functionName: "addMarket", args: [{ feed, maxStaleness: 600, tradingFeePpm: 2_000, lotSize: w(1) }, small.liq, smallTiers] }),
  );
}

/**
 * A history with every event kind, step by step: deposits, trades on three markets, a withdrawal
 * to zero, a funding rate, price moves, a partial (BTC, 20% step) and a full (SMALLCAP)
 * liquidation, a feed swap (to a feed that is no proxy), tier/liquidation/global parameter changes and a new market, an
 * aggregator switch behind ETH's proxy, a price on the new aggregator and one on the old (ignored).
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
  ["BTC drops to 58,900", (wd) => wd.prices.set(BTC, w(58_900))],
  ["partial liquidation of trader 1", (wd) => liquidateMax(wd, trader(1), BTC)],
  ["SMALLCAP rises to 0.52", (wd) => wd.prices.set(SMALLCAP, w("0.52"))],
  ["full liquidation of trader 5", (wd) => liquidateMax(wd, trader(5), SMALLCAP)],
  ["BTC moves to an 18-decimal feed of its own (no proxy)", (wd) => switchFeed(wd, BTC, 18, w(59_000), true)],
  ["owner changes tiers, liquidation and global parameters, adds a market", (wd) => ownerChanges(wd)],
  ["ETH's proxy switches to a new aggregator at 2,990", (wd) => wd.prices.switchAggregator(ETH, w(2_990))],
  ["ETH moves to 2,980 on its new aggregator", (wd) => wd.prices.set(ETH, w(2_980))],
  ["a price on ETH's old aggregator (ignored)", (wd) => publishOnOldAggregator(wd, ETH, w(1_000))],
  ["trader 2 buys ETH back", (wd) => trade(wd, 2, ETH, w(4))],
  ["trader 3 flips SMALLCAP short", (wd) => trade(wd, 3, SMALLCAP, -w(30_000))],
  ["ETH funding turns negative", (wd) => setFundingRate(wd, ETH, -(10n ** 11n))],
];

export async function scenario(wd: World, steps = scenarioSteps): Promise<void> {
  for (const [, step] of steps) await step(wd);
}

/** A request the client saw: `failed` when `fault` injected an error, `reverted` when the node answered with one (a reverted eth_call). */
export type Call = { method: string; params: unknown; failed: boolean; reverted?: boolean };
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
      const call: Call = { method, params: p, failed: e !== undefined };
      calls.push(call);
      if (e) throw e;
      let result: unknown;
      try {
        result = await base.request({ method, params } as never);
      } catch (err) {
        call.reverted = true;
        throw err;
      }
      return tamper ? tamper(method, p, result) : result;
    },
  });
  return createPublicClient({ chain: foundry, transport, cacheTime: 0 }) as PublicClient;
}
