/**
 * The reward sweep end to end on Anvil: the keeper's collateral-token balance over --sweep-above is
 * moved to the cold address in one transfer (the excess, exactly) and counted in
 * keeper_swept_tokens_total; at or below the threshold nothing moves; and while a liquidation of
 * its own is in flight the sweep waits, then sweeps the liquidation's reward too, at the next nonce.
 */
import { getAddress, parseEther, parseUnits, type Address } from "viem";
import { describe, expect } from "vitest";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { loadKeeperSettings } from "../../src/config/keeper.ts";
import { createKeeper } from "../../src/keeper/createKeeper.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { referenceMarket } from "../../src/protocols/reference/index.ts";
import { waitFor } from "../support/anvil.ts";
import { headOf, mined } from "../support/blocks.ts";
import { counterValue } from "../support/executor.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { KEEPER, SMALLCAP as SMALL, openLong, signer, tokenBalance, trader } from "../support/market.ts";

test.override({ preset: "reference" });

/** A fresh address nobody holds tokens at. */
const COLD: Address = getAddress("0x00000000000000000000000000000000000c01d0");
const keeperAddress = trader(KEEPER);

let victim: Address;
test.beforeAll(async ({ world: w }) => {
  victim = await openLong(w, 1);
});

/** Mints `tokens` whole collateral tokens to the keeper's address (as if earned). */
async function give(w: World, tokens: string): Promise<void> {
  await mined(w.chain, w.chain.wallet(0).writeContract({ address: w.deployment.contracts.token, abi: MockUSDC.abi, functionName: "mint", args: [keeperAddress, parseUnits(tokens, 6)] }));
}

function sweepingKeeper(w: World, above: string) {
  const metrics = createMetrics();
  const keeper = createKeeper({
    protocol: referenceMarket(w.deployment.contracts.market),
    ...signer(w.chain, KEEPER),
    deployment: w.deployment,
    settings: loadKeeperSettings({ minProfitUsd: "0", nativeTokenPriceUsd: "3000" }),
    logger: silentLogger(),
    metrics,
    checkpoint: false,
    wallet: { balanceEveryBlocks: 1, sweep: { to: COLD, token: w.deployment.contracts.token, aboveWad: parseEther(above) } },
  });
  return { keeper, metrics };
}

/** One head to the keeper (a block mined first), and its wallet check after it. */
async function nextHead(w: World, keeper: ReturnType<typeof sweepingKeeper>["keeper"]): Promise<void> {
  await w.chain.testClient.mine({ blocks: 1 });
  await keeper.onHead(await headOf(w.chain));
  await keeper.walletChecked();
}

describe("sweep", () => {
  it("above the threshold: the excess goes to the cold address in one transfer, and is counted", async ({ world: w }) => {
    const { keeper, metrics } = sweepingKeeper(w, "5");
    await give(w, "12.5");
    const held = await tokenBalance(w, keeperAddress);
    const nonce = await w.chain.publicClient.getTransactionCount({ address: keeperAddress });
    await keeper.start();
    await keeper.walletChecked(); // the start's check sends it (automine mines it at once)
    await nextHead(w, keeper); // the next head finds its receipt
    expect(await tokenBalance(w, COLD)).toBe(held - parseUnits("5", 6));
    expect(await tokenBalance(w, keeperAddress)).toBe(parseUnits("5", 6));
    expect(await counterValue(metrics.sweptTokens)).toBe(Number(held - parseUnits("5", 6)));
    expect(await w.chain.publicClient.getTransactionCount({ address: keeperAddress })).toBe(nonce + 1);
    // Nothing more to sweep: the balance sits at the threshold.
    await nextHead(w, keeper);
    expect(await w.chain.publicClient.getTransactionCount({ address: keeperAddress })).toBe(nonce + 1);
    await keeper.stop(0);
  });

  it("at or below the threshold: nothing moves", async ({ world: w }) => {
    const { keeper, metrics } = sweepingKeeper(w, "1000000");
    await give(w, "12.5");
    const nonce = await w.chain.publicClient.getTransactionCount({ address: keeperAddress });
    await keeper.start();
    await keeper.walletChecked();
    await nextHead(w, keeper);
    await nextHead(w, keeper);
    expect(await tokenBalance(w, COLD)).toBe(0n);
    expect(await counterValue(metrics.sweptTokens)).toBe(0);
    expect(await w.chain.publicClient.getTransactionCount({ address: keeperAddress })).toBe(nonce);
    await keeper.stop(0);
  });

  it("waits while a liquidation is in flight, then sweeps its reward too at the next nonce", async ({ world: w }) => {
    const { keeper, metrics } = sweepingKeeper(w, "1");
    await give(w, "3");
    await keeper.start();
    await keeper.walletChecked();
    await nextHead(w, keeper);
    expect(await tokenBalance(w, COLD)).toBe(parseUnits("2", 6));

    // More tokens, and the victim becomes liquidatable (the keeper is not told of these blocks yet).
    await give(w, "4");
    await w.prices.set(SMALL, parseEther("0.47"));
    const pool = async () =>
      (await w.chain.publicClient.getTransactionCount({ address: keeperAddress, blockTag: "pending" })) -
      (await w.chain.publicClient.getTransactionCount({ address: keeperAddress, blockTag: "latest" }));
    let liquidationNonce: number;
    await w.chain.testClient.setAutomine(false);
    try {
      // The keeper's liquidation waits in the pool; 5 tokens are over the threshold, and yet no sweep.
      await keeper.onHead(await headOf(w.chain));
      await waitFor(() => keeper.executor.inFlight().length === 1, { message: "the liquidation sent" });
      await keeper.walletChecked();
      liquidationNonce = keeper.executor.inFlight()[0]!.nonce;
      expect(await pool()).toBe(1);
      expect(keeper.executor.inFlight()[0]!.items.map((i) => i.account)).toEqual([victim]);
    } finally {
      await w.chain.testClient.setAutomine(true);
    }
    // The liquidation is mined and settled; the sweep follows at the next nonce, with the reward.
    await nextHead(w, keeper);
    expect(keeper.executor.inFlight()).toEqual([]);
    const reward = keeper.executor.stats().rewardTokens;
    expect(reward).toBeGreaterThan(0n);
    await nextHead(w, keeper);
    expect(await tokenBalance(w, COLD)).toBe(parseUnits("2", 6) + parseUnits("4", 6) + reward);
    expect(await tokenBalance(w, keeperAddress)).toBe(parseUnits("1", 6));
    expect(await counterValue(metrics.sweptTokens)).toBe(Number(await tokenBalance(w, COLD)));
    expect(await w.chain.publicClient.getTransactionCount({ address: keeperAddress })).toBe(liquidationNonce + 2);
    await keeper.stop(0);
  });
});
