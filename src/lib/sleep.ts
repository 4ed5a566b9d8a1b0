import { setTimeout as setTimeoutPromise } from "node:timers/promises";
import { AbortedError } from "./errors.ts";

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

/**
 * `p`, or {@link AbortedError} as soon as `signal` fires: a wait that shutdown ends at once. The
 * work behind `p` goes on (a request runs to its own timeout); its outcome is then ignored.
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  const ignore = () => void p.catch(() => undefined);
  if (signal.aborted) {
    ignore();
    return Promise.reject(new AbortedError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      ignore();
      reject(new AbortedError(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
