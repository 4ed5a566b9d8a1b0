import { describe, expect } from "vitest";
import { MissingMarketDataError, accountHealth } from "../../src/engine/index.ts";
import { Indexer } from "../../src/index/indexer.ts";
import { priceStatus, valuationAt } from "../../src/protocols/reference/index.ts";
import { headOf, mined } from "../support/blocks.ts";
import { it, test } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { BTC, ETH, SMALLCAP, trade, trader } from "../support/market.ts";
import { indexerInputs, scenario, scenarioSteps, w } from "./history.ts";

test.override({ deploy: { blockTime: 1 } });

describe("Indexer.syncTo", () => {
  it("follows every new head through the whole scenario and equals the chain at each", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    await expectIndexMatchesChain(wd, ix);
    for (const [name, step] of scenarioSteps) {
      const before = ix.head!.number;
      await step(wd);
      const r = await ix.syncTo(await headOf(wd.chain));
      expect(r.reorgDepth, name).toBe(0);
      expect(ix.head!.number, name).toBeGreaterThan(before);
      await expectIndexMatchesChain(wd, ix);
    }
  });

  it("reports only what moved", async ({ world: wd }) => {
    await scenario(wd, scenarioSteps.slice(0, 7));
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    await trade(wd, 2, ETH, w(1));
    const r = await ix.syncTo(await headOf(wd.chain));
    expect(r.changes).toEqual({ accounts: new Set([trader(2)]), markets: new Set(), prices: new Set(), global: false });
    await wd.prices.set(BTC, w(60_100));
    const p = await ix.syncTo(await headOf(wd.chain));
    expect(p.changes).toEqual({ accounts: new Set(), markets: new Set(), prices: new Set([BTC]), global: false });
  });

  it("catches up over gaps: a few blocks, and more than the reorg window (ranges, then blocks)", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd, { maxReorgDepth: 4, chunkSize: 3 }));
    await ix.backfill();
    await scenario(wd, scenarioSteps.slice(0, 3)); // 7 blocks
    const small = await ix.syncTo(await headOf(wd.chain));
    expect(small.events).toBeGreaterThan(0);
    await expectIndexMatchesChain(wd, ix);
    await scenario(wd, scenarioSteps.slice(3)); // dozens of blocks, a new market and feeds among them
    await ix.syncTo(await headOf(wd.chain));
    await expectIndexMatchesChain(wd, ix);
  });
});

describe("Indexer prices", () => {
  it("priceStatus mirrors the contract: ok, stale (old or from the future), invalid, missing", async ({ world: wd }) => {
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

    await wd.prices.set(ETH, 0n);
    await mined(wd.chain, wd.prices.send(SMALLCAP, w("0.5"), { updatedAt: now + 1_000n }));
    await ix.syncTo(await headOf(wd.chain));
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
