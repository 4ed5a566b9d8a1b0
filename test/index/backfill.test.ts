import { describe, expect } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { connect } from "../../src/chain/clients.ts";
import { Indexer } from "../../src/index/indexer.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { it, test } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { BTC, trader } from "../support/market.ts";
import { indexView, indexerInputs, scenario } from "./history.ts";

test.override({ deploy: { blockTime: 1 } });
test.beforeAll(async ({ world }) => {
  await scenario(world);
});

describe("Indexer.backfill", () => {
  it("rebuilds every account, market, price and parameter exactly as the contract holds them", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd));
    const events = await ix.backfill();
    expect(events).toBeGreaterThan(50);
    await expectIndexMatchesChain(wd, ix);
    // The scenario's landmarks, spelled out.
    expect(ix.state.markets.size).toBe(4);
    expect(ix.state.markets.get(BTC)!.feedDecimals).toBe(18); // the swapped feed
    expect(ix.state.account(trader(1))!.lastPartialAt).toBeGreaterThan(0n);
    expect(ix.state.account(trader(4))).toBeUndefined(); // withdrew everything
    expect(ix.state.feeds.size).toBe(5); // three original feeds, BTC's new one, the fourth market's
  });

  it("gives the same index through the range path (small reorg window) as block by block", async ({ world: wd }) => {
    const blockwise = new Indexer(indexerInputs(wd));
    await blockwise.backfill();
    const ranged = new Indexer(indexerInputs(wd, { maxReorgDepth: 2, chunkSize: 7 }));
    await ranged.backfill();
    await expectIndexMatchesChain(wd, ranged);
    expect(indexView(ranged)).toEqual(indexView(blockwise));
  });

  it("backfills up to a given block, then resumes to the latest", async ({ world: wd }) => {
    const latest = await wd.chain.publicClient.getBlockNumber();
    const ix = new Indexer(indexerInputs(wd, { maxReorgDepth: 4, chunkSize: 5 }));
    const first = await ix.backfill(latest - 10n);
    expect(ix.head!.number).toBe(latest - 10n);
    const second = await ix.backfill();
    expect(ix.head!.number).toBe(latest);
    await expectIndexMatchesChain(wd, ix);
    const full = new Indexer(indexerInputs(wd));
    expect(first + second).toBe(await full.backfill());
    expect(await ix.backfill()).toBe(0);
  });

  it("with chunkSize 1 (one block per eth_getLogs) still completes and matches", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd, { maxReorgDepth: 3, chunkSize: 1, maxChunkSize: 1 }));
    await ix.backfill();
    expect(ix.chunkSize).toBe(1);
    await expectIndexMatchesChain(wd, ix);
  });

  it("through a client from connect() with metrics, every request is counted once (by the transport)", async ({ world: wd }) => {
    const getLogsCounted = async (m: ReturnType<typeof createMetrics>) => (await m.rpcRequests.get()).values.find((v) => v.labels.method === "eth_getLogs")?.value;
    // The same backfill twice: counted by the index's RPC layer (a plain client), then by connect()'s transport.
    const plain = createMetrics();
    await new Indexer(indexerInputs(wd, { metrics: plain, maxReorgDepth: 2 })).backfill();
    const metrics = createMetrics();
    const counting = await connect(wd.chain.chain.rpcUrls.default.http[0]!, privateKeyToAccount(generatePrivateKey()), { metrics });
    await new Indexer(indexerInputs(wd, { client: counting.publicClient as never, metrics, maxReorgDepth: 2 })).backfill();
    expect(await getLogsCounted(plain)).toBeGreaterThan(0);
    expect(await getLogsCounted(metrics)).toBe(await getLogsCounted(plain));
  });

  it("reads no header per block in the range part, only where a timestamp is needed", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd, { maxReorgDepth: 2, chunkSize: 10_000 }));
    await ix.backfill();
    const counts = await ix["inputs"].metrics.rpcRequests.get();
    const byMethod = Object.fromEntries(counts.values.map((v) => [v.labels.method, v.value]));
    // MarketAdded ×4 and one partial liquidation need timestamps; + the range end, + the window.
    expect(byMethod["eth_getBlockByNumber"]).toBeLessThanOrEqual(5 + 1 + 1 + 2 + 1);
    // Per feed (five Chainlink proxies) and per aggregator switch (one, read through its proxy):
    // decimals, latestRoundData, aggregator, phaseId.
    expect(byMethod["eth_call"]).toBe(4 * (5 + 1));
  });
});
