import { HttpRequestError, type PublicClient } from "viem";
import { afterEach, describe, expect, it, vi } from "vitest";
import { IndexRpc, retryDelayMs } from "../../src/index/rpc.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";

const POLICY = { retries: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

function rateLimited(retryAfter: string): HttpRequestError {
  return new HttpRequestError({ url: "http://127.0.0.1:1", status: 429, headers: new Headers({ "Retry-After": retryAfter }) });
}

/** A client whose `request` fails with `error` `failures` times, then answers a block header. */
function flakyClient(error: Error, failures: number): { client: PublicClient; calls: () => number } {
  let calls = 0;
  const header = { number: "0x1", hash: `0x${"11".repeat(32)}`, parentHash: `0x${"00".repeat(32)}`, timestamp: "0x10" };
  const client = {
    request: async () => {
      calls++;
      if (calls <= failures) throw error;
      return header;
    },
  } as unknown as PublicClient;
  return { client, calls: () => calls };
}

describe("defect 7: Retry-After is capped, so a provider cannot stall a tick indefinitely", () => {
  it("a Retry-After of an hour waits the policy's longest backoff, not an hour", () => {
    expect(retryDelayMs(rateLimited("3600"), 0, POLICY, () => 0.5)).toBe(POLICY.maxDelayMs);
  });

  it("an HTTP-date Retry-After far in the future is capped too", () => {
    const date = new Date(Date.now() + 86_400_000).toUTCString();
    expect(retryDelayMs(rateLimited(date), 0, POLICY, () => 0.5)).toBe(POLICY.maxDelayMs);
  });

  it("a short Retry-After is honoured as the provider asks", () => {
    expect(retryDelayMs(rateLimited("2"), 0, POLICY, () => 0.5)).toBe(2_000);
  });

  it("without Retry-After: exponential backoff with jitter, capped", () => {
    const e = new HttpRequestError({ url: "http://127.0.0.1:1", status: 503 });
    expect(retryDelayMs(e, 0, POLICY, () => 1)).toBe(250);
    expect(retryDelayMs(e, 10, POLICY, () => 1)).toBe(8_000);
    expect(retryDelayMs(e, 10, POLICY, () => 0)).toBe(4_000);
  });
});

describe("shutdown reaches the indexer's retries", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("an abort during a retry's backoff ends the request at once instead of waiting it out", async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    const { client, calls } = flakyClient(rateLimited("3600"), 100);
    const rpc = new IndexRpc({ client, metrics: createMetrics(), logger: silentLogger(), signal: ac.signal });
    const pending = rpc.latestHeader();
    const settled = pending.then(
      () => "resolved",
      (e: unknown) => (e instanceof Error ? e.name : String(e)),
    );
    await vi.advanceTimersByTimeAsync(1); // the first attempt fails and the backoff starts
    expect(calls()).toBe(1);
    ac.abort("SIGTERM");
    await vi.advanceTimersByTimeAsync(0);
    expect(await settled).toBe("AbortedError");
    expect(calls()).toBe(1);
  });

  it("an aborted signal sends nothing", async () => {
    const ac = new AbortController();
    ac.abort("SIGTERM");
    const { client, calls } = flakyClient(rateLimited("1"), 0);
    const rpc = new IndexRpc({ client, metrics: createMetrics(), logger: silentLogger(), signal: ac.signal });
    await expect(rpc.latestHeader()).rejects.toMatchObject({ name: "AbortedError" });
    expect(calls()).toBe(0);
  });
});
