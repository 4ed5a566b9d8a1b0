import { describe, expect } from "vitest";
import { CheckpointMismatchError, Indexer, IndexerBusyError } from "../../src/index/indexer.ts";
import { CheckpointFormatError } from "../../src/index/checkpoint.ts";
import { referenceMarket } from "../../src/protocols/reference/index.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { mine } from "../support/anvil.ts";
import { anvilReorg, headOf } from "../support/blocks.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { ETH, trade, tradeTx } from "../support/market.ts";
import { indexView, indexerInputs, scenario, scenarioSteps, w, type RefIndexer } from "./history.ts";

test.override({ deploy: { blockTime: 1 } });

/** A checkpoint as it comes back from disk: through JSON text. */
const throughDisk = (ix: RefIndexer) => JSON.parse(JSON.stringify(ix.checkpoint())) as unknown;

/** Replaces the last `depth` blocks; the first new one holds a trade. */
const reorg = (wd: World, depth: number) => anvilReorg(wd.chain, depth, [[tradeTx(wd, 3, ETH, w(1)), 0]]);

describe("Indexer checkpoints", () => {
  it("round trip: index to N, save, resume in a new indexer, sync further = a full backfill", async ({ world: wd }) => {
    await scenario(wd, scenarioSteps.slice(0, 12));
    const first = new Indexer(indexerInputs(wd));
    await first.backfill();
    const saved = throughDisk(first);
    expect(JSON.stringify(saved)).not.toMatch(/\d+n"/);

    await scenario(wd, scenarioSteps.slice(12)); // liquidations, a feed swap, a new market, …
    const resumed = await Indexer.fromCheckpoint(indexerInputs(wd), saved);
    expect(resumed.head).toEqual(first.head);
    await resumed.syncTo(await headOf(wd.chain));
    await expectIndexMatchesChain(wd, resumed);

    const full = new Indexer(indexerInputs(wd));
    await full.backfill();
    expect(indexView(resumed)).toEqual(indexView(full));
  });

  it("resumes through the range path too (far behind, small window)", async ({ world: wd }) => {
    await scenario(wd, scenarioSteps.slice(0, 5));
    const first = new Indexer(indexerInputs(wd, { maxReorgDepth: 3, chunkSize: 4 }));
    await first.backfill();
    const saved = throughDisk(first);
    await scenario(wd, scenarioSteps.slice(5));
    const resumed = await Indexer.fromCheckpoint(indexerInputs(wd, { maxReorgDepth: 3, chunkSize: 4 }), saved);
    await resumed.backfill();
    await expectIndexMatchesChain(wd, resumed);
  });

  it("rolls back when the checkpoint's cursor was reorganised away while the keeper was down", async ({ world: wd }) => {
    await scenario(wd, scenarioSteps.slice(0, 4));
    await mine(3);
    await trade(wd, 2, ETH, w(1));
    const first = new Indexer(indexerInputs(wd));
    await first.backfill();
    const saved = throughDisk(first);

    await reorg(wd, 2); // replaces the trade's block and the one before
    await mine(1);
    const metrics = createMetrics();
    const resumed = await Indexer.fromCheckpoint(indexerInputs(wd, { metrics }), saved);
    expect((await metrics.reorgs.get()).values[0]!.value).toBe(1);
    expect(resumed.head!.number).toBe(first.head!.number - 2n);
    await resumed.backfill();
    await expectIndexMatchesChain(wd, resumed);
  });

  it("rebuilds from the deploy block when that reorg is deeper than the checkpoint's journal", async ({ world: wd }) => {
    await scenario(wd, scenarioSteps.slice(0, 4));
    await mine(6);
    const first = new Indexer(indexerInputs(wd, { maxReorgDepth: 2 }));
    await first.backfill();
    const saved = throughDisk(first);
    await reorg(wd, 5);
    const resumed = await Indexer.fromCheckpoint(indexerInputs(wd, { maxReorgDepth: 2 }), saved);
    expect(resumed.head).toBeUndefined();
    expect(resumed.state.accounts.size).toBe(0);
    await resumed.backfill();
    await expectIndexMatchesChain(wd, resumed);
  });

  it("refuses a checkpoint of another market, deploy block or a damaged one", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd));
    await ix.backfill();
    const saved = ix.checkpoint();
    await expect(Indexer.fromCheckpoint(indexerInputs(wd, { source: referenceMarket(wd.deployment.contracts.token).index }), saved)).rejects.toThrow(CheckpointMismatchError);
    await expect(Indexer.fromCheckpoint(indexerInputs(wd, { deployBlock: 0n }), saved)).rejects.toThrow(CheckpointMismatchError);
    await expect(Indexer.fromCheckpoint(indexerInputs(wd), { ...saved, cursor: { ...saved.cursor, number: "x" } })).rejects.toThrow(CheckpointFormatError);
    await expect(Indexer.fromCheckpoint(indexerInputs(wd), { ...saved, state: { ...(saved.state as Record<string, unknown>), block: "1" } })).rejects.toThrow(CheckpointMismatchError);
  });

  it("is not taken while a sync runs", async ({ world: wd }) => {
    const ix = new Indexer(indexerInputs(wd));
    const running = ix.backfill();
    expect(() => ix.checkpoint()).toThrow(IndexerBusyError);
    await running;
    expect(ix.checkpoint().cursor?.number).toBe(ix.head!.number.toString());
  });
});
