/**
 * Errors that carry meaning (viem's BaseError pattern): a short message for people, details,
 * a cause, and walk() to find a cause of a given class. `userError` marks a mistake the user can
 * fix (bad config, bad flag, unreachable RPC): the CLI prints one line and exits non-zero.
 */
export class BaseError extends Error {
  override name = "BaseError";
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly userError: boolean;

  constructor(shortMessage: string, opts: { cause?: unknown; details?: string; userError?: boolean } = {}) {
    super(opts.details ? `${shortMessage}\n${opts.details}` : shortMessage, { cause: opts.cause });
    this.shortMessage = shortMessage;
    this.details = opts.details;
    this.userError = opts.userError ?? false;
  }

  /** The first error in the cause chain (this one included) that satisfies `fn`. */
  walk(fn: (e: unknown) => boolean): unknown {
    let e: unknown = this;
    while (e) {
      if (fn(e)) return e;
      e = e instanceof Error ? e.cause : undefined;
    }
    return undefined;
  }
}

/** A problem in configuration, flags or input files: always the user's to fix. */
export class ConfigError extends BaseError {
  override name = "ConfigError";
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(
      problems.length === 1 ? `${source}: ${problems[0]}` : `${source}: ${problems.length} problems: ${problems.join("; ")}`,
      { userError: true },
    );
    this.problems = problems;
  }
}

/**
 * Flatten any error to one line for a user. Control characters a message may quote from input (a
 * carriage return, an escape sequence) are shown as \xNN, never sent to the terminal.
 */
export function oneLine(e: unknown): string {
  const msg = e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return msg
    .replace(/\s*\n\s*/g, " ")
    .trim()
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * A failure that may pass if the same thing is tried again later: a timeout, a dropped socket, a
 * 5xx, a rate limit. ponder's split: the one retry loop (`withRetry`, lib/retry.ts) retries
 * these and only these, deciding from the class, never from a message. `retryAfterMs` is the wait
 * the failure itself asks for (an HTTP `Retry-After`), which the loop honours up to its cap.
 */
export class RetryableError extends BaseError {
  override name = "RetryableError";
  readonly retryAfterMs: number | undefined;
  constructor(shortMessage: string, opts: { cause?: unknown; details?: string; retryAfterMs?: number } = {}) {
    super(shortMessage, opts);
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** A failure that trying the same thing again will not cure: the retry loop throws it at once. */
export class NonRetryableError extends BaseError {
  override name = "NonRetryableError";
}

/** Work stopped because shutdown began (the process's AbortSignal fired): never retried. */
export class AbortedError extends NonRetryableError {
  override name = "AbortedError";
  constructor(reason?: unknown, opts: { cause?: unknown } = {}) {
    super(`stopped: shutting down${reason === undefined ? "" : ` (${String(reason)})`}`, opts);
  }
}

/** Throw {@link AbortedError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}
