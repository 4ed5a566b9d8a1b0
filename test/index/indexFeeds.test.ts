/**
 * A market whose mark is the median of three feeds (docs/reference-market.md "Index mark price"),
 * deployed as `deploy` deploys it, followed by the indexer: at every step the index names the same
 * feeds, minSources and guard as the contract, and its mark (src/engine/indexPrice.ts) is the
 * contract's markPrice, or both refuse for the same reason (a stale majority, a spread beyond the guard).
 */
import { BaseError, ContractFunctionRevertedError, type Address } from "viem";
import { expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { publishPrice } from "../../src/chain/prices.ts";
import { loadMarkets } from "../../src/config/presets.ts";
import { Indexer } from "../../src/index/indexer.ts";
import { priceStatus } from "../../src/protocols/reference/index.ts";
import { headOf } from "../support/blocks.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { signer } from "../support/market.ts";
import { indexerInputs } from "./history.ts";

const WAD = 10n ** 18n;
const BTC = 0;
const btc = loadMarkets().find((m) => m.symbol === "BTC")!;
// Three BTC venues; two fresh ones suffice; more than 2% apart refuses.
test.override({ deploy: { blockTime: 1, markets: [{ ...btc, maxStaleness: 60n, index: { feeds: 3, minSources: 2, maxDeviationPpm: 20_000n } }] } });

const feedsOf = (w: World): Address[] => w.deployment.markets[0]!.feeds!;
const publish = (w: World, i: number, price: bigint) => publishPrice(signer(w.chain), feedsOf(w)[i]!, price, btc.feedDecimals);

/** The next block comes `seconds` after the latest (the file's fixed block interval otherwise). */
async function advance(w: World, seconds: bigint): Promise<void> {
  const latest = await w.chain.publicClient.getBlock();
  await w.chain.testClient.setNextBlockTimestamp({ timestamp: latest.timestamp + seconds });
}

/** The contract's mark, or the name of the error it refuses with. */
async function contractMark(w: World): Promise<bigint | string> {
  try {
    return await w.chain.publicClient.readContract({ address: w.deployment.contracts.market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(BTC)] });
  } catch (e) {
    const r = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
    if (r instanceof ContractFunctionRevertedError) return r.data?.errorName ?? "reverted";
    throw e;
  }
}

it("follows every feed of the index: the median, a stale venue left out, too few fresh, a spread beyond the guard", async ({ world: w }) => {
  expect(feedsOf(w)).toHaveLength(3);
  const ix = new Indexer(indexerInputs(w));
  await ix.backfill();
  await expectIndexMatchesChain(w, ix);
  const m = ix.state.markets.get(BTC)!;
  expect({ feeds: m.feeds, minSources: m.minSources, maxDeviationPpm: m.maxDeviationPpm }).toEqual({ feeds: feedsOf(w), minSources: 2, maxDeviationPpm: 20_000n });

  const step = async (expected: bigint | string) => {
    const head = await headOf(w.chain);
    await ix.syncTo(head);
    await expectIndexMatchesChain(w, ix);
    expect(await contractMark(w)).toBe(expected);
    const mark = ix.state.mark(BTC, head.timestamp)!;
    if (typeof expected === "bigint") expect(mark).toEqual({ ok: true, price: expected });
    else expect(mark.ok ? "ok" : mark.why).toBe(expected === "PriceDeviation" ? "deviation" : "stale");
  };

  // One venue wicks 1.5% down: the median is the middle venue.
  await publish(w, 0, 59_100n * WAD);
  await publish(w, 1, 60_050n * WAD);
  await step(60_000n * WAD);
  // Venue 3 goes quiet past maxStaleness: the mean of the two fresh ones.
  await publish(w, 0, 59_400n * WAD);
  await advance(w, 30n);
  await publish(w, 1, 60_000n * WAD);
  await advance(w, 40n);
  await publish(w, 0, 59_401n * WAD);
  await step((59_401n * WAD + 60_000n * WAD) / 2n);
  // Only one fresh venue: fewer than minSources.
  await advance(w, 50n);
  await publish(w, 0, 59_500n * WAD);
  await step("TooFewFreshFeeds");
  // Two fresh venues 3% apart: beyond the 2% guard.
  await publish(w, 2, 61_300n * WAD);
  await step("PriceDeviation");
  expect(priceStatus(ix.state, BTC, (await headOf(w.chain)).timestamp)).toBe("deviation");
  // Back within the guard.
  await publish(w, 2, 60_500n * WAD);
  await step(60_000n * WAD);
});
