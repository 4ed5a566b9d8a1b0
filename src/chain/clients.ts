import {
  createPublicClient,
  createWalletClient,
  http,
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { BaseError } from "../lib/errors.ts";
import type { Metrics } from "../lib/metrics.ts";

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

/**
 * Connect to `rpcUrl`, asking for its chain id first so a dead endpoint fails with one clear error.
 * The chain definition is built from what the node reports.
 */
export async function connect(
  rpcUrl: string,
  account: Account,
  opts: { pollingInterval?: number; timeoutMs?: number; metrics?: Metrics } = {},
): Promise<ChainClients & { chainId: number }> {
  const metrics = opts.metrics;
  const transport = http(rpcUrl, {
    timeout: opts.timeoutMs ?? 10_000,
    retryCount: 1,
    // Count every JSON-RPC request by method (a batch counts each of its calls).
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
  return {
    chainId,
    // Marked, so the index's RPC layer does not count the same requests a second time.
    publicClient: createPublicClient({ chain, transport, pollingInterval }).extend(() => ({ [COUNTS_RPC_REQUESTS]: metrics !== undefined })),
    walletClient: createWalletClient({ chain, transport, account, pollingInterval }),
  };
}
