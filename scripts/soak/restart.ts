/**
 * Restarts in the soak: when (planRestarts), and how (restart): the daemon's process group is
 * signalled, the chain keeps mining a block every 200 ms while it is down (a chain does not wait
 * for a keeper), and it is started again on its checkpoint and followed until it is at the chain's
 * head. Misses do not count from the signal until then (Windows).
 */
import type { Windows } from "./audit.ts";
import type { Incarnation, SoakDaemon } from "./daemon.ts";
import type { SoakWorld } from "./world.ts";

export type RestartSignal = "SIGTERM" | "SIGKILL";

export type Restart = {
  block: number;
  signal: "SIGTERM" | "SIGKILL";
  exitCode: number | null;
  stopMs: number;
  /** From the new start to its head at the chain's (caughtUp), ms. */
  readyMs: number;
  /** The new incarnation reached the chain's head within a minute. */
  caughtUp: boolean;
  /** Starts that exited before serving (each started again, as a service manager does). */
  failedStarts: number;
  /** The daemon's one-line error of each failed start. */
  startErrors: string[];
  downBlocks: number;
  resumed: boolean;
  backfilledEvents?: number;
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Restart offsets: `o.restarts` spread over the first 45% of the run; every third (and at least one) a SIGKILL. */
export function planRestarts(o: { blocks: number; restarts: number }): { offset: number; signal: RestartSignal }[] {
  const out: { offset: number; signal: RestartSignal }[] = [];
  for (let i = 1; i <= o.restarts; i++) {
    const offset = Math.floor((0.45 * o.blocks * i) / (o.restarts + 0.5));
    out.push({ offset, signal: i % 3 === 2 || (o.restarts === 1 && i === 1) ? "SIGKILL" : "SIGTERM" });
  }
  return out;
}
/** Stop the daemon with `signal` and start it again on its checkpoint, the chain mining all along. */
export async function restart(daemon: SoakDaemon, world: SoakWorld, windows: Windows, signal: "SIGTERM" | "SIGKILL", at: bigint): Promise<Restart> {
  windows.open(at);
  const stopped = await mineUntil(world, daemon.stop(signal));
  const t = performance.now();
  // As a service manager (Restart=on-failure) would: a start that fails (a fault at a start-up
  // read the daemon does not retry) is started again, and counted.
  let failedStarts = 0;
  const startErrors: string[] = [];
  let inc: Incarnation | undefined;
  while (!inc) {
    try {
      inc = await mineUntil(world, daemon.start());
    } catch (e) {
      startErrors.push(/^perp-keeper: .*$/m.exec(String(e))?.[0] ?? String(e).split("\n")[0]!);
      if (++failedStarts >= 5) throw e;
      await mineUntil(world, sleep(1_000));
    }
  }
  const now = await world.reader.getBlockNumber({ cacheTime: 0 });
  const up = await caughtUp(daemon, now, 60_000);
  const back = await world.reader.getBlockNumber({ cacheTime: 0 });
  windows.close(back);
  return {
    block: Number(at),
    signal,
    exitCode: stopped.code,
    stopMs: stopped.ms,
    readyMs: Math.round(performance.now() - t),
    caughtUp: up,
    failedStarts,
    startErrors,
    downBlocks: Number(back - at),
    resumed: inc.resumed,
    ...(inc.backfilledEvents === undefined ? {} : { backfilledEvents: inc.backfilledEvents }),
  };
}

/** Mine a block every 200 ms until `p` settles (a chain does not wait for a keeper); its value. */
export async function mineUntil<T>(world: SoakWorld, p: Promise<T>): Promise<T> {
  let done = false;
  const settled = p.finally(() => (done = true));
  while (!done) {
    await world.test.mine({ blocks: 1 });
    await Promise.race([settled.catch(() => undefined), sleep(200)]);
  }
  return settled;
}

/** Wait (at most `ms`) until the daemon's /healthz head is at `block`. */
export async function caughtUp(daemon: SoakDaemon, block: bigint, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    const h = await daemon.health();
    if (h?.head !== undefined && h.head >= block) return true;
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
}
