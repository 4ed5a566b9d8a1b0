/**
 * The keeper across a Chainlink aggregator switch, end to end on Anvil: the owner installs a new
 * aggregator behind a market's proxy in the middle of a run; a crash on the OLD aggregator moves
 * neither the market nor the keeper; the crash on the NEW one does, and the keeper liquidates.
 */
import { getAddress } from "viem";
import { describe, expect } from "vitest";
import { feedAnswer } from "../../src/chain/prices.ts";
import { parseWad } from "../../src/lib/units.ts";
import { headOf } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { runUntilSettled } from "../support/keepers.ts";
import { SMALLCAP, liquidatableTraders, liquidations, openLong } from "../support/market.ts";
import { publishOnOldAggregator } from "../support/prices.ts";

test.override({ deploy: { blockTime: 1 } });

describe("keeper across an aggregator switch", () => {
  test("follows the new aggregator, ignores the old one, and liquidates after a crash on the new one", { timeout: 60_000 }, async ({ world }) => {
    // 300 USDC behind 8,000 SMALLCAP at 0.5: liquidatable below ~0.4724.
    const victim = await openLong(world, 6);
    const k = world.keeper(3, { nativeUsd: parseWad("3000") });
    await k.keeper.start();
    const step = async () => k.keeper.onHead(await headOf(world.chain));
    await step();
    const from = (await headOf(world.chain)).number;
    const decimals = (await world.prices.feed(SMALLCAP)).decimals;

    const s = await world.prices.switchAggregator(SMALLCAP, parseWad("0.5"));
    await step();
    expect(k.keeper.index.state.feeds.get((await world.prices.feed(SMALLCAP)).feed)?.proxy).toEqual({ aggregator: s.aggregator, phaseId: 2 });

    // The old aggregator crashes: the market reads the new one, and so does the keeper.
    await publishOnOldAggregator(world, SMALLCAP, parseWad("0.3"));
    await step();
    expect(await liquidatableTraders({ ...world, traders: [victim] })).toEqual([]);
    expect(k.keeper.index.state.price(SMALLCAP)?.answer).toBe(feedAnswer(parseWad("0.5"), decimals));
    expect(k.keeper.executor.stats().sent).toBe(0);

    // The new aggregator crashes.
    await world.prices.set(SMALLCAP, parseWad("0.47"));
    expect(await liquidatableTraders({ ...world, traders: [victim] })).toEqual([victim]);
    await runUntilSettled(world, [k.keeper]);
    const events = await liquidations(world, from, victim);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.keeper === getAddress(k.address))).toBe(true);
    expect(await liquidatableTraders({ ...world, traders: [victim] })).toEqual([]);
    expect(k.keeper.executor.stats().reverted).toBe(0);
    await expectIndexMatchesChain(world, k.keeper.index);
    await k.keeper.stop(1_000);
  });
});
