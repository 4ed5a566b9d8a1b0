/**
 * Readiness and liveness of a real keeper on Anvil (the reference market, traders with positions in
 * SMALLCAP), on a clock the test moves: a quiet chain is alive and ready until staleHeadSeconds, then
 * not ready (stale_head) and still alive; the head is known from the start (never null once started);
 * a market whose feed goes stale makes it not ready (unpriced_market, naming it) and the unpriced
 * gauges count its accounts; a wallet under --min-balance makes it not ready (low_balance).
 */
import { parseEther, parseGwei, type Address } from "viem";
import { describe, expect } from "vitest";
import { loadKeeperSettings, type KeeperSettings } from "../../src/config/keeper.ts";
import { createKeeper, type CreateKeeperInputs } from "../../src/keeper/createKeeper.ts";
import type { ProbeAnswer } from "../../src/keeper/readiness.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { referenceMarket, type IndexLog, type IndexState } from "../../src/protocols/reference/index.ts";
import { headOf } from "../support/blocks.ts";
import { counterValue } from "../support/executor.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { BTC, ETH, KEEPER, SMALLCAP as SMALL, openLong, signer, trader } from "../support/market.ts";

test.override({ preset: "reference" });

let longs: Address[] = [];
test.beforeAll(async ({ world: w }) => {
  longs = [await openLong(w, 1), await openLong(w, 2)];
});

/** A keeper of the world's market on a wall clock the test sets (ms). */
function keeperAt(w: World, clock: { ms: number }, opts: { wallet?: CreateKeeperInputs<IndexState, IndexLog>["wallet"]; settings?: Partial<KeeperSettings> } = {}) {
  const settings: KeeperSettings = { ...loadKeeperSettings({ minProfitUsd: "0", nativeTokenPriceUsd: "3000" }), ...opts.settings };
  const metrics: Metrics = createMetrics();
  const keeper = createKeeper({
    protocol: referenceMarket(w.deployment.contracts.market),
    ...signer(w.chain, KEEPER),
    deployment: w.deployment,
    settings,
    logger: silentLogger(),
    metrics,
    checkpoint: false,
    now: () => clock.ms,
    ...(opts.wallet ? { wallet: opts.wallet } : {}),
  });
  return { keeper, metrics, settings };
}

const codes = (a: ProbeAnswer) => ((a.body.reasons ?? []) as { code: string }[]).map((r) => r.code);

describe("a quiet chain", () => {
  it("is alive, and ready until staleHeadSeconds without a new head; then not ready (stale_head), still alive", async ({ world: w }) => {
    const clock = { ms: 1_000_000 };
    const { keeper, metrics, settings } = keeperAt(w, clock);
    const before = keeper.readiness();
    expect(before.ok).toBe(false);
    expect(codes(before)).toEqual(["starting"]);
    expect(before.body.backfill).toBeDefined();
    expect(keeper.liveness().ok).toBe(true);

    await keeper.start();
    const head = await headOf(w.chain);
    const ready = keeper.readiness();
    expect(ready.ok).toBe(true);
    expect(ready.body.head).toBe(head.number.toString()); // not null: the start's head
    expect(await counterValue(metrics.headBlock)).toBe(Number(head.number));
    expect(await counterValue(metrics.ready)).toBe(1);

    // No block comes. Past stallSeconds (30 s) the keeper is alive and still ready.
    clock.ms += (settings.stallSeconds + 1) * 1000;
    expect(keeper.liveness().ok).toBe(true);
    clock.ms = 1_000_000 + settings.staleHeadSeconds * 1000;
    expect(keeper.readiness().ok).toBe(true);
    // Past staleHeadSeconds: not ready, with the reason; alive.
    clock.ms += 1_000;
    const stale = keeper.readiness();
    expect(stale.ok).toBe(false);
    expect(codes(stale)).toEqual(["stale_head"]);
    expect(await counterValue(metrics.notReady, { reason: "stale_head" })).toBe(1);
    expect(await counterValue(metrics.ready)).toBe(0);
    expect(keeper.liveness().ok).toBe(true);

    // A new head: ready again.
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await headOf(w.chain));
    expect(keeper.readiness().ok).toBe(true);
    expect(await counterValue(metrics.notReady, { reason: "stale_head" })).toBe(0);

    await keeper.stop(0);
    expect(keeper.liveness().ok).toBe(false);
    expect(codes(keeper.readiness())).toContain("stopped");
  });
});

describe("unpriced markets are never silent", () => {
  it("a feed gone stale: not ready with unpriced_market naming the market; the gauges count its accounts", async ({ world: w }) => {
    const clock = { ms: 1_000_000 };
    const { keeper, metrics } = keeperAt(w, clock);
    await keeper.start();
    expect(keeper.readiness().ok).toBe(true);
    expect(await counterValue(metrics.unpricedAccounts)).toBe(0);

    // SMALLCAP's feed answers with a price two hours old (maxStaleness is 1 h); BTC and ETH stay fresh.
    const head = await headOf(w.chain);
    const marks = await w.prices.marks();
    await w.prices.inOneBlock(new Map([[SMALL, marks.get(SMALL)!], [BTC, marks.get(BTC)!], [ETH, marks.get(ETH)!]]), { updatedAt: new Map([[SMALL, head.timestamp - 7_200n]]) });
    clock.ms += 1_000;
    await keeper.onHead(await headOf(w.chain));

    const r = keeper.readiness();
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(["unpriced_market"]);
    const reason = (r.body.reasons as { code: string; markets?: number[]; message: string }[])[0]!;
    expect(reason.markets).toEqual([SMALL]);
    expect(reason.message).toMatch(new RegExp(`market ${SMALL} \\(stale, ${longs.length} accounts\\)`));
    expect(await counterValue(metrics.unpricedAccounts)).toBe(longs.length);
    expect(await counterValue(metrics.unpricedMarkets, { market: String(SMALL) })).toBe(1);
    expect(await counterValue(metrics.unpricedMarkets, { market: String(BTC) })).toBe(0);
    expect(await counterValue(metrics.notReady, { reason: "unpriced_market" })).toBe(1);

    // A fresh price: ready again, the gauges back to 0.
    await w.prices.set(SMALL, marks.get(SMALL)!);
    clock.ms += 1_000;
    await keeper.onHead(await headOf(w.chain));
    expect(keeper.readiness().ok).toBe(true);
    expect(await counterValue(metrics.unpricedAccounts)).toBe(0);
    expect(await counterValue(metrics.unpricedMarkets, { market: String(SMALL) })).toBe(0);
    await keeper.stop(0);
  });
});

describe("--min-balance", () => {
  it("under the floor: not ready (low_balance), the balance gauge shows it; funded again: ready", async ({ world: w }) => {
    const clock = { ms: 1_000_000 };
    const address = trader(KEEPER);
    const balance = await w.chain.publicClient.getBalance({ address });
    const { keeper, metrics } = keeperAt(w, clock, { wallet: { minBalanceWei: parseEther("1"), balanceEveryBlocks: 1 } });
    await keeper.start();
    await keeper.walletChecked();
    expect(keeper.readiness().ok).toBe(true);
    expect(await counterValue(metrics.walletBalanceWei)).toBe(Number(balance));

    await w.chain.testClient.setBalance({ address, value: parseGwei("1000") });
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await headOf(w.chain));
    await keeper.walletChecked();
    const low = keeper.readiness();
    expect(codes(low)).toEqual(["low_balance"]);
    expect(low.body.walletBalanceWei).toBe(parseGwei("1000").toString());
    expect(await counterValue(metrics.walletBalanceWei)).toBe(Number(parseGwei("1000")));
    expect(await counterValue(metrics.notReady, { reason: "low_balance" })).toBe(1);

    await w.chain.testClient.setBalance({ address, value: balance });
    await w.chain.testClient.mine({ blocks: 1 });
    await keeper.onHead(await headOf(w.chain));
    await keeper.walletChecked();
    expect(keeper.readiness().ok).toBe(true);
    await keeper.stop(0);
  });
});
