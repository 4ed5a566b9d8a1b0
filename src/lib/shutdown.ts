/**
 * One AbortController for the process (ponder's createShutdown): SIGINT/SIGTERM abort it; the
 * owner then stops intake, lets in-flight work finish within a grace period, flushes state and
 * exits. A second signal exits at once.
 */
export type Shutdown = {
  signal: AbortSignal;
  /** Resolves with the signal's name when shutdown starts. */
  requested: Promise<string>;
  /** Start shutdown programmatically. */
  trigger(reason: string): void;
  dispose(): void;
};

export function createShutdown(opts: { onSecondSignal?: () => void } = {}): Shutdown {
  const controller = new AbortController();
  let resolve!: (s: string) => void;
  const requested = new Promise<string>((r) => (resolve = r));
  const trigger = (reason: string) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    resolve(reason);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      (opts.onSecondSignal ?? (() => process.exit(130)))();
      return;
    }
    trigger(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    requested,
    trigger,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
