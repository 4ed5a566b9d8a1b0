/**
 * RPC endpoints: what a URL is (HTTP or WebSocket), the id it is known by in metrics and logs
 * (`rpc0`, `rpc1`, … for reads, `send0`, … for relays: never the URL, which may carry an API key),
 * the URL's secrets for the logger to scrub, and the one transport per endpoint everything else
 * builds on (counted per request, never retried here).
 */
import { createTransport, http, webSocket, type EIP1193RequestFn, type Transport } from "viem";
import type { Metrics } from "../../lib/metrics.ts";

export type EndpointKind = "http" | "ws";

export type Endpoint = {
  /** `rpc0`, `send1`, …: the label in metrics and logs. */
  id: string;
  url: string;
  kind: EndpointKind;
};

/** The kind of an RPC URL, or undefined when it is neither http(s) nor ws(s). */
export function endpointKind(url: string): EndpointKind | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!u.hostname) return undefined;
  if (u.protocol === "http:" || u.protocol === "https:") return "http";
  if (u.protocol === "ws:" || u.protocol === "wss:") return "ws";
  return undefined;
}

/** Endpoints named `${prefix}0`, `${prefix}1`, … in the order given (the first is the primary). */
export function endpointsOf(urls: readonly string[], prefix: "rpc" | "send"): Endpoint[] {
  return urls.map((url, i) => {
    const kind = endpointKind(url);
    if (!kind) throw new Error(`${prefix}${i}: not an http(s) or ws(s) URL`);
    return { id: `${prefix}${i}`, url, kind };
  });
}

/** Hide credentials and API keys an RPC URL may carry (user:pass@, /v3/KEY, ?key=…). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) u.username = u.password = "***";
    u.search = u.search ? "?***" : "";
    u.pathname = u.pathname.replace(/[0-9a-zA-Z_-]{20,}/g, "***");
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

/** Secrets shorter than this are not scrubbed from logs by value (they would mask common words). */
const MIN_SECRET_CHARS = 6;

/**
 * The parts of an RPC URL that {@link redactUrl} hides — the password (or a user name alone), query
 * values, long path segments (API keys) — raw and percent-encoded, for the logger to scrub by
 * value: viem's errors quote the URL (without user:password, but with its query and path).
 */
export function urlSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  // A user name is the secret only when there is no password (https://KEY@host).
  const parts = [u.password || u.username, ...u.searchParams.values(), ...(u.pathname.match(/[0-9a-zA-Z_-]{20,}/g) ?? [])];
  const out = new Set<string>();
  for (const p of parts) {
    let decoded = p;
    try {
      decoded = decodeURIComponent(p);
    } catch {
      // not percent-encoded
    }
    for (const v of [p, decoded, encodeURIComponent(decoded)]) if (v.length >= MIN_SECRET_CHARS) out.add(v);
  }
  return [...out];
}

export type EndpointTransportOptions = {
  timeoutMs: number;
  metrics?: Pick<Metrics, "rpcRequests" | "rpcEndpointRequests"> | undefined;
};

/**
 * The transport of one endpoint: viem's `http` or `webSocket` (a socket found closed is replaced
 * on the next request; an open one is unref'd, see {@link unrefSocket}), at `retryCount: 0` (the one retry loop is above it), keyed by
 * the endpoint's id, each request counted in `keeper_rpc_requests_total{method}` and
 * `keeper_rpc_endpoint_requests_total{endpoint,method}`.
 */
export function endpointTransport(endpoint: Endpoint, opts: EndpointTransportOptions): Transport {
  const inner =
    endpoint.kind === "http"
      ? http(endpoint.url, { key: endpoint.id, name: endpoint.id, timeout: opts.timeoutMs, retryCount: 0 })
      : webSocket(endpoint.url, { key: endpoint.id, name: endpoint.id, timeout: opts.timeoutMs, retryCount: 0, reconnect: false, keepAlive: false });
  const metrics = opts.metrics;
  return (config) => {
    const t = inner({ ...config, retryCount: 0 });
    const request: EIP1193RequestFn = async (args, options) => {
      metrics?.rpcRequests.inc({ method: args.method });
      metrics?.rpcEndpointRequests.inc({ endpoint: endpoint.id, method: args.method });
      if (endpoint.kind !== "ws") return t.request(args, options);
      await dropClosedSocket(t);
      try {
        return await t.request(args, options);
      } finally {
        await unrefSocket(t);
      }
    };
    return createTransport(
      { key: endpoint.id, name: endpoint.id, type: t.config.type, timeout: t.config.timeout, retryCount: 0, request },
      t.value,
    );
  };
}

type SocketValue = { getRpcClient?: () => Promise<{ socket: { readyState: number; _socket?: { unref?(): void } }; close(): void }> };

/**
 * viem caches one socket per URL and, with `reconnect: false`, keeps a closed one in its cache:
 * close it (which removes it) so the next request opens a new connection.
 */
export async function dropClosedSocket(t: { value?: unknown }): Promise<void> {
  const client = await (t.value as SocketValue | undefined)?.getRpcClient?.().catch(() => undefined);
  // WebSocket.CLOSING = 2, CLOSED = 3.
  if (client && client.socket.readyState >= 2) client.close();
}

/**
 * An open socket does not keep the process alive by itself (a one-shot command given a ws:// URL
 * exits when it is done; the daemon lives on its own timers and server). viem's keep-alive is off
 * for the same reason: its interval is never unref'd. (`_socket` is the `ws` package's net.Socket.)
 */
export async function unrefSocket(t: { value?: unknown }): Promise<void> {
  const client = await (t.value as SocketValue | undefined)?.getRpcClient?.().catch(() => undefined);
  client?.socket._socket?.unref?.();
}
