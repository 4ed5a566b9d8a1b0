// Chainlink's proxy over an aggregator, on Anvil: reads through the proxy, prices published on the
// aggregator (with the events real aggregators emit), and the owner's aggregator switch.
import { getAbiItem, getAddress, parseEventLogs } from "viem";
import { describe, expect } from "vitest";
import { DataFeedsLegacyAggregatorProxy } from "../../abi/DataFeedsLegacyAggregatorProxy.ts";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { CHAINLINK_FEED_ABI } from "../../src/chain/chainlink.ts";
import { currentAggregator, deployChainlinkFeed, switchAggregator } from "../../src/chain/chainlinkDeploy.ts";
import { mined } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";
import { signer } from "../support/market.ts";

const PHASE = 2n ** 64n;

describe("deployChainlinkFeed", () => {
  test("reads go through the proxy; its aggregator emits AnswerUpdated; a switch starts phase 2", async ({ chain }) => {
    const c = signer(chain);
    const feed = await deployChainlinkFeed(c, { decimals: 8, description: "ETH / USD", answer: 3000_00000000n });
    const proxy = { address: feed.proxy, abi: DataFeedsLegacyAggregatorProxy.abi } as const;
    const read = chain.publicClient;
    expect(getAddress(await currentAggregator(c, feed.proxy))).toBe(getAddress(feed.aggregator));
    expect(await read.readContract({ ...proxy, functionName: "decimals" })).toBe(8);
    expect(await read.readContract({ ...proxy, functionName: "description" })).toBe("ETH / USD");
    expect(await read.readContract({ ...proxy, functionName: "phaseId" })).toBe(1);
    const [roundId, answer] = await read.readContract({ ...proxy, functionName: "latestRoundData" });
    expect([roundId, answer]).toEqual([PHASE + 1n, 3000_00000000n]);

    const hash = await chain.wallet(3).writeContract({ address: feed.aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [2900_00000000n] });
    await mined(chain, hash);
    const receipt = await read.getTransactionReceipt({ hash });
    const [updated] = parseEventLogs({ abi: CHAINLINK_FEED_ABI, logs: receipt.logs, eventName: "AnswerUpdated" });
    expect(updated?.args).toMatchObject({ current: 2900_00000000n, roundId: 2n });
    expect(getAddress(updated!.address)).toBe(getAddress(feed.aggregator));
    expect((await read.readContract({ ...proxy, functionName: "latestRoundData" }))[0]).toBe(PHASE + 2n);

    const s = await switchAggregator(c, feed.proxy, { answer: 2500_00000000n });
    expect(getAddress(s.previous)).toBe(getAddress(feed.aggregator));
    expect(getAddress(await currentAggregator(c, feed.proxy))).toBe(getAddress(s.aggregator));
    const confirmed = await read.getLogs({ address: feed.proxy, event: getAbiItem({ abi: CHAINLINK_FEED_ABI, name: "AggregatorConfirmed" }), fromBlock: s.block, toBlock: s.block });
    expect(confirmed.map((l) => [getAddress(l.args.previous!), getAddress(l.args.latest!)])).toEqual([[getAddress(feed.aggregator), getAddress(s.aggregator)]]);
    const after = await read.readContract({ ...proxy, functionName: "latestRoundData" });
    expect([after[0], after[1]]).toEqual([2n * PHASE + 1n, 2500_00000000n]);
    expect(await read.readContract({ ...proxy, functionName: "description" })).toBe("ETH / USD");
  });

  test("only the proxy's owner may switch its aggregator", async ({ chain }) => {
    const feed = await deployChainlinkFeed(signer(chain), { decimals: 8, description: "X / USD", answer: 1n });
    await expect(switchAggregator(signer(chain, 4), feed.proxy, { answer: 2n })).rejects.toThrow(/Only callable by owner/);
  });
});
