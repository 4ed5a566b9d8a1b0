/**
 * Issue 14, transports: head-lag demotion, several read endpoints (the first dead), send relays
 * (reads never reach them; all down: the send fails, or falls back with the flag), and newHeads
 * over a WebSocket that drops.
 */
import { parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterEach, describe, expect } from "vitest";
import { connect, type Connection } from "../../src/chain/clients.ts";
import { HeadLag } from "../../src/chain/transports/fallback.ts";
import type { BlockHead } from "../../src/chain/heads.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { ANVIL_DEV_PRIVATE_KEYS, waitFor } from "../support/anvil.ts";
import { test } from "../support/fixtures.ts";
import { startRecordingProxy, startWsProxy, type RecordingProxy, type WsProxy } from "../faults/transports.ts";

const account = privateKeyToAccount(ANVIL_DEV_PRIVATE_KEYS[6]);
const open: (RecordingProxy | WsProxy | Connection)[] = [];
const track = <T extends RecordingProxy | WsProxy | Connection>(x: T): T => (open.push(x), x);
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

const gauge = async (m: ReturnType<typeof createMetrics>, name: "rpcEndpointHeadLag" | "rpcEndpointDemoted", endpoint: string) =>
  (await m[name].get()).values.find((v) => v.labels.endpoint === endpoint)?.value;

describe("head lag", () => {
  test("an endpoint more than maxHeadLag behind the best is demoted, and promoted when it catches up", async () => {
    const metrics = createMetrics();
    const lag = new HeadLag({ ids: ["rpc0", "rpc1"], maxHeadLag: 3, metrics, logger: silentLogger() });
    lag.record("rpc0", 100n);
    lag.record("rpc1", 103n);
    expect(lag.demoted("rpc0")).toBe(false); // 3 behind: within the bound
    lag.record("rpc1", 104n);
    expect(lag.demoted("rpc0")).toBe(true);
    expect(lag.lagOf("rpc0")).toBe(4n);
    expect(await gauge(metrics, "rpcEndpointHeadLag", "rpc0")).toBe(4);
    expect(await gauge(metrics, "rpcEndpointDemoted", "rpc0")).toBe(1);
    lag.record("rpc0", 104n);
    expect(lag.demoted("rpc0")).toBe(false);
    expect(await gauge(metrics, "rpcEndpointDemoted", "rpc0")).toBe(0);
  });

  test("a leader that stops answering is forgotten: it cannot demote the live endpoints behind it", () => {
    const lag = new HeadLag({ ids: ["rpc0", "rpc1"], maxHeadLag: 3 });
    lag.record("rpc0", 200n);
    lag.record("rpc1", 190n);
    expect(lag.demoted("rpc1")).toBe(true);
    lag.forget("rpc0");
    expect(lag.demoted("rpc1")).toBe(false);
    expect(lag.lagOf("rpc0")).toBeUndefined();
  });
});

describe("several read endpoints", () => {
  test("the first dead: reads go to the next, counted per endpoint", async ({ chain }) => {
    const dead = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const live = track(await startRecordingProxy(chain.anvil.rpcUrl));
    dead.setDown(true);
    const metrics = createMetrics();
    const c = track(await connect([dead.url, live.url], account, { metrics, timeoutMs: 2_000 }));
    expect(await c.publicClient.getBlockNumber()).toBe(await chain.publicClient.getBlockNumber());
    expect(dead.refused).toBeGreaterThan(0);
    expect(live.methods).toContain("eth_blockNumber");
    const perEndpoint = (await metrics.rpcEndpointRequests.get()).values.filter((v) => v.labels.method === "eth_blockNumber");
    expect(perEndpoint.map((v) => v.labels.endpoint).sort()).toEqual(["rpc0", "rpc1"]);
  });

  test("a lagging endpoint takes no reads once sampled", async ({ chain }) => {
    const a = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const b = track(await startRecordingProxy(chain.anvil.rpcUrl));
    // No signal: no sampler, so the heads recorded here are the only ones.
    const c = track(await connect([a.url, b.url], account, { timeoutMs: 2_000, maxHeadLag: 3 }));
    // rpc0 answered an old head: the sampler's record, as a lagging node gives it.
    const head = await chain.publicClient.getBlockNumber();
    c.lag!.record("rpc1", head + 10n);
    c.lag!.record("rpc0", head);
    const before = a.methods.length;
    await c.publicClient.getBalance({ address: account.address });
    expect(a.methods.slice(before)).not.toContain("eth_getBalance");
    expect(b.methods).toContain("eth_getBalance");
  });
});

describe("send relays", () => {
  const send = (c: Connection) => c.walletClient.sendTransaction({ to: account.address, value: parseEther("0.001") });

  test("eth_sendRawTransaction goes to every relay and nowhere else; reads never reach a relay", async ({ chain }) => {
    const read = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const r0 = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const r1 = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const c = track(await connect(read.url, account, { sendUrls: [r0.url, r1.url], timeoutMs: 2_000 }));
    const hash = await send(c);
    expect((await chain.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(r0.methods).toEqual(["eth_sendRawTransaction"]);
    expect(r1.methods).toEqual(["eth_sendRawTransaction"]);
    expect(read.methods).not.toContain("eth_sendRawTransaction");
    expect(read.methods.length).toBeGreaterThan(0);
  });

  test("every relay down: the send fails and each relay is counted; nothing reaches the read endpoint", async ({ chain }) => {
    const read = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const relay = track(await startRecordingProxy(chain.anvil.rpcUrl));
    relay.setDown(true);
    const metrics = createMetrics();
    const c = track(await connect(read.url, account, { sendUrls: [relay.url], timeoutMs: 2_000, metrics, logger: silentLogger() }));
    await expect(send(c)).rejects.toThrow();
    expect(read.methods).not.toContain("eth_sendRawTransaction");
    expect((await metrics.sendRelayFailures.get()).values.find((v) => v.labels.endpoint === "send0")?.value).toBeGreaterThan(0);
  });

  test("every relay down, with the public fallback: the read endpoint sends it", async ({ chain }) => {
    const read = track(await startRecordingProxy(chain.anvil.rpcUrl));
    const relay = track(await startRecordingProxy(chain.anvil.rpcUrl));
    relay.setDown(true);
    const metrics = createMetrics();
    const c = track(await connect(read.url, account, { sendUrls: [relay.url], sendFallbackPublic: true, timeoutMs: 2_000, metrics, logger: silentLogger() }));
    const hash = await send(c);
    expect((await chain.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(read.methods).toContain("eth_sendRawTransaction");
    expect((await metrics.sendPublicFallbacks.get()).values[0]?.value).toBe(1);
  });
});

describe("newHeads over a WebSocket", () => {
  test("heads are notified; a dropped socket is reported once, and a new subscription works", async ({ chain }) => {
    const ws = track(await startWsProxy(chain.anvil.wsUrl));
    const c = track(await connect(ws.url, account, { timeoutMs: 2_000 }));
    expect(c.newHeads?.endpoint.id).toBe("rpc0");
    const heads: BlockHead[] = [];
    const lost: unknown[] = [];
    const sub = await c.newHeads!.subscribe({ onHead: (h) => heads.push(h), onLost: (e) => lost.push(e) });
    await chain.testClient.mine({ blocks: 1 });
    const n = await chain.publicClient.getBlockNumber();
    await waitFor(() => heads.some((h) => h.number === n), { timeoutMs: 5_000, message: "a newHeads notification" });
    ws.dropAll();
    await waitFor(() => lost.length > 0, { timeoutMs: 5_000, message: "the loss reported" });
    await sub.close();
    const again = await c.newHeads!.subscribe({ onHead: (h) => heads.push(h), onLost: () => {} });
    await chain.testClient.mine({ blocks: 1 });
    await waitFor(() => heads.some((h) => h.number === n + 1n), { timeoutMs: 5_000, message: "a notification after resubscribing" });
    expect(lost).toHaveLength(1);
    expect(ws.connections).toBeGreaterThanOrEqual(2);
    // Requests over the socket work again too.
    expect(await c.publicClient.getBlockNumber()).toBe(n + 1n);
    await again.close();
  });
});
