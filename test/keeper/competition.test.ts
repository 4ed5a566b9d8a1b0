/**
 * Two keepers racing for the same liquidations, and a keeper killed mid-run then restarted from
 * its checkpoint.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress } from "viem";
import { afterAll, describe, expect } from "vitest";
import { headOf } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";
import { crashPath, settleAndClear } from "../support/keepers.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { liquidations } from "../support/market.ts";

test.override({ traderCount: 24 });

const dir = mkdtempSync(join(tmpdir(), "perp-keeper-restart-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("keepers under competition and restarts", () => {
  test("two keepers competing: both survive, neither loops on reverts, every liquidation happens", { timeout: 120_000 }, async ({ world }) => {
    const a = world.keeper(3);
    const b = world.keeper(4);
    await a.keeper.start();
    await b.keeper.start();
    const from = (await headOf(world.chain)).number;
    const seen = await crashPath(world, [a.keeper, b.keeper]);
    expect(seen.size).toBeGreaterThan(2);
    await settleAndClear(world, [a.keeper, b.keeper], a.settings);

    const events = await liquidations(world, from);
    const liquidated = new Set(events.map((e) => e.account));
    for (const v of seen) expect(liquidated.has(v)).toBe(true);
    const sa = a.keeper.executor.stats();
    const sb = b.keeper.executor.stats();
    // A lost race may cost one reverted transaction for that target, never a loop of them.
    expect(sa.reverted + sb.reverted).toBeLessThanOrEqual(liquidated.size);
    expect(sa.mined + sb.mined).toBeGreaterThan(0);
    await a.keeper.stop(1_000);
    await b.keeper.stop(1_000);
  });

  test("killed mid-run and restarted: resumes from the checkpoint and sends no duplicate", { timeout: 120_000 }, async ({ world }) => {
    const settings = { checkpointPath: join(dir, "checkpoint.json"), checkpointEveryBlocks: 1 };
    const first = world.keeper(3, settings, { checkpoint: true });
    await first.keeper.start();
    const from = (await headOf(world.chain)).number;
    const seenBefore = await crashPath(world, [first.keeper], -30);
    // "Kill": the first keeper is abandoned without stop(); only its last checkpoint survives.
    const sentBefore = first.keeper.executor.stats().sent;

    const second = world.keeper(3, settings, { checkpoint: true });
    await second.keeper.start();
    expect(second.keeper.status.resumed).toBe(true);
    // It resumed where the checkpoint ended instead of backfilling from the deploy block.
    expect(second.keeper.status.backfilledEvents).toBeLessThan(50);
    const seenAfter = await crashPath(world, [second.keeper], -30);
    await settleAndClear(world, [second.keeper], second.settings);

    const events = await liquidations(world, from);
    const liquidated = new Set(events.map((e) => e.account));
    for (const v of [...seenBefore, ...seenAfter]) expect(liquidated.has(v)).toBe(true);
    // No duplicate: nothing the restarted keeper sent reverted, and no (account, block) pair
    // was liquidated twice by our key.
    expect(second.keeper.executor.stats().reverted).toBe(0);
    const ours = events.filter((e) => e.keeper === getAddress(first.address));
    const keys = ours.map((e) => `${e.account}:${e.txHash}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sentBefore + second.keeper.executor.stats().sent).toBeGreaterThan(0);
    await second.keeper.stop(1_000);
  });

  test("a checkpoint an older version wrote (index state version 1): the index is rebuilt from the chain, the transactions in flight kept", { timeout: 120_000 }, async ({ world }) => {
    const settings = { checkpointPath: join(dir, "old-checkpoint.json"), checkpointEveryBlocks: 1 };
    const first = world.keeper(3, settings, { checkpoint: true });
    await first.keeper.start();
    await crashPath(world, [first.keeper], -20);
    await first.keeper.stop(1_000);
    // As version 1 wrote it: no aggregator per feed.
    const cp = JSON.parse(readFileSync(settings.checkpointPath, "utf8")) as { index: { state: { version: number } } };
    cp.index.state.version = 1;
    writeFileSync(settings.checkpointPath, JSON.stringify(cp));

    const second = world.keeper(3, settings, { checkpoint: true, logLevel: "warn" });
    await second.keeper.start();
    expect(second.keeper.status.resumed).toBe(false);
    expect(second.logs.messages()).toContain("the checkpoint's index is from an older version: rebuilding the index from the chain");
    await expectIndexMatchesChain(world, second.keeper.index);
    await second.keeper.stop(1_000);
  });
});
