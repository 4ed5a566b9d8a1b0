import { setTimeout as setTimeoutPromise } from "node:timers/promises";

/**
 * Wait `ms`, or less if `signal` aborts (then it resolves at once: the caller looks at
 * `signal.aborted`). Leaves no timer or listener behind either way.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await setTimeoutPromise(ms, undefined, signal ? { signal } : undefined);
  } catch (e) {
    if (!signal?.aborted) throw e;
  }
}
