/**
 * `perp-keeper run`, the daemon operators run, as a child process of the bench: started from
 * bin/perp-keeper.js in a process group of its own (signals go to the group), its JSON log lines
 * kept, stopped with SIGTERM (SIGKILL after a grace). Readiness is its own /readyz.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import type { Hex } from "viem";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export type DaemonOptions = {
  rpcUrl: string;
  deploymentPath: string;
  privateKey: Hex;
  /** Settings over config/keeper.json's; the file is written beside the checkpoint. */
  settings: Record<string, unknown>;
  logLevel?: string;
  /** Extra flags of `perp-keeper run`. */
  args?: string[];
};

export type Daemon = {
  readonly pid: number;
  readonly port: number;
  /** Its JSON log lines so far (stdout and stderr). */
  readonly lines: Record<string, unknown>[];
  /** Bytes it wrote to stdout and stderr. */
  readonly logBytes: number;
  /** One metric's value(s) from its /metrics endpoint, by the label set's text. */
  metric(name: string): Promise<Map<string, number>>;
  stop(graceMs?: number): Promise<number | null>;
};

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), "bench-daemon-"));
  const config = join(dir, "keeper.json");
  const defaults = JSON.parse(readFileSync(join(REPO, "config/keeper.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(config, JSON.stringify({ ...defaults, ...o.settings, checkpointPath: join(dir, "checkpoint.json") }, null, 2));
  const args = ["run", "--rpc", o.rpcUrl, "--deployment", o.deploymentPath, "--config", config, "--health-port", "0", "--log-level", o.logLevel ?? "info", ...(o.args ?? [])];
  const child: ChildProcess = spawn(process.execPath, [join(REPO, "bin/perp-keeper.js"), ...args], {
    cwd: dir,
    env: { ...process.env, KEEPER_PRIVATE_KEY: o.privateKey },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: Record<string, unknown>[] = [];
  let logBytes = 0;
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = "";
    stream.on("data", (b: Buffer) => {
      logBytes += b.length;
      const text = rest + b.toString("utf8");
      const parts = text.split("\n");
      rest = parts.pop()!;
      for (const p of parts) {
        try {
          lines.push(JSON.parse(p) as Record<string, unknown>);
        } catch {
          lines.push({ msg: p });
        }
      }
    });
  }
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let port = 0;
  for (const t0 = performance.now(); performance.now() - t0 < 600_000; ) {
    const serving = lines.find((l) => typeof l.msg === "string" && l.msg.startsWith("serving /healthz"));
    if (serving) {
      port = Number(serving.port);
      break;
    }
    if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
    await sleep(50);
  }
  if (!port) throw new Error("the daemon did not serve /healthz within 10 minutes");
  // Ready: backfilled, head fresh, markets priced, wallet funded.
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (r?.status === 200) break;
    if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}`);
    await sleep(100);
  }
  const groupSignal = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  return {
    pid: child.pid!,
    port,
    lines,
    get logBytes() {
      return logBytes;
    },
    async metric(name) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const out = new Map<string, number>();
      for (const line of text.split("\n")) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-z_:]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
        if (m && m[1] === name) out.set(m[2] ?? "", Number(m[3]));
      }
      return out;
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null) return child.exitCode;
      groupSignal("SIGTERM");
      const code = await Promise.race([exited, sleep(graceMs).then(() => "timeout" as const)]);
      if (code !== "timeout") return code;
      groupSignal("SIGKILL");
      return exited;
    },
  };
}
