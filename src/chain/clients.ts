import {
  createPublicClient,
  createTransport,
  createWalletClient,
  http,
  type Account,
  type Chain,
  type EIP1193RequestFn,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { BaseError } from "../lib/errors.ts";
import type { Metrics } from "../lib/metrics.ts";
import { withRetry, type RetryPolicy } from "../lib/retry.ts";
import { nodeErrorOf, rpcErrorOf } from "../lib/rpcErrors.ts";

/** A reader and a signer on one chain; every chain action takes this, never a singleton. */
export type ChainClients = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
};

export class RpcUnreachableError extends BaseError {
  override name = "RpcUnreachableError";
  constructor(url: string, cause: unknown) {
    super(`cannot reach the RPC at ${redactUrl(url)}`, { cause, userError: true });
  }
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

/** Property of a public client whose transport already counts every request in `keeper_rpc_requests_total`. */
export const COUNTS_RPC_REQUESTS = "countsRpcRequests";

/** Whether `client`'s transport counts its requests itself (a client made by {@link connect} with metrics). */
export function countsRpcRequests(client: object): boolean {
  return (client as { [COUNTS_RPC_REQUESTS]?: unknown })[COUNTS_RPC_REQUESTS] === true;
}

/** Property of a public client made by {@link connect}: one attempt of a request, for a caller that retries itself. */
const REQUEST_ONCE = "requestOnce";

/** One attempt of a JSON-RPC request, which nothing below retries; `signal` cancels it. */
export type RequestOnce = (args: { method: string; params?: unknown }, signal?: AbortSignal) => Promise<unknown>;

/**
 * One attempt of a request through `client`, for a caller that is itself the retry loop (the
 * index's RPC layer): a client made by {@link connect} goes around its retrying transport; any
 * other client is asked per request not to retry (viem's `retryCount: 0`).
 */
export function requestOnce(client: object): RequestOnce {
  const own = (client as { [REQUEST_ONCE]?: unknown })[REQUEST_ONCE];
  if (typeof own === "function") return own as RequestOnce;
  const request = (client as { request: (args: unknown, options?: unknown) => Promise<unknown> }).request;
  return (args, signal) => request(args, { retryCount: 0, ...(signal ? { signal } : {}) });
}

/**
 * What a request through connect()'s clients gets: one more attempt after a retryable failure,
 * as viem's `retryCount: 1` gave before (but by class, and with `Retry-After` capped).
 */
export const TRANSPORT_RETRY: RetryPolicy = { retries: 1, baseDelayMs: 150, maxDelayMs: 8_000 };

/**
 * `inner`, retried in one place by the one retry loop (viem's `fallback` pattern): the inner
 * transport and viem's own retry above this one are both at `retryCount: 0`; a failure is
 * classified (lib/rpcErrors.ts), a retryable one tried again, and the caller (viem's actions, the
 * executor's error handling) gets the node's error as viem raised it. After `signal` fires no
 * request starts or is retried, and one in flight is cancelled.
 */
export function retrying(inner: Transport, opts: { policy: RetryPolicy; signal?: AbortSignal | undefined }): Transport {
  return (config) => {
    const t = inner({ ...config, retryCount: 0 });
    const request = async (args: Parameters<EIP1193RequestFn>[0], options?: Parameters<EIP1193RequestFn>[1]) => {
      const signals = [opts.signal, options?.signal].filter((s): s is AbortSignal => s !== undefined);
      const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
      try {
        return await withRetry(
          async () => {
            try {
              return await t.request(args, signal ? { ...options, signal } : options);
            } catch (e) {
              throw rpcErrorOf(e);
            }
          },
          { policy: opts.policy, signal },
        );
      } catch (e) {
        throw nodeErrorOf(e);
      }
    };
    return createTransport(
      { key: t.config.key, name: t.config.name, type: t.config.type, timeout: t.config.timeout, retryCount: 0, request: request as EIP1193RequestFn },
      t.value,
    );
  };
}

/**
 * Connect to `rpcUrl`, asking for its chain id first so a dead endpoint fails with one clear error.
 * The chain definition is built from what the node reports. Requests retry in one place (see
 * {@link retrying}); `signal` ends those retries (the daemon passes its shutdown's hard deadline).
 */
export async function connect(
  rpcUrl: string,
  account: Account,
  opts: { pollingInterval?: number; timeoutMs?: number; metrics?: Metrics; signal?: AbortSignal } = {},
): Promise<ChainClients & { chainId: number }> {
  const metrics = opts.metrics;
  const once = http(rpcUrl, {
    timeout: opts.timeoutMs ?? 10_000,
    retryCount: 0,
    // Count every JSON-RPC request by method (a batch counts each of its calls), each attempt once.
    onFetchRequest: metrics
      ? async (request) => {
          try {
            const body = (await request.clone().json()) as { method?: string } | { method?: string }[];
            for (const call of Array.isArray(body) ? body : [body]) metrics.rpcRequests.inc({ method: call.method ?? "unknown" });
          } catch {
            metrics.rpcRequests.inc({ method: "unknown" });
          }
        }
      : undefined,
  });
  const transport = retrying(once, { policy: TRANSPORT_RETRY, signal: opts.signal });
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (e) {
    throw new RpcUnreachableError(rpcUrl, e);
  }
  const chain: Chain = {
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
  const pollingInterval = opts.pollingInterval ?? 1_000;
  const single = createPublicClient({ chain, transport: once }).request as (args: unknown, options?: unknown) => Promise<unknown>;
  const attempt: RequestOnce = (args, signal) => single(args, { retryCount: 0, ...(signal ? { signal } : {}) });
  return {
    chainId,
    // Marked, so the index's RPC layer does not count the same requests a second time, and takes
    // single attempts (it retries them itself) instead of the transport's retries.
    publicClient: createPublicClient({ chain, transport, pollingInterval }).extend(() => ({
      [COUNTS_RPC_REQUESTS]: metrics !== undefined,
      [REQUEST_ONCE]: attempt,
    })),
    walletClient: createWalletClient({ chain, transport, account, pollingInterval }),
  };
}
