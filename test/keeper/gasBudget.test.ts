/**
 * Defect 4 end to end: at a 100 gwei base fee, 32 accounts liquidatable at once, the default
 * config/keeper.json (1 ETH an hour, maxBatch 32): the keeper's gas limits follow the measured
 * model and a plan over the budget's room is split, so every account is liquidated within 3 blocks.
 */
import { parseGwei, type Address } from "viem";
import { describe, expect, it } from "vitest";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../../src/chain/clients.ts";
import { loadKeeperSettings } from "../../src/config/keeper.ts";
import { createKeeper } from "../../src/keeper/createKeeper.ts";
import { referenceMarket } from "../../src/protocols/reference/index.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { getTestChain, withSnapshot } from "../support/anvil.ts";
import { BTC, addressOf, deploySeedable, seed, tokens } from "../plan/gasCases.ts";

const KEEPER = 9;
const BASE_FEE = parseGwei("100");
const COUNT = 32;

withSnapshot();

describe("defect 4: the default gas budget takes large batches", () => {
  it("base fee 100 gwei, 32 liquidatable accounts, default config: all liquidated within 3 blocks", { timeout: 120_000 }, async () => {
    const chain = await getTestChain();
    const d = await deploySeedable(chain, "reference");
    const traders: Address[] = Array.from({ length: COUNT }, (_, i) => addressOf("budget", i));
    await seed(chain, d, traders, traders.map(() => ({ tokens: tokens("5300"), trades: [{ marketId: BTC, size: "2" }] })));
    const settings = loadKeeperSettings();
    const keeper = createKeeper({ protocol: referenceMarket(d.contracts.market),
      publicClient: chain.publicClient as unknown as ChainClients["publicClient"],
      walletClient: chain.wallet(KEEPER) as unknown as ChainClients["walletClient"],
      deployment: d,
      settings,
      logger: silentLogger(),
      metrics: createMetrics(),
      checkpoint: false,
    });
    await keeper.start();
    const head = async () => {
      const b = await chain.publicClient.getBlock({ blockTag: "latest" });
      return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n };
    };
    const liquidatable = async () =>
      (
        await Promise.all(
          traders.map((t) => chain.publicClient.readContract({ address: d.contracts.market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [t] })),
        )
      ).filter(Boolean).length;

    await chain.testClient.setAutomine(false);
    try {
      // The shock (−4% on BTC) lands in a block with a 100 gwei base fee.
      const feed = d.markets[BTC]!;
      const price = await chain.publicClient.readContract({ address: d.contracts.market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(BTC)] });
      const hash = await chain.wallet(0).writeContract({
        address: feed.feed,
        abi: MockAggregatorV3.abi,
        functionName: "updateAnswer",
        args: [((price * 960n) / 1000n) / 10n ** BigInt(18 - feed.feedDecimals)],
        maxFeePerGas: parseGwei("400"),
        maxPriorityFeePerGas: parseGwei("1"),
      });
      await chain.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: BASE_FEE });
      await chain.testClient.mine({ blocks: 1 });
      expect((await chain.publicClient.getTransactionReceipt({ hash })).status).toBe("success");
      expect(await liquidatable()).toBe(COUNT);

      let blocks = 0;
      while ((await liquidatable()) > 0 && blocks < 3) {
        await keeper.onHead(await head());
        await keeper.executor.idle();
        await chain.testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: BASE_FEE });
        await chain.testClient.mine({ blocks: 1 });
        blocks++;
      }
      await keeper.onHead(await head());
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
