/**
 * Shutdown in one place (src/lib/shutdown.ts): one signal, cleanups awaited one after another,
 * the last added first, a second kill that does nothing, a hard deadline after which kill returns
 * whatever still hangs; and the keeper's stop, which returns by its deadline even if the node hangs.
 */
import { describe, expect, it } from "vitest";
import type { Executor } from "../../src/execute/executor.ts";
import { Keeper, type KeeperInputs } from "../../src/keeper/keeper.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { createShutdown, shutdownOf } from "../../src/lib/shutdown.ts";
import { sleep } from "../../src/lib/sleep.ts";

const never = () => new Promise<never>(() => {});

describe("createShutdown", () => {
  it("kill aborts the signal, then awaits every cleanup in turn, the last added first", async () => {
    const s = createShutdown();
    const events: string[] = [];
    const cleanup = (name: string, ms: number) => async () => {
      events.push(`${name} start (signal ${s.signal.aborted ? "aborted" : "live"})`);
      await sleep(ms);
      events.push(`${name} end`);
    };
    s.add(cleanup("server", 5));
    s.add(cleanup("lock", 20));
    s.add(cleanup("keeper", 10));
    expect(s.isKilled).toBe(false);
    const done = s.kill("SIGTERM");
    expect(s.isKilled).toBe(true);
    expect(s.signal.reason).toBe("SIGTERM");
    expect(await done).toBe("done");
    expect(events).toEqual([
      "keeper start (signal aborted)",
      "keeper end",
      "lock start (signal aborted)",
      "lock end",
      "server start (signal aborted)",
      "server end",
    ]);
  });

  it("a second kill is a no-op: the same promise, every cleanup run once, the first reason kept", async () => {
    const s = createShutdown();
    let runs = 0;
    s.add(async () => {
      runs++;
      await sleep(5);
    });
    const first = s.kill("SIGINT");
    const second = s.kill("SIGTERM");
    expect(second).toBe(first);
    await first;
    expect(await s.kill("again")).toBe("done");
    expect(runs).toBe(1);
    expect(s.signal.reason).toBe("SIGINT");
  });

  it("a cleanup that throws is reported, and the next one still runs", async () => {
    const errors: unknown[] = [];
    const s = createShutdown({ onError: (e) => errors.push(e) });
    let ran = false;
    s.add(() => {
      ran = true;
    });
    s.add(() => {
      throw new Error("boom");
    });
    expect(await s.kill("x")).toBe("done");
    expect(ran).toBe(true);
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
  });

  it("the hard deadline: kill returns when it passes, even with a cleanup that never ends; later cleanups are still started", async () => {
    const s = createShutdown({ deadlineMs: 60 });
    let lockReleased = false;
    let hungSawDeadline = false;
    s.add(() => {
      lockReleased = true;
    });
    s.add(async () => {
      s.deadline.addEventListener("abort", () => (hungSawDeadline = true));
      await never();
    });
    const t0 = performance.now();
    expect(await s.kill("SIGTERM")).toBe("deadline");
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(1_000);
    expect(s.deadline.aborted).toBe(true);
    expect(hungSawDeadline).toBe(true);
    expect(lockReleased).toBe(true);
  });

  it("setDeadline after the kill began counts from the kill", async () => {
    const s = createShutdown();
    s.add(never);
    const t0 = performance.now();
    const done = s.kill("SIGTERM");
    await sleep(30);
    s.setDeadline(50);
    expect(await done).toBe("deadline");
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(45);
    expect(ms).toBeLessThan(500);
  });

  it("without a deadline, the deadline signal never fires", async () => {
    const s = createShutdown();
    expect(await s.kill("x")).toBe("done");
    await sleep(20);
    expect(s.deadline.aborted).toBe(false);
  });

  it("a cleanup added after the kill began runs at once", async () => {
    const s = createShutdown();
    await s.kill("x");
    let ran = false;
    s.add(() => {
      ran = true;
    });
    await sleep(0);
    expect(ran).toBe(true);
  });

  it("process signals: the first kills with the signal's name, a second calls onSecondSignal; dispose stops listening", async () => {
    const before = process.listenerCount("SIGUSR2");
    const second: string[] = [];
    const s = createShutdown({ signals: ["SIGUSR2"], onSecondSignal: (sig) => second.push(sig) });
    expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
    process.emit("SIGUSR2", "SIGUSR2");
    expect(s.isKilled).toBe(true);
    expect(s.signal.reason).toBe("SIGUSR2");
    process.emit("SIGUSR2", "SIGUSR2");
    expect(second).toEqual(["SIGUSR2"]);
    s.dispose();
    expect(process.listenerCount("SIGUSR2")).toBe(before);
  });

  it("shutdownOf: a command handed the signal finds its Shutdown; a foreign signal gets one that follows it", async () => {
    const s = createShutdown();
    expect(shutdownOf(s.signal)).toBe(s);
    const caller = new AbortController();
    const follower = shutdownOf(caller.signal);
    expect(follower).not.toBe(s);
    let cleaned = false;
    follower.add(() => {
      cleaned = true;
    });
    caller.abort("test over");
    expect(follower.isKilled).toBe(true);
    expect(follower.signal.reason).toBe("test over");
    expect(await follower.kill("again")).toBe("done");
    expect(cleaned).toBe(true);
  });
});

/** A keeper whose executor's drain waits on a node that never answers (unless the drain's signal ends it). */
function hangingKeeper(opts: { drainHonoursSignal: boolean }): { keeper: Keeper; drainSignal: () => AbortSignal | undefined } {
  let drainSignal: AbortSignal | undefined;
  const executor = {
    drain: (_ms: number, signal?: AbortSignal) => {
      drainSignal = signal;
      if (!opts.drainHonoursSignal || !signal) return never();
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve({ settled: false, inFlight: [] })));
    },
    inFlight: () => [],
  } as unknown as Executor;
  const inputs = {
    executor,
    indexer: { head: undefined },
    book: {},
    logger: silentLogger(),
    metrics: createMetrics(),
    settings: { gas: undefined },
    protocol: { gas: {} },
    checkpoint: false,
  } as unknown as KeeperInputs<never, never>;
  return { keeper: new Keeper(inputs), drainSignal: () => drainSignal };
}

describe("Keeper.stop has a hard deadline", () => {
  it("returns at graceMs + marginMs even if the drain hangs on a dead node", async () => {
    const { keeper } = hangingKeeper({ drainHonoursSignal: false });
    const t0 = performance.now();
    await expect(keeper.stop(20, { marginMs: 40 })).resolves.toEqual({ settled: false, timedOut: true });
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(1_000);
  });

  it("returns when the caller's deadline (a shutdown's) fires first, and the drain's waits see it", async () => {
    const { keeper, drainSignal } = hangingKeeper({ drainHonoursSignal: true });
    const s = createShutdown({ deadlineMs: 30 });
    void s.kill("SIGTERM");
    const t0 = performance.now();
    const r = await keeper.stop(60_000, { signal: s.deadline });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(r.timedOut).toBe(true);
    expect(drainSignal()?.aborted).toBe(true);
  });
});
