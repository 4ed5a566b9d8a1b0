/**
 * The one retry layer of connect()'s clients, and the single attempt the index's RPC layer (its
 * own retry loop) takes instead: no retry stacking.
 */
import { createTransport, type EIP1193RequestFn, type Transport } from "viem";
import { withRetry, type RetryPolicy } from "../../lib/retry.ts";
import { nodeErrorOf, rpcErrorOf } from "../../lib/rpcErrors.ts";

/** Property of a public client whose transport already counts every request in `keeper_rpc_requests_total`. */
export const COUNTS_RPC_REQUESTS = "countsRpcRequests";

/** Whether `client`'s transport counts its requests itself (a client made by {@link connect} with metrics). */
export function countsRpcRequests(client: object): boolean {
  return (client as { [COUNTS_RPC_REQUESTS]?: unknown })[COUNTS_RPC_REQUESTS] === true;
}

/** Property of a public client made by {@link connect}: one attempt of a request, for a caller that retries itself. */
export const REQUEST_ONCE = "requestOnce";

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

