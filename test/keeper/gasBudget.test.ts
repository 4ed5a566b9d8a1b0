/**
 * Defect 4 end to end: at a 100 gwei base fee, 32 accounts liquidatable at once, the default
 * config/keeper.json (1 ETH an hour, maxBatch 32): the keeper's gas limits follow the measured
 * model and a plan over the budget's room is split, so every account is liquidated within 3 blocks.
 */
import { parseGwei, type Address } from "viem";
import { describe, expect } from "vitest";
import { loadKeeperSettings } from "../../src/config/keeper.ts";
import { headOf } from "../support/blocks.ts";
import { it, test } from "../support/fixtures.ts";
import { BTC, KEEPER, liquidatableTraders } from "../support/market.ts";
import { addressOf, seed, tokens } from "../plan/gasCases.ts";

test.override({ preset: "reference", deploy: { seedable: true } });

const BASE_FEE = parseGwei("100");
const COUNT = 32;

describe("defect 4: the default gas budget takes large batches", () => {
  it("base fee 100 gwei, 32 liquidatable accounts, default config: all liquidated within 3 blocks", { timeout: 120_000 }, async ({ world }) => {
    const { chain } = world;
    const traders: Address[] = Array.from({ length: COUNT }, (_, i) => addressOf("budget", i));
    await seed(world, traders, traders.map(() => ({ tokens: tokens("5300"), trades: [{ marketId: BTC, size: "2" }] })));
    const { keeper } = world.keeper(KEEPER, loadKeeperSettings());
    await keeper.start();
    const liquidatable = async () => (await liquidatableTraders({ ...world, traders })).length;

    await chain.testClient.setAutomine(false);
    try {
      // The shock (−4% on BTC) lands in a block with a 100 gwei base fee (its update succeeded, or this throws).
      const shocked = (await world.prices.shocked(-40)).get(BTC)!;
      await world.prices.inOneBlock(new Map([[BTC, shocked]]), {
        baseFeePerGas: BASE_FEE,
        fees: { maxFeePerGas: parseGwei("400"), maxPriorityFeePerGas: parseGwei("1") },
        keepAutomineOff: true,
      });
      expect(await liquidatable()).toBe(COUNT);

      let blocks = 0;
      while ((await liquidatable()) > 0 && blocks < 3) {
        await keeper.onHead(await headOf(chain));
        await keeper.executor.idle();
        await chain.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: BASE_FEE });
        await chain.testClient.mine({ blocks: 1 });
        blocks++;
      }
      await keeper.onHead(await headOf(chain));
      expect(await liquidatable()).toBe(0);
      const s = keeper.executor.stats();
      expect(s.reverted).toBe(0);
      expect(s.mined).toBeGreaterThan(1); // more than one transaction: the budget split the plan
    } finally {
      await chain.testClient.setAutomine(true);
    }
    await keeper.stop(0);
  });
});
