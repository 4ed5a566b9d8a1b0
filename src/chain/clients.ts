import { createPublicClient, createWalletClient, type Account, type Chain, type PublicClient, type Transport, type WalletClient } from "viem";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { endpointTransport, endpointsOf, redactUrl, type Endpoint } from "./transports/endpoints.ts";
import { readTransport, type HeadLag } from "./transports/fallback.ts";
import { COUNTS_RPC_REQUESTS, REQUEST_ONCE, TRANSPORT_RETRY, retrying, type RequestOnce } from "./transports/retrying.ts";
import { routeSends } from "./transports/send.ts";
import { closeSockets, newHeadsOf, type NewHeadsSource } from "./transports/ws.ts";

export { redactUrl, urlSecrets, type Endpoint } from "./transports/endpoints.ts";
export { COUNTS_RPC_REQUESTS, TRANSPORT_RETRY, countsRpcRequests, requestOnce, retrying, type RequestOnce } from "./transports/retrying.ts";
export type { NewHeadsSource } from "./transports/ws.ts";

/** A reader and a signer on one chain; every chain action takes this, never a singleton. */
export type ChainClients = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
};

export class RpcUnreachableError extends BaseError {
  override name = "RpcUnreachableError";
  constructor(url: string | readonly string[], cause: unknown) {
    const urls = typeof url === "string" ? [url] : url;
    super(urls.length === 1 ? `cannot reach the RPC at ${redactUrl(urls[0]!)}` : `cannot reach any of the RPCs at ${urls.map(redactUrl).join(", ")}`, { cause, userError: true });
  }
}

/** Default of `--max-head-lag`: blocks a read endpoint may trail the best one and still serve reads. */
export const DEFAULT_MAX_HEAD_LAG = 3;

export type ConnectOptions = {
  pollingInterval?: number;
  /** Per request, per endpoint (default 10 s). */
  timeoutMs?: number;
  metrics?: Metrics;
  /** Ends retries, the endpoints' sampling and every request in flight (the daemon's hard deadline). */
  signal?: AbortSignal;
  logger?: Logger;
  /** Send relays: eth_sendRawTransaction goes there only (see transports/send.ts). */
  sendUrls?: readonly string[];
  /** When every relay is down, send through the read endpoints (the public mempool). */
  sendFallbackPublic?: boolean;
  /** With several read endpoints: one lagging the best by more than this many blocks takes no reads. */
  maxHeadLag?: number;
};

export type Connection = ChainClients & {
  chainId: number;
  /** Read endpoints (`rpc0`, …) and send relays (`send0`, …), for the start-up log. */
  endpoints: readonly Endpoint[];
  relays: readonly Endpoint[];
  /** newHeads over the first WebSocket read endpoint, if there is one (the head follower subscribes instead of polling). */
  newHeads?: NewHeadsSource;
  /** Head lag of the read endpoints (several only). */
  lag?: HeadLag;
  /** Stop sampling the endpoints and close every socket (a command that is done calls it). */
  close(): void;
};

/**
 * Connect to the read endpoint(s) `rpc`, asking for the chain id first so a dead endpoint fails
 * with one clear error. One URL: its transport, as it is. Several: viem's fallback over them with
 * rank and head-lag demotion (transports/fallback.ts), sampled every 4 polling intervals (at least
 * 1 s) when `signal` is given (a one-shot command's client tries them in the order given). `sendUrls`: transactions go to those relays only (transports/send.ts). http(s) URLs are
 * polled, ws(s) URLs speak over a WebSocket (and give `newHeads`). Requests retry in one place
 * ({@link retrying}); `signal` ends those retries. Every request is counted per endpoint.
 */
export async function connect(rpc: string | readonly string[], account: Account, opts: ConnectOptions = {}): Promise<Connection> {
  const urls = typeof rpc === "string" ? [rpc] : [...rpc];
  if (urls.length === 0) throw new BaseError("no RPC URL");
  const metrics = opts.metrics;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const pollingInterval = opts.pollingInterval ?? 1_000;
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const endpoints = endpointsOf(urls, "rpc");
  const relays = endpointsOf(opts.sendUrls ?? [], "send");
  const own = endpoints.map((e) => endpointTransport(e, { timeoutMs, metrics }));
  let lag: HeadLag | undefined;
  let reads: Transport = own[0]!;
  if (endpoints.length > 1) {
    const r = readTransport(endpoints, own, {
      maxHeadLag: opts.maxHeadLag ?? DEFAULT_MAX_HEAD_LAG,
      // Sampled by a long-running client only (it has a signal to end the sampling with).
      sampleIntervalMs: opts.signal ? Math.max(1_000, 4 * pollingInterval) : 0,
      metrics,
      logger: opts.logger,
      signal,
    });
    reads = r.transport;
    lag = r.lag;
  }
  const sends = routeSends(
    reads,
    relays.map((endpoint) => ({ endpoint, transport: endpointTransport(endpoint, { timeoutMs, metrics }) })),
    { fallbackPublic: opts.sendFallbackPublic ?? false, metrics, logger: opts.logger },
  );
  const close = () => {
    stop.abort();
    closeSockets([...endpoints, ...relays].filter((e) => e.kind === "ws").map((e) => e.url));
  };
  const transport = retrying(reads, { policy: TRANSPORT_RETRY, signal: opts.signal });
  let chainId: number;
  try {
    chainId = await createPublicClient({ transport }).getChainId();
  } catch (e) {
    close();
    throw new RpcUnreachableError(urls, e);
  }
  const chain: Chain = {
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: {
      default: {
        http: endpoints.filter((e) => e.kind === "http").map((e) => e.url),
        webSocket: endpoints.filter((e) => e.kind === "ws").map((e) => e.url),
      },
    },
  };
  const single = createPublicClient({ chain, transport: reads }).request as (args: unknown, options?: unknown) => Promise<unknown>;
  const attempt: RequestOnce = (args, s) => single(args, { retryCount: 0, ...(s ? { signal: s } : {}) });
  const firstWs = endpoints.findIndex((e) => e.kind === "ws");
  return {
    chainId,
    endpoints,
    relays,
    ...(firstWs >= 0 ? { newHeads: newHeadsOf(endpoints[firstWs]!, own[firstWs]!, metrics) } : {}),
    ...(lag ? { lag } : {}),
    close,
    // Marked, so the index's RPC layer does not count the same requests a second time, and takes
    // single attempts (it retries them itself) instead of the transport's retries.
    publicClient: createPublicClient({ chain, transport, pollingInterval }).extend(() => ({
      [COUNTS_RPC_REQUESTS]: metrics !== undefined,
      [REQUEST_ONCE]: attempt,
    })),
    walletClient: createWalletClient({ chain, transport: retrying(sends, { policy: TRANSPORT_RETRY, signal: opts.signal }), account, pollingInterval }),
  };
}
