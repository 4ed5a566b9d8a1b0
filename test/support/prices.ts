/**
 * Prices on the reference market's feeds, published on each Chainlink proxy's current aggregator (a
 * feed that is no proxy: on the feed, by its owner): one market at a time,
 * every market moved by a percentage, or all in ONE block (a keeper then sees the move at once,
 * and the accounts it makes liquidatable are exactly those liquidatable at that block). Every
 * update goes to the feed the market reads now (a swapped feed included).
 */
import { encodeFunctionData, toHex, type Address, type Hex } from "viem";
import { DataFeedsLegacyAggregatorProxy } from "../../abi/DataFeedsLegacyAggregatorProxy.ts";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { switchAggregator, type SwitchAggregatorReturnType } from "../../src/chain/chainlinkDeploy.ts";
import type { Deployment } from "../../src/chain/deploy.ts";
import { PRICE_UPDATE_GAS, feedAnswer, publisherOf } from "../../src/chain/prices.ts";
import { mined, type Clients, type ReorgTx } from "./blocks.ts";
import { OWNER } from "./market.ts";

/** How one feed update is sent: a feed timestamp (a stale price), a gas limit, fees. */
export type PriceTxOptions = { updatedAt?: bigint; gas?: bigint; maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint };

export type PublishInOneBlock = {
  /** Feed timestamps by market (a stale feed); default: the block's own time. */
  updatedAt?: ReadonlyMap<number, bigint>;
  /** Base fee of the block that carries the prices (a gas spike). */
  baseFeePerGas?: bigint;
  /** Fees of the price transactions (needed above a raised base fee). */
  fees?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  /** Leave automine off afterwards (default: on again). */
  keepAutomineOff?: boolean;
};

export type Prices = {
  /** The feed (proxy) `marketId` reads now, and its decimals (the contract's answer). */
  feed(marketId: number): Promise<{ feed: Address; decimals: number }>;
  /** Sends a price (WAD) for `marketId` without waiting for it; its hash. */
  send(marketId: number, priceWad: bigint, opts?: PriceTxOptions): Promise<Hex>;
  /** Publishes a price (WAD) for `marketId`; the block that carries it. */
  set(marketId: number, priceWad: bigint): Promise<bigint>;
  /** The same update as a transaction for anvil_reorg. */
  reorgTx(marketId: number, priceWad: bigint): Promise<ReorgTx>;
  /**
   * The owner switches `marketId`'s proxy to a new aggregator answering `priceWad` (deploy,
   * proposeAggregator, confirmAggregator); the old and new aggregators and the confirming block.
   */
  switchAggregator(marketId: number, priceWad: bigint): Promise<SwitchAggregatorReturnType>;
  /** Every market's mark price (the contract's view) at `blockNumber` (default latest). */
  marks(blockNumber?: bigint): Promise<Map<number, bigint>>;
  /** Every market's mark moved by `permille` (−80 = −8%) from its mark at `blockNumber`. */
  shocked(permille: number, blockNumber?: bigint): Promise<Map<number, bigint>>;
  /** Moves every market's mark by `permille`, one block per feed. */
  move(permille: number): Promise<void>;
  /**
   * Publishes `prices` (WAD, by market id; a market left out keeps its price) in ONE block:
   * automine paused, the updates sent, one block mined. That block's number.
   */
  inOneBlock(prices: ReadonlyMap<number, bigint>, opts?: PublishInOneBlock): Promise<bigint>;
};

/** The price publisher of `deployment`'s markets on `chain`. */
export function pricesOf(chain: Clients, deployment: Deployment): Prices {
  const market = deployment.contracts.market;
  const ids = deployment.markets.map((m) => m.id);
  const feed = async (marketId: number) => {
    const m = await chain.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(marketId)] });
    return { feed: m.params.feed, decimals: m.feedDecimals };
  };
  const data = async (marketId: number, priceWad: bigint, updatedAt?: bigint) => {
    const f = await feed(marketId);
    const to = await publisherOf(chain, f.feed);
    const answer = feedAnswer(priceWad, f.decimals);
    if (updatedAt === undefined) return { to, data: encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [answer] }) };
    if (to === f.feed) return { to, data: encodeFunctionData({ abi: MockAggregatorV3.abi, functionName: "updateAnswerAt", args: [answer, updatedAt] }) };
    // A proxy's aggregator: the next round, with the given timestamp.
    const round = await chain.publicClient.readContract({ address: to, abi: EmittingMockV3Aggregator.abi, functionName: "latestRound" });
    const call = encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateRoundData", args: [round + 1n, answer, updatedAt, updatedAt] });
    return { to, data: call };
  };
  const marks = async (blockNumber?: bigint) => {
    const at = blockNumber === undefined ? {} : { blockNumber };
    const prices = await Promise.all(
      ids.map((id) => chain.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(id)], ...at })),
    );
    return new Map(ids.map((id, i) => [id, prices[i]!]));
  };
  const scaled = (prices: Map<number, bigint>, permille: number) => new Map([...prices].map(([id, p]) => [id, (p * BigInt(1000 + permille)) / 1000n]));
  const send = async (marketId: number, priceWad: bigint, opts: PriceTxOptions = {}) => {
    const { updatedAt, ...tx } = opts;
    return chain.wallet(OWNER).sendTransaction({ ...(await data(marketId, priceWad, updatedAt)), gas: PRICE_UPDATE_GAS, ...tx });
  };
  const set = (marketId: number, priceWad: bigint) => mined(chain, send(marketId, priceWad));
  return {
    feed,
    send,
    set,
    async switchAggregator(marketId, priceWad) {
      const f = await feed(marketId);
      const owner = { publicClient: chain.publicClient, walletClient: chain.wallet(OWNER) };
      return switchAggregator(owner, f.feed, { answer: feedAnswer(priceWad, f.decimals) });
    },
    // With its gas limit: anvil_reorg's default leaves an aggregator's new round out of gas.
    reorgTx: async (marketId, priceWad) => ({ from: chain.wallet(OWNER).account.address, ...(await data(marketId, priceWad)), gas: toHex(PRICE_UPDATE_GAS) }),
    marks,
    shocked: async (permille, blockNumber) => scaled(await marks(blockNumber), permille),
    async move(permille) {
      for (const [id, price] of scaled(await marks(), permille)) await set(id, price);
    },
    async inOneBlock(prices, opts = {}) {
      const test = chain.testClient;
      await test.setAutomine(false);
      try {
        const hashes: Hex[] = [];
        for (const id of ids) {
          const price = prices.get(id);
          if (price === undefined) continue;
          const updatedAt = opts.updatedAt?.get(id);
          hashes.push(await send(id, price, { ...(updatedAt === undefined ? {} : { updatedAt }), ...(opts.fees ?? {}) }));
        }
        if (opts.baseFeePerGas !== undefined) await test.setNextBlockBaseFeePerGas({ baseFeePerGas: opts.baseFeePerGas });
        await test.mine({ blocks: 1 });
        const receipts = await Promise.all(hashes.map((hash) => chain.publicClient.getTransactionReceipt({ hash })));
        const blocks = new Set(receipts.map((r) => r.blockNumber));
        if (receipts.some((r) => r.status !== "success") || blocks.size > 1) throw new Error("price updates did not land in one block");
        return receipts[0]?.blockNumber ?? (await chain.publicClient.getBlockNumber());
      } finally {
        if (!opts.keepAutomineOff) await test.setAutomine(true);
      }
    },
  };
}

/**
 * Publishes `priceWad` on the first aggregator (phase 1) of `marketId`'s proxy, directly: after a
 * switch, one neither the market nor a keeper reads any more. Its block.
 */
export async function publishOnOldAggregator(m: { chain: Clients; deployment: Deployment }, marketId: number, priceWad: bigint): Promise<bigint> {
  const read = m.chain.publicClient;
  const market = await read.readContract({ address: m.deployment.contracts.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(marketId)] });
  const old = await read.readContract({ address: market.params.feed, abi: DataFeedsLegacyAggregatorProxy.abi, functionName: "phaseAggregators", args: [1] });
  const answer = feedAnswer(priceWad, market.feedDecimals);
  return mined(m.chain, m.chain.wallet(OWNER).writeContract({ address: old, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [answer] }));
}
