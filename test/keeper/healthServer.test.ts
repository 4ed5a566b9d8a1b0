/**
 * The health server on its own: /livez and /readyz answer from their probes (200 / 503 with the
 * reasons as JSON), /healthz is /readyz, /metrics serves the registry after a readiness check (so
 * keeper_ready is current at every scrape), anything else is 404, and default process metrics keep
 * their standard names.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startHealthServer, type HealthProbes } from "../../src/keeper/healthServer.ts";
import { readiness, type HealthFacts, type ProbeAnswer } from "../../src/keeper/readiness.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";

const facts = (over: Partial<HealthFacts> = {}): HealthFacts => ({
  now: 1_000_000,
  settings: { stallSeconds: 30, staleHeadSeconds: 120 },
  started: true,
  stopped: false,
  tickStartedAt: undefined,
  lastNewHeadAt: 1_000_000,
  head: 42n,
  indexedBlock: 42n,
  accounts: 3,
  liquidatable: 0,
  inFlight: 0,
  unpriced: { markets: [], accounts: 0 },
  wallet: { balanceWei: 10n ** 18n, minBalanceWei: undefined, insufficientFunds: undefined },
  ...over,
});

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(probes: HealthProbes, metrics: Metrics = createMetrics()) {
  const s = await startHealthServer({ port: 0, registry: metrics.registry, probes });
  close = s.close;
  const get = async (path: string, init?: RequestInit) => {
    const r = await fetch(`http://127.0.0.1:${s.port}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  return { get, metrics };
}

describe("health server", () => {
  it("/livez and /readyz answer 200 from ok probes; /healthz is /readyz", async () => {
    const metrics = createMetrics();
    const { get } = await serve({ live: () => ({ ok: true, body: { live: true } }), ready: () => readiness(facts(), metrics) }, metrics);
    expect((await get("/livez")).status).toBe(200);
    const ready = await get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ok: true, ready: true, head: "42", accounts: 3 });
    const healthz = await get("/healthz");
    expect(healthz.status).toBe(200);
    expect(healthz.json()).toEqual(ready.json());
  });

  it("not ready: 503 with machine-readable codes and human messages; live stays 200", async () => {
    const metrics = createMetrics();
    const stale = facts({ now: 1_000_000 + 121_000 });
    const { get } = await serve({ live: () => ({ ok: true, body: {} }), ready: () => readiness(stale, metrics) }, metrics);
    for (const path of ["/readyz", "/healthz"]) {
      const r = await get(path);
      expect(r.status, path).toBe(503);
      const reasons = r.json().reasons as { code: string; message: string }[];
      expect(reasons.map((x) => x.code)).toEqual(["stale_head"]);
      expect(reasons[0]!.message).toMatch(/no new head for 121 s \(limit 120 s\)/);
    }
    expect((await get("/livez")).status).toBe(200);
  });

  it("/metrics evaluates readiness first: keeper_ready and keeper_not_ready_reason are current", async () => {
    const metrics = createMetrics();
    let current = facts();
    const { get } = await serve({ live: () => ({ ok: true, body: {} }), ready: () => readiness(current, metrics) }, metrics);
    let text = (await get("/metrics")).text;
    expect(text).toMatch(/^keeper_ready 1$/m);
    expect(text).toMatch(/^keeper_not_ready_reason\{reason="stale_head"\} 0$/m);
    current = facts({ wallet: { balanceWei: 1n, minBalanceWei: 2n, insufficientFunds: undefined } });
    text = (await get("/metrics")).text;
    expect(text).toMatch(/^keeper_ready 0$/m);
    expect(text).toMatch(/^keeper_not_ready_reason\{reason="low_balance"\} 1$/m);
    expect(text).toMatch(/^keeper_not_ready_reason\{reason="starting"\} 0$/m);
  });

  it("unknown paths are 404, other methods 405, a throwing probe 500", async () => {
    const boom = (): ProbeAnswer => {
      throw new Error("probe failed");
    };
    const { get } = await serve({ live: boom, ready: () => ({ ok: true, body: {} }) });
    expect((await get("/nope")).status).toBe(404);
    expect((await get("/")).status).toBe(404);
    expect((await get("/readyz", { method: "POST" })).status).toBe(405);
    expect((await get("/livez")).status).toBe(500);
    expect((await get("/readyz?verbose=1")).status).toBe(200);
  });

  it("default process metrics keep their standard names (process_*, nodejs_*), no keeper_process_ prefix", async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    const { get } = await serve({ live: () => ({ ok: true, body: {} }), ready: () => ({ ok: true, body: {} }) }, metrics);
    const text = (await get("/metrics")).text;
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).not.toMatch(/keeper_process_/);
  });
});
