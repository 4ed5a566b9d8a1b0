/**
 * Shutdown in one place (ponder's internal/shutdown.ts, with bin/utils/exit.ts's hard deadline):
 * one AbortController for the process, a list of cleanups, and `kill(reason)`, which aborts the
 * signal and awaits every cleanup. Everything that loops, retries or waits takes `signal`: the
 * intake (head following, the index, start-up) stops when it fires. A cleanup that must wait (the
 * keeper's drain of in-flight transactions) waits at most until `deadline`, which fires
 * `deadlineMs` after the kill began; by then `kill` has returned, whatever still hangs.
 *
 * The CLI creates the process's Shutdown (SIGINT/SIGTERM, a parent that exits, a closed output
 * stream kill it; a second signal exits at once) and hands its signal to the command, which finds
 * the Shutdown again with {@link shutdownOf}.
 */

import { setMaxListeners } from "node:events";

/** Work to do when shutdown begins: stop a loop, drain, release a lock, close a server. */
export type Cleanup = () => unknown;

export type Shutdown = {
  /** Aborted (with the kill's reason) when shutdown begins. */
  readonly signal: AbortSignal;
  /** Aborted when the hard deadline passes: `deadlineMs` after the kill began. Never without a deadline. */
  readonly deadline: AbortSignal;
  /** Whether shutdown has begun. */
  readonly isKilled: boolean;
  /**
   * Run `cleanup` when shutdown begins. Cleanups run one at a time, each awaited before the next,
   * the last added first (what was opened last is closed first). One added after the kill began
   * runs at once, and the kill does not wait for it.
   */
  add(cleanup: Cleanup): void;
  /**
   * Begin shutdown: abort `signal`, then run the cleanups. Resolves "done" when every cleanup has
   * settled, or "deadline" when the hard deadline came first (the cleanups not reached by then
   * are still started, not awaited). A cleanup that throws is reported and the next one runs. Every
   * later call returns the first call's promise.
   */
  kill(reason: string): Promise<"done" | "deadline">;
  /** Set the hard deadline, in ms from the kill (also once the kill has begun). */
  setDeadline(ms: number): void;
  /** Stop listening to process signals and to a followed signal (the shutdown itself is not begun). */
  dispose(): void;
};

export type ShutdownOptions = {
  /** Process signals that begin shutdown; a second one while shutting down calls `onSecondSignal`. */
  signals?: readonly NodeJS.Signals[];
  /** Default: exit at once with 128 + the signal's number. */
  onSecondSignal?: (signal: NodeJS.Signals) => void;
  /** Hard deadline in ms from the kill (see {@link Shutdown.setDeadline}). Default: none. */
  deadlineMs?: number;
  /** Begin shutdown when this signal aborts (a caller's signal, in process). */
  follow?: AbortSignal;
  /** A cleanup threw. Default: one line on stderr. */
  onError?: (error: unknown) => void;
};

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/** Shutdowns by their signal, so a command given only the signal finds its Shutdown. */
const owners = new WeakMap<AbortSignal, Shutdown>();

export function createShutdown(opts: ShutdownOptions = {}): Shutdown {
  const controller = new AbortController();
  const deadlineController = new AbortController();
  // Every request, retry and wait in flight listens to these two: no limit of 10 listeners.
  setMaxListeners(0, controller.signal, deadlineController.signal);
  const cleanups: Cleanup[] = [];
  const onError =
    opts.onError ??
    ((e: unknown) => void process.stderr.write(`shutdown: a cleanup failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}\n`));
  let deadlineMs = opts.deadlineMs;
  let killedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let killing: Promise<"done" | "deadline"> | undefined;
  const deadlinePassed = new Promise<"deadline">((resolve) => deadlineController.signal.addEventListener("abort", () => resolve("deadline"), { once: true }));

  const settle = (cleanup: Cleanup): Promise<void> =>
    Promise.resolve()
      .then(cleanup)
      .then(
        () => undefined,
        (e: unknown) => onError(e),
      );

  const schedule = () => {
    clearTimeout(timer);
    if (killedAt === undefined || deadlineMs === undefined || deadlineController.signal.aborted) return;
    const left = Math.max(0, killedAt + deadlineMs - performance.now());
    timer = setTimeout(() => deadlineController.abort("deadline"), left);
    timer.unref(); // the deadline never keeps the process alive by itself
  };

  const run = async (): Promise<"done" | "deadline"> => {
    const list = cleanups.splice(0).reverse();
    for (let i = 0; i < list.length; i++) {
      if ((await Promise.race([settle(list[i]!), deadlinePassed])) === "deadline") {
        for (const rest of list.slice(i + 1)) void settle(rest);
        return "deadline";
      }
    }
    return "done";
  };

  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      (opts.onSecondSignal ?? ((s: NodeJS.Signals) => process.exit(128 + (SIGNAL_NUMBERS[s] ?? 15))))(sig);
      return;
    }
    void shutdown.kill(sig);
  };
  const onFollowed = () => void shutdown.kill(String(opts.follow?.reason ?? "aborted"));

  const shutdown: Shutdown = {
    signal: controller.signal,
    deadline: deadlineController.signal,
    get isKilled() {
      return controller.signal.aborted;
    },
    add(cleanup) {
      if (killing) void settle(cleanup);
      else cleanups.push(cleanup);
    },
    kill(reason) {
      if (killing) return killing;
      killedAt = performance.now();
      // The cleanups start once everything listening to the signal has heard it.
      killing = Promise.resolve().then(run);
      controller.abort(reason);
      opts.follow?.removeEventListener("abort", onFollowed);
      schedule();
      return killing;
    },
    setDeadline(ms) {
      deadlineMs = ms;
      schedule();
    },
    dispose() {
      for (const s of opts.signals ?? []) process.off(s, onSignal);
      opts.follow?.removeEventListener("abort", onFollowed);
    },
  };

  for (const s of opts.signals ?? []) process.on(s, onSignal);
  if (opts.follow?.aborted) onFollowed();
  else opts.follow?.addEventListener("abort", onFollowed, { once: true });
  owners.set(controller.signal, shutdown);
  return shutdown;
}

/**
 * The Shutdown whose signal `signal` is (the CLI's, for a command that was handed its signal), or
 * else a new one that begins when `signal` aborts (a caller in process with a signal of its own).
 */
export function shutdownOf(signal: AbortSignal): Shutdown {
  return owners.get(signal) ?? createShutdown({ follow: signal });
}
