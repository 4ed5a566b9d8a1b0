/**
 * The bugs the fault matrix found, one test each, at the smallest scale that shows them (the real
 * keeper, heads handed to it one by one on the worker's Anvil; no proxy, no daemon):
 * - an older head (a lagging node behind a load balancer) was planned on as if it were new, and
 *   the plan went out unsimulated, repeating our own liquidations;
 * - after a reorg that dropped our mined transactions, the nonce counter stayed ahead of the chain:
 *   every later transaction waited behind a gap forever, and every target was missed;
 * - after a reorg that put our transactions back in the pool (geth re-injects them), their targets
 *   were liquidated a second time;
 * - the RPC URL's API key reached the logs inside viem's error messages.
 */
import { HttpRequestError, getAddress } from "viem";
import { describe, expect, it } from "vitest";
import { urlSecrets } from "../../src/chain/clients.ts";
import { scrubSecrets } from "../../src/lib/logger.ts";
import { waitFor } from "../support/anvil.ts";
import { anvilReorg, headOf, signedTransactions } from "../support/blocks.ts";
import { test, type World } from "../support/fixtures.ts";
import { runUntilSettled } from "../support/keepers.ts";
import { captureLogs } from "../support/logs.ts";
import { liquidatableTraders, liquidations } from "../support/market.ts";
import { TRADERS, duplicates, ourTransactions } from "./harness.ts";

// Every test starts from the seeded world (the test's snapshot).
test.override({ traderCount: TRADERS });
test.beforeAll(async ({ world }) => {
  expect(world.traders).toHaveLength(TRADERS);
}, 120_000);

describe("keeper under faults: regressions", () => {
  /** A keeper (backstop mode: every liquidatable account is a target) that sent its first wave at the shock. */
  async function firstWave(world: World) {
    const k = world.keeper(3, { backstopMode: true });
    await k.keeper.start();
    const before = await headOf(world.chain);
    const shockBlock = await world.prices.inOneBlock(await world.prices.shocked(-50));
    const shock = await headOf(world.chain);
    await k.keeper.onHead(shock);
    // Every item admitted at the shock is sent (and mined at once: automine).
    const sentItems = () => k.keeper.executor.inFlight().reduce((n, t) => n + t.items.length, 0);
    await waitFor(() => k.keeper.status.submitted > 0 && sentItems() === k.keeper.status.submitted, { timeoutMs: 20_000, message: "the first wave sent" });
    return { ...k, before, shock, shockBlock };
  }

  /** The first wave, and the keeper following the chain until its transactions are settled. */
  async function settledWave(world: World) {
    const k = await firstWave(world);
    // Block by block until nothing is queued or in flight: a tick may send further steps (one step
    // per account at a time, plans split to fit the budget), which the next heads settle.
    for (let i = 0; i < 4; i++) {
      await world.chain.testClient.mine({ blocks: 1 });
      await k.keeper.onHead(await headOf(world.chain));
    }
    await waitFor(
      async () => {
        await k.keeper.executor.idle();
        if (k.keeper.executor.inFlight().length === 0) return true;
        await world.chain.testClient.mine({ blocks: 1 });
        await k.keeper.onHead(await headOf(world.chain));
        return false;
      },
      { timeoutMs: 30_000, message: "the wave settled" },
    );
    return k;
  }

  async function expectNoDuplicates(world: World, k: { address: string }, fromBlock: bigint): Promise<void> {
    const ours = await ourTransactions(world, getAddress(k.address), fromBlock, await world.chain.publicClient.getBlockNumber());
    expect(ours.length).toBeGreaterThan(0);
    expect(duplicates(ours, await liquidations(world, fromBlock))).toEqual([]);
  }

  test("ignores an older head while its tip is canonical: no plan on it, no unsimulated repeat", { timeout: 120_000 }, async ({ world }) => {
    const k = await firstWave(world);
    const sent = k.keeper.executor.stats().sent;
    // Our transactions are mined in blocks the keeper has not seen; a lagging node alternates
    // with a fresh one and answers the block before the shock.
    const older = { ...k.before };
    await k.keeper.onHead(older);
    await k.keeper.onHead(k.shock);
    await k.keeper.onHead(older);
    await k.keeper.executor.drain(5_000);
    expect(k.keeper.executor.stats().sent).toBe(sent);
    await expectNoDuplicates(world, k, k.shockBlock);
  });

  test("a reorg drops our mined transactions: the targets are liquidated again, at nonces the chain accepts", { timeout: 120_000 }, async ({ world }) => {
    const k = await settledWave(world);
    const head = await world.chain.publicClient.getBlockNumber();
    await anvilReorg(world.chain, Number(head - k.shockBlock));
    expect((await liquidatableTraders(world)).length).toBeGreaterThan(0);
    await runUntilSettled(world, [k.keeper], 12);
    expect(await liquidatableTraders(world)).toEqual([]);
    expect(k.keeper.executor.inFlight()).toEqual([]);
    await expectNoDuplicates(world, k, k.shockBlock);
    await k.keeper.stop(1_000);
  });

  test("a reorg puts our transactions back in the pool: they are followed, their targets not liquidated twice", { timeout: 120_000 }, async ({ world }) => {
    const k = await settledWave(world);
    const testClient = world.chain.testClient;
    const head = await world.chain.publicClient.getBlockNumber();
    const raws = await signedTransactions(world.chain, k.address, k.shockBlock + 1n, head);
    const submitted = k.keeper.status.submitted;
    await testClient.setAutomine(false);
    try {
      await anvilReorg(world.chain, Number(head - k.shockBlock));
      for (const raw of raws) await world.chain.publicClient.sendRawTransaction({ serializedTransaction: raw });
      await k.keeper.onHead(await headOf(world.chain));
      // Followed again, and nothing new admitted for their targets.
      expect(k.keeper.executor.inFlight().map((t) => t.nonce)).toEqual(raws.map((_, i) => i));
      expect(k.keeper.status.submitted).toBe(submitted);
    } finally {
      await testClient.setAutomine(true);
    }
    await runUntilSettled(world, [k.keeper], 12);
    expect(await liquidatableTraders(world)).toEqual([]);
    await expectNoDuplicates(world, k, k.shockBlock);
    await k.keeper.stop(1_000);
  });
});

describe("the RPC URL's secrets never reach a log line", () => {
  it("urlSecrets names what redactUrl hides", () => {
    expect(urlSecrets("https://eth.example/v3/0123456789abcdefghijklmnop")).toEqual(["0123456789abcdefghijklmnop"]);
    expect(urlSecrets("http://alice:hunter2hunter2@127.0.0.1:8545/?key=k3y-value%2Bplus")).toEqual([
      "hunter2hunter2",
      "k3y-value+plus",
      "k3y-value%2Bplus",
    ]);
    // A key given as the user name alone; a short value is not scrubbed by value (it would mask words).
    expect(urlSecrets("https://APIKEY123456@rpc.example/?chain=1")).toEqual(["APIKEY123456"]);
    expect(urlSecrets("not a url")).toEqual([]);
  });

  it("a viem error quoting the URL is logged with the key masked; a private key is masked with or without 0x", () => {
    const url = "http://alice:hunter2hunter2@127.0.0.1:8545/?key=k3y-value-secret";
    const key = `0x${"ab".repeat(32)}`;
    const { logger: log, sink: { raw: lines } } = captureLogs({ secrets: [key, ...urlSecrets(url)] });
    log.warn({ err: new HttpRequestError({ url, status: 503, body: { method: "eth_getLogs" } }) }, "rpc request failed");
    log.info({ note: `raw ${key.slice(2).toUpperCase()}` }, "key without 0x");
    const out = lines.join("");
    expect(out).not.toContain("k3y-value-secret");
    expect(out).not.toContain("hunter2hunter2");
    expect(out.toLowerCase()).not.toContain("ab".repeat(32));
    expect(out).toContain("127.0.0.1:8545/?key=[redacted]");
    expect(scrubSecrets("tx 0x" + "cd".repeat(32), [key])).toBe("tx 0x" + "cd".repeat(32));
  });
});
