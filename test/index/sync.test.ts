import { beforeEach, describe, expect, it } from "vitest";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { MissingMarketDataError, accountHealth } from "../../src/engine/index.ts";
import { Indexer } from "../../src/index/indexer.ts";
import { priceStatus, valuationAt } from "../../src/protocols/reference/index.ts";
import {
  BTC,
  ETH,
  OWNER,
  SMALLCAP,
  expectIndexMatchesChain,
  indexerInputs,
  latestHead,
  publish,
  scenario,
  scenarioSteps,
  trade,
  trader,
  w,
  useWorld,
  type World,
} from "./world.ts";

const world = useWorld();
let wd: World;
beforeEach(() => {
  wd = world();
});

describe("Indexer.syncTo", () => {
  it("follows every new head through the whole scenario and equals the chain at each", async () => {
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    await expectIndexMatchesChain(ix, wd);
    for (const [name, step] of scenarioSteps) {
      const before = ix.head!.number;
      await step(wd);
      const r = await ix.syncTo(await latestHead(wd.chain));
      expect(r.reorgDepth, name).toBe(0);
      expect(ix.head!.number, name).toBeGreaterThan(before);
      await expectIndexMatchesChain(ix, wd);
    }
  });

  it("reports only what moved", async () => {
    await scenario(wd, scenarioSteps.slice(0, 7));
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    await trade(wd, 2, ETH, w(1));
    const r = await ix.syncTo(await latestHead(wd.chain));
    expect(r.changes).toEqual({ accounts: new Set([trader(2)]), markets: new Set(), prices: new Set(), global: false });
    await publish(wd, BTC, w(60_100));
    const p = await ix.syncTo(await latestHead(wd.chain));
    expect(p.changes).toEqual({ accounts: new Set(), markets: new Set(), prices: new Set([BTC]), global: false });
  });

  it("catches up over gaps: a few blocks, and more than the reorg window (ranges, then blocks)", async () => {
    const ix = new Indexer(indexerInputs(wd, { maxReorgDepth: 4, chunkSize: 3 }));
    await ix.backfill();
    await scenario(wd, scenarioSteps.slice(0, 3)); // 7 blocks
    const small = await ix.syncTo(await latestHead(wd.chain));
    expect(small.events).toBeGreaterThan(0);
    await expectIndexMatchesChain(ix, wd);
    await scenario(wd, scenarioSteps.slice(3)); // dozens of blocks, a new market and feeds among them
    await ix.syncTo(await latestHead(wd.chain));
    await expectIndexMatchesChain(ix, wd);
  });
});

describe("Indexer prices", () => {
  it("priceStatus mirrors the contract: ok, stale (old or from the future), invalid, missing", async () => {
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    const now = ix.head!.timestamp;
    expect(priceStatus(ix.state, BTC, now)).toBe("ok");
    expect(priceStatus(ix.state, 7, now)).toBe("missing");
    const maxStaleness = ix.state.markets.get(BTC)!.maxStaleness;
    const updatedAt = ix.state.price(BTC)!.updatedAt;
    expect(priceStatus(ix.state, BTC, updatedAt + maxStaleness)).toBe("ok");
    expect(priceStatus(ix.state, BTC, updatedAt + maxStaleness + 1n)).toBe("stale");
    expect(priceStatus(ix.state, BTC, updatedAt - 1n)).toBe("stale");

    const feed = wd.feeds.get(ETH)!.feed;
    const owner = wd.chain.wallet(OWNER);
    await wd.chain.publicClient.waitForTransactionReceipt({
      hash: await owner.writeContract({ address: feed, abi: MockAggregatorV3.abi, functionName: "updateAnswer", args: [0n] }),
    });
    await wd.chain.publicClient.waitForTransactionReceipt({
      hash: await owner.writeContract({
        address: wd.feeds.get(SMALLCAP)!.feed,
        abi: MockAggregatorV3.abi,
        functionName: "updateAnswerAt",
        args: [50_000_000n, now + 1_000n],
      }),
    });
    await ix.syncTo(await latestHead(wd.chain));
    const t = ix.head!.timestamp;
    expect(priceStatus(ix.state, ETH, t)).toBe("invalid");
    expect(priceStatus(ix.state, SMALLCAP, t)).toBe("stale");

    // The valuation holds only the prices the contract would accept; valuing a position in
    // another market throws, as the contract reverts.
    const v = valuationAt(ix.state, ix.head!.timestamp);
    expect([...v.prices.keys()]).toEqual([BTC]);
    expect(v.prices.get(BTC)).toBe(ix.state.price(BTC)!.price);
    expect(() => accountHealth({ collateral: w(1), lastPartialAt: 0n, positions: [{ marketId: ETH, size: w(1), entryPrice: w(1), entryFundingIndex: 0n }] }, v)).toThrow(
      MissingMarketDataError,
    );
    // Later timestamps make BTC stale too.
    expect(valuationAt(ix.state, t + 10_000n).prices.size).toBe(0);
  });
});
