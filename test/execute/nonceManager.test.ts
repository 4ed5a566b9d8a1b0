import { parseGwei } from "viem";
import { afterEach, describe, expect, it } from "vitest";
import { NonceManager, NonceManagerNotReadyError } from "../../src/execute/nonceManager.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { getTestChain, withSnapshot } from "../support/anvil.ts";

const KEY = 8;

withSnapshot();
afterEach(async () => {
  const { testClient } = await getTestChain();
  await testClient.request({ method: "anvil_dropAllTransactions" } as never);
  await testClient.setAutomine(true);
});

async function manager() {
  const chain = await getTestChain();
  const wallet = chain.wallet(KEY);
  const nonces = new NonceManager({ publicClient: chain.publicClient, address: wallet.account.address, logger: silentLogger() });
  return { chain, wallet, nonces };
}

describe("NonceManager", () => {
  it("starts from the pending count, hands out consecutive nonces, and takes back a failed one", async () => {
    const { chain, wallet, nonces } = await manager();
    expect(() => nonces.next()).toThrow(NonceManagerNotReadyError);
    const start = await chain.publicClient.getTransactionCount({ address: wallet.account.address, blockTag: "pending" });
    await nonces.init();
    await nonces.init(); // idempotent
    expect(nonces.next()).toBe(start);
    nonces.confirm(start);
    const n1 = nonces.next();
    expect(n1).toBe(start + 1);
    nonces.release(n1);
    expect(nonces.next()).toBe(start + 1);
    expect(nonces.highestConfirmed).toBe(start);
  });

  it("survives a restart: a new manager continues after our transactions still in the pool", async () => {
    const { chain, wallet, nonces } = await manager();
    await chain.testClient.setAutomine(false);
    await nonces.init();
    const n = nonces.next();
    const fees = { maxFeePerGas: parseGwei("10"), maxPriorityFeePerGas: 1n };
    await wallet.sendTransaction({ to: wallet.account.address, value: 0n, nonce: n, ...fees });
    nonces.confirm(n);
    const restarted = new NonceManager({ publicClient: chain.publicClient, address: wallet.account.address, logger: silentLogger() });
    await restarted.init();
    expect(restarted.next()).toBe(n + 1);
  });

  it("never goes below our own transactions in flight: a node blind to them (a private relay) cannot make it reuse a nonce", async () => {
    const { chain, wallet } = await manager();
    const chainCount = await chain.publicClient.getTransactionCount({ address: wallet.account.address, blockTag: "pending" });
    // Three of ours in flight at chainCount..chainCount+2, sent through a relay the node never saw.
    const inFlight = new Set([chainCount, chainCount + 1, chainCount + 2]);
    const floor = () => Math.max(0, ...[...inFlight].map((n) => n + 1));
    const nonces = new NonceManager({ publicClient: chain.publicClient, address: wallet.account.address, logger: silentLogger(), floor });
    await nonces.init();
    expect(nonces.peek()).toBe(chainCount + 3);
    expect(await nonces.exclusive(() => nonces.resync("nonce too low"))).toBe(chainCount + 3);
    // Once they are settled, the node's count rules again.
    inFlight.clear();
    expect(await nonces.exclusive(() => nonces.resync("test"))).toBe(chainCount);
  });

  it("resync() follows another process that used the key", async () => {
    const { chain, wallet, nonces } = await manager();
    await nonces.init();
    const n = nonces.peek();
    const hash = await wallet.sendTransaction({ to: wallet.account.address, value: 0n });
    await chain.publicClient.waitForTransactionReceipt({ hash });
    expect(nonces.peek()).toBe(n);
    expect(await nonces.exclusive(() => nonces.resync("test"))).toBe(n + 1);
    expect(nonces.next()).toBe(n + 1);
  });

  it("exclusive() runs sections one at a time, in order, even when one throws", async () => {
    const { nonces } = await manager();
    const order: string[] = [];
    const slow = nonces.exclusive(async () => {
      order.push("a:start");
      await new Promise((r) => setTimeout(r, 30));
      order.push("a:end");
      throw new Error("boom");
    });
    const fast = nonces.exclusive(async () => {
      order.push("b");
      return 2;
    });
    await expect(slow).rejects.toThrow("boom");
    expect(await fast).toBe(2);
    expect(order).toEqual(["a:start", "a:end", "b"]);
  });
});
