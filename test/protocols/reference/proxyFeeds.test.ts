// The reducer on Chainlink proxy feeds, by hand-made logs: prices from the proxy's current
// aggregator with the proxy's phase-encoded round id, a switch (AggregatorConfirmed), the old
// aggregator ignored after it, the switch undone by a rollback, and the state's JSON.
import { getAddress, type Address } from "viem";
import { describe, expect, it } from "vitest";
import type { IndexEvent, IndexLog } from "../../../src/protocols/reference/events.ts";
import { proxyRoundId } from "../../../src/protocols/reference/feeds.ts";
import { IndexState, UnknownFeedError, type FeedSnapshot } from "../../../src/protocols/reference/state.ts";
import { addMarket, answer, block, FEED_A as PROXY, FEED_B as PROXY_2 } from "../../index/logs.ts";

const T0 = 1_700_000_000n;
const AGG_1: Address = getAddress("0x1111111111111111111111111111111111111111");
const AGG_2: Address = getAddress("0x2222222222222222222222222222222222222222");
const PHASE = 2n ** 64n;

const seed = (aggregator: Address, phaseId: number, answer: bigint, aggregatorRound: bigint): FeedSnapshot => ({
  decimals: 8,
  round: { answer, updatedAt: T0, roundId: proxyRoundId(phaseId, aggregatorRound) },
  proxy: { aggregator, phaseId },
});

const confirmed = (proxy: Address, previous: Address, latest: Address): IndexEvent & { address: Address } => ({
  eventName: "AggregatorConfirmed",
  address: proxy,
  args: { previous, latest },
});

/** Apply a block: each log gets the seed `seeds` holds for the source it introduces. */
function applyBlock(s: IndexState, logs: IndexLog[], seeds: Record<Address, FeedSnapshot> = {}) {
  for (const log of logs) {
    s.apply(log, T0 + log.blockNumber, new Map(s.newFeedsOf(log).flatMap((f) => (seeds[f] ? [[f, seeds[f]] as const] : []))));
  }
  s.advanceTo(logs[0]!.blockNumber);
}

/** Market 0 on PROXY (aggregator AGG_1, phase 1, round 1 at 3,000), at block 10. */
function withProxyMarket(): IndexState {
  const s = new IndexState({ startBlock: 10n });
  applyBlock(s, block(10n, addMarket(0n, PROXY)), { [PROXY]: seed(AGG_1, 1, 3_000n, 1n) });
  return s;
}

describe("IndexState on Chainlink proxies", () => {
  it("follows AnswerUpdated of the proxy's aggregator, with the round id as the proxy reports it", () => {
    const s = withProxyMarket();
    expect(s.sourceAddresses().sort()).toEqual([PROXY, AGG_1].sort());
    applyBlock(s, block(11n, [answer(AGG_1, 2_900n, 2n, T0 + 11n), answer(PROXY, 1n, 9n, T0)]));
    expect(s.price(0)).toMatchObject({ answer: 2_900n, updatedAt: T0 + 11n, roundId: PHASE + 2n });
  });

  it("a switch moves prices to the new aggregator; the old one is ignored; a rollback undoes it exactly", () => {
    const s = withProxyMarket();
    applyBlock(s, block(11n, [answer(AGG_1, 2_900n, 2n, T0 + 11n)]));
    const before = s.toJSON();
    // UnknownFeedError without the seed read through the proxy at the switch.
    expect(() => s.apply(block(12n, [confirmed(PROXY, AGG_1, AGG_2)])[0]!)).toThrow(UnknownFeedError);
    applyBlock(s, block(12n, [confirmed(PROXY, AGG_1, AGG_2)]), { [AGG_2]: seed(AGG_2, 2, 2_500n, 1n) });
    expect(s.feeds.get(PROXY)?.proxy).toEqual({ aggregator: AGG_2, phaseId: 2 });
    expect(s.sourceAddresses().sort()).toEqual([PROXY, AGG_2].sort());
    expect(s.price(0)).toMatchObject({ answer: 2_500n, roundId: 2n * PHASE + 1n });
    expect(s.takeChanges().prices).toEqual(new Set([0]));

    applyBlock(s, block(13n, [answer(AGG_1, 1n, 3n, T0 + 13n), answer(AGG_2, 2_400n, 2n, T0 + 13n)]));
    expect(s.price(0)).toMatchObject({ answer: 2_400n, updatedAt: T0 + 13n, roundId: 2n * PHASE + 2n });

    s.rollbackTo(11n);
    expect(s.toJSON()).toEqual(before);
    expect(s.sourceAddresses().sort()).toEqual([PROXY, AGG_1].sort());
  });

  it("a switch to an aggregator another proxy follows needs no seed: its round, re-phased", () => {
    const s = withProxyMarket();
    applyBlock(s, block(11n, addMarket(1n, PROXY_2)), { [PROXY_2]: seed(AGG_2, 3, 70n, 5n) });
    expect(s.newFeedsOf(block(12n, [confirmed(PROXY, AGG_1, AGG_2)])[0]!)).toEqual([]);
    applyBlock(s, block(12n, [confirmed(PROXY, AGG_1, AGG_2)]));
    expect(s.feeds.get(PROXY)).toEqual({ decimals: 8, proxy: { aggregator: AGG_2, phaseId: 2 }, round: { answer: 70n, updatedAt: T0, roundId: 2n * PHASE + 5n } });
    applyBlock(s, block(13n, [answer(AGG_2, 71n, 6n, T0 + 13n)]));
    expect(s.price(0)).toMatchObject({ answer: 71n, roundId: 2n * PHASE + 6n });
    expect(s.price(1)).toMatchObject({ answer: 71n, roundId: 3n * PHASE + 6n });
  });

  it("ignores a switch of a proxy no market reads", () => {
    const s = withProxyMarket();
    applyBlock(s, block(11n, [confirmed(PROXY_2, AGG_1, AGG_2)]), { [AGG_2]: seed(AGG_2, 2, 1n, 1n) });
    expect(s.feeds.has(PROXY_2)).toBe(false);
    expect(s.feeds.get(PROXY)?.proxy).toEqual({ aggregator: AGG_1, phaseId: 1 });
  });

  it("round-trips proxies through the checkpoint JSON", () => {
    const s = withProxyMarket();
    applyBlock(s, block(11n, [confirmed(PROXY, AGG_1, AGG_2)]), { [AGG_2]: seed(AGG_2, 2, 2_500n, 1n) });
    const text = JSON.stringify(s.toJSON());
    const restored = IndexState.fromJSON(JSON.parse(text));
    expect(restored.toJSON()).toEqual(s.toJSON());
    expect(restored.feeds.get(PROXY)).toEqual(s.feeds.get(PROXY));
    restored.rollbackTo(10n);
    expect(restored.feeds.get(PROXY)?.proxy).toEqual({ aggregator: AGG_1, phaseId: 1 });
  });
});
