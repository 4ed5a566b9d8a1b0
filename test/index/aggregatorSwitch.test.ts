// The indexer across Chainlink aggregator switches, on Anvil: a proxy switched in the middle of a
// range (the new aggregator's logs in the same eth_getLogs range are not missed), a market moved to
// a new proxy that switches in the same block, and a reorg that takes a switch away. At every step
// the index equals the chain: latestRoundData() through each proxy, its aggregator and phase.
import { encodeFunctionData, type Address, type Hex } from "viem";
import { describe, expect } from "vitest";
import { DataFeedsLegacyAggregatorProxy } from "../../abi/DataFeedsLegacyAggregatorProxy.ts";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { deployAggregator, deployChainlinkFeed } from "../../src/chain/chainlinkDeploy.ts";
import { feedAnswer } from "../../src/chain/prices.ts";
import { Indexer } from "../../src/index/indexer.ts";
import { mine } from "../support/anvil.ts";
import { anvilReorg, headOf, type ReorgTx } from "../support/blocks.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { BTC, ETH, OWNER, deposit, signer, trade, trader } from "../support/market.ts";
import { publishOnOldAggregator } from "../support/prices.ts";
import { indexerInputs, indexView, w } from "./history.ts";

test.override({ deploy: { blockTime: 1 } });
test.beforeAll(async ({ world }) => {
  await deposit(world, 1, 5_000n);
  await trade(world, 1, ETH, w(10));
});

/** An aggregator update as a raw transaction of the owner (for anvil_reorg or a block built by hand). */
const updateTx = (wd: World, aggregator: Address, answer: bigint): ReorgTx => ({
  from: trader(OWNER),
  to: aggregator,
  data: encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [answer] }),
});

describe("Indexer across aggregator switches", () => {
  it("a switch in the middle of a backfill range: the new aggregator's logs in that range count, the old one's do not", async ({ world: wd }) => {
    const s = await wd.prices.switchAggregator(ETH, w(2_990));
    await wd.prices.set(ETH, w(2_970));
    await publishOnOldAggregator(wd, ETH, w(1_000));
    await wd.prices.set(BTC, w(59_000));
    // One range (a reorg window of 2, one eth_getLogs for the whole history), and block by block.
    const ranged = new Indexer(indexerInputs(wd, { maxReorgDepth: 2, chunkSize: 10_000 }));
    await ranged.backfill();
    await expectIndexMatchesChain(wd, ranged);
    const blockwise = new Indexer(indexerInputs(wd));
    await blockwise.backfill();
    expect(indexView(blockwise)).toEqual(indexView(ranged));
    expect(ranged.state.sourceAddresses()).toContain(s.aggregator);
    expect(ranged.state.sourceAddresses()).not.toContain(s.previous);
  });

  it("a market moved to a new proxy that switches aggregators in the same block, prices on both", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    const c = signer(wd.chain);
    const feed = await deployChainlinkFeed(c, { decimals: 8, description: "ETH / USD", answer: feedAnswer(w(3_000), 8) });
    const next = await deployAggregator(c, { decimals: 8, description: "ETH / USD", answer: feedAnswer(w(3_010), 8) });
    const m = await wd.chain.publicClient.readContract({ address: wd.deployment.contracts.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(ETH)] });
    const proxyCall = (functionName: "proposeAggregator" | "confirmAggregator") =>
      encodeFunctionData({ abi: DataFeedsLegacyAggregatorProxy.abi, functionName, args: [next] });
    const txs: { to: Address; data: Hex }[] = [
      updateTx(wd, feed.aggregator, feedAnswer(w(3_001), 8)),
      { to: wd.deployment.contracts.market, data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "setMarketParams", args: [BigInt(ETH), { ...m.params, feed: feed.proxy }] }) },
      updateTx(wd, feed.aggregator, feedAnswer(w(3_002), 8)),
      { to: feed.proxy, data: proxyCall("proposeAggregator") },
      { to: feed.proxy, data: proxyCall("confirmAggregator") },
      updateTx(wd, next, feedAnswer(w(3_020), 8)),
      updateTx(wd, feed.aggregator, feedAnswer(w(1), 8)),
    ];
    await wd.chain.testClient.setAutomine(false);
    try {
      const owner = wd.chain.wallet(OWNER);
      const hashes: Hex[] = [];
      for (const tx of txs) hashes.push(await owner.sendTransaction({ to: tx.to, data: tx.data, gas: 500_000n }));
      await mine(1);
      const receipts = await Promise.all(hashes.map((hash) => wd.chain.publicClient.getTransactionReceipt({ hash })));
      expect(new Set(receipts.map((r) => `${r.blockNumber} ${r.status}`))).toEqual(new Set([`${receipts[0]!.blockNumber} success`]));
    } finally {
      await wd.chain.testClient.setAutomine(true);
    }
    const r = await ix.syncTo(await headOf(wd.chain));
    expect(r.changes.prices.has(ETH)).toBe(true);
    await expectIndexMatchesChain(wd, ix);
    expect(ix.state.price(ETH)).toMatchObject({ answer: feedAnswer(w(3_020), 8), roundId: 2n * 2n ** 64n + 2n });
    // The same block inside a range.
    const ranged = new Indexer(indexerInputs(wd, { maxReorgDepth: 2, chunkSize: 10_000 }));
    await ranged.backfill();
    expect(indexView(ranged)).toEqual(indexView(ix));
  });

  it("a reorg that takes a switch away: the index goes back to the old aggregator, and follows it", async ({ world: wd }) => {
    await mine(6); // anvil_reorg drops the snapshots of the blocks it replaces: not the test's
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    const sync = async () => ix.syncTo(await headOf(wd.chain));
    const s = await wd.prices.switchAggregator(ETH, w(2_990)); // three blocks: deploy, propose, confirm
    await sync();
    await wd.prices.set(ETH, w(2_980));
    await sync();
    expect(ix.state.feeds.get(await feedOf(wd))?.proxy).toEqual({ aggregator: s.aggregator, phaseId: 2 });
    await expectIndexMatchesChain(wd, ix);

    await anvilReorg(wd.chain, 4, [[updateTx(wd, s.previous, feedAnswer(w(2_900), 8)), 1]]);
    const r = await sync();
    expect(r.reorgDepth).toBe(4);
    expect(ix.state.feeds.get(await feedOf(wd))?.proxy).toEqual({ aggregator: s.previous, phaseId: 1 });
    expect(ix.state.price(ETH)).toMatchObject({ answer: feedAnswer(w(2_900), 8) });
    await expectIndexMatchesChain(wd, ix);
    await wd.prices.set(ETH, w(2_950));
    await sync();
    expect(ix.state.price(ETH)).toMatchObject({ answer: feedAnswer(w(2_950), 8) });
    await expectIndexMatchesChain(wd, ix);
  });
});

async function feedOf(wd: World): Promise<Address> {
  return (await wd.prices.feed(ETH)).feed;
}
