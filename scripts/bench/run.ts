/**
 * `npm run bench`: the whole benchmark in one command (about 8 minutes on a 2-core machine).
 *
 *   npm run bench [-- --sizes 1000,10000,100000] [--rounds 6,6,3] [--out .bench]
 *
 *  1. the engine on a synthetic book of 100,000 accounts × 3 positions (scripts/bench/engine.ts):
 *     exact health evaluations per second and the full-rescan time;
 *  2. for each size, scripts/bench/keeper/run.ts in a fresh process: a local Anvil seeded with that
 *     many accounts, our keeper and the naive baseline racing for the same targets on the same
 *     chain, plus a cold start of our keeper alone in its own process (backfill rate, memory);
 *  3. one table on stdout, and `<out>/results.json` + `<out>/results.md` with every figure.
 * Nothing in `npm test` depends on these timings.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchEngine } from "./engine.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    rounds: { type: "string", default: "6,6,3" },
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

type KeeperResult = {
  accounts: number;
  seeding: { mode: string; transactions: number; seconds: number };
  latencyMs: {
    ours: { samples: number; p50: number | null; p99: number | null; max: number | null };
    baseline: { samples: number; p50: number | null; p99: number | null };
    firstBroadcastPerPriceBlock: { ours: { p50: number | null; max: number | null }; baseline: { p50: number | null; max: number | null } };
  };
  inclusion: { targets: number; caughtNextBlock: number; shareNextBlock: number | null; neverCaught: number; blocksToInclusion: { p50: number | null; max: number | null } };
  rpcPerBlock: { steadyState: { ours: number; baseline: number; ratio: number | null; baselineViewCallsPerBlock: number } };
  backfill: { coldStartFreshProcess: { events: number; ms: number; rssMb: number; heapUsedMb: number; rssAfterGcMb: number | null; heapUsedAfterGcMb: number | null; eventsPerSecond: number } };
  gasPerLiquidation: { single: { txs: number; mean: number | null }; batched: { txs: number; meanPerItem: number | null; meanItemsPerTx: number | null } };
  sends: { liquidationsByKeeper: { ours: number; baseline: number } };
};

function runKeeperBench(accounts: number, roundsN: number): Promise<KeeperResult> {
  const out = join(outDir, `keeper-${accounts}.json`);
  // Smaller moves at 100,000 accounts keep a round's liquidations within a few blocks' gas.
  const drop = accounts >= 100_000 ? "0.015" : "0.03";
  const args = ["--import", "tsx", join(HERE, "keeper", "run.ts"), "--accounts", String(accounts), "--rounds", String(roundsN), "--drop", drop, "--skip-engine", "--out", out];
  return new Promise((resolveP, reject) => {
    const p = spawn(process.execPath, args, { stdio: "inherit" });
    const forward = (signal: NodeJS.Signals) => p.kill(signal);
    process.once("SIGINT", forward).once("SIGTERM", forward);
    p.once("error", reject);
    p.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`keeper bench at ${accounts} accounts exited with ${code}`));
      resolveP(JSON.parse(readFileSync(out, "utf8")) as KeeperResult);
    });
  });
}

const started = performance.now();
log(`engine: 100,000 accounts × 3 positions`);
const engine = benchEngine(100_000, 3);
const keeper: KeeperResult[] = [];
for (const [i, n] of sizes.entries()) {
  log(`\nkeeper bench: ${n.toLocaleString("en-US")} accounts`);
  keeper.push(await runKeeperBench(n, rounds[i] ?? rounds.at(-1)!));
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
const fmt = (x: number | null | undefined, d = 0) => (x == null ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const pair = (a: number | null | undefined, b: number | null | undefined, d = 0) => `${fmt(a, d)} / ${fmt(b, d)}`;
const rows: [string, (r: KeeperResult) => string, string][] = [
  ["price→broadcast p50, ms (ours / baseline)", (r) => pair(r.latencyMs.ours.p50, r.latencyMs.baseline.p50, 1), "≤ 20 at 10k"],
  ["price→broadcast p99, ms (ours / baseline)", (r) => pair(r.latencyMs.ours.p99, r.latencyMs.baseline.p99, 1), "≤ 100 at 10k"],
  ["  first broadcast per price update, p50 / max, ours", (r) => pair(r.latencyMs.firstBroadcastPerPriceBlock.ours.p50, r.latencyMs.firstBroadcastPerPriceBlock.ours.max, 1), ""],
  ["  first broadcast per price update, p50 / max, baseline", (r) => pair(r.latencyMs.firstBroadcastPerPriceBlock.baseline.p50, r.latencyMs.firstBroadcastPerPriceBlock.baseline.max, 1), ""],
  ["liquidatable targets (all rounds)", (r) => fmt(r.inclusion.targets), ""],
  ["caught in the next block", (r) => `${fmt((r.inclusion.shareNextBlock ?? 0) * 100, 1)}%`, "100% at 10k"],
  ["blocks to inclusion, max", (r) => fmt(r.inclusion.blocksToInclusion.max), ""],
  ["liquidations won (ours / baseline)", (r) => pair(r.sends.liquidationsByKeeper.ours, r.sends.liquidationsByKeeper.baseline), ""],
  ["RPC requests per block, idle (ours / baseline)", (r) => pair(r.rpcPerBlock.steadyState.ours, r.rpcPerBlock.steadyState.baseline, 1), "≥ 50× fewer"],
  ["contract view calls per block (ours / baseline)", (r) => `0 / ${fmt(r.rpcPerBlock.steadyState.baselineViewCallsPerBlock)}`, ""],
  ["cold backfill: events, s", (r) => `${fmt(r.backfill.coldStartFreshProcess.events)}, ${fmt(r.backfill.coldStartFreshProcess.ms / 1000, 1)}`, "≤ 30 s at 100k"],
  ["cold backfill rate, events/s", (r) => fmt(r.backfill.coldStartFreshProcess.eventsPerSecond), ""],
  ["keeper resident memory after start, MB", (r) => fmt(r.backfill.coldStartFreshProcess.rssMb), "≤ 300 at 100k"],
  ["  after a full GC: resident / heap, MB", (r) => pair(r.backfill.coldStartFreshProcess.rssAfterGcMb, r.backfill.coldStartFreshProcess.heapUsedAfterGcMb), ""],
  ["gas per liquidation: single / batched", (r) => `${fmt(r.gasPerLiquidation.single.mean)} / ${fmt(r.gasPerLiquidation.batched.meanPerItem)}`, ""],
  ["batched items per transaction", (r) => fmt(r.gasPerLiquidation.batched.meanItemsPerTx, 1), ""],
  ["seeding (bulk, test-only entry point), s", (r) => fmt(r.seeding.seconds, 1), ""],
];
const header = ["", ...keeper.map((r) => `${r.accounts.toLocaleString("en-US")} accounts`), "target"];
const table = [header, ...rows.map(([name, f, target]) => [name, ...keeper.map(f), target])];
const engineRows = [
  ["engine: full rescan of 100,000 accounts (screened), ms", fmt(engine.screenedRescan.rescanMs.median, 1), "≤ 100"],
  ["engine: full exact rescan of 100,000 accounts, ms", fmt(engine.exactFullEvaluation.rescanMs.median, 1), ""],
  ["engine: exact health evaluations per second", fmt(engine.exactFullEvaluation.healthEvaluationsPerSecond), ""],
];
const md = [
  `| ${header.join(" | ")} |`,
  `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ...table.slice(1).map((r) => `| ${r.join(" | ")} |`),
  "",
  `| engine (one core) | value | target |`,
  `|---|---:|---:|`,
  ...engineRows.map((r) => `| ${r.join(" | ")} |`),
].join("\n");

const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
log(`\nperp-keeper bench, ${new Date().toISOString().slice(0, 10)}, ${machine}`);
for (const r of table) log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
log("");
for (const r of engineRows) log(`${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(10)}  ${r[2]}`);
const minutes = (performance.now() - started) / 60_000;
log(`\ntotal ${minutes.toFixed(1)} min; wrote ${join(outDir, "results.json")} and results.md`);
writeFileSync(join(outDir, "results.json"), JSON.stringify({ date: new Date().toISOString(), machine, minutes: +minutes.toFixed(2), engine, keeper }, null, 2) + "\n");
writeFileSync(join(outDir, "results.md"), `perp-keeper bench, ${new Date().toISOString().slice(0, 10)}, ${machine}\n\n${md}\n`);
