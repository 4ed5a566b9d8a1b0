/**
 * `perp-keeper simulate`: a user's mistakes end with one line and a non-zero exit, before anything
 * runs and without creating the output directory; a good run writes report.json (and the human
 * report) and prints the comparison table and the paths; the progress display is quiet for short
 * runs, one rewritten line on a terminal, plain lines otherwise.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/command.ts";
import { main } from "../../src/cli/main.ts";
import { comparisonTable } from "../../src/cli/simulate.ts";
import { createProgress, progressText } from "../../src/cli/progress.ts";
import type { LabReport, RunReport } from "../../src/sim/report/types.ts";
import { REPO_ROOT, expectOneLineError, runCli, tempDir, type CliResult } from "../cli/cli.ts";
import { fixtureReport } from "./report/fixture.ts";

const tmp = tempDir("perp-keeper-simulate-");
afterAll(tmp.cleanup);
const file = (name: string) => path.join(tmp.dir, name);

const GOOD = {
  description: "a tiny crash for the CLI test",
  blockTime: "5s",
  blocks: 10,
  liquidity: { insuranceFund: "$0" },
  markets: { BTC: { path: { kind: "crash", drop: "20%", start: "5s", over: "20s" } } },
  traders: { count: 15, leverage: { min: "20x", max: "50x" }, size: { min: "$5,000", max: "$100,000" }, longShare: "100%" },
  keepers: [{ name: "fast", minProfit: "$0" }],
};

type Case = { name: string; args: string[]; code: number; match: RegExp; out: string };
const cases: Case[] = [];
const results = new Map<string, CliResult>();

beforeAll(async () => {
  writeFileSync(file("good.json"), JSON.stringify(GOOD));
  writeFileSync(file("bad.yaml"), "blockTime: 5s\nmarkets: [BTC\n");
  writeFileSync(file("unknown-key.json"), JSON.stringify({ ...GOOD, blockTme: "5s" }));
  writeFileSync(file("negative.json"), JSON.stringify({ ...GOOD, traders: { ...GOOD.traders, leverage: { min: "-5x", max: "10x" } } }));
  writeFileSync(file("a-file"), "not a directory");
  const fat = { description: "too fat a penalty", global: { cooldown: "0s", backstop: "0%", keeperShare: "50%" }, market: { penalty: "1%", targetBuffer: "0.25%", maxStep: "100%", tierStepDown: false, partialThreshold: "0", dustNotional: "10" } };
  const presetsFile = JSON.parse(readFileSync(path.join(REPO_ROOT, "config", "presets.json"), "utf8"));
  writeFileSync(file("fat-presets.json"), JSON.stringify({ ...presetsFile, fat }));
  writeFileSync(file("fat.json"), JSON.stringify({ ...GOOD, presetsFile: "fat-presets.json" }));
  writeFileSync(file("cycle-presets.json"), JSON.stringify({ a: { extend: "b" }, b: { extend: "a" } }));
  writeFileSync(file("leg-to-zero.json"), JSON.stringify({ ...GOOD, markets: { BTC: { path: { kind: "legs", legs: [{ move: "-40%", over: "10s" }, { move: "-100%", over: "10s" }] } } } }));
  writeFileSync(file("lot-markets.json"), JSON.stringify({ "BTC-lot": { extend: "BTC", lotSize: "0.01" } }));
  const sim = (scenario: string, out: string, ...rest: string[]) => ["simulate", "--scenario", scenario, "--out", out, ...rest];
  cases.push(
    { name: "missing scenario file", args: sim("missing.json", "o1"), code: 1, match: /^perp-keeper: missing\.json: no such file$/, out: "o1" },
    { name: "bad YAML", args: sim("bad.yaml", "o2"), code: 1, match: /^perp-keeper: bad\.yaml: not valid YAML \(line 3, column 1: .+\)$/, out: "o2" },
    { name: "unknown key", args: sim("unknown-key.json", "o3"), code: 1, match: /^perp-keeper: unknown-key\.json: unknown key "blockTme"$/, out: "o3" },
    { name: "negative leverage", args: sim("negative.json", "o4"), code: 1, match: /^perp-keeper: negative\.json: traders\.leverage\.min: "-5x" must not be negative$/, out: "o4" },
    { name: "unknown preset in --compare", args: sim("good.json", "o5", "--compare", "hyperliquid,nasdaq"), code: 1, match: /unknown preset "nasdaq"; known presets: reference, hyperliquid, binance/, out: "o5" },
    { name: "--fork-block without --fork-url", args: sim("good.json", "o6", "--fork-block", "12"), code: 2, match: /^perp-keeper: simulate: --fork-block needs --fork-url$/, out: "o6" },
    { name: "--fork-url without --fork-block", args: sim("good.json", "o7", "--fork-url", "http://127.0.0.1:1"), code: 2, match: /simulate: --fork-url needs --fork-block N/, out: "o7" },
    { name: "unwritable --out (a file)", args: sim("good.json", "a-file"), code: 1, match: /^perp-keeper: a-file: is a file, expected a directory$/, out: "a-file/x" },
    { name: "unwritable --out (under a file)", args: sim("good.json", "a-file/reports"), code: 1, match: /^perp-keeper: a-file\/reports: \/.*\/a-file is not a directory$/, out: "a-file/reports" },
    { name: "missing --scenario", args: ["simulate", "--out", "o8"], code: 2, match: /^perp-keeper: simulate: --scenario is required/, out: "o8" },
    { name: "empty preset in --compare", args: sim("good.json", "o9", "--compare", "hyperliquid,,bitmex"), code: 2, match: /--compare takes preset names separated by commas/, out: "o9" },
    { name: "a fork URL that is not http", args: sim("good.json", "o10", "--fork-url", "ws://x", "--fork-block", "1"), code: 2, match: /--fork-url must be an http\(s\) URL$/, out: "o10" },
    { name: "--deployment without a fork", args: sim("good.json", "o11", "--deployment", "d.json"), code: 2, match: /--deployment is for a fork: it needs --fork-url$/, out: "o11" },
    {
      name: "defect 10: a --compare preset that does not fit the markets, in percent",
      args: sim("fat.json", "o12", "--compare", "hyperliquid,fat"),
      code: 1,
      match: /^perp-keeper: .*fat-presets\.json: fat on BTC: penalty 1% must be below the first tier's maintenance rate plus buffer \(0\.4% \+ 0\.25% = 0\.65%\) \(PenaltyNotBelowTarget\)$/,
      out: "o12",
    },
    { name: "issue 15: --markets names a missing file", args: sim("good.json", "o13", "--markets", "nope.json"), code: 1, match: /^perp-keeper: .*nope\.json: cannot read the file \(ENOENT\)$/, out: "o13" },
    { name: "issue 15: --markets is empty", args: sim("good.json", "o14", "--markets", " "), code: 2, match: /^perp-keeper: simulate: --markets must name a file$/, out: "o14" },
    { name: "issue 15: --presets extends in a cycle", args: sim("good.json", "o15", "--presets", "cycle-presets.json"), code: 1, match: /^perp-keeper: .*cycle-presets\.json: .*\.extend: a cycle \(/, out: "o15" },
    {
      name: "issue 15: --compare names an unknown market variant",
      args: sim("good.json", "o16", "--compare", "hyperliquid,hyperliquid+BTC-stp"),
      code: 1,
      match: /^perp-keeper: --compare: hyperliquid\+BTC-stp: unknown market variant "BTC-stp"; markets: BTC, ETH, SMALLCAP$/,
      out: "o16",
    },
    { name: "issue 15: a leg to zero", args: sim("leg-to-zero.json", "o18"), code: 1, match: /^perp-keeper: leg-to-zero\.json: markets\.BTC\.path\.legs\[1\]\.move: must be above -100% and at most \+1000%$/, out: "o18" },
    {
      name: "issue 15: a variant that would change the traders",
      args: sim("good.json", "o17", "--markets", "lot-markets.json", "--compare", "hyperliquid+BTC-lot"),
      code: 1,
      match: /^perp-keeper: --compare: hyperliquid\+BTC-lot: BTC-lot changes BTC's lotSize; a variant may change only tiers and maxStaleness, so the traders stay the same$/,
      out: "o17",
    },
  );
  // A few at a time: each child pays the CLI's start-up, and the machine is shared.
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const runs = await Promise.all(batch.map((c) => runCli(c.args, { cwd: tmp.dir, timeoutMs: 90_000 })));
    batch.forEach((c, j) => results.set(c.name, runs[j]!));
  }
}, 300_000);

describe("simulate refuses bad input: one line, non-zero exit, nothing written", () => {
  it.each([
    "missing scenario file",
    "bad YAML",
    "unknown key",
    "negative leverage",
    "unknown preset in --compare",
    "--fork-block without --fork-url",
    "--fork-url without --fork-block",
    "unwritable --out (a file)",
    "unwritable --out (under a file)",
    "missing --scenario",
    "empty preset in --compare",
    "a fork URL that is not http",
    "--deployment without a fork",
    "defect 10: a --compare preset that does not fit the markets, in percent",
    "issue 15: --markets names a missing file",
    "issue 15: --markets is empty",
    "issue 15: --presets extends in a cycle",
    "issue 15: --compare names an unknown market variant",
    "issue 15: a variant that would change the traders",
    "issue 15: a leg to zero",
  ])("%s", (name) => {
    const c = cases.find((x) => x.name === name)!;
    const r = results.get(name)!;
    expectOneLineError(r, c.code, c.match);
    expect(r.stdout).toBe("");
    expect(existsSync(file(c.out))).toBe(false);
  });
});

async function runMain(argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env: {}, cwd: tmp.dir, signal: new AbortController().signal };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe("a good run", () => {
  it("writes report.json and the human report, prints the table and the paths", { timeout: 120_000 }, async () => {
    const r = await runMain(["simulate", "--scenario", "good.json", "--out", "reports/good", "--compare", "hyperliquid,bitmex"]);
    expect(r.stderr.filter((l) => !l.startsWith("["))).toEqual([]); // progress lines only
    expect(r.code).toBe(0);
    const out = file("reports/good");
    const report = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8")) as LabReport;
    expect(report.runs.map((x) => x.preset)).toEqual(["hyperliquid", "bitmex"]);
    expect(report.runs[0]!.blocks).toHaveLength(11);
    expect(report.scenario).toMatchObject({ name: "good", file: "good.json", seed: "1", blocks: 10, traders: 15 });
    expect(r.stdout[0]).toMatch(/^good\s+hyperliquid\s+bitmex$/);
    expect(r.stdout.some((l) => /^liquidations \(partial \/ full\)\s+\d+ \(\d+ \/ \d+\)\s+\d+ \(0 \/ \d+\)$/.test(l))).toBe(true);
    expect(r.stdout).toContain(path.join(out, "report.json"));
    expect(r.stdout).toContain(path.join(out, "report.html"));
    expect(existsSync(path.join(out, "report.html"))).toBe(true);
    // Nothing half-written left behind.
    const all = readdirSync(out, { recursive: true }).map(String);
    expect(all.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("--quiet prints only the paths; --seed changes the population", { timeout: 120_000 }, async () => {
    mkdirSync(file("reports"), { recursive: true });
    const r = await runMain(["simulate", "--scenario", "good.json", "--out", "reports/quiet", "--quiet", "--seed", "other"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toEqual([]);
    expect(r.stdout.every((l) => l.startsWith(file("reports/quiet")))).toBe(true);
    const report = JSON.parse(readFileSync(file("reports/quiet/report.json"), "utf8")) as LabReport;
    expect(report.scenario.seed).toBe("other");
  });
});

describe("issue 15: the team's own presets and markets, and a tier variant on the same traders", () => {
  it("--presets adds `mine` beside the built-ins; hyperliquid+BTC-steep runs BTC's steeper tiers on the same population", { timeout: 180_000 }, async () => {
    const scenarios = path.join(REPO_ROOT, "config", "scenarios");
    const r = await runMain([
      "simulate", "--scenario", "good.json", "--out", "reports/tiers", "--quiet",
      "--presets", path.join(scenarios, "presets-mine.json"),
      "--markets", path.join(scenarios, "markets-btc-steeper.json"),
      "--compare", "mine,hyperliquid,hyperliquid+BTC-steep",
    ]);
    expect(r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(file("reports/tiers/report.json"), "utf8")) as LabReport;
    expect(report.runs.map((x) => x.preset)).toEqual(["mine", "hyperliquid", "hyperliquid+BTC-steep"]);
    expect(report.runs[2]!.variants).toEqual([{ market: "BTC", variant: "BTC-steep" }]);
    expect(report.runs[0]!.presetSummary.penalty).toBe("0.35%");
    // One population: the same open interest when the run starts, and the same capped traders.
    const start = report.runs.map((x) => x.blocks[0]!.markets.BTC!.longOpenInterest);
    expect(new Set(start).size).toBe(1);
    const capped = report.runs.map((x) => x.leverageCapped);
    expect(capped[0]!.positions).toBeGreaterThan(0);
    expect(capped[1]).toEqual(capped[0]);
    expect(capped[2]).toEqual(capped[0]);
    // The inputs, so the report still says what was run.
    expect(report.scenario.sha256).toBe(createHash("sha256").update(readFileSync(file("good.json"))).digest("hex"));
    expect(report.scenario.liquidity).toEqual({ pool: "100000000", insuranceFund: "0" });
    expect(report.scenario.files!.map((f) => [f.kind, f.builtin, path.basename(f.path), f.sha256?.length])).toEqual([
      ["markets", true, "markets.json", 64],
      ["markets", false, "markets-btc-steeper.json", 64],
      ["presets", true, "presets.json", 64],
      ["presets", false, "presets-mine.json", 64],
    ]);
    expect(report.runs[0]).toMatchObject({ presetSource: path.join(scenarios, "presets-mine.json"), presetExtends: "hyperliquid" });
    expect(report.runs[1]!.markets![0]).toMatchObject({ symbol: "BTC", source: "config/markets.json", tiers: expect.arrayContaining([{ floor: "0", mmr: "0.4%", maxLeverage: "125x" }]) });
    expect(report.runs[2]!.markets![0]).toMatchObject({ symbol: "BTC", variant: "BTC-steep", extends: "BTC", tiers: expect.arrayContaining([{ floor: "0", mmr: "1%", maxLeverage: "50x" }]) });
    const table = comparisonTable(report);
    expect(table.find((l) => l.startsWith("trader leverage capped"))).toMatch(/^trader leverage capped to the lowest maximum of the tier tables compared \(so every run has the same traders\) for \d+ of 15 traders \(\d+ positions?: BTC \d+\)$/);
  });
});

describe("progress", () => {
  const p = { run: 1, runs: 3, preset: "binance", phase: "run" as const, done: 60, total: 120 };

  it("reads as a bar with the run, the preset and the blocks", () => {
    expect(progressText(p, 12_300, 10)).toBe("[2/3 binance] running  █████░░░░░  60/120 blocks  12s");
    expect(progressText({ ...p, phase: "chain", done: 0, total: 0 }, 500)).toBe("[2/3 binance] starting Anvil  1s");
  });

  it("is silent for the first seconds; then plain lines at most every few seconds, or one line rewritten on a terminal", () => {
    let t = 0;
    const lines: string[] = [];
    const plain = createProgress({ out: { isTTY: false, write: () => undefined, line: (l) => lines.push(l) }, now: () => t, delayMs: 2_000, intervalMs: 5_000 });
    plain.update(p);
    t = 2_500;
    plain.update(p);
    t = 3_000;
    plain.update({ ...p, done: 61 });
    t = 8_000;
    plain.update({ ...p, done: 70 });
    t = 8_100;
    plain.update({ ...p, phase: "report", done: 0 });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("60/120");
    expect(lines[1]).toContain("70/120");
    expect(lines[2]).toContain("reading the chain");

    let screen = "";
    const tty = createProgress({ out: { isTTY: true, write: (c) => (screen += c), line: () => undefined }, now: () => t, delayMs: 0 });
    tty.update(p);
    tty.done();
    expect(screen.startsWith("\r\x1b[2K[2/3 binance] running")).toBe(true);
    expect(screen.endsWith("\r\x1b[2K")).toBe(true);
    expect(screen).not.toContain("\n");
  });
});

describe("defect 10: the printed table counts open deficits and shows the insurance fund's default", () => {
  const base = fixtureReport({ presets: ["hyperliquid", "binance"] });
  const [a, b] = base.runs as [RunReport, RunReport];
  const hl: RunReport = {
    ...a,
    totals: { ...a.totals, badDebt: "0", lossNotCovered: "817147.86" },
    final: { ...a.final, openDeficit: "817147.86", underwater: 30 },
    keepers: a.keepers.map((k) => ({ ...k, backstopMode: false })),
  };
  const bn: RunReport = { ...b, totals: { ...b.totals, badDebt: "0", lossNotCovered: "0" }, final: { ...b.final, openDeficit: "0", underwater: 0 } };

  it("has a loss-not-covered row and says plainly which accounts no keeper would close", () => {
    const lines = comparisonTable({ ...base, runs: [hl, bn] });
    expect(lines.find((l) => l.startsWith("loss not covered"))).toMatch(/^loss not covered\s+\$817,147\.86\s+\$0\.00$/);
    const at = lines.indexOf("still underwater at the end, and no keeper in the run would close them (each wants a profit, an account with no equity pays no reward, and none runs in backstop mode):");
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1)).toEqual(["  hyperliquid: 30 accounts, $817,147.86 not yet realised"]);
    const withBackstop: RunReport = { ...hl, keepers: hl.keepers.map((k, i) => ({ ...k, backstopMode: i === 0 })) };
    expect(comparisonTable({ ...base, runs: [withBackstop, bn] }).slice(-2)).toEqual(["still underwater when the run ended, not yet closed by a backstop keeper:", "  hyperliquid: 30 accounts, $817,147.86 not yet realised"]);
  });

  it("says when the insurance fund is the default", () => {
    const scenario = { ...base.scenario, liquidity: { pool: "100000000", insuranceFund: "1000000" }, defaults: [{ field: "liquidity.insuranceFund", value: "$1,000,000" }] };
    expect(comparisonTable({ ...base, scenario, runs: [bn] })).toContain("insurance fund at deployment: $1,000,000 (the default: the scenario does not set liquidity.insuranceFund)");
    expect(comparisonTable({ ...base, runs: [bn] }).join("\n")).not.toContain("the default");
  });
});

describe("the printed table shows ADL and cascades when a run has them", () => {
  const base = fixtureReport({ presets: ["hyperliquid", "binance"] });
  const [a, b] = base.runs as [RunReport, RunReport];
  const adl = { enabled: true, events: 40, deleveragedNotionalUsd: "3611355.7", accountsHit: 28, accountsDeleveraged: 13, profitGivenUp: "135055.77", badDebtLeft: "8298.28", coverableByOppositeSide: "0" };

  it("adds the ADL rows (off for a run without ADL) and the longest cascade", () => {
    const lines = comparisonTable({ ...base, runs: [{ ...a, adl, cascade: { markets: [], longestCascadeBlocks: 17, impactDrivenAccounts: 3, byGeneration: [] } }, { ...b, adl: { ...adl, enabled: false } }] });
    const row = (label: string) => lines.find((l) => l.startsWith(label));
    expect(row("ADL events / accounts deleveraged")).toMatch(/^ADL events \/ accounts deleveraged\s+40 \/ 13\s+off$/);
    expect(row("bad debt left after ADL (coverable)")).toMatch(/\$8,298\.28 \(\$0\.00\)\s+–$/);
    expect(row("longest cascade (blocks)")).toMatch(/\s17\s+–$/);
    // Without ADL or impact in any run, the table is as before.
    expect(comparisonTable({ ...base, runs: [a, b] }).some((l) => l.startsWith("ADL events") || l.startsWith("longest cascade"))).toBe(false);
  });
});
