/**
 * The real daemon, `perp-keeper run`, as a child process: it liquidates during a crash, is killed
 * with SIGKILL mid-run, restarts from its checkpoint without a full backfill and without sending
 * a duplicate, serves /healthz and /metrics, and exits 0 on SIGTERM after writing its checkpoint.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress, type Hex } from "viem";
import { afterAll, describe, expect, test } from "vitest";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain, waitFor, withSnapshot } from "../support/anvil.ts";
import { headOf, liquidatableTraders, liquidationEvents, movePrices, seedWorld } from "./scenario.ts";

const REPO = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "perp-keeper-daemon-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

type Daemon = { child: ChildProcess; lines: Record<string, unknown>[]; raw: string[]; exited: Promise<number | null> };

function startDaemon(args: string[], key: string): Daemon {
  const child = spawn(process.execPath, [join(REPO, "bin/perp-keeper.js"), "run", ...args], {
    cwd: dir,
    env: { ...process.env, KEEPER_PRIVATE_KEY: key },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const d: Daemon = { child, lines: [], raw: [], exited: new Promise((r) => child.once("exit", (code) => r(code))) };
  let buf = "";
  const onData = (chunk: Buffer) => {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      d.raw.push(line);
      try {
        d.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  return d;
}

const logged = (d: Daemon, msg: string) => d.lines.find((l) => l.msg === msg);

describe("perp-keeper run", () => {
  withSnapshot();

  test("killed with SIGKILL mid-run, restarted: resumes from its checkpoint and sends no duplicate", { timeout: 180_000 }, async () => {
    const chain = await getTestChain();
    const world = await seedWorld(chain);
    const deploymentPath = join(dir, "deployment.json");
    const checkpoint = join(dir, "checkpoint.json");
    writeDeployment(deploymentPath, world.deployment);
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
      await movePrices(world, -2);
      if ((await liquidationEvents(world, from)).some((e) => e.keeper === keeper)) break;
    }
    await waitFor(async () => (await liquidationEvents(world, from)).some((e) => e.keeper === keeper), { timeoutMs: 20_000, message: "a first liquidation" });
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
    for (let i = 0; i < 15; i++) await movePrices(world, -2);
    const test = chain.testClient;
    for (let r = 0; r < 12 && (await liquidatableTraders(world)).length > 0; r++) {
      await test.increaseTime({ seconds: 31 });
      await movePrices(world, 0);
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
    const events = (await liquidationEvents(world, from)).filter((e) => e.keeper === keeper);
    const pairs = events.map((e) => `${e.txHash}:${e.account}:${e.marketId}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const line of [...first.raw, ...second.raw]) expect(line).not.toContain(key.slice(2));
  });
});
