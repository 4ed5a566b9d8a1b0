import { describe, expect } from "vitest";
import { Indexer } from "../../src/index/indexer.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { mine, revertSnapshot, takeSnapshot } from "../support/anvil.ts";
import { anvilReorg, headOf } from "../support/blocks.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { captureLogs } from "../support/logs.ts";
import { BTC, ETH, deposit, setFundingRate, trade, tradeTx, trader } from "../support/market.ts";
import { faultyClient, indexerInputs, scenario, w } from "./history.ts";

test.override({ deploy: { blockTime: 1 } });
test.beforeAll(async ({ world }) => {
  await scenario(world);
});

/** A synced indexer, plus `sync()` to follow the chain one head at a time. */
async function follow(wd: World, over: Parameters<typeof indexerInputs>[1] = {}) {
  const metrics = createMetrics();
  const ix = new Indexer(indexerInputs(wd, { metrics, ...over }));
  await ix.backfill();
  const sync = async () => ix.syncTo(await headOf(wd.chain));
  const reorgs = async () => (await metrics.reorgs.get()).values[0]?.value ?? 0;
  return { ix, sync, reorgs };
}

describe("Indexer reorgs", () => {
  it("depth 1 (anvil_reorg): rolls back the replaced block and applies its replacement", async ({ world: wd }) => {
    const { logger, sink: { lines } } = captureLogs();
    const { ix, sync, reorgs } = await follow(wd, { logger });
    await trade(wd, 2, ETH, w(1));
    await sync();
    await wd.prices.set(ETH, w(3_100));
    const before = await sync();
    expect(before.reorgDepth).toBe(0);
    const replacedHash = ix.head!.hash;

    await anvilReorg(wd.chain, 1, [[tradeTx(wd, 3, ETH, -w(1)), 0]]);
    const r = await sync();
    expect(lines.find((l) => l.msg === "reorg: rolled back to the common ancestor")).toMatchObject({ level: "warn", depth: 1 });
    expect(r.reorgDepth).toBe(1);
    expect(await reorgs()).toBe(1);
    expect(ix.head!.hash).not.toBe(replacedHash);
    // The dropped price update is rolled back; the new block's trade is in.
    expect(r.changes.prices.has(ETH)).toBe(true);
    expect(r.changes.accounts.has(trader(3))).toBe(true);
    await expectIndexMatchesChain(wd, ix);
  });

  it("depth 5 (anvil_reorg): five blocks of trades, prices and funding replaced by others", async ({ world: wd }) => {
    const { ix, sync, reorgs } = await follow(wd);
    await trade(wd, 3, BTC, -w("0.1"));
    await sync();
    await wd.prices.set(BTC, w(59_500));
    await sync();
    await deposit(wd, 6, 1_000n); // three blocks: mint, approve, deposit
    await sync();
    await setFundingRate(wd, ETH, 5n * 10n ** 12n);
    await sync();
    expect(ix.state.account(trader(6))).toBeDefined();

    await anvilReorg(wd.chain, 5, [
      [tradeTx(wd, 2, ETH, -w(2)), 0],
      [await wd.prices.reorgTx(ETH, w(2_950)), 2],
      [tradeTx(wd, 3, BTC, w("0.1")), 4],
    ]);
    const r = await sync();
    expect(r.reorgDepth).toBe(5);
    expect(await reorgs()).toBe(1);
    expect(ix.state.account(trader(6))).toBeUndefined();
    await expectIndexMatchesChain(wd, ix);
  });

  it("snapshot/revert then other transactions: a shorter chain with new blocks at the same heights", async ({ world: wd }) => {
    const { ix, sync } = await follow(wd);
    const fork = await takeSnapshot();
    const base = ix.head!.number;
    await trade(wd, 2, ETH, w(3));
    await sync();
    await wd.prices.set(BTC, w(61_000));
    await sync();
    await trade(wd, 3, ETH, -w(1));
    await sync();
    expect(ix.head!.number).toBe(base + 3n);

    await revertSnapshot(fork);
    await wd.prices.set(ETH, w(2_900));
    await trade(wd, 3, BTC, w("0.2"));
    const r = await sync();
    expect(ix.head!.number).toBe(base + 2n);
    expect(r.reorgDepth).toBe(3);
    await expectIndexMatchesChain(wd, ix);
  });

  // anvil_reorg drops the snapshots of the blocks it replaces: each test mines at least `depth`
  // blocks of its own first, so the revert to the test's snapshot still finds it.

  it("a reorg while the indexer was behind: new blocks and replaced blocks in one sync", async ({ world: wd }) => {
    await mine(2);
    const { ix, sync } = await follow(wd);
    await trade(wd, 2, ETH, w(1));
    await sync();
    await trade(wd, 2, ETH, w(1));
    await wd.prices.set(ETH, w(3_050));
    await mine(2);
    await anvilReorg(wd.chain, 6, [[tradeTx(wd, 3, ETH, w(1)), 1]]);
    const r = await sync();
    expect(r.reorgDepth).toBe(2);
    await expectIndexMatchesChain(wd, ix);
  });

  it("a reorg deeper than the journal rebuilds the index", async ({ world: wd }) => {
    await mine(4);
    const { logger, sink: { lines } } = captureLogs();
    const { ix, sync, reorgs } = await follow(wd, { maxReorgDepth: 2, logger });
    await trade(wd, 2, ETH, w(1));
    await sync();
    await anvilReorg(wd.chain, 4, [[tradeTx(wd, 3, ETH, w(1)), 0]]);
    await sync();
    expect(await reorgs()).toBe(1);
    expect(lines.some((l) => l.level === "error" && String(l.msg).includes("rebuilding"))).toBe(true);
    await expectIndexMatchesChain(wd, ix);
  });

  it("a head it has already seen is a no-op", async ({ world: wd }) => {
    const { ix, sync } = await follow(wd);
    const head = await headOf(wd.chain);
    await trade(wd, 2, ETH, w(1));
    await sync();
    const r = await ix.syncTo(head);
    expect(r).toEqual({ events: 0, reorgDepth: 0, changes: { accounts: new Set(), markets: new Set(), prices: new Set(), global: false } });
    await expectIndexMatchesChain(wd, ix);
  });

  it("retries when the chain moves under a read: a header that does not link, a log of another block", async ({ world: wd }) => {
    const { logger, sink: { lines } } = captureLogs();
    let tamperedHeader = false;
    let tamperedLog = false;
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      () => undefined,
      [],
      (method, _params, result) => {
        // The first gap header comes back from "another fork"; so does the first log by block hash.
        if (method === "eth_getBlockByNumber" && !tamperedHeader && gap) {
          tamperedHeader = true;
          return { ...(result as object), hash: `0x${"ab".repeat(32)}` };
        }
        if (method === "eth_getLogs" && !tamperedLog && gap && Array.isArray(result) && result.length > 0) {
          tamperedLog = true;
          return [{ ...(result[0] as object), blockHash: `0x${"cd".repeat(32)}` }, ...result.slice(1)];
        }
        return result;
      },
    );
    let gap = false;
    const ix = new Indexer(indexerInputs(wd, { client, logger }));
    await ix.backfill();
    await trade(wd, 2, ETH, w(1));
    await wd.prices.set(ETH, w(3_020));
    await trade(wd, 3, ETH, -w(1));
    gap = true;
    const r = await ix.syncTo(await headOf(wd.chain));
    expect(tamperedHeader && tamperedLog).toBe(true);
    expect(r.reorgDepth).toBe(0);
    expect(lines.filter((l) => l.msg === "chain moved while reading, retrying")).toHaveLength(2);
    await expectIndexMatchesChain(wd, ix);
  });
});
