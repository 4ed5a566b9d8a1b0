/**
 * The executor's memory of mined transactions against a reorg deeper than 64 blocks. Its own file,
 * without a snapshot per test: anvil_reorg invalidates Anvil's snapshots, so it cannot share a
 * chain with snapshot-reverting tests.
 */
import { parseEther, type Address } from "viem";
import { describe, expect } from "vitest";
import { anvilReorg } from "../support/blocks.ts";
import { itemFor, makeExecutor, submitAndWait, tick } from "../support/executor.ts";
import { it, test } from "../support/fixtures.ts";
import { SMALLCAP, openLong } from "../support/market.ts";

test.override({ preset: "reference", snapshots: false });

let risky: Address[];

test.beforeAll(async ({ world: w }) => {
  risky = [];
  for (const i of [1, 2]) risky.push(await openLong(w, i));
  await w.prices.set(SMALLCAP, parseEther("0.47"));
});

describe("defect 7: the reorg memory follows maxReorgDepth", () => {
  it("a mined transaction is remembered for reorgMemoryBlocks (the keeper's maxReorgDepth), not a fixed 64", async ({ world: w }) => {
    const reorgDepth = 80;
    const { executor, logs } = makeExecutor(w, { reorgMemoryBlocks: 100 });
    await tick(w, executor);
    expect((await submitAndWait(executor, [await itemFor(w, risky[0]!)])).status).toBe("sent");
    await tick(w, executor);
    await w.chain.testClient.mine({ blocks: reorgDepth - 10 });
    await tick(w, executor);
    expect((await submitAndWait(executor, [await itemFor(w, risky[1]!)])).status).toBe("sent");
    await tick(w, executor); // the second is mined 70 blocks after the first: a 64-block memory forgets the first
    await w.chain.testClient.mine({ blocks: 5 });
    await anvilReorg(w.chain, reorgDepth);
    await executor.onReorg();
    // Anvil drops the reorged transactions: both are reported gone, so both targets are left to the planner.
    expect(logs.messages().filter((m) => m === "reorg: a mined transaction of ours is gone")).toHaveLength(2);
  });

});
