/**
 * A fault-injecting JSON-RPC proxy for tests: a real HTTP server on 127.0.0.1 (port 0) in front of
 * one upstream RPC URL (an Anvil), injecting the faults a keeper meets on a public endpoint.
 *
 * Faults, each a {@link FaultRule} (a rate, bounded by a count and a time window, optionally for
 * some JSON-RPC methods only):
 * - `latency`  — wait minMs..maxMs (uniform jitter) before answering;
 * - `reset`    — destroy the socket (the client sees ECONNRESET / "socket hang up");
 * - `drop`     — never answer: the request hangs until the client's own timeout;
 * - `rateLimit`— HTTP 429 with `Retry-After`;
 * - `http5xx`  — HTTP 502/503 with an HTML body, as a load balancer answers;
 * - `rpcError` — a JSON-RPC error object per call (a batch gets it call by call);
 * - `stale`    — `eth_blockNumber` and `eth_getBlockByNumber("latest")` answer `depth` blocks back,
 *                as a lagging node behind a load balancer does.
 * `reset`, `drop`, `http5xx` and `rpcError` take a `phase`: "before" (the node never sees the
 * request) or "after" (the node executed it and the answer is lost: the hard case for sends).
 *
 * Deterministic: one seeded RNG (mulberry32) and a fixed number of draws per HTTP request, so the
 * same seed and the same sequence of requests inject the same faults. Counters record what was
 * injected. Loopback only; only this process's server is ever closed.
 *
 * Credentials: with `auth` and/or `key`, the proxy accepts only `http://user:password@host/?key=K`
 * (Basic auth header and query parameter, as a hosted RPC does) and strips both before forwarding,
 * so a test can check that neither ever appears in a log line.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { mulberry32 } from "./random.ts";

export type FaultPhase = "before" | "after";

export type FaultRule = {
  /** Probability per HTTP request (per call for rpcError), in [0, 1]. */
  rate: number;
  /** Inject at most this many times (default: no bound). */
  maxCount?: number;
  /** Active from this many ms after the schedule was set (default 0). */
  fromMs?: number;
  /** Active until this many ms after the schedule was set (default: no bound). */
  untilMs?: number;
  /** Only requests holding one of these methods (default: all). */
  methods?: readonly string[];
  /** Never requests holding one of these methods. */
  exceptMethods?: readonly string[];
};

export type FaultSchedule = {
  latency?: FaultRule & { minMs: number; maxMs: number };
  reset?: FaultRule & { phase?: FaultPhase };
  drop?: FaultRule & { phase?: FaultPhase };
  rateLimit?: FaultRule & { retryAfterSeconds?: number };
  http5xx?: FaultRule & { status?: 500 | 502 | 503 | 504; phase?: FaultPhase };
  rpcError?: FaultRule & { code?: number; message?: string; phase?: FaultPhase };
  stale?: FaultRule & { depth: number };
};

export type FaultKind = keyof FaultSchedule;
export const FAULT_KINDS: readonly FaultKind[] = ["latency", "reset", "drop", "rateLimit", "http5xx", "rpcError", "stale"];

export type FaultCounters = {
  /** HTTP requests received. */
  requests: number;
  /** JSON-RPC calls received (a batch counts each). */
  calls: number;
  /** HTTP requests forwarded upstream. */
  forwarded: number;
  /** Requests refused for wrong or missing credentials. */
  unauthorized: number;
  /** Faults injected, by kind. */
  injected: Record<FaultKind, number>;
};

export type FaultProxyOptions = {
  /** Upstream JSON-RPC URL (http). */
  target: string;
  /** RNG seed (default 1). */
  seed?: number;
  /** Initial schedule (default: none). */
  faults?: FaultSchedule;
  /** Require Basic auth with these credentials (stripped before forwarding). */
  auth?: { user: string; password: string };
  /** Require `?key=<key>` (stripped before forwarding). */
  key?: string;
  /** Clock in ms for the time windows (default performance.now). */
  now?: () => number;
};

export type FaultProxy = {
  /** Base URL, credentials included when `auth`/`key` are set. */
  readonly url: string;
  /** The same without credentials (for messages). */
  readonly bareUrl: string;
  readonly port: number;
  /** Replace the schedule; its windows and counts start now. */
  setFaults(schedule: FaultSchedule): void;
  /** No more faults (requests already held keep their fate). */
  clear(): void;
  /** A copy of the counters. */
  counters(): FaultCounters;
  /** Stop: close the server and every connection (dropped ones included). */
  close(): Promise<void>;
};

type JsonRpcCall = { jsonrpc?: string; id?: unknown; method?: string; params?: unknown[] };

const emptyInjected = (): Record<FaultKind, number> => ({ latency: 0, reset: 0, drop: 0, rateLimit: 0, http5xx: 0, rpcError: 0, stale: 0 });

/** Start a proxy in front of `opts.target`. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const rng = mulberry32(opts.seed ?? 1);
  const now = opts.now ?? (() => performance.now());
  let schedule: FaultSchedule = opts.faults ?? {};
  let since = now();
  let used = emptyInjected();
  const counters: FaultCounters = { requests: 0, calls: 0, forwarded: 0, unauthorized: 0, injected: emptyInjected() };
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();
  let closed = false;

  const expectedAuth = opts.auth ? `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString("base64")}` : undefined;

  /** One draw per configured rule, always (determinism); true when the rule fires now. */
  const fires = (kind: FaultKind, methods: readonly string[], eligible = true): boolean => {
    const rule = schedule[kind];
    if (!rule) return false;
    const draw = rng();
    if (!eligible) return false;
    const t = now() - since;
    if (rule.fromMs !== undefined && t < rule.fromMs) return false;
    if (rule.untilMs !== undefined && t >= rule.untilMs) return false;
    if (rule.maxCount !== undefined && used[kind] >= rule.maxCount) return false;
    if (rule.methods && !methods.some((m) => rule.methods!.includes(m))) return false;
    if (rule.exceptMethods && methods.some((m) => rule.exceptMethods!.includes(m))) return false;
    if (draw >= rule.rate) return false;
    used[kind]++;
    counters.injected[kind]++;
    return true;
  };

  const upstream = async (body: string): Promise<{ status: number; text: string }> => {
    counters.forwarded++;
    const r = await fetch(opts.target, { method: "POST", headers: { "content-type": "application/json" }, body });
    return { status: r.status, text: await r.text() };
  };

  const rpcErrorFor = (call: JsonRpcCall): object => {
    const e = schedule.rpcError;
    return { jsonrpc: "2.0", id: call.id ?? null, error: { code: e?.code ?? -32603, message: e?.message ?? "injected internal error" } };
  };

  const hold = (res: ServerResponse) => {
    // Never answered: the client gives up on its own timeout; close() ends it.
    held.add(res);
    res.on("close", () => held.delete(res));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> => {
    counters.requests++;
    const url = new URL(req.url ?? "/", "http://proxy");
    if ((expectedAuth && req.headers.authorization !== expectedAuth) || (opts.key !== undefined && url.searchParams.get("key") !== opts.key)) {
      counters.unauthorized++;
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "unauthorized" }));
      return;
    }
    let parsed: JsonRpcCall | JsonRpcCall[];
    try {
      parsed = JSON.parse(raw) as JsonRpcCall | JsonRpcCall[];
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }));
      return;
    }
    const batch = Array.isArray(parsed);
    const calls: JsonRpcCall[] = Array.isArray(parsed) ? parsed : [parsed];
    counters.calls += calls.length;
    const methods = calls.map((c) => String(c.method ?? ""));

    // Every rule draws once per request, in a fixed order (the per-call rpcError draws come later).
    const latency = fires("latency", methods);
    const jitter = rng();
    const transport = (["reset", "drop", "http5xx"] as const).filter((k) => fires(k, methods));
    const rateLimit = fires("rateLimit", methods);
    const stale = fires("stale", methods, methods.some(isHeadMethod));

    if (latency) {
      const l = schedule.latency!;
      await new Promise((r) => setTimeout(r, l.minMs + jitter * Math.max(0, l.maxMs - l.minMs)));
    }
    if (rateLimit) {
      const after = String(schedule.rateLimit?.retryAfterSeconds ?? 1);
      res.writeHead(429, { "content-type": "application/json", "retry-after": after });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: 429, message: "Too Many Requests" } }));
      return;
    }
    // One transport fault at most per request (the first that fired), before or after forwarding.
    const fault = transport[0];
    const faultPhase: FaultPhase = fault === undefined ? "before" : (schedule[fault]?.phase ?? "before");
    const fail = (): void => {
      if (fault === "reset") req.socket.destroy();
      else if (fault === "drop") hold(res);
      else if (fault === "http5xx") {
        const status = schedule.http5xx?.status ?? 503;
        res.writeHead(status, { "content-type": "text/html" }).end(`<html><body><h1>${status}</h1>injected</body></html>`);
      }
    };
    if (fault !== undefined && faultPhase === "before") return fail();

    // Per call: a JSON-RPC error instead of an answer ("before": the node never sees that call).
    const errored = calls.map((c) => fires("rpcError", [String(c.method ?? "")]));
    const errorPhase = schedule.rpcError?.phase ?? "before";
    const forward = calls.filter((_, i) => !(errored[i] && errorPhase === "before"));

    let answers = new Map<unknown, unknown>();
    if (forward.length > 0) {
      let toSend = forward;
      if (stale) toSend = await staleRewrite(forward, schedule.stale!.depth, upstream);
      let r: { status: number; text: string };
      try {
        r = await upstream(JSON.stringify(batch ? toSend : toSend[0]));
      } catch {
        res.writeHead(502, { "content-type": "text/plain" }).end("upstream unreachable");
        return;
      }
      if (r.status !== 200) {
        res.writeHead(r.status, { "content-type": "application/json" }).end(r.text);
        return;
      }
      const body = JSON.parse(r.text) as { id?: unknown } | { id?: unknown }[];
      answers = new Map((Array.isArray(body) ? body : [body]).map((a) => [a.id, a] as const));
      if (stale) answers = staleAnswers(forward, answers, schedule.stale!.depth);
    }
    if (fault !== undefined) return fail(); // "after": the node executed the request, the answer is lost

    const out = calls.map((c, i) => (errored[i] ? rpcErrorFor(c) : (answers.get(c.id) ?? { jsonrpc: "2.0", id: c.id ?? null, error: { code: -32603, message: "no answer upstream" } })));
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(batch ? out : out[0]));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      handle(req, res, Buffer.concat(chunks).toString("utf8")).catch(() => {
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end("proxy error");
      });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (typeof addr !== "object" || addr === null) throw new Error("fault proxy: no address");
  const port = addr.port;
  const bareUrl = `http://127.0.0.1:${port}/`;
  const creds = opts.auth ? `${encodeURIComponent(opts.auth.user)}:${encodeURIComponent(opts.auth.password)}@` : "";
  const url = `http://${creds}127.0.0.1:${port}/${opts.key !== undefined ? `?key=${encodeURIComponent(opts.key)}` : ""}`;

  return {
    url,
    bareUrl,
    port,
    setFaults(s) {
      schedule = s;
      since = now();
      used = emptyInjected();
    },
    clear() {
      schedule = {};
    },
    counters: () => ({ ...counters, injected: { ...counters.injected } }),
    async close() {
      if (closed) return;
      closed = true;
      for (const res of held) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function isHeadMethod(method: string): boolean {
  return method === "eth_blockNumber" || method === "eth_getBlockByNumber";
}

const isLatest = (c: JsonRpcCall) => c.method === "eth_getBlockByNumber" && (c.params?.[0] === "latest" || c.params?.[0] === "pending");

/** `eth_getBlockByNumber("latest")` becomes a request for the block `depth` below the head. */
async function staleRewrite(
  calls: JsonRpcCall[],
  depth: number,
  upstream: (body: string) => Promise<{ status: number; text: string }>,
): Promise<JsonRpcCall[]> {
  if (!calls.some(isLatest)) return calls;
  const r = await upstream(JSON.stringify({ jsonrpc: "2.0", id: "stale-head", method: "eth_blockNumber", params: [] }));
  const head = BigInt((JSON.parse(r.text) as { result: string }).result);
  const old = head > BigInt(depth) ? head - BigInt(depth) : 0n;
  return calls.map((c) => (isLatest(c) ? { ...c, params: [`0x${old.toString(16)}`, ...(c.params ?? []).slice(1)] } : c));
}

/** `eth_blockNumber` answers `depth` blocks back. */
function staleAnswers(calls: JsonRpcCall[], answers: Map<unknown, unknown>, depth: number): Map<unknown, unknown> {
  const out = new Map(answers);
  for (const c of calls) {
    if (c.method !== "eth_blockNumber") continue;
    const a = answers.get(c.id) as { result?: string } | undefined;
    if (!a?.result) continue;
    const n = BigInt(a.result);
    out.set(c.id, { ...a, result: `0x${(n > BigInt(depth) ? n - BigInt(depth) : 0n).toString(16)}` });
  }
  return out;
}
