/**
 * `perp-keeper run`, the real daemon, as the soak's child process: started as
 * test/keeper/daemon.test.ts starts it (node bin/perp-keeper.js run, its own process group, the key
 * in KEEPER_PRIVATE_KEY, never through npx), stopped by signalling its group (SIGTERM: settle,
 * checkpoint, exit; SIGKILL: a crash), started again on the same checkpoint. Counts every byte it
 * writes, and reads what it says of itself: /healthz (its head), /metrics (its resident memory and
 * map sizes) and /proc/<pid>/status (VmRSS, the kernel's figure).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dirname, "..", "..");
const SERVING = "serving /healthz and /metrics on 127.0.0.1";
/** Variables a developer's shell may hold that change what the daemon signs with or connects to (as test/cli/cli.ts drops them). */
const SECRET_VARIABLES = ["KEEPER_KEYSTORE_PASSWORD", "KEEPER_KEYSTORE_PASSWORD_FILE", "KEEPER_RPC_URLS", "KEEPER_RPC_URLS_FILE", "KEEPER_SEND_RPC_URLS", "KEEPER_SEND_RPC_URLS_FILE"];
/** Raw lines kept per incarnation for error messages (the soak must not grow with its child's output). */
const TAIL_LINES = 200;

export type Incarnation = {
  n: number;
  pid: number;
  startedAtMs: number;
  /** Health port, once it serves. */
  port?: number;
  /** It said "resumed from checkpoint". */
  resumed: boolean;
  /** Events its start-up backfill applied ("index up to date"). */
  backfilledEvents?: number;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail: string[];
};

export type DaemonHealth = { head: bigint | undefined; inFlight: number; ready: boolean };

export type DaemonOptions = {
  rpcUrl: string;
  deploymentPath: string;
  configPath: string;
  key: string;
  cwd: string;
  /** Append every line every incarnation writes to this file (for reading a run afterwards). */
  logPath?: string;
};

export class SoakDaemon {
  /** Bytes written to stdout and stderr, by every incarnation. */
  bytes = 0;
  /** Log lines by level (the logger writes its label: "info", "warn", …), every incarnation. */
  readonly levels = new Map<string, number>();
  readonly incarnations: Incarnation[] = [];
  private child: ChildProcess | undefined;

  constructor(private readonly opts: DaemonOptions) {}

  get current(): Incarnation | undefined {
    const last = this.incarnations[this.incarnations.length - 1];
    return last && !last.exit ? last : undefined;
  }

  /** Start an incarnation; resolves once it serves /healthz (throws with its output if it exits first). */
  async start(timeoutMs = 120_000): Promise<Incarnation> {
    const env: NodeJS.ProcessEnv = { ...process.env, KEEPER_PRIVATE_KEY: this.opts.key, NO_COLOR: "1" };
    for (const k of SECRET_VARIABLES) delete env[k];
    const args = ["run", "--rpc", this.opts.rpcUrl, "--deployment", this.opts.deploymentPath, "--config", this.opts.configPath, "--grace", "5"];
    const child = spawn(process.execPath, [join(REPO, "bin/perp-keeper.js"), ...args], { cwd: this.opts.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    if (child.pid === undefined) throw new Error("the daemon did not start");
    this.child = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
    const inc: Incarnation = { n: this.incarnations.length + 1, pid: child.pid, startedAtMs: performance.now(), resumed: false, exited, tail: [] };
    void exited.then((e) => (inc.exit = e));
    this.incarnations.push(inc);
    let buf = "";
    const onData = (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.opts.logPath) appendFileSync(this.opts.logPath, chunk);
      buf += chunk.toString("utf8");
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        this.line(inc, buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const deadline = performance.now() + timeoutMs;
    while (inc.port === undefined) {
      if (inc.exit) throw new Error(`the daemon exited (${JSON.stringify(inc.exit)}) before serving:\n${inc.tail.join("\n")}`);
      if (performance.now() > deadline) throw new Error(`the daemon did not serve /healthz within ${timeoutMs} ms:\n${inc.tail.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return inc;
  }

  private line(inc: Incarnation, text: string): void {
    if (text.trim() === "") return;
    inc.tail.push(text);
    if (inc.tail.length > TAIL_LINES) inc.tail.shift();
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = String(l.level);
    this.levels.set(level, (this.levels.get(level) ?? 0) + 1);
    if (l.msg === SERVING) inc.port = Number(l.port);
    else if (l.msg === "resumed from checkpoint") inc.resumed = true;
    else if (l.msg === "index up to date") inc.backfilledEvents = Number(l.events);
  }

  /** Signal the current incarnation's process group and wait for it to exit; its exit and how long it took. */
  async stop(signal: "SIGTERM" | "SIGKILL"): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const inc = this.current;
    if (!inc) throw new Error("no daemon running");
    const t0 = performance.now();
    process.kill(-inc.pid, signal);
    const e = await inc.exited;
    this.child = undefined;
    return { ...e, ms: Math.round(performance.now() - t0) };
  }

  /** Last resort (the soak failed): SIGKILL the group of a daemon still running. */
  kill(): void {
    const inc = this.current;
    if (!inc) return;
    try {
      process.kill(-inc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  /** /healthz of the current incarnation (undefined when it does not answer). */
  async health(): Promise<DaemonHealth | undefined> {
    const port = this.current?.port;
    if (port === undefined) return undefined;
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      const b = (await r.json()) as { head?: string | null; inFlight?: number };
      return { head: typeof b.head === "string" ? BigInt(b.head) : undefined, inFlight: Number(b.inFlight ?? 0), ready: r.status === 200 };
    } catch {
      return undefined;
    }
  }

  /** /metrics of the current incarnation, as text (undefined when it does not answer). */
  async metrics(): Promise<string | undefined> {
    const port = this.current?.port;
    if (port === undefined) return undefined;
    try {
      return await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    } catch {
      return undefined;
    }
  }

  /** VmRSS of the current incarnation from /proc, bytes (undefined off Linux or once it is gone). */
  rssBytes(): number | undefined {
    const pid = this.current?.pid;
    if (pid === undefined) return undefined;
    try {
      const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}

/** One sample `name{label="…"} value` per label value of `name` in a Prometheus text exposition. */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"[^}]*\\} (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

/** The value of an unlabelled metric `name` (undefined when absent). */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}
