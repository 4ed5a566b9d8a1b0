/**
 * The real daemon, `perp-keeper run`, as a child process: it liquidates during a crash, is killed
 * with SIGKILL mid-run, restarts from its checkpoint without a full backfill and without sending
 * a duplicate, serves /healthz and /metrics, and exits 0 on SIGTERM after writing its checkpoint.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress, type Hex } from "viem";
import { afterAll, describe, expect } from "vitest";
import type { Deployment } from "../../src/chain/deploy.ts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { EXIT_IN_FLIGHT, HARD_STOP_MARGIN_MS } from "../../src/cli/run.ts";
import { ANVIL_DEV_PRIVATE_KEYS, waitFor } from "../support/anvil.ts";
import { headOf } from "../support/blocks.ts";
import { startFaultProxy } from "../support/faultProxy.ts";
import { test } from "../support/fixtures.ts";
import { captureOutput } from "../support/logs.ts";
import { liquidatableTraders, liquidations } from "../support/market.ts";
import { isAlive } from "../cli/cli.ts";

test.override({ traderCount: 24 });

const REPO = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "perp-keeper-daemon-"));
const children: ChildProcess[] = [];
afterAll(() => {
  // Our own children and their groups only (the daemon started through bash is in bash's group).
  for (const c of children) {
    if (c.pid === undefined) continue;
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

type Daemon = { child: ChildProcess; lines: Record<string, unknown>[]; raw: string[]; exited: Promise<number | null> };

/**
 * `perp-keeper run` as a child, in a process group of its own (signals go to the group, as a
 * terminal or a service manager sends them). With `viaShell`, bash starts it and waits: a launcher
 * between us and the daemon, as `npx` is (the daemon's pid is then the first line bash prints).
 */
function startDaemon(args: string[], key: string, opts: { viaShell?: boolean } = {}): Daemon {
  const bin = join(REPO, "bin/perp-keeper.js");
  const child = opts.viaShell
    ? spawn("bash", ["-c", `"${process.execPath}" "${bin}" run "$@" & echo "daemon pid $!"; wait`, "bash", ...args], {
        cwd: dir,
        env: { ...process.env, KEEPER_PRIVATE_KEY: key },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      })
    : spawn(process.execPath, [bin, "run", ...args], {
        cwd: dir,
        env: { ...process.env, KEEPER_PRIVATE_KEY: key },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
  children.push(child);
  const { lines, raw } = captureOutput(child);
  return { child, lines, raw, exited: new Promise((r) => child.once("exit", (code) => r(code))) };
}

const logged = (d: Daemon, msg: string) => d.lines.find((l) => l.msg === msg);
const SERVING = "serving /healthz and /metrics on 127.0.0.1";

/** The deployment written to `name` in the temp dir; its path. */
function deploymentFile(deployment: Deployment, name: string): string {
  const path = join(dir, name);
  writeDeployment(path, deployment);
  return path;
}

/** Wait for the daemon to serve /healthz; its port. */
async function servingPort(d: Daemon): Promise<number> {
  const line = await waitFor(() => logged(d, SERVING) ?? (d.child.exitCode !== null ? "exited" : undefined), { timeoutMs: 60_000, message: "the daemon serving /healthz" });
  if (line === "exited" || !line) throw new Error(`the daemon exited early:\n${d.raw.join("\n")}`);
  return Number(line.port);
}

/** Whether anything answers on 127.0.0.1:`port`. */
async function answers(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

describe("perp-keeper run", () => {
  test("killed with SIGKILL mid-run, restarted: resumes from its checkpoint and sends no duplicate", { timeout: 180_000 }, async ({ world }) => {
    const { chain } = world;
    const deploymentPath = deploymentFile(world.deployment, "deployment.json");
    const checkpoint = join(dir, "checkpoint.json");
    const key = ANVIL_DEV_PRIVATE_KEYS[3];
    const keeper = getAddress(chain.wallet(3).account.address);
    const args = [
      "--rpc", chain.anvil.rpcUrl, "--deployment", deploymentPath, "--checkpoint", checkpoint,
      "--health-port", "0", "--polling-interval", "50", "--min-profit", "0", "--log-level", "debug",
    ];
    const from = (await headOf(chain)).number;

    // First run: index, then liquidate as prices fall, then SIGKILL.
    const first = startDaemon(args, key);
    await waitFor(() => logged(first, "index up to date"), { timeoutMs: 60_000, message: "first daemon up" });
    for (let i = 0; i < 30; i++) {
      await world.prices.move(-2);
      if ((await liquidations(world, from)).some((e) => e.keeper === keeper)) break;
    }
    await waitFor(async () => (await liquidations(world, from)).some((e) => e.keeper === keeper), { timeoutMs: 20_000, message: "a first liquidation" });
    await waitFor(() => existsSync(checkpoint), { timeoutMs: 10_000, message: "a checkpoint" });
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(null);

    // Second run from the checkpoint.
    const second = startDaemon(args, key);
    await waitFor(() => logged(second, "serving /healthz and /metrics on 127.0.0.1"), { timeoutMs: 60_000, message: "second daemon up" });
    expect(logged(second, "resumed from checkpoint")).toBeDefined();
    expect(Number(logged(second, "index up to date")!.events)).toBeLessThan(100);

    // /healthz and /metrics.
    const port = Number(logged(second, "serving /healthz and /metrics on 127.0.0.1")!.port);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain("keeper_accounts_tracked");
    expect(metrics).toMatch(/keeper_rpc_requests_total\{method="eth_getBlockByNumber"\} \d+/);

    // The rest of the crash, then time for cooldowns.
    for (let i = 0; i < 15; i++) await world.prices.move(-2);
    const test = chain.testClient;
    for (let r = 0; r < 12 && (await liquidatableTraders(world)).length > 0; r++) {
      await test.increaseTime({ seconds: 31 });
      await world.prices.move(0);
      await new Promise((res) => setTimeout(res, 400));
    }

    // SIGTERM: settles, writes the checkpoint, exits 0.
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(logged(second, "stopped")).toBeDefined();
    expect(existsSync(checkpoint)).toBe(true);

    // No transaction of ours reverted (a duplicate would), none was liquidated twice in one
    // transaction, and the key appears in no line either run wrote.
    const to = (await headOf(chain)).number;
    const ours: Hex[] = [];
    for (let b = from + 1n; b <= to; b++) {
      const block = await chain.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) if (getAddress(tx.from) === keeper) ours.push(tx.hash);
    }
    expect(ours.length).toBeGreaterThan(0);
    const receipts = await Promise.all(ours.map((hash) => chain.publicClient.getTransactionReceipt({ hash })));
    expect(receipts.filter((r) => r.status !== "success")).toEqual([]);
    const events = (await liquidations(world, from)).filter((e) => e.keeper === keeper);
    const pairs = events.map((e) => `${e.txHash}:${e.account}:${e.marketId}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const line of [...first.raw, ...second.raw]) expect(line).not.toContain(key.slice(2));
  });
});

describe("defect 8: the daemon does not outlive its grace period", () => {
  // Bound on a stop: the grace period, the fixed margin, and the process's own start-up-free exit.
  const GRACE_S = 2;
  const BOUND_MS = GRACE_S * 1000 + HARD_STOP_MARGIN_MS + 2_500;

  test("its node stops answering with a transaction in flight; SIGTERM --grace 2: exits 3 within grace + margin, the checkpoint lists it", { timeout: 180_000 }, async ({ world }) => {
    const { chain } = world;
    const proxy = await startFaultProxy({ target: chain.anvil.rpcUrl });
    const test = chain.testClient;
    try {
      const deploymentPath = deploymentFile(world.deployment, "grace-deployment.json");
      const checkpoint = join(dir, "grace-checkpoint.json");
      const d = startDaemon(
        ["--rpc", proxy.url, "--deployment", deploymentPath, "--checkpoint", checkpoint, "--health-port", "0", "--polling-interval", "50", "--min-profit", "0", "--backstop", "--grace", String(GRACE_S)],
        ANVIL_DEV_PRIVATE_KEYS[4],
      );
      const port = await servingPort(d);
      // A crash in one block, and automine left off: the daemon's liquidations stay in the pool.
      await world.prices.inOneBlock(await world.prices.shocked(-150), { keepAutomineOff: true });
      await waitFor(async () => Number(((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { inFlight?: number }).inFlight) > 0, {
        timeoutMs: 30_000,
        message: "a transaction in flight",
      });
      // The node is gone: every request hangs until the client's own timeout.
      proxy.setFaults({ drop: { rate: 1 } });
      const t0 = performance.now();
      process.kill(-d.child.pid!, "SIGTERM");
      const code = await d.exited;
      const ms = performance.now() - t0;
      expect(code, d.raw.slice(-5).join("\n")).toBe(EXIT_IN_FLIGHT);
      expect(ms).toBeLessThan(BOUND_MS);
      expect(d.lines.find((l) => String(l.msg).startsWith("grace period over"))).toMatchObject({ inFlight: expect.any(Number), checkpoint });
      const cp = JSON.parse(readFileSync(checkpoint, "utf8")) as { inFlight: unknown[] };
      expect(cp.inFlight.length).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await test.setAutomine(true);
    }
  });

  test("its node stops answering with nothing in flight; SIGTERM --grace 2: exits 0 within grace + margin", { timeout: 120_000 }, async ({ chain, deployment }) => {
    const path = deploymentFile(deployment, "grace-idle-deployment.json");
    const proxy = await startFaultProxy({ target: chain.anvil.rpcUrl });
    try {
      const d = startDaemon(
        ["--rpc", proxy.url, "--deployment", path, "--checkpoint", join(dir, "grace-idle.json"), "--health-port", "0", "--polling-interval", "50", "--grace", String(GRACE_S)],
        ANVIL_DEV_PRIVATE_KEYS[4],
      );
      await servingPort(d);
      proxy.setFaults({ drop: { rate: 1 } });
      // Let a head poll be caught in the hang before the signal.
      await waitFor(() => proxy.counters().injected.drop > 0, { timeoutMs: 10_000, message: "a request held by the dead node" });
      const t0 = performance.now();
      process.kill(-d.child.pid!, "SIGTERM");
      const code = await d.exited;
      expect(code, d.raw.slice(-5).join("\n")).toBe(0);
      expect(performance.now() - t0).toBeLessThan(BOUND_MS);
    } finally {
      await proxy.close();
    }
  });
});

describe("the daemon survives a node failing during its start", () => {
  test("every nonce read answers 503 for longer than the transport retries: the start tries again, then serves", { timeout: 120_000 }, async ({ chain, deployment }) => {
    const path = deploymentFile(deployment, "start-503-deployment.json");
    const proxy = await startFaultProxy({ target: chain.anvil.rpcUrl });
    try {
      // 8 failures: one call's 6 attempts (the transport's retries) and 2 of the next.
      proxy.setFaults({ http5xx: { rate: 1, status: 503, methods: ["eth_getTransactionCount"], maxCount: 8 } });
      const d = startDaemon(["--rpc", proxy.url, "--deployment", path, "--checkpoint", join(dir, "start-503.json"), "--health-port", "0", "--polling-interval", "50"], ANVIL_DEV_PRIVATE_KEYS[5]);
      const port = await servingPort(d);
      expect(proxy.counters().injected.http5xx).toBe(8);
      expect(d.lines.find((l) => l.msg === "start: the node failed for a while; trying again")).toMatchObject({ level: "warn", attempt: 1, step: "nonces" });
      expect(await answers(port)).toBe(true);
      process.kill(-d.child.pid!, "SIGTERM");
      expect(await d.exited).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});

describe("defect 10: the daemon does not outlive its parent launcher", () => {
  test("started through a shell that is SIGKILLed: the daemon stops and /healthz goes away", { timeout: 120_000 }, async ({ chain, deployment }) => {
    const path = deploymentFile(deployment, "parent-deployment.json");
    const d = startDaemon(
      ["--rpc", chain.anvil.rpcUrl, "--deployment", path, "--checkpoint", join(dir, "parent-checkpoint.json"), "--health-port", "0", "--polling-interval", "50", "--grace", "2"],
      ANVIL_DEV_PRIVATE_KEYS[5],
      { viaShell: true },
    );
    const port = await servingPort(d);
    const pid = Number(/^daemon pid (\d+)$/m.exec(d.raw.join("\n"))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(await answers(port)).toBe(true);
    d.child.kill("SIGKILL"); // the launcher only: the daemon is its child, not signalled
    await d.exited;
    await waitFor(() => !isAlive(pid), { timeoutMs: 15_000, message: `daemon pid ${pid} gone after its parent` });
    expect(await answers(port)).toBe(false);
    expect(d.raw.join("\n")).toContain("exited; shutting down");
  });
});

describe("defect 10: one daemon per checkpoint file", () => {
  test("a second daemon on the same checkpoint is refused, naming the file and the holder; a SIGKILLed holder's lock does not block a restart", { timeout: 120_000 }, async ({ chain, deployment }) => {
    const path = deploymentFile(deployment, "lock-deployment.json");
    const checkpoint = join(dir, "shared-checkpoint.json");
    const args = ["--rpc", chain.anvil.rpcUrl, "--deployment", path, "--checkpoint", checkpoint, "--health-port", "0", "--polling-interval", "50"];
    const first = startDaemon(args, ANVIL_DEV_PRIVATE_KEYS[6]);
    await servingPort(first);

    const second = startDaemon(args, ANVIL_DEV_PRIVATE_KEYS[7]);
    expect(await second.exited).toBe(1);
    const errors = second.raw.filter((l) => l.startsWith("perp-keeper: "));
    expect(errors).toEqual([`perp-keeper: ${checkpoint} is in use by another process (pid ${first.child.pid}, its lock is ${checkpoint}.lock); stop that one first, or pass another file`]);
    expect(second.raw.join("\n")).not.toContain("    at ");

    first.child.kill("SIGKILL");
    expect(await first.exited).toBe(null);
    expect(existsSync(`${checkpoint}.lock`)).toBe(true); // left behind by the killed holder
    const third = startDaemon(args, ANVIL_DEV_PRIVATE_KEYS[6]);
    await servingPort(third);
    process.kill(-third.child.pid!, "SIGTERM");
    expect(await third.exited).toBe(0);
    expect(existsSync(`${checkpoint}.lock`)).toBe(false);
  });
});
