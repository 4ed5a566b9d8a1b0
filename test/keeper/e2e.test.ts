/**
 * The keeper end to end on Anvil: a trader population, a price crash, the real keeper; and the
 * same against an Anvil fork of that chain at a pinned block.
 */
import { describe, test } from "vitest";
import { startAnvil } from "../../src/chain/anvil.ts";
import { createChainClients, getTestChain, withSnapshot } from "../support/anvil.ts";
import { crashAndCheck, seedWorld } from "./scenario.ts";

describe("keeper end to end", () => {
  withSnapshot();

  test("a crash: every liquidatable trader is liquidated, partially where the rules say so", { timeout: 120_000 }, async () => {
    const chain = await getTestChain();
    const world = await seedWorld(chain);
    await crashAndCheck(world);
  });

  test("the same on an Anvil fork at a pinned block, leaving the upstream untouched", { timeout: 120_000 }, async () => {
    const upstream = await getTestChain();
    const world = await seedWorld(upstream);
    const pinned = await upstream.publicClient.getBlockNumber();
    const fork = await startAnvil({ forkUrl: upstream.anvil.rpcUrl, forkBlockNumber: pinned });
    try {
      const forkClients = createChainClients(fork);
      await crashAndCheck({ ...world, chain: forkClients });
      // Upstream untouched: no block after the pin.
      const after = await upstream.publicClient.getBlockNumber();
      if (after !== pinned) throw new Error(`upstream moved from ${pinned} to ${after}`);
    } finally {
      await fork.stop();
    }
  });
});
