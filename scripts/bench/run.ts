/**
 * `npm run bench`: the whole benchmark in one command (about 15 minutes on a 2-core machine).
 *
 *   npm run bench [-- --sizes 10000,100000] [--rounds 6,3] [--out .bench]
 *
 *  1. the engine alone on synthetic books of 100,000 and 1,000,000 accounts × 3 positions
 *     (scripts/bench/engine.ts, each in a fresh process): the screened full rescan, wall and CPU
 *     time, and the process's resident memory;
 *  2. for each size, scripts/bench/keeper/run.ts in a fresh process: Anvil seeded with that many
 *     accounts, `perp-keeper run` as a separate process over WebSocket and then over HTTP polling,
 *     beside the per-block Multicall3 baseline and a 1 s timer baseline, every keeper behind its own
 *     counting proxy; and a cold start of our keeper alone (backfill, memory after a full GC).
 *     At 100,000 accounts ours runs alone, over HTTP polling: a baseline sweeping 100,000 accounts a
 *     block saturates Anvil, the figures there are the keeper's own (memory, backfill, own time),
 *     and over WebSocket the backfill stalled at that size (README, Benchmarks);
 *  3. one table on stdout, and `<out>/results.json` + `<out>/results.md` with every figure, a
 *     `targets` object per size (issue 17's keys), and the soak's target from `<out>/soak.json`
 *     when `npm run soak` wrote one.
 * Nothing in `npm test` depends on these timings.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    rounds: { type: "string", default: "6,3" },
    out: { type: "string", default: ".bench" },
  },
});
const sizes = flags.sizes.split(",").map(Number);
const rounds = flags.rounds.split(",").map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 10) || rounds.some((n) => !Number.isInteger(n) || n < 1)) {
  process.stderr.write("bench: --sizes and --rounds take comma-separated whole numbers (sizes ≥ 10)\n");
  process.exit(2);
}
const outDir = resolve(flags.out);
mkdirSync(outDir, { recursive: true });
const log = (s: string) => process.stdout.write(`${s}\n`);

type EngineResult = { accounts: number; screenedRescan: { rescanMs: { median: number; best: number; cpuMedian: number } }; exactFullEvaluation: { healthEvaluationsPerSecond: number }; rssMb: number };
type Reaction = { firstP50: number | null; firstMax?: number | null; lastP50: number | null };
type Phase = {
  transport: string;
  reactionMs: { ours: Reaction } & Record<string, Reaction>;
  ownTime: { p50: { headDeliveredMs: number | null; headToBroadcastMs: number | null; nodeWaitMs: number | null; ownMs: number | null } };
  inclusion: { targets: number; shareNextBlock: number | null; blocksToInclusion: { max: number | null } };
  idleRequestsPerBlock: Record<string, number>;
  rpcRatio: { multicall: number | null };
  daemon: { rssMbAtEnd: number | null };
};
type KeeperResult = {
  accounts: number;
  backfill: { coldStartFreshProcess: { events: number; ms: number; rssMb: number; rssAfterGcMb: number | null; heapUsedAfterGcMb: number | null } };
  phases: Phase[];
  timerRatio: number | null;
  targets: Record<string, boolean | null>;
};

function child<T>(args: string[], out: string, env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolveP, reject) => {
    const p = spawn(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...env } });
    const forward = (signal: NodeJS.Signals) => p.kill(signal);
    process.once("SIGINT", forward).once("SIGTERM", forward);
    p.once("error", reject);
    p.once("exit", (code) => {
      process.off("SIGINT", forward).off("SIGTERM", forward);
      if (code !== 0) return reject(new Error(`${args.at(-3) ?? "bench"} exited with ${code}`));
      resolveP(JSON.parse(readFileSync(out, "utf8")) as T);
    });
  });
}

const started = performance.now();
// The daemon as operators run it: the build in dist/, plain node (bin/perp-keeper.js runs it when it
// is current, and the TypeScript sources through tsx otherwise).
log("build: npm run build");
if (spawnSync("npm", ["run", "build", "--silent"], { stdio: "inherit" }).status !== 0) {
  process.stderr.write("bench: npm run build failed\n");
  process.exit(1);
}
const engine: Record<number, EngineResult> = {};
for (const n of [100_000, 1_000_000]) {
  log(`engine: ${n.toLocaleString("en-US")} accounts × 3 positions`);
  const out = join(outDir, `engine-${n}.json`);
  engine[n] = await child<EngineResult>(["--expose-gc", "--max-old-space-size=4096", "--import", "tsx", join(HERE, "engine.ts"), "--json", out], out, { BENCH_ACCOUNTS: String(n) });
}
const keeper: KeeperResult[] = [];
for (const [i, n] of sizes.entries()) {
  log(`\nkeeper bench: ${n.toLocaleString("en-US")} accounts`);
  const out = join(outDir, `keeper-${n}.json`);
  // Smaller moves at 100,000 accounts keep a round's liquidations within a few blocks' gas.
  const big = n >= 100_000;
  const args = ["--import", "tsx", join(HERE, "keeper", "run.ts"), "--accounts", String(n), "--rounds", String(rounds[i] ?? rounds.at(-1)!), "--drop", big ? "0.015" : "0.03", ...(big ? ["--transports", "http", "--baselines", "off"] : []), "--out", out];
  keeper.push(await child<KeeperResult>(args, out));
}
const soakPath = join(outDir, "soak.json");
const soak = existsSync(soakPath) ? (JSON.parse(readFileSync(soakPath, "utf8")) as { date?: string; targets?: { soakRssGrowthLE5pct?: boolean } }) : undefined;

const ok = (x: number | null | undefined, limit: number) => (x == null ? null : x <= limit);
for (const k of keeper) {
  if (k.accounts >= 100_000) k.targets.rescanLE10ms = ok(engine[100_000]?.screenedRescan.rescanMs.median, 10);
  k.targets.engine1MRescanLE100ms = ok(engine[1_000_000]?.screenedRescan.rescanMs.median, 100) === true && (engine[1_000_000]?.rssMb ?? Infinity) <= 2048;
  k.targets.soakRssGrowthLE5pct = soak?.targets?.soakRssGrowthLE5pct ?? null;
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
const fmt = (x: number | null | undefined, d = 0) => (x == null ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const phase = (r: KeeperResult, t: string) => r.phases.find((p) => p.transport === t);
const rows: [string, (r: KeeperResult) => string, string][] = [
  ["ws: price block mined → first broadcast p50 / max, ms", (r) => `${fmt(phase(r, "ws")?.reactionMs.ours.firstP50, 1)} / ${fmt(phase(r, "ws")?.reactionMs.ours.firstMax, 1)}`, "≤ 25 at 10k"],
  ["ws: last broadcast of a burst p50, ms", (r) => fmt(phase(r, "ws")?.reactionMs.ours.lastP50, 1), "≤ 150 at 10k"],
  ["ws: own time / node waits, head → first broadcast p50, ms", (r) => `${fmt(phase(r, "ws")?.ownTime.p50.ownMs, 1)} / ${fmt(phase(r, "ws")?.ownTime.p50.nodeWaitMs, 1)}`, "own ≤ 50 at 100k"],
  ["ws: head delivered after mining p50, ms", (r) => fmt(phase(r, "ws")?.ownTime.p50.headDeliveredMs, 1), ""],
  ["http (250 ms polling): first broadcast p50, ms", (r) => fmt(phase(r, "http")?.reactionMs.ours.firstP50, 1), ""],
  ["multicall per block: first broadcast p50, ms", (r) => fmt(phase(r, "ws")?.reactionMs.multicall?.firstP50, 1), ""],
  ["timer 1 s: first broadcast p50, ms (÷ ours)", (r) => `${fmt(phase(r, "ws")?.reactionMs.timer?.firstP50, 1)} (${fmt(r.timerRatio, 1)}×)`, "≥ 40× at 10k"],
  ["targets caught in the next block (ws)", (r) => `${fmt((phase(r, "ws")?.inclusion.shareNextBlock ?? 0) * 100, 1)}% of ${fmt(phase(r, "ws")?.inclusion.targets)}`, "100% at 10k"],
  ["idle requests per block: ours ws / ours http / multicall", (r) => `${fmt(phase(r, "ws")?.idleRequestsPerBlock.ours, 2)} / ${fmt(phase(r, "http")?.idleRequestsPerBlock.ours, 2)} / ${fmt(phase(r, "ws")?.idleRequestsPerBlock.multicall, 1)}`, ""],
  ["RPC ratio, multicall ÷ ours (ws, idle)", (r) => `${fmt(phase(r, "ws")?.rpcRatio.multicall, 1)}×`, "≥ 50× at 10k"],
  ["cold backfill: events, s", (r) => `${fmt(r.backfill.coldStartFreshProcess.events)}, ${fmt(r.backfill.coldStartFreshProcess.ms / 1000, 1)}`, "≤ 15 s at 100k"],
  ["resident memory after start / after a full GC, MB", (r) => `${fmt(r.backfill.coldStartFreshProcess.rssMb)} / ${fmt(r.backfill.coldStartFreshProcess.rssAfterGcMb)}`, "≤ 300 at 100k"],
  ["daemon resident memory at the end of its phase (ws), MB", (r) => fmt(phase(r, "ws")?.daemon.rssMbAtEnd), ""],
];
const header = ["", ...keeper.map((r) => `${r.accounts.toLocaleString("en-US")} accounts`), "target"];
const table = [header, ...rows.map(([name, f, target]) => [name, ...keeper.map(f), target])];
const engineRows = Object.values(engine).map((e) => [`engine: screened rescan of ${e.accounts.toLocaleString("en-US")} accounts, ms (CPU ms); RSS MB`, `${fmt(e.screenedRescan.rescanMs.median, 1)} (${fmt(e.screenedRescan.rescanMs.cpuMedian, 1)}); ${fmt(e.rssMb)}`, e.accounts >= 1_000_000 ? "≤ 100 ms, ≤ 2 GB" : "≤ 10 ms"]);
const targets = Object.assign({}, ...keeper.map((k) => Object.fromEntries(Object.entries(k.targets).filter(([, v]) => v !== null)))) as Record<string, boolean>;
const md = [
  `| ${header.join(" | ")} |`,
  `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ...table.slice(1).map((r) => `| ${r.join(" | ")} |`),
  "",
  `| engine (one core) | value | target |`,
  `|---|---:|---:|`,
  ...engineRows.map((r) => `| ${r.join(" | ")} |`),
  "",
  `Targets: ${Object.entries(targets).map(([k, v]) => `${k} ${v ? "✓" : "✗"}`).join(", ")}`,
].join("\n");

const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
log(`\nperp-keeper bench, ${new Date().toISOString().slice(0, 10)}, ${machine}`);
for (const r of table) log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
log("");
for (const r of engineRows) log(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(16)}  ${r[2]}`);
log(`\ntargets: ${JSON.stringify(targets)}`);
const minutes = (performance.now() - started) / 60_000;
log(`total ${minutes.toFixed(1)} min; wrote ${join(outDir, "results.json")} and results.md`);
writeFileSync(join(outDir, "results.json"), JSON.stringify({ date: new Date().toISOString(), machine, minutes: +minutes.toFixed(2), engine, keeper, soak: soak ?? null, targets }, null, 2) + "\n");
writeFileSync(join(outDir, "results.md"), `perp-keeper bench, ${new Date().toISOString().slice(0, 10)}, ${machine}\n\n${md}\n`);
