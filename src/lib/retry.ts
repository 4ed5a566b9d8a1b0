/**
 * The one retry loop. Whatever can fail for a while (a JSON-RPC request: see lib/rpcErrors.ts)
 * throws {@link RetryableError} or {@link NonRetryableError} (ponder's split), and this loop decides
 * from the class alone: a retryable failure is tried again after a backoff, anything else is thrown
 * at once. Shutdown's signal ends it: no attempt starts after the signal fires, a backoff ends at
 * once, and the loop throws {@link AbortedError}.
 */
import { AbortedError, RetryableError, throwIfAborted } from "./errors.ts";
import { sleep } from "./sleep.ts";

export type RetryPolicy = {
  /** Attempts after the first, for retryable failures. */
  retries: number;
  baseDelayMs: number;
  /** The longest wait between attempts, a `Retry-After` included. */
  maxDelayMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

/**
 * How long to wait before retry number `attempt + 1`: what the failure asks for (its
 * `retryAfterMs`, an HTTP `Retry-After`), or exponential backoff with jitter; never more than
 * `policy.maxDelayMs`, so a provider cannot stall a tick for as long as it likes.
 */
export function retryDelayMs(e: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const asked = e instanceof RetryableError ? e.retryAfterMs : undefined;
  return Math.min(policy.maxDelayMs, asked ?? Math.round(backoff * (0.5 + random() / 2)));
}

export type RetryOptions = {
  policy: RetryPolicy;
  /** Shutdown: no attempt starts after it fires, and a backoff ends at once (AbortedError). */
  signal?: AbortSignal | undefined;
  /** Called before each backoff: where a caller logs or counts a retry. */
  onRetry?: (retry: { error: RetryableError; attempt: number; delayMs: number }) => void;
  /** Jitter source (tests). Default Math.random. */
  random?: () => number;
};

/**
 * `fn()`, tried again on a {@link RetryableError} up to `policy.retries` times with the backoff of
 * {@link retryDelayMs}. Any other error is thrown as it is; the last retryable one is thrown when
 * the retries are spent. A failure after `signal` fired is reported as {@link AbortedError}.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { policy, signal } = opts;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn(attempt);
    } catch (e) {
      if (signal?.aborted) throw e instanceof AbortedError ? e : new AbortedError(signal.reason, { cause: e });
      if (!(e instanceof RetryableError) || attempt >= policy.retries) throw e;
      const delayMs = retryDelayMs(e, attempt, policy, opts.random);
      opts.onRetry?.({ error: e, attempt: attempt + 1, delayMs });
      await sleep(delayMs, signal);
    }
  }
}
