/**
 * The keeper end to end on Anvil: a trader population, a price crash, the real keeper; and the
 * same against an Anvil fork of that chain at a pinned block.
 */
import { describe } from "vitest";
import { startAnvil } from "../../src/chain/anvil.ts";
import { createChainClients } from "../support/anvil.ts";
import { test, worldOn } from "../support/fixtures.ts";
import { crashAndCheck } from "../support/keepers.ts";

test.override({ traderCount: 24 });

describe("keeper end to end", () => {
  test("a crash: every liquidatable trader is liquidated, partially where the rules say so", { timeout: 120_000 }, async ({ world }) => {
    await crashAndCheck(world);
  });

  test("the same on an Anvil fork at a pinned block, leaving the upstream untouched", { timeout: 120_000 }, async ({ world }) => {
    const upstream = world.chain;
    const pinned = await upstream.publicClient.getBlockNumber();
    const fork = await startAnvil({ forkUrl: upstream.anvil.rpcUrl, forkBlockNumber: pinned });
    try {
      await crashAndCheck(worldOn(createChainClients(fork), world));
      // Upstream untouched: no block after the pin.
      const after = await upstream.publicClient.getBlockNumber();
      if (after !== pinned) throw new Error(`upstream moved from ${pinned} to ${after}`);
    } finally {
      await fork.stop();
    }
  });
});
