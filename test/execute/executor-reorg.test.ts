/**
 * The executor's memory of mined transactions against a reorg deeper than 64 blocks. Its own file:
 * anvil_reorg invalidates Anvil's snapshots, so it cannot share a chain with snapshot-reverting tests.
 */
import type { Address } from "viem";
import { beforeAll, describe, expect, it } from "vitest";
import type { Executor } from "../../src/execute/executor.ts";
import type { JobResult, LiquidationItem } from "../../src/execute/types.ts";
import { itemFor, makeExecutor, openLong, plan, setPrice, setupWorld, tick, type World } from "./world.ts";

let w: World;
let risky: Address[];

beforeAll(async () => {
  w = await setupWorld();
  risky = [];
  for (const i of [1, 2]) risky.push(await openLong(w, i));
  await setPrice(w, "0.47");
});

async function submitAndWait(executor: Executor, items: LiquidationItem[]): Promise<JobResult> {
  const r = executor.submit(plan(items));
  if (!r.accepted) throw new Error(`refused: ${r.reason}`);
  return r.done;
}

describe("defect 7: the reorg memory follows maxReorgDepth", () => {
  it("a mined transaction is remembered for reorgMemoryBlocks (the keeper's maxReorgDepth), not a fixed 64", async () => {
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
    await w.chain.testClient.request({ method: "anvil_reorg", params: [reorgDepth, []] } as never);
    await executor.onReorg();
    // Anvil drops the reorged transactions: both are reported gone, so both targets are left to the planner.
    expect(logs.messages().filter((m) => m === "reorg: a mined transaction of ours is gone")).toHaveLength(2);
  });

});
