// The header bloom test the indexer and the native-price reader skip reads on: checked against
// blocks Anvil builds (its blooms are the node's, not ours), so a wrong bit order cannot pass.
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { describe, expect } from "vitest";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { bloomMayContainAny } from "../../src/chain/bloom.ts";
import { deployChainlinkFeed } from "../../src/chain/chainlinkDeploy.ts";
import { mined } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";
import { signer } from "../support/market.ts";

describe("bloomMayContainAny", () => {
  test("a block's bloom holds the emitter of each of its logs; an empty block's holds nothing; random addresses are (almost all) out", async ({ chain }) => {
    const c = signer(chain);
    const feed = await deployChainlinkFeed(c, { decimals: 8, description: "ETH / USD", answer: 3000_00000000n });
    const hash = await chain.wallet(3).writeContract({ address: feed.aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [2900_00000000n] });
    const minedAt = await mined(chain, hash);
    const block = await chain.publicClient.getBlock({ blockNumber: minedAt });
    expect(bloomMayContainAny(block.logsBloom, [feed.aggregator])).toBe(true);
    // The proxy emitted nothing in that block: the filter has room for 3 bits of each item only.
    const others = Array.from({ length: 200 }, () => privateKeyToAccount(generatePrivateKey()).address);
    const falsePositives = others.filter((a) => bloomMayContainAny(block.logsBloom, [a])).length;
    expect(falsePositives).toBeLessThan(5);
    expect(bloomMayContainAny(block.logsBloom, [...others.slice(0, 3), feed.aggregator])).toBe(true);

    await chain.testClient.mine({ blocks: 1 });
    const empty = await chain.publicClient.getBlock({ blockTag: "latest" });
    expect(bloomMayContainAny(empty.logsBloom, [feed.aggregator, feed.proxy])).toBe(false);
  });

  test("a missing or malformed bloom answers true: the caller reads the logs", () => {
    const a = privateKeyToAccount(generatePrivateKey()).address;
    expect(bloomMayContainAny(undefined, [a])).toBe(true);
    expect(bloomMayContainAny(null, [a])).toBe(true);
    expect(bloomMayContainAny("0x1234", [a])).toBe(true);
    expect(bloomMayContainAny(`0x${"00".repeat(256)}`, [a])).toBe(false);
    expect(bloomMayContainAny(`0x${"ff".repeat(256)}`, [a])).toBe(true);
  });
});
