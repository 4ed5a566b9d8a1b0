import { accessSync, chmodSync, constants as fsConstants } from "node:fs";
import { join, resolve } from "node:path";
import type { Deployment } from "../chain/deploy.ts";
import { readDeployment } from "../chain/deployment.ts";
import { referenceOf } from "../protocols/index.ts";
import { loadMarketCatalogue, presetNames } from "../config/presets.ts";
import { parseWad } from "../lib/units.ts";
import { nearestExisting, writeFileAtomic } from "../lib/atomicFile.ts";
import { ConfigError } from "../lib/errors.ts";
import { createLogger } from "../lib/logger.ts";
import { formatCount } from "../sim/report/render/format.ts";
import { renderReport } from "../sim/report/render/index.ts";
import { capLines, inputLines } from "../sim/report/render/inputs.ts";
import { NO_KEEPER_REASON, lossNotCovered, stillUnderwater } from "../sim/report/render/loss.ts";
import type { LabReport } from "../sim/report/types.ts";
import type { ForkTarget } from "../sim/runScenario.ts";
import { MAX_JOBS, MAX_SEEDS, defaultJobs, runSeeds, seedList } from "../sim/seeds.ts";
import { HEADLINES } from "../sim/distribution.ts";
import { PERCENTILE_NOTE, distributionText, percentileText } from "../sim/report/render/distributions.ts";
import { planRuns } from "../sim/runs.ts";
import { loadScenario } from "../sim/scenario.ts";
import { UsageError, defineCommand, integerFlag, required } from "./command.ts";
import { formatUsd, table } from "./format.ts";
import { createProgress } from "./progress.ts";

export const simulateCommand = defineCommand({
  name: "simulate",
  summary: "The parameter lab: run a scenario's price path against one or more liquidation presets, for real, and report.",
  synopsis: "--scenario FILE --out DIR [--compare RUN,RUN,...] [--markets FILE] [--presets FILE] [--fork-url URL --fork-block N [--deployment F]] [--seed S | --seeds N|LIST] [--jobs N]",
  description:
    "Starts Anvil (or a fork of --fork-url at --fork-block), deploys the reference market with each preset\n" +
    "(or, on a fork, uses the upstream's market named by --deployment, re-parameterised by its owner), seeds\n" +
    "the scenario's traders, runs the real keeper(s) and the price path block by block, and writes\n" +
    "report.json (read back from the chain), report.html and charts/ to --out. Runs are deterministic:\n" +
    "the same scenario, seed and presets give the same report.json apart from its wall-clock fields.\n" +
    "--markets and --presets add to the built-in markets and presets (and the scenario's files) and may\n" +
    "override them; an entry may \"extend\" another and change a few fields. A run of --compare is a preset,\n" +
    "or a preset with market variants: hyperliquid+BTC-steep runs BTC with the tiers of BTC-steep (a market\n" +
    "that extends BTC), on the same traders as every other run.\n" +
    "--seeds N (seeds 1 to N) or --seeds A,B,C runs every run once per seed, --jobs at a time (each its\n" +
    "own Anvil), and reports each figure's median, p90 and worst over the seeds, and the insurance fund and\n" +
    "backstop budget that would have covered p90 and p99 of the runs. Only the first seed's runs keep their\n" +
    "block and liquidation rows in report.json; the others keep their totals.",
  handlesSignals: true,
  options: {
    scenario: { type: "string", value: "FILE", description: "scenario file, JSON or YAML (see config/scenarios/)" },
    out: { type: "string", value: "DIR", description: "directory for report.json, report.html and charts/" },
    compare: { type: "string", value: "LIST", description: "runs to compare, comma-separated: PRESET or PRESET+MARKET-VARIANT (default: the scenario's preset)" },
    markets: { type: "string", value: "FILE", description: "markets file layered over config/markets.json (and the scenario's marketsFile)" },
    presets: { type: "string", value: "FILE", description: "presets file layered over config/presets.json (and the scenario's presetsFile)" },
    "fork-url": { type: "string", value: "URL", description: "fork this RPC instead of starting an empty chain" },
    "fork-block": { type: "string", value: "N", description: "block to fork at (required with --fork-url)" },
    deployment: { type: "string", value: "F", description: "with --fork-url: the market already deployed upstream" },
    seed: { type: "string", value: "S", description: "seed of the price paths and traders (default: the scenario's)" },
    seeds: { type: "string", value: "N|LIST", description: `run over N seeds (1…N) or a comma-separated list, and report distributions (at most ${MAX_SEEDS})` },
    jobs: { type: "string", value: "N", description: `runs at once, each its own Anvil (default: one per core while free memory allows; at most ${MAX_JOBS})` },
    quiet: { type: "boolean", description: "no progress and no table; print only the files written" },
    verbose: { type: "boolean", description: "the keepers' logs on stderr" },
  },
  examples: [
    "perp-keeper simulate --scenario config/scenarios/crash-30pct-10min.json --out out/crash --compare hyperliquid,binance,bitmex",
    "perp-keeper simulate --scenario config/scenarios/wick-15pct.yaml --out out/wick --seed 7",
    "perp-keeper simulate --scenario config/scenarios/crash-30pct-10min.json --out out/sizing --compare hyperliquid,binance --seeds 20 --jobs 2",
    "perp-keeper simulate --scenario config/scenarios/crash-25pct-btc.json --markets config/scenarios/btc-steeper-tiers.json --out out/tiers --compare hyperliquid,hyperliquid+BTC-steep",
    "perp-keeper simulate --scenario my.yaml --out out/fork --fork-url http://127.0.0.1:8545 --fork-block 1200 --deployment deployments/devnet.json",
  ],
  async run(flags, io) {
    const scenarioFile = required("simulate", flags, "scenario");
    const out = resolve(io.cwd, required("simulate", flags, "out"));
    const outShown = flags.out!;
    const forkUrl = flags["fork-url"];
    const forkBlockText = flags["fork-block"];
    if (forkBlockText !== undefined && forkUrl === undefined) throw new UsageError("simulate: --fork-block needs --fork-url");
    if (flags.deployment !== undefined && forkUrl === undefined) throw new UsageError("simulate: --deployment is for a fork: it needs --fork-url");
    if (forkUrl !== undefined && forkBlockText === undefined) {
      throw new UsageError("simulate: --fork-url needs --fork-block N (a pinned block keeps the run repeatable)");
    }
    if (forkUrl !== undefined) checkHttpUrl(forkUrl);
    const forkBlock = forkBlockText === undefined ? undefined : integerFlag("simulate", "fork-block", forkBlockText, 0, Number.MAX_SAFE_INTEGER);
    if (flags.seed !== undefined && flags.seed.trim() === "") throw new UsageError("simulate: --seed must not be empty");
    if (flags.seed !== undefined && flags.seeds !== undefined) throw new UsageError("simulate: --seed and --seeds together: give one seed or several");
    const seeds = flags.seeds === undefined ? undefined : seedList(flags.seeds);
    if (seeds !== undefined && !Array.isArray(seeds)) throw new UsageError(`simulate: --seeds ${seeds.problem}`);
    const jobs = flags.jobs === undefined ? defaultJobs() : integerFlag("simulate", "jobs", flags.jobs, 1, MAX_JOBS);
    const compare = flags.compare?.split(",").map((x) => x.trim());
    if (compare && (compare.length === 0 || compare.some((x) => x === ""))) throw new UsageError("simulate: --compare takes preset names separated by commas, e.g. hyperliquid,binance");
    for (const f of ["markets", "presets"] as const) {
      if (flags[f] !== undefined && flags[f].trim() === "") throw new UsageError(`simulate: --${f} must name a file`);
    }

    checkOutputDir(out, outShown);
    // The command line's own files first: their mistakes name them, not the scenario.
    if (flags.markets !== undefined) loadMarketCatalogue(resolve(io.cwd, flags.markets));
    if (flags.presets !== undefined) presetNames(resolve(io.cwd, flags.presets));
    const scenario = loadScenario(scenarioFile, io.cwd, {
      ...(flags.markets !== undefined ? { marketsFile: flags.markets } : {}),
      ...(flags.presets !== undefined ? { presetsFile: flags.presets } : {}),
    });
    const presets = compare ?? [scenario.preset];
    // Refused here, in percent, rather than by the contract once a chain runs (a fork's own market is checked there).
    planRuns(scenario, presets, { source: "--compare", checkFits: flags.deployment === undefined, forkMarket: flags.deployment !== undefined });
    const fork: ForkTarget | undefined =
      forkUrl === undefined
        ? undefined
        : {
            url: forkUrl,
            block: BigInt(forkBlock!),
            ...(flags.deployment !== undefined ? { deployment: forkDeployment(resolve(io.cwd, flags.deployment)) } : {}),
          };

    const progress = createProgress({
      out: {
        isTTY: io.stderrIsTTY === true && !flags.verbose,
        write: (chunk) => (io.writeStderr ?? io.stderr)(chunk),
        line: (text) => io.stderr(text),
      },
    });
    const logger = flags.verbose ? createLogger({ pretty: true, level: "info" }) : undefined;
    let report: LabReport;
    try {
      report = await runSeeds({
        scenario,
        presets,
        seeds: seeds ?? [flags.seed ?? scenario.seed],
        jobs,
        distribution: seeds !== undefined,
        ...(fork ? { fork } : {}),
        ...(logger ? { logger } : {}),
        ...(flags.quiet ? {} : { onProgress: progress.update }),
        signal: io.signal,
      });
    } finally {
      progress.done();
    }

    const reportPath = join(out, "report.json");
    writeFileAtomic(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    chmodSync(reportPath, 0o644);
    const written = [reportPath, ...(await renderReport(report, out))];
    if (!flags.quiet) {
      for (const line of report.seeds ? seedsTable(report) : comparisonTable(report)) io.stdout(line);
      io.stdout("");
    }
    for (const path of written) io.stdout(path);
    return 0;
  },
});

function checkHttpUrl(value: string): void {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  // The URL itself is not echoed: it may carry an API key.
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) throw new UsageError("simulate: --fork-url must be an http(s) URL");
}

/**
 * Refuse an output directory that cannot be written, before anything runs: a file in the way, or
 * no permission on the nearest existing directory. Missing directories are created at the end.
 */
export function checkOutputDir(dir: string, shown = dir): void {
  const found = nearestExisting(dir, (_at, code) => new ConfigError(shown, [`cannot use it (${code ?? "error"})`]));
  if (!found) return;
  const { at, stat } = found;
  if (!stat.isDirectory()) throw new ConfigError(shown, [at === dir ? "is a file, expected a directory" : `${at} is not a directory`]);
  try {
    accessSync(at, fsConstants.W_OK | fsConstants.X_OK);
  } catch {
    throw new ConfigError(shown, [`cannot write to ${at === dir ? "the directory" : at}`]);
  }
}

/**
 * One column per run: the figures a protocol team compares first; then, in words, the accounts
 * left underwater at the end and whether any keeper would close them, and the insurance fund when
 * the scenario left it at its default.
 */
export function comparisonTable(report: LabReport): string[] {
  const rows: [string, (r: LabReport["runs"][number]) => string][] = [
    ["liquidations (partial / full)", (r) => `${r.totals.liquidations} (${r.totals.partialLiquidations} / ${r.totals.fullLiquidations})`],
    ["accounts liquidated / closed", (r) => `${r.totals.accountsLiquidated} / ${r.totals.accountsClosed}`],
    ["notional liquidated", (r) => usd(r.totals.liquidatedNotionalUsd)],
    ["penalties paid by traders", (r) => usd(r.totals.penalties)],
    ["deficits paid by insurance", (r) => usd(r.totals.badDebtCoveredByInsurance)],
    ["bad debt socialised", (r) => usd(r.totals.badDebt)],
    ["unrealised deficit at end", (r) => usd(r.final.openDeficit)],
    ["loss not covered", (r) => usd(lossNotCovered(r))],
    ["trader loss (penalties + equity)", (r) => usd(r.totals.traderLoss)],
    ["insurance fund needed", (r) => usd(r.sizing.insuranceFundNeeded)],
    ["backstop keeper budget", (r) => usd(r.sizing.backstop?.budget)],
    ["insurance fund change", (r) => usd(r.totals.insuranceFundDelta)],
    ["keeper profit", (r) => usd(r.totals.keeperProfit)],
    ["most below maintenance", (r) => String(r.worst.maxBelowMaintenance)],
    ["wall clock", (r) => `${(r.wallClockMs / 1000).toFixed(1)} s`],
  ];
  // Auto-deleveraging and cascades: only when some run had them (an ADL preset, an impact model).
  const at = rows.length - 1;
  if (report.runs.some((r) => r.adl?.enabled)) {
    rows.splice(
      at,
      0,
      ["ADL events / accounts deleveraged", (r) => (r.adl?.enabled ? `${r.adl.events} / ${r.adl.accountsDeleveraged}` : "off")],
      ["profit given up to ADL", (r) => (r.adl?.enabled ? usd(r.adl.profitGivenUp) : "–")],
      ["bad debt left after ADL (coverable)", (r) => (r.adl?.enabled ? `${usd(r.adl.badDebtLeft)} (${usd(r.adl.coverableByOppositeSide)})` : "–")],
    );
  }
  if (report.runs.some((r) => r.cascade)) {
    rows.splice(rows.length - 1, 0, ["longest cascade (blocks)", (r) => (r.cascade ? String(r.cascade.longestCascadeBlocks) : "–")]);
  }
  const header = [report.scenario.name, ...report.runs.map((r) => r.preset)];
  const body = rows.map(([label, f]) => [label, ...report.runs.map(f)]);
  const notes = [...underwaterNotes(report), ...defaultNotes(report), ...capLines(report), ...inputLines(report)];
  return [...table(header, body, report.runs.map((_, i) => i + 1)), ...(notes.length > 0 ? ["", ...notes] : [])];
}

/** The accounts left underwater, grouped by whether any keeper of the run would close them. */
function underwaterNotes(report: LabReport): string[] {
  const stuck = report.runs.flatMap((r) => {
    const u = stillUnderwater(r);
    return u ? [{ preset: r.preset, u }] : [];
  });
  const list = (xs: typeof stuck) => xs.map(({ preset, u }) => `  ${preset}: ${formatCount(u.accounts)} account${u.accounts === 1 ? "" : "s"}, ${usd(u.deficit)} not yet realised`);
  const nobody = stuck.filter((x) => !x.u.backstopKeeper);
  const later = stuck.filter((x) => x.u.backstopKeeper);
  return [
    ...(nobody.length > 0 ? [`still underwater at the end, and no keeper in the run would close them (${NO_KEEPER_REASON}):`, ...list(nobody)] : []),
    ...(later.length > 0 ? ["still underwater when the run ended, not yet closed by a backstop keeper:", ...list(later)] : []),
  ];
}

/**
 * The multi-seed table: one column per run, each figure as "median / p90 / worst" over the seeds,
 * then the sizing answers with the ranks they rest on.
 */
export function seedsTable(report: LabReport): string[] {
  const s = report.seeds!;
  const header = [`${report.scenario.name} · ${s.seeds.length} seed${s.seeds.length === 1 ? "" : "s"} · median / p90 / worst`, ...s.runs.map((r) => r.preset)];
  const body = HEADLINES.filter((h) => s.runs.some((r) => r.distribution[h.id])).map((h) => [h.label, ...s.runs.map((r) => (r.distribution[h.id] ? distributionText(h, r.distribution[h.id]!) : "-"))]);
  const sizing = s.runs.flatMap((r) => [
    `${r.preset}:`,
    `  insurance fund covering p90 of runs: ${percentileText(r.sizing.insuranceFund.p90, r.sizing.insuranceFund.n, "p90")}`,
    `  insurance fund covering p99 of runs: ${percentileText(r.sizing.insuranceFund.p99, r.sizing.insuranceFund.n, "p99")}`,
    ...(r.sizing.backstopBudget
      ? [
          `  backstop budget covering p90 of runs: ${percentileText(r.sizing.backstopBudget.p90, r.sizing.backstopBudget.n, "p90")}`,
          `  backstop budget covering p99 of runs: ${percentileText(r.sizing.backstopBudget.p99, r.sizing.backstopBudget.n, "p99")}`,
        ]
      : ["  no keeper runs in backstop mode: no backstop budget"]),
  ]);
  return [
    ...table(header, body, s.runs.map((_, i) => i + 1)),
    "",
    ...sizing,
    PERCENTILE_NOTE,
    `Block-by-block rows in report.json and the charts: seed ${s.seeds[0]}; the other seeds keep their totals.`,
    ...defaultNotes(report),
    ...capLines(report),
    ...inputLines(report),
  ];
}

function defaultNotes(report: LabReport): string[] {
  const fund = report.scenario.defaults?.find((d) => d.field === "liquidity.insuranceFund");
  return fund ? [`insurance fund at deployment: ${fund.value} (the default: the scenario does not set liquidity.insuranceFund)`] : [];
}

function usd(s: string | undefined): string {
  return s === undefined ? "-" : formatUsd(parseWad(s));
}

/** A fork's deployment: the lab deploys, seeds and reads the reference market, so another protocol is refused in one line. */
function forkDeployment(path: string): Deployment {
  const d = readDeployment(path);
  referenceOf(d, path);
  return d;
}
