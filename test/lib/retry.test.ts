/**
 * The one retry loop (src/lib/retry.ts) and the one place RPC requests are retried: it retries
 * only retryable classes, ends at once on shutdown, caps a provider's Retry-After; connect()'s
 * transport retries through it (one retry), and the index's RPC layer, which retries itself, is
 * not retried a second time underneath.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpRequestError } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { connect } from "../../src/chain/clients.ts";
import { IndexRpc } from "../../src/index/rpc.ts";
import { AbortedError, NonRetryableError, RetryableError } from "../../src/lib/errors.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { withRetry, type RetryPolicy } from "../../src/lib/retry.ts";
import { CallRevertedError, FatalRpcError, LogRangeTooLargeError, TransientRpcError, UnknownBlockError, rpcErrorOf } from "../../src/lib/rpcErrors.ts";

const FAST: RetryPolicy = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** A function failing with `errors` in turn, then answering "ok"; counts its calls. */
function failing(...errors: unknown[]): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      const e = errors[calls++];
      if (e !== undefined) throw e;
      return "ok";
    },
    calls: () => calls,
  };
}

const rateLimited = (retryAfter: string) =>
  new TransientRpcError(new HttpRequestError({ url: "http://127.0.0.1:1", status: 429, headers: new Headers({ "Retry-After": retryAfter }) }));

describe("withRetry decides from the class", () => {
  it("retries a RetryableError until it passes", async () => {
    const f = failing(new RetryableError("blip"), new RetryableError("blip"));
    await expect(withRetry(f.fn, { policy: FAST })).resolves.toBe("ok");
    expect(f.calls()).toBe(3);
  });

  it("throws a NonRetryableError, or any other error, at once", async () => {
    const fatal = new NonRetryableError("no");
    const a = failing(fatal);
    await expect(withRetry(a.fn, { policy: FAST })).rejects.toBe(fatal);
    expect(a.calls()).toBe(1);
    // A plain error whose message reads as transient is still not retried: the class decides.
    const plain = new Error("503 Service Unavailable, try again");
    const b = failing(plain);
    await expect(withRetry(b.fn, { policy: FAST })).rejects.toBe(plain);
    expect(b.calls()).toBe(1);
  });

  it("gives up after policy.retries, with the last failure", async () => {
    const errors = [1, 2, 3, 4, 5].map((n) => new RetryableError(`blip ${n}`));
    const f = failing(...errors);
    await expect(withRetry(f.fn, { policy: FAST })).rejects.toBe(errors[3]);
    expect(f.calls()).toBe(FAST.retries + 1);
  });

  it("reports each retry to onRetry with its attempt and delay", async () => {
    const seen: { attempt: number; delayMs: number }[] = [];
    const f = failing(new RetryableError("a"), new RetryableError("b"));
    await withRetry(f.fn, { policy: { retries: 5, baseDelayMs: 2, maxDelayMs: 100 }, random: () => 1, onRetry: ({ attempt, delayMs }) => seen.push({ attempt, delayMs }) });
    expect(seen).toEqual([
      { attempt: 1, delayMs: 2 },
      { attempt: 2, delayMs: 4 },
    ]);
  });

  it("RPC failures get their class once: transient, unknown block, range, revert, fatal", () => {
    expect(rpcErrorOf(new HttpRequestError({ url: "x", status: 503 }))).toBeInstanceOf(TransientRpcError);
    expect(rpcErrorOf(Object.assign(new Error("header not found"), { code: -32000 }))).toBeInstanceOf(UnknownBlockError);
    expect(rpcErrorOf(Object.assign(new Error("query returned more than 10000 results"), { code: -32005 }), { fromBlock: 1n, toBlock: 9n })).toBeInstanceOf(LogRangeTooLargeError);
    expect(rpcErrorOf(Object.assign(new Error("execution reverted"), { code: 3 }))).toBeInstanceOf(CallRevertedError);
    expect(rpcErrorOf(new HttpRequestError({ url: "x", status: 401 }))).toBeInstanceOf(FatalRpcError);
    expect(rpcErrorOf(new HttpRequestError({ url: "x", status: 503 }))).toBeInstanceOf(RetryableError);
    expect(rpcErrorOf(new HttpRequestError({ url: "x", status: 401 }))).toBeInstanceOf(NonRetryableError);
  });
});

describe("withRetry and shutdown", () => {
  it("an abort during a backoff ends the loop at once with AbortedError, and nothing more is tried", async () => {
    const ac = new AbortController();
    const f = failing(...Array.from({ length: 10 }, () => new RetryableError("blip", { retryAfterMs: 60_000 })));
    const t0 = performance.now();
    const p = withRetry(f.fn, { policy: { retries: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 }, signal: ac.signal });
    setTimeout(() => ac.abort("SIGTERM"), 20);
    await expect(p).rejects.toBeInstanceOf(AbortedError);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(f.calls()).toBe(1);
  });

  it("an aborted signal tries nothing", async () => {
    const ac = new AbortController();
    ac.abort("SIGTERM");
    const f = failing();
    await expect(withRetry(f.fn, { policy: FAST, signal: ac.signal })).rejects.toMatchObject({ name: "AbortedError", shortMessage: "stopped: shutting down (SIGTERM)" });
    expect(f.calls()).toBe(0);
  });

  it("a failure that arrives after the abort (a cancelled request) is reported as AbortedError", async () => {
    const ac = new AbortController();
    const p = withRetry(
      () =>
        new Promise<string>((_, reject) => {
          ac.signal.addEventListener("abort", () => reject(new NonRetryableError("fetch aborted")));
        }),
      { policy: FAST, signal: ac.signal },
    );
    ac.abort("SIGTERM");
    await expect(p).rejects.toBeInstanceOf(AbortedError);
  });
});

describe("Retry-After", () => {
  it("is honoured as the provider asks when it is short", async () => {
    const f = failing(rateLimited("1"));
    const delays: number[] = [];
    const t0 = performance.now();
    await expect(withRetry(f.fn, { policy: { retries: 3, baseDelayMs: 1, maxDelayMs: 8_000 }, onRetry: ({ delayMs }) => delays.push(delayMs) })).resolves.toBe("ok");
    expect(delays).toEqual([1_000]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
  });

  it("is capped at the policy's longest wait: an hour's Retry-After (seconds or a date) waits maxDelayMs", async () => {
    const f = failing(rateLimited("3600"), rateLimited(new Date(Date.now() + 86_400_000).toUTCString()));
    const delays: number[] = [];
    const t0 = performance.now();
    await expect(withRetry(f.fn, { policy: { retries: 3, baseDelayMs: 1, maxDelayMs: 50 }, onRetry: ({ delayMs }) => delays.push(delayMs) })).resolves.toBe("ok");
    expect(delays).toEqual([50, 50]);
    expect(f.calls()).toBe(3);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});

/** A JSON-RPC server on 127.0.0.1: eth_chainId always answers; other calls fail `failures` times with `status`. */
async function flakyNode(failures: number, status = 503): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      res.setHeader("content-type", "application/json");
      if (method === "eth_chainId") return void res.end(JSON.stringify({ jsonrpc: "2.0", id, result: "0x7a69" }));
      calls++;
      if (calls <= failures) {
        // As a load balancer answers: a status and no JSON-RPC body.
        res.statusCode = status;
        res.setHeader("content-type", "text/plain");
        return void res.end("unavailable");
      }
      res.end(JSON.stringify({ jsonrpc: "2.0", id, result: method === "eth_blockNumber" ? "0x10" : { number: "0x10", hash: `0x${"11".repeat(32)}`, parentHash: `0x${"00".repeat(32)}`, timestamp: "0x10" } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe("one retry layer per request", () => {
  const account = privateKeyToAccount(`0x${"01".repeat(32)}`);

  it("connect()'s clients retry a retryable failure once, each attempt counted once", async () => {
    const node = await flakyNode(1);
    try {
      const metrics = createMetrics();
      const c = await connect(node.url, account, { metrics, timeoutMs: 2_000 });
      await expect(c.publicClient.getBlockNumber()).resolves.toBe(16n);
      expect(node.calls()).toBe(2);
      const counted = (await metrics.rpcRequests.get()).values.find((v) => v.labels.method === "eth_blockNumber")?.value;
      expect(counted).toBe(2);
    } finally {
      await node.close();
    }
  });

  it("connect()'s clients do not retry a second time: two failures in a row reach the caller as the node's error", async () => {
    const node = await flakyNode(2);
    try {
      const c = await connect(node.url, account, { timeoutMs: 2_000 });
      await expect(c.publicClient.getBlockNumber({ cacheTime: 0 })).rejects.toBeInstanceOf(HttpRequestError);
      expect(node.calls()).toBe(2);
    } finally {
      await node.close();
    }
  });

  it("a fatal failure is not retried by the transport", async () => {
    const node = await flakyNode(1, 401);
    try {
      const c = await connect(node.url, account, { timeoutMs: 2_000 });
      await expect(c.publicClient.getBlockNumber()).rejects.toBeInstanceOf(HttpRequestError);
      expect(node.calls()).toBe(1);
    } finally {
      await node.close();
    }
  });

  it("the index's RPC layer over a connect() client is the only retry: retries + 1 requests, not twice as many", async () => {
    const node = await flakyNode(Number.POSITIVE_INFINITY);
    try {
      const metrics = createMetrics();
      const c = await connect(node.url, account, { metrics, timeoutMs: 2_000 });
      const rpc = new IndexRpc({ client: c.publicClient, metrics, logger: silentLogger(), retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 } });
      await expect(rpc.latestHeader()).rejects.toBeInstanceOf(HttpRequestError);
      expect(node.calls()).toBe(3);
      const counted = (await metrics.rpcRequests.get()).values.find((v) => v.labels.method === "eth_getBlockByNumber")?.value;
      expect(counted).toBe(3);
    } finally {
      await node.close();
    }
  });

  it("the index's RPC layer passes after retryable failures, and its answer is the node's", async () => {
    const node = await flakyNode(2);
    try {
      const c = await connect(node.url, account, { timeoutMs: 2_000 });
      const rpc = new IndexRpc({ client: c.publicClient, metrics: createMetrics(), logger: silentLogger(), retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 } });
      await expect(rpc.latestHeader()).resolves.toMatchObject({ number: 16n });
      expect(node.calls()).toBe(3);
    } finally {
      await node.close();
    }
  });

  it("after connect()'s signal fires, no request starts", async () => {
    const node = await flakyNode(0);
    try {
      const ac = new AbortController();
      const c = await connect(node.url, account, { timeoutMs: 2_000, signal: ac.signal });
      ac.abort("deadline");
      await expect(c.publicClient.getBlockNumber({ cacheTime: 0 })).rejects.toThrow(/stopped: shutting down \(deadline\)/);
      expect(node.calls()).toBe(0);
    } finally {
      await node.close();
    }
  });
});
