/**
 * The fault proxy itself, against a small fake upstream (no chain needed): forwarding of single
 * and batch requests, each fault kind, the bounds (count, window, methods), determinism from the
 * seed, credentials checked and stripped, and that viem and the indexer's classifier see each
 * injected fault as the transient failure it imitates.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { once } from "node:events";
import { createPublicClient, http } from "viem";
import { foundry } from "viem/chains";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { classifyRpcError } from "../../src/index/rpc.ts";
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from "../support/faultProxy.ts";

type Seen = { url: string; headers: IncomingHttpHeaders; body: unknown };
const seen: Seen[] = [];
let upstream: Server;
let target: string;
const HEAD = 100;

type Call = { id: unknown; method: string; params?: unknown[] };
function answer(c: Call): object {
  switch (c.method) {
    case "eth_blockNumber":
      return { jsonrpc: "2.0", id: c.id, result: `0x${HEAD.toString(16)}` };
    case "eth_chainId":
      return { jsonrpc: "2.0", id: c.id, result: "0x7a69" };
    case "eth_getBlockByNumber": {
      const tag = c.params?.[0];
      const n = tag === "latest" ? HEAD : Number(BigInt(String(tag)));
      return { jsonrpc: "2.0", id: c.id, result: { number: `0x${n.toString(16)}`, hash: `0x${n.toString(16).padStart(64, "0")}` } };
    }
    default:
      return { jsonrpc: "2.0", id: c.id, result: c.params ?? [] };
  }
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      const body = JSON.parse(raw) as Call | Call[];
      seen.push({ url: req.url ?? "", headers: req.headers, body });
      const out = Array.isArray(body) ? body.map(answer) : answer(body);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  const a = upstream.address();
  target = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/`;
});
afterAll(() => new Promise<void>((r) => upstream.close(() => r())));

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  seen.length = 0;
});

async function proxy(opts: Omit<FaultProxyOptions, "target"> = {}): Promise<FaultProxy> {
  const p = await startFaultProxy({ target, ...opts });
  proxies.push(p);
  return p;
}

let nextId = 1;
async function post(url: string, body: unknown, init: { headers?: Record<string, string>; timeoutMs?: number } = {}) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...init.headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 5_000),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) as unknown };
}
const call = (method: string, params: unknown[] = []) => ({ jsonrpc: "2.0", id: nextId++, method, params });

describe("fault proxy", () => {
  it("forwards single and batch requests unchanged when no fault is set", async () => {
    const p = await proxy();
    const one = await post(p.url, call("eth_blockNumber"));
    expect(one.json()).toMatchObject({ result: "0x64" });
    const batch = await post(p.url, [call("eth_chainId"), call("echo", [1, "a"])]);
    expect(batch.json()).toMatchObject([{ result: "0x7a69" }, { result: [1, "a"] }]);
    expect(p.counters()).toMatchObject({ requests: 2, calls: 3, forwarded: 2, unauthorized: 0 });
  });

  it("requires and strips credentials: Basic auth and ?key=", async () => {
    const p = await proxy({ auth: { user: "keeper", password: "s3cret-pass" }, key: "k3y-value" });
    expect(p.url).toBe(`http://keeper:s3cret-pass@127.0.0.1:${p.port}/?key=k3y-value`);
    expect((await post(p.bareUrl, call("eth_blockNumber"))).status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from("keeper:s3cret-pass").toString("base64")}` };
    expect((await post(`${p.bareUrl}?key=wrong`, call("eth_blockNumber"), { headers: auth })).status).toBe(401);
    const ok = await post(`${p.bareUrl}?key=k3y-value`, call("eth_blockNumber"), { headers: auth });
    expect(ok.status).toBe(200);
    expect(p.counters().unauthorized).toBe(2);
    // Upstream sees neither the key nor the credentials.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe("/");
    expect(seen[0]!.headers.authorization).toBeUndefined();
    // viem sends the URL's user:password as Basic auth.
    const client = createPublicClient({ chain: foundry, transport: http(p.url, { retryCount: 0 }) });
    expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(100n);
  });

  it("JSON-RPC errors per call, bounded by maxCount, and only for the methods named", async () => {
    const p = await proxy({ faults: { rpcError: { rate: 1, maxCount: 2, methods: ["eth_call"], code: -32005, message: "limit exceeded" } } });
    expect((await post(p.url, call("eth_blockNumber"))).json()).toMatchObject({ result: "0x64" });
    const batch = await post(p.url, [call("eth_call"), call("eth_chainId"), call("eth_call")]);
    expect(batch.json()).toMatchObject([{ error: { code: -32005, message: "limit exceeded" } }, { result: "0x7a69" }, { error: { code: -32005 } }]);
    expect((await post(p.url, call("eth_call", ["x"]))).json()).toMatchObject({ result: ["x"] });
    expect(p.counters().injected.rpcError).toBe(2);
    // "before": the erroring calls never reached the node.
    expect(seen.map((s) => s.body)).toMatchObject([{ method: "eth_blockNumber" }, [{ method: "eth_chainId" }], { method: "eth_call" }]);
  });

  it("an error 'after' the node executed the call: the node saw it, the client gets the error", async () => {
    const p = await proxy({ faults: { rpcError: { rate: 1, phase: "after" } } });
    expect((await post(p.url, call("eth_sendRawTransaction", ["0x01"]))).json()).toMatchObject({ error: { code: -32603 } });
    expect(seen).toHaveLength(1);
  });

  it("HTTP 5xx and 429 with Retry-After", async () => {
    const p = await proxy({ faults: { http5xx: { rate: 1, status: 502, maxCount: 1 }, rateLimit: { rate: 1, retryAfterSeconds: 3, fromMs: 0, maxCount: 1 } } });
    const first = await post(p.url, call("eth_blockNumber"));
    // Both fired on the first request: the 429 answers first (a rate limiter sits in front).
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("3");
    const second = await post(p.url, call("eth_blockNumber"));
    expect(second.status).toBe(200);
    expect(p.counters().injected).toMatchObject({ http5xx: 1, rateLimit: 1 });
    p.setFaults({ http5xx: { rate: 1, status: 502 } });
    const third = await post(p.url, call("eth_blockNumber"));
    expect(third.status).toBe(502);
    expect(third.text).toContain("502");
  });

  it("resets and drops connections; drop holds the request until the client's timeout", async () => {
    const p = await proxy({ faults: { reset: { rate: 1, maxCount: 1 } } });
    await expect(post(p.url, call("eth_blockNumber"))).rejects.toThrow();
    expect((await post(p.url, call("eth_blockNumber"))).status).toBe(200);
    p.setFaults({ drop: { rate: 1, maxCount: 1 } });
    await expect(post(p.url, call("eth_blockNumber"), { timeoutMs: 300 })).rejects.toThrow(/abort|timeout/i);
    expect((await post(p.url, call("eth_blockNumber"))).status).toBe(200);
    expect(p.counters().injected).toMatchObject({ reset: 1, drop: 1 });
  });

  it("adds latency between minMs and maxMs", async () => {
    const p = await proxy({ faults: { latency: { rate: 1, minMs: 120, maxMs: 150 } } });
    const t0 = performance.now();
    await post(p.url, call("eth_blockNumber"));
    // A lower bound only: the machine may be slow, never fast.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    expect(p.counters().injected.latency).toBe(1);
  });

  it("stale answers: the head is `depth` blocks back, for eth_blockNumber and getBlockByNumber(latest) only", async () => {
    const p = await proxy({ faults: { stale: { rate: 1, depth: 3 } } });
    expect((await post(p.url, call("eth_blockNumber"))).json()).toMatchObject({ result: "0x61" });
    expect((await post(p.url, call("eth_getBlockByNumber", ["latest", false]))).json()).toMatchObject({ result: { number: "0x61" } });
    expect((await post(p.url, call("eth_getBlockByNumber", ["0x10", false]))).json()).toMatchObject({ result: { number: "0x10" } });
    expect((await post(p.url, call("eth_chainId"))).json()).toMatchObject({ result: "0x7a69" });
    // Requests without a head method are not counted as injected.
    expect(p.counters().injected.stale).toBe(3);
  });

  it("time windows, with an injected clock", async () => {
    let t = 0;
    const p = await proxy({ now: () => t, faults: { rpcError: { rate: 1, fromMs: 100, untilMs: 200 } } });
    const status = async () => ((await post(p.url, call("eth_blockNumber"))).json() as { error?: unknown }).error !== undefined;
    expect(await status()).toBe(false);
    t = 150;
    expect(await status()).toBe(true);
    t = 250;
    expect(await status()).toBe(false);
    p.setFaults({ rpcError: { rate: 1, untilMs: 50 } }); // windows restart at setFaults
    expect(await status()).toBe(true);
    p.clear();
    expect(await status()).toBe(false);
  });

  it("is deterministic: the same seed injects at the same requests", async () => {
    const pattern = async (seed: number) => {
      const p = await proxy({ seed, faults: { rpcError: { rate: 0.3 } } });
      const out: boolean[] = [];
      for (let i = 0; i < 40; i++) out.push(((await post(p.url, call("eth_blockNumber"))).json() as { error?: unknown }).error !== undefined);
      return out;
    };
    const a = await pattern(7);
    const b = await pattern(7);
    const c = await pattern(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.filter(Boolean).length).toBeGreaterThan(3);
    expect(a.filter(Boolean).length).toBeLessThan(25);
  });

  it("every injected fault reaches viem as a failure the indexer classifies as transient", async () => {
    const p = await proxy();
    const client = createPublicClient({ chain: foundry, transport: http(p.url, { retryCount: 0, timeout: 300 }) });
    const kinds = {
      rpcError: { rpcError: { rate: 1 } },
      http5xx: { http5xx: { rate: 1 } },
      rateLimit: { rateLimit: { rate: 1 } },
      reset: { reset: { rate: 1 } },
      drop: { drop: { rate: 1 } },
    } as const;
    for (const [name, faults] of Object.entries(kinds)) {
      p.setFaults(faults);
      const e = await client.request({ method: "eth_blockNumber" }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, name).toBeDefined();
      expect(classifyRpcError(e), name).toBe("transient");
    }
  });
});
