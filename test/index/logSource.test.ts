import {
  HttpRequestError,
  InvalidParamsRpcError,
  LimitExceededRpcError,
  MethodNotFoundRpcError,
  RpcRequestError,
  TimeoutError,
  hexToBigInt,
  toHex,
  type Hex,
} from "viem";
import { describe, expect, it } from "vitest";
import { indexTopics } from "../../src/protocols/reference/events.ts";
import { Indexer } from "../../src/index/indexer.ts";
import { LogRangeUnsplittableError } from "../../src/index/logSource.ts";
import { classifyRpcError, rangeLimitOf, suggestedRangeSize } from "../../src/index/rpc.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { mine } from "../support/anvil.ts";
import { test } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { faultyClient, indexerInputs, scenario, type Call } from "./history.ts";

const rpcError = (code: number, message: string) => Object.assign(new Error(message), { code });

describe("classifyRpcError", () => {
  it("recognises providers' 'too large' refusals of eth_getLogs", () => {
    const cases = [
      new LimitExceededRpcError(rpcError(-32005, "query returned more than 10000 results")),
      new InvalidParamsRpcError(
        rpcError(-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters and the response size limit, this block range should work: [0x10, 0x1f]"),
      ),
      new RpcRequestError({ body: {}, url: "x", error: { code: -32602, message: "query exceeds max results 20000, retry with the range 100-199" } }),
      new RpcRequestError({ body: {}, url: "x", error: { code: -32614, message: "eth_getLogs is limited to a 10,000 range" } }),
      new RpcRequestError({ body: {}, url: "x", error: { code: -32000, message: "block range is too wide" } }),
      new RpcRequestError({ body: {}, url: "x", error: { code: -32000, message: "exceed maximum block range: 5000" } }),
    ];
    expect(cases.map(classifyRpcError)).toEqual(cases.map(() => "range"));
    expect(cases.map(suggestedRangeSize)).toEqual([undefined, 16n, 100n, 10_000n, undefined, 5_000n]);
    expect(cases.map(rangeLimitOf)).toEqual(["results", "results", "results", "blocks", "blocks", "blocks"]);
  });

  it("retries timeouts, 5xx, 429 and rate-limit codes; not the rest", () => {
    expect(classifyRpcError(new HttpRequestError({ url: "x", status: 503 }))).toBe("transient");
    expect(classifyRpcError(new HttpRequestError({ url: "x", status: 429 }))).toBe("transient");
    expect(classifyRpcError(new HttpRequestError({ url: "x" }))).toBe("transient"); // connection refused
    expect(classifyRpcError(new TimeoutError({ body: {}, url: "x" }))).toBe("transient");
    expect(classifyRpcError(new LimitExceededRpcError(rpcError(-32005, "daily request count exceeded")))).toBe("transient");
    expect(classifyRpcError(new HttpRequestError({ url: "x", status: 401 }))).toBe("fatal");
    expect(classifyRpcError(new MethodNotFoundRpcError(rpcError(-32601, "no such method")))).toBe("fatal");
    expect(classifyRpcError(rpcError(3, "execution reverted"))).toBe("revert");
  });
});

/** Block span of an eth_getLogs range request, undefined for blockHash requests. */
function span(params: readonly unknown[]): { from: bigint; to: bigint } | undefined {
  const f = params[0] as { fromBlock?: Hex; toBlock?: Hex };
  if (!f.fromBlock || !f.toBlock) return undefined;
  return { from: hexToBigInt(f.fromBlock), to: hexToBigInt(f.toBlock) };
}

let scenarioEnd: bigint;
test.override({ deploy: { blockTime: 1 } });

describe("adaptive eth_getLogs chunks", () => {
  test.beforeAll(async ({ world }) => {
    await scenario(world);
    scenarioEnd = await world.chain.publicClient.getBlockNumber();
    await mine(120);
  });

  test("shrinks on 'query returned more than 10000 results' where logs are dense, and grows again after", async ({ world: wd }) => {
    const calls: Call[] = [];
    const dense = (s: { from: bigint; to: bigint }) => s.from <= scenarioEnd && s.to - s.from + 1n > 4n;
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      (method, params) => {
        const s = method === "eth_getLogs" ? span(params) : undefined;
        return s && dense(s) ? rpcError(-32005, "query returned more than 10000 results") : undefined;
      },
      calls,
    );
    const metrics = createMetrics();
    const ix = new Indexer(indexerInputs(wd, { client, metrics, maxReorgDepth: 3, chunkSize: 64 }));
    await ix.backfill();
    await expectIndexMatchesChain(wd, ix);

    const ranges = calls.filter((c) => c.method === "eth_getLogs" && span(c.params as unknown[]));
    const spans = ranges.map((c) => ({ ...span(c.params as unknown[])!, failed: c.failed }));
    expect(spans[0]).toMatchObject({ from: wd.deployment.deployBlock, to: wd.deployment.deployBlock + 63n, failed: true });
    const ok = spans.filter((s) => !s.failed);
    const size = (s: { from: bigint; to: bigint }) => s.to - s.from + 1n;
    expect(ok.filter((s) => s.from <= scenarioEnd).every((s) => size(s) <= 4n)).toBe(true);
    // Past the dense part the chunk grows again, well beyond the 4 blocks it had shrunk to.
    const after = ok.filter((s) => s.from > scenarioEnd).map(size);
    expect(Math.max(...after.map(Number))).toBeGreaterThan(8);
    // Every request, refused or not, is counted by method.
    const counted = await metrics.rpcRequests.get();
    const getLogs = counted.values.find((v) => v.labels.method === "eth_getLogs")!.value;
    expect(getLogs).toBe(calls.filter((c) => c.method === "eth_getLogs").length);
    const errors = await metrics.rpcErrors.get();
    expect(errors.values.find((v) => v.labels.method === "eth_getLogs")!.value).toBe(calls.filter((c) => c.failed).length);
  });

  test("without a chunk size: starts at 4 blocks, grows ×4 while answers are small, and keeps answers near the log target", async ({ world: wd }) => {
    const calls: Call[] = [];
    const client = faultyClient(wd.chain.anvil.rpcUrl, () => undefined, calls);
    const ix = new Indexer(indexerInputs(wd, { client, maxReorgDepth: 3, targetLogs: 6 }));
    await ix.backfill();
    await expectIndexMatchesChain(wd, ix);
    const requests = calls.filter((c) => c.method === "eth_getLogs" && span(c.params as unknown[]));
    const spans = requests.map((c) => span(c.params as unknown[])!);
    const size = (s: { from: bigint; to: bigint }) => Number(s.to - s.from + 1n);
    expect(spans[0]).toMatchObject({ from: wd.deployment.deployBlock, to: wd.deployment.deployBlock + 3n });
    // Each answer is counted against the chain's own logs for the same filter: one above the
    // target makes the next consecutive range smaller.
    const counts = await Promise.all(
      requests.map((c) => wd.chain.publicClient.request({ method: "eth_getLogs", params: c.params as never }).then((l) => (l as unknown[]).length)),
    );
    let shrunk = 0;
    for (let i = 0; i + 1 < spans.length; i++) {
      const next = spans[i + 1]!;
      if (counts[i]! > 6 && next.from === spans[i]!.to + 1n && next.to < scenarioEnd) {
        expect(size(next)).toBeLessThan(size(spans[i]!));
        shrunk++;
      }
    }
    expect(shrunk).toBeGreaterThan(0);
    // On the empty blocks after the scenario, the range grows again well past where it started.
    expect(Math.max(...spans.filter((s) => s.from > scenarioEnd).map(size))).toBeGreaterThanOrEqual(16);
  });

  test("learns a provider's fixed block limit from one refusal (QuickNode)", async ({ world: wd }) => {
    const calls: Call[] = [];
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      (method, params) => {
        const s = method === "eth_getLogs" ? span(params) : undefined;
        return s && s.to - s.from + 1n > 5n ? rpcError(-32614, "eth_getLogs is limited to a 5 range") : undefined;
      },
      calls,
    );
    const ix = new Indexer(indexerInputs(wd, { client, maxReorgDepth: 3, chunkSize: 2_000 }));
    await ix.backfill();
    await expectIndexMatchesChain(wd, ix);
    expect(calls.filter((c) => c.failed)).toHaveLength(1);
    expect(ix.chunkSize).toBe(5);
  });

  test("jumps straight to the range a provider suggests (Alchemy)", async ({ world: wd }) => {
    const calls: Call[] = [];
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      (method, params) => {
        const s = method === "eth_getLogs" ? span(params) : undefined;
        if (!s || s.to - s.from + 1n <= 3n) return undefined;
        return rpcError(-32602, `Log response size exceeded. this block range should work: [0x${s.from.toString(16)}, 0x${(s.from + 2n).toString(16)}]`);
      },
      calls,
    );
    const ix = new Indexer(indexerInputs(wd, { client, maxReorgDepth: 3, chunkSize: 1_000 }));
    await ix.backfill();
    await expectIndexMatchesChain(wd, ix);
    const first = calls.filter((c) => c.method === "eth_getLogs").slice(0, 2);
    expect(first.map((c) => c.failed)).toEqual([true, false]);
    const s = span(first[1]!.params as unknown[])!;
    expect(s.to - s.from + 1n).toBe(3n);
  });

  test("retries transient failures (503, 429, timeouts) and counts every attempt", async ({ world: wd }) => {
    const calls: Call[] = [];
    let n = 0;
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      (method) => {
        if (method === "eth_chainId") return undefined;
        n++;
        if (n % 3 === 1) return new HttpRequestError({ url: "http://rpc", status: n % 2 ? 503 : 429 });
        if (n % 7 === 0) return new TimeoutError({ body: {}, url: "http://rpc" });
        return undefined;
      },
      calls,
    );
    const metrics = createMetrics();
    const ix = new Indexer(indexerInputs(wd, { client, metrics, maxReorgDepth: 8, chunkSize: 16, retry: { baseDelayMs: 1, maxDelayMs: 2 } }));
    await ix.backfill();
    await expectIndexMatchesChain(wd, ix);
    const requests = (await metrics.rpcRequests.get()).values.reduce((a, v) => a + v.value, 0);
    const errors = (await metrics.rpcErrors.get()).values.reduce((a, v) => a + v.value, 0);
    expect(requests).toBe(calls.length);
    // Every injected failure, and the node's own errors: aggregator() and phaseId() probed on a feed that is no proxy revert.
    expect(errors).toBe(calls.filter((c) => c.failed || c.reverted).length);
    expect(errors).toBeGreaterThan(10);
  });

  test("fails at once, without retries, on a fatal error", async ({ world: wd }) => {
    const calls: Call[] = [];
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      (method) => (method === "eth_getLogs" ? rpcError(-32601, "the method eth_getLogs does not exist") : undefined),
      calls,
    );
    const ix = new Indexer(indexerInputs(wd, { client, maxReorgDepth: 3, retry: { baseDelayMs: 1 } }));
    await expect(ix.backfill()).rejects.toThrow(MethodNotFoundRpcError);
    expect(calls.filter((c) => c.method === "eth_getLogs")).toHaveLength(1);
  });

  test("gives up when even one block is refused", async ({ world: wd }) => {
    const client = faultyClient(
      wd.chain.anvil.rpcUrl,
      (method, params) => (method === "eth_getLogs" && span(params) ? rpcError(-32005, "query returned more than 10000 results") : undefined),
      [],
    );
    const ix = new Indexer(indexerInputs(wd, { client, maxReorgDepth: 3, chunkSize: 8 }));
    await expect(ix.backfill()).rejects.toThrow(LogRangeUnsplittableError);
  });
});
