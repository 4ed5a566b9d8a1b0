/**
 * A real Prometheus scrapes a real daemon: Anvil with the reference market; `perp-keeper run` as a
 * child process, started with docker-compose.yml's keeper command line and secret files (on a free
 * health port); and Debian's `prometheus` with a temporary config (scrape every second, the shipped
 * alert rules loaded) and storage. The Dockerfile's HEALTHCHECK passes against the daemon; the
 * keeper_* series appear in Prometheus's API and follow the chain's head; the shipped rules evaluate
 * without errors and none fires for a healthy keeper; every Grafana panel's query runs; the
 * keeper's own /metrics families pass `promtool check metrics`.
 *
 * Needs Debian's `prometheus` package; without it the suite is skipped and says so. Every process
 * started here is stopped by pid (its own process group) in afterAll; Anvil by test/support/anvil.ts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify as toYaml } from "yaml";
import type { ChainClients } from "../../src/chain/clients.ts";
import { deployReferenceMarket } from "../../src/chain/deploy.ts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { deployNativeUsdFeed } from "../../src/chain/nativeFeed.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain, waitFor, type TestChain } from "../support/anvil.ts";
import { BIN, cliEnv } from "../cli/cli.ts";
import { encryptKeystore } from "../cli/keystores.ts";
import { ALERTS, COMPOSE, DOCKERFILE, INSTALL_PROMETHEUS, alertNames, dashboardQueries, hasTool, keeperMetrics, readYaml } from "./support.ts";

const HAVE_PROMETHEUS = hasTool("prometheus") && hasTool("promtool");
if (!HAVE_PROMETHEUS) process.stderr.write(`test/deploy/scrape.test.ts: skipped: prometheus is not installed; ${INSTALL_PROMETHEUS}\n`);

const SERVING = "serving /healthz and /metrics on 127.0.0.1";

/** A JSON log line of the daemon ({} for anything else). */
function logLine(line: string): { msg?: string; port?: number } {
  try {
    return JSON.parse(line) as { msg?: string; port?: number };
  } catch {
    return {};
  }
}

type Proc = { name: string; child: ChildProcess; output: string[]; exited: Promise<number | null> };

/** The temp dir (created when the suite runs, so a skipped suite leaves nothing behind). */
let dir = "";
const procs: Proc[] = [];

/** `cmd args` in a process group of its own (so afterAll can stop it and anything it started), output kept. */
function start(name: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(cmd, [...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const p: Proc = { name, child, output: [], exited: new Promise((r) => child.once("exit", (code) => r(code))) };
  const keep = (chunk: Buffer) => p.output.push(...chunk.toString().split("\n").filter((l) => l !== ""));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  procs.push(p);
  return p;
}

/** SIGTERM to the group, then SIGKILL if it has not exited within `ms`. */
async function stop(p: Proc, ms: number): Promise<void> {
  const pid = p.child.pid;
  if (pid === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref());
  if ((await Promise.race([p.exited, timer])) === "timeout") {
    signal("SIGKILL");
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}


/** A port nothing listens on now (the OS's pick for port 0, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

type QueryResult = { metric: Record<string, string>; value: [number, string] }[];
type ApiAnswer<T> = { status: "success" | "error"; data: T; error?: string; errorType?: string };

let chain: TestChain;
let keeperPort = 0;
let promUrl = "";
let keeperProc: Proc;

/** GET Prometheus's HTTP API (bounded). */
async function api<T>(path: string, params: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  const url = new URL(path, promUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as ApiAnswer<T>;
}

async function query(q: string): Promise<QueryResult> {
  const a = await api<{ resultType: string; result: QueryResult }>("/api/v1/query", { query: q });
  if (a.status !== "success") throw new Error(`${q}: ${a.errorType}: ${a.error}`);
  return a.data.result;
}

/** What the processes said, for a failed wait. */
const said = () => procs.map((p) => `--- ${p.name} (exit ${p.child.exitCode}):\n${p.output.slice(-40).join("\n")}`).join("\n");

/** Wait for `cond`, failing early (with the processes' output) when one of them exits. */
async function until<T>(what: string, cond: () => T | Promise<T>, timeoutMs: number): Promise<NonNullable<T>> {
  try {
    // waitFor resolves only with a truthy value.
    return (await waitFor(
      async () => {
        const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
        if (dead) throw new Error(`${dead.name} exited`);
        return cond();
      },
      { timeoutMs, intervalMs: 200, message: what },
    )) as NonNullable<T>;
  } catch (e) {
    throw new Error(`${(e as Error).message} (${String((e as Error).cause ?? "")})\n${said()}`, { cause: e });
  }
}

describe.skipIf(!HAVE_PROMETHEUS)(HAVE_PROMETHEUS ? "a real Prometheus scrapes a running perp-keeper" : `a real Prometheus scrapes a running perp-keeper (skipped: ${INSTALL_PROMETHEUS})`, () => {
  afterAll(async () => {
    for (const p of [...procs].reverse()) await stop(p, 20_000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "perp-keeper-scrape-"));
    // The chain and the market.
    chain = await getTestChain();
    const c = { publicClient: chain.publicClient, walletClient: chain.wallet(0) } as unknown as ChainClients;
    const deployment = { ...(await deployReferenceMarket(c, { markets: loadMarkets(), preset: loadPreset("hyperliquid") })), nativeUsdFeed: await deployNativeUsdFeed(c) };
    const deploymentPath = join(dir, "deployment.json");
    writeDeployment(deploymentPath, deployment);

    // The daemon, started as docker-compose.yml starts it: its command line and environment, with
    // the secrets as files (an encrypted keystore, its password, the RPC URL), container paths
    // mapped into the temp dir and any free health port.
    const secrets = join(dir, "secrets");
    mkdirSync(secrets);
    const password = "scrape-test-password";
    writeFileSync(join(secrets, "keeper_keystore"), JSON.stringify(encryptKeystore(ANVIL_DEV_PRIVATE_KEYS[6], password)));
    writeFileSync(join(secrets, "keeper_keystore_password"), `${password}\n`);
    writeFileSync(join(secrets, "rpc_url"), `${chain.anvil.rpcUrl}\n`);
    mkdirSync(join(dir, "data"));
    const compose = readYaml<{ services: { keeper: { command: string[]; environment: Record<string, string> } } }>(COMPOSE).services.keeper;
    const toHere = (v: string) =>
      v
        .replace(/^\/run\/secrets\//, `${secrets}/`)
        .replace(/^\/etc\/perp-keeper\/deployment\.json$/, deploymentPath)
        .replace(/^\/var\/lib\/perp-keeper\//, `${join(dir, "data")}/`);
    const args = compose.command.map(toHere);
    args[args.indexOf("--health-port") + 1] = "0";
    const env = Object.fromEntries(Object.entries(compose.environment).map(([k, v]) => [k, toHere(v)]));
    keeperProc = start("perp-keeper run", process.execPath, [BIN, ...args, "--polling-interval", "100"], cliEnv(env));
    const line = await until(
      "the daemon serving /metrics",
      () => keeperProc.output.map(logLine).find((l) => l.msg === SERVING),
      60_000,
    );
    keeperPort = Number(line.port);
    expect(keeperPort).toBeGreaterThan(0);

    // Prometheus: scrape every second, the shipped rules, storage in the temp dir.
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [ALERTS],
      scrape_configs: [{ job_name: "perp-keeper", scrape_interval: "1s", scrape_timeout: "1s", static_configs: [{ targets: [`127.0.0.1:${keeperPort}`] }] }],
    };
    const configPath = join(dir, "prometheus.yml");
    writeFileSync(configPath, toYaml(config));
    mkdirSync(join(dir, "tsdb"));
    start(
      "prometheus",
      "prometheus",
      [`--config.file=${configPath}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"],
      { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
    );
    await until("Prometheus ready", async () => (await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok, 30_000);
  }, 120_000);

  test("the Dockerfile's HEALTHCHECK command passes against the running daemon", { timeout: 60_000 }, async () => {
    const m = /^HEALTHCHECK [^\n]*\n\s*CMD (\[.*\])$/m.exec(readFileSync(DOCKERFILE, "utf8"));
    expect(m).not.toBeNull();
    const [node, ...rest] = JSON.parse(m![1]!) as string[];
    expect(node).toBe("node");
    const argv = rest.map((a) => a.replace("127.0.0.1:9464", `127.0.0.1:${keeperPort}`));
    expect(argv.join(" ")).toContain(`127.0.0.1:${keeperPort}/livez`);
    // 503 until the keeper reports itself healthy; then the check exits 0.
    await until("the HEALTHCHECK command to pass", () => spawnSync(process.execPath, argv, { timeout: 10_000 }).status === 0, 30_000);
  });

  test("the keeper_* series appear in Prometheus and follow the chain's head", { timeout: 90_000 }, async () => {
    const head = await chain.publicClient.getBlockNumber();
    const scraped = await until("keeper_head_block in Prometheus", async () => {
      const r = await query("keeper_head_block");
      return r.length === 1 && Number(r[0]!.value[1]) === Number(head) ? r : undefined;
    }, 30_000);
    expect(scraped[0]!.metric).toMatchObject({ __name__: "keeper_head_block", job: "perp-keeper", instance: `127.0.0.1:${keeperPort}` });
    expect(await query('up{job="perp-keeper"}')).toMatchObject([{ value: [expect.any(Number), "1"] }]);

    // Every metric without labels is there from the start (labelled ones appear on first use), and
    // the RPC counter is, as the daemon has made requests; the process metrics come along.
    const names = new Set((await query('count by (__name__) ({__name__=~"keeper_.+", job="perp-keeper"})')).map((r) => r.metric.__name__!));
    const expected = (await keeperMetrics())
      .filter((m) => !m.labelled)
      .flatMap((m) => (m.type === "histogram" ? ["_bucket", "_sum", "_count"].map((s) => m.name + s) : [m.name]));
    for (const n of [...expected, "keeper_rpc_requests_total"]) expect(names, n).toContain(n);
    expect([...names].some((n) => n.startsWith("keeper_process_"))).toBe(false);
    // prom-client's process metrics keep their standard names.
    const standard = new Set((await query('count by (__name__) ({__name__=~"process_.+|nodejs_.+", job="perp-keeper"})')).map((r) => r.metric.__name__!));
    for (const n of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) expect(standard, n).toContain(n);
    const requests = await query('sum(keeper_rpc_requests_total{job="perp-keeper"})');
    expect(Number(requests[0]!.value[1])).toBeGreaterThan(0);

    // New blocks: Prometheus sees the head move.
    await chain.testClient.mine({ blocks: 3 });
    const next = await chain.publicClient.getBlockNumber();
    expect(next).toBe(head + 3n);
    await until("the new head in Prometheus", async () => {
      const r = await query("keeper_head_block");
      return r.length === 1 && Number(r[0]!.value[1]) === Number(next);
    }, 30_000);
  });

  test("the shipped alert rules load and evaluate on the keeper's series, and none fires for a healthy keeper", { timeout: 60_000 }, async () => {
    type Rules = { groups: { name: string; rules: { name: string; type: string; health: string; lastError?: string; state?: string }[] }[] };
    const rules = await until("every rule evaluated", async () => {
      const a = await api<Rules>("/api/v1/rules");
      const all = a.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== "unknown") ? all : undefined;
    }, 30_000);
    expect(rules.map((r) => r.name).sort()).toEqual(alertNames().sort());
    for (const r of rules) {
      expect(r.health, `${r.name}: ${r.lastError}`).toBe("ok");
      expect(r.state, r.name).toBe("inactive");
    }
    const alerts = await api<{ alerts: unknown[] }>("/api/v1/alerts");
    expect(alerts.data.alerts).toEqual([]);
  });

  test("every Grafana panel's query runs on the real series", { timeout: 60_000 }, async () => {
    const queries = dashboardQueries();
    for (const q of queries) {
      const a = await api<{ result: unknown[] }>("/api/v1/query", { query: q.expr });
      expect(a.status, `${q.panel}: ${q.expr}: ${a.error}`).toBe("success");
    }
    // The ones on series that exist from the start return data already.
    for (const expr of ["keeper_head_block", "keeper_liquidatable_accounts", "keeper_accounts_tracked"]) {
      const q = queries.find((x) => x.expr.startsWith(`${expr}{`));
      expect(q, expr).toBeDefined();
      expect((await query(q!.expr)).length, q!.expr).toBe(1);
    }
  });

  test("the keeper's own metrics in /metrics pass promtool check metrics", { timeout: 30_000 }, async () => {
    const text = await (await fetch(`http://127.0.0.1:${keeperPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    expect(text).toContain("keeper_head_block");
    // prom-client's default process metrics (process_*, nodejs_*) are left out: three of its Node.js
    // gauges end in _total, which the linter flags, and their names are prom-client's, not ours.
    const own = text
      .split("\n")
      .filter((l) => !/^(# (HELP|TYPE) )?(process|nodejs)_/.test(l))
      .join("\n");
    expect(own).not.toMatch(/^(# (HELP|TYPE) )?keeper_process_/m);
    expect(own).toContain("# TYPE keeper_liquidations_total counter");
    const r = spawnSync("promtool", ["check", "metrics"], { input: own, encoding: "utf8", timeout: 20_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});
