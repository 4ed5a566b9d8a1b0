/**
 * The native token's price gas is valued at: the test world's ETH / USD Chainlink pair (its
 * deployment's nativeUsdFeed), read by the keeper at every head; a stale or invalid answer keeps
 * the last good price (one warning, a gauge); a fixed price and a feed named in the settings take
 * precedence over the deployment's feed; with none, no keeper.
 */
import type { Address } from "viem";
import { describe, expect } from "vitest";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { ethCallAt } from "../../src/chain/ethCall.ts";
import { currentAggregator, switchAggregator } from "../../src/chain/chainlinkDeploy.ts";
import { loadKeeperSettings } from "../../src/config/keeper.ts";
import { createKeeper } from "../../src/keeper/createKeeper.ts";
import { NATIVE_RECHECK_BLOCKS, NativePrice, NativePriceMissingError, nativePriceSourceOf } from "../../src/keeper/nativePrice.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { referenceMarket } from "../../src/protocols/reference/index.ts";
import { headOf, mined } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";
import { KEEPER, NATIVE_USD, OWNER, deployFeed, signer } from "../support/market.ts";

const WAD = 10n ** 18n;
const gauge = async (m: Metrics, name: string) => (await m.registry.getSingleMetric(name)!.get()).values[0]?.value;

describe("the native-token price", () => {
  test("follows the deployment's feed at every head", async ({ world, chain }) => {
    const k = world.keeper(KEEPER, { nativePriceMaxAgeSeconds: 3_600 });
    await k.keeper.start();
    expect(k.keeper.nativeUsd).toBe(NATIVE_USD);
    expect(await gauge(k.metrics, "keeper_native_price_usd")).toBe(3_000);
    const aggregator = await currentAggregator(chain, world.deployment.nativeUsdFeed!);
    for (const usd of [3_250n, 2_990n, 3_100n]) {
      await mined(chain, chain.wallet(OWNER).writeContract({ address: aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [usd * 10n ** 8n] }));
      await k.keeper.onHead(await headOf(chain));
      expect(k.keeper.nativeUsd).toBe(usd * WAD);
      expect(await gauge(k.metrics, "keeper_native_price_usd")).toBe(Number(usd));
    }
    await k.keeper.stop(1_000);
  });

  test("a head whose bloom holds no log of the feed costs no read; a new round, a switch and every 64th head do", async ({ world, chain }) => {
    const feed = world.deployment.nativeUsdFeed!;
    let reads = 0;
    const call = ethCallAt(chain.publicClient);
    const price = new NativePrice({
      source: { kind: "feed", feed, maxAgeSeconds: 3_600, from: "deployment" },
      call: (to, data, block) => (reads++, call(to, data, block)),
      logger: silentLogger(),
      metrics: createMetrics(),
    });
    const head = async () => {
      const h = await headOf(chain);
      await price.refresh(h);
    };
    const quiet = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await chain.testClient.mine({ blocks: 1 });
        await head();
      }
    };
    await price.start(await headOf(chain));
    const afterStart = reads;
    await quiet(10);
    expect(reads).toBe(afterStart);
    // A new round: read at that head, and taken.
    const aggregator = await currentAggregator(chain, feed);
    await mined(chain, chain.wallet(OWNER).writeContract({ address: aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [3_210n * 10n ** 8n] }));
    await head();
    expect(price.usd).toBe(3_210n * WAD);
    expect(reads).toBe(afterStart + 1);
    // The proxy switched to a new aggregator (AggregatorConfirmed): the round and aggregator() are read, and the new aggregator's rounds followed.
    const s = await switchAggregator(signer(chain), feed, { answer: 3_300n * 10n ** 8n });
    await head();
    expect(price.usd).toBe(3_300n * WAD);
    expect(reads).toBe(afterStart + 3);
    await mined(chain, chain.wallet(OWNER).writeContract({ address: s.aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [3_333n * 10n ** 8n] }));
    await head();
    expect(price.usd).toBe(3_333n * WAD);
    // Quiet again until the recheck: the round and the aggregator, once in 64 heads.
    const before = reads;
    await quiet(Number(NATIVE_RECHECK_BLOCKS));
    expect(reads).toBe(before + 2);
  });

  test("a stale or invalid answer keeps the last good price: one warning, and a gauge", async ({ world, chain }) => {
    const k = world.keeper(KEEPER, { nativePriceMaxAgeSeconds: 60 }, { logLevel: "info" });
    const aggregator = await currentAggregator(chain, world.deployment.nativeUsdFeed!);
    const publish = (usd: bigint) => mined(chain, chain.wallet(OWNER).writeContract({ address: aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [usd * 10n ** 8n] }));
    await publish(3_400n);
    await k.keeper.start();
    expect(k.keeper.nativeUsd).toBe(3_400n * WAD);
    expect(await gauge(k.metrics, "keeper_native_price_stale")).toBe(0);

    // Two minutes without an update: older than 60 s at the head's time.
    await chain.testClient.increaseTime({ seconds: 120 });
    for (let i = 0; i < 3; i++) {
      await chain.testClient.mine({ blocks: 1 });
      await k.keeper.onHead(await headOf(chain));
    }
    expect(k.keeper.nativeUsd).toBe(3_400n * WAD);
    expect(await gauge(k.metrics, "keeper_native_price_stale")).toBe(1);
    const warned = () => k.logs.lines.filter((l) => String(l.msg).startsWith("native-token price feed is stale"));
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toMatchObject({ level: "warn", keptUsd: "3,400.00", maxAgeSeconds: 60 });

    // A fresh answer is taken again; a zero answer is invalid and keeps it.
    await publish(3_500n);
    await k.keeper.onHead(await headOf(chain));
    expect(k.keeper.nativeUsd).toBe(3_500n * WAD);
    expect(await gauge(k.metrics, "keeper_native_price_stale")).toBe(0);
    expect(k.logs.messages()).toContain("native-token price feed is fresh again");
    await publish(0n);
    await k.keeper.onHead(await headOf(chain));
    expect(k.keeper.nativeUsd).toBe(3_500n * WAD);
    expect(await gauge(k.metrics, "keeper_native_price_stale")).toBe(1);
    expect(warned()).toHaveLength(2);
    await k.keeper.stop(1_000);
  });

  test("precedence: a fixed price, then the settings' feed, then the deployment's; none stops the keeper", async ({ world, chain }) => {
    const other: Address = await deployFeed(chain, 8, 1_234n * WAD, "ETH / USD (settings)");
    const fixed = world.keeper(KEEPER, { nativeUsd: 2_000n * WAD, nativeTokenPriceFeed: other });
    await fixed.keeper.start();
    expect(fixed.keeper.nativeUsd).toBe(2_000n * WAD);
    await fixed.keeper.stop(1_000);

    const named = world.keeper(KEEPER, { nativeTokenPriceFeed: other });
    await named.keeper.start();
    expect(named.keeper.nativeUsd).toBe(1_234n * WAD);
    await named.keeper.stop(1_000);

    const settings = loadKeeperSettings();
    expect(settings.nativeUsd).toBeUndefined();
    expect(nativePriceSourceOf(settings, world.deployment)).toMatchObject({ kind: "feed", feed: world.deployment.nativeUsdFeed, from: "deployment" });
    expect(nativePriceSourceOf(loadKeeperSettings({ nativeTokenPriceUsd: "2,500" }), world.deployment)).toEqual({ kind: "fixed", usd: 2_500n * WAD });
    const { nativeUsdFeed: _, ...bare } = world.deployment;
    const build = () =>
      createKeeper({ protocol: referenceMarket(bare.contracts.market), ...signer(chain, KEEPER), deployment: bare, settings, logger: silentLogger(), metrics: createMetrics(), checkpoint: false });
    expect(build).toThrow(NativePriceMissingError);
  });

  test("a feed that is not a feed stops the start with one clear line", async ({ world }) => {
    const eoa = world.keeper(KEEPER, { nativeTokenPriceFeed: world.deployment.deployer });
    await expect(eoa.keeper.start()).rejects.toThrow(/^native-token price feed 0x[0-9a-fA-F]{40}: cannot be read \(not a Chainlink feed on this chain\?\)$/);
    // A contract with decimals() but no latestRoundData(): the collateral token.
    const token = world.keeper(KEEPER, { nativeTokenPriceFeed: world.deployment.contracts.token });
    await expect(token.keeper.start()).rejects.toThrow(/^native-token price feed 0x[0-9a-fA-F]{40}: has no valid answer yet$/);
  });
});
