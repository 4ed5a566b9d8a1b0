/**
 * Tracking of the Anvil processes started by {@link startAnvil} (and only those): the process
 * `'exit'` hook and {@link stopAllAnvils}.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';

/** Every Anvil this module spawned that has not exited yet (starting or ready), with its stop(). */
export const liveChildren = new Map<ChildProcess, () => Promise<void>>();
let exitHookInstalled = false;

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: cannot wait for exit here, so just signal our own children.
  process.on('exit', () => {
    for (const child of liveChildren.keys()) {
      if (!isRunning(child)) continue;
      try {
        child.kill('SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Stops every Anvil started by this module that is still running, including ones still starting
 * (their startAnvil() then rejects). For CLI signal handlers and test teardown.
 */
export async function stopAllAnvils(): Promise<void> {
  await Promise.all([...liveChildren.values()].map((stop) => stop()));
}
