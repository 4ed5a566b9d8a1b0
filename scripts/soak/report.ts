/**
 * The soak's figures: RSS over time and its growth over the second half, the sizes of every
 * long-lived map, log bytes per block, missed / duplicate / reverted counts and the restarts; as
 * a table (stdout, .bench/soak.md) and as JSON (.bench/soak.json, with `targets.soakRssGrowthLE5pct`).
 *
 * RSS growth is measured on one process: the last daemon incarnation (restarts happen in the first
 * half only). Its warm-up is the first `WARMUP_SHARE` of the run's blocks after it started, and
 * the run's first half: growth compares the median of its first three samples after both with the
 * median of its last three (medians: one sample caught mid-GC does not decide it).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { Sample } from "./samples.ts";
import type { SoakResult } from "./soak.ts";

export const WARMUP_SHARE = 0.05;
export const RSS_GROWTH_TARGET = 0.05;

export type RssWindow = { incarnation: number; fromBlock: number; toBlock: number; samples: number; firstBytes: number; lastBytes: number; growth: number; peakBytes: number };

export type SoakFigures = {
  blocks: number;
  wallSeconds: number;
  blocksPerSecond: number;
  rss: RssWindow | undefined;
  rssPeakBytes: number;
  logBytesPerBlock: number;
  ourTxs: number;
  reverted: number;
  duplicates: number;
  missed: number;
  liquidations: { ours: number; all: number };
  episodes: { count: number; p50Blocks: number; maxBlocks: number };
  restarts: { total: number; sigkill: number; resumed: number; failedStarts: number };
  /** Per map: first, last and largest value over the whole run, and over the RSS window. */
  maps: Record<string, { first: number; last: number; max: number; windowFirst?: number; windowLast?: number }>;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export function rssWindow(r: SoakResult): RssWindow | undefined {
  const last = Math.max(0, ...r.samples.map((s) => s.incarnation));
  const started = r.restarts.length === 0 ? 0 : r.restarts.at(-1)!.block - r.fromBlock + r.restarts.at(-1)!.downBlocks;
  const from = Math.max(r.options.blocks / 2, started + WARMUP_SHARE * r.options.blocks);
  const xs = r.samples.filter((s): s is Sample & { rssBytes: number } => s.incarnation === last && s.block >= from && s.rssBytes !== undefined);
  if (xs.length < 2) return undefined;
  const head = xs.slice(0, Math.min(3, xs.length));
  const tail = xs.slice(-Math.min(3, xs.length));
  const firstBytes = median(head.map((s) => s.rssBytes));
  const lastBytes = median(tail.map((s) => s.rssBytes));
  return { incarnation: last, fromBlock: xs[0]!.block, toBlock: xs.at(-1)!.block, samples: xs.length, firstBytes, lastBytes, growth: (lastBytes - firstBytes) / firstBytes, peakBytes: Math.max(...xs.map((s) => s.rssBytes)) };
}

export function figures(r: SoakResult): SoakFigures {
  const blocks = r.toBlock - r.fromBlock;
  const rss = rssWindow(r);
  const maps: SoakFigures["maps"] = {};
  for (const s of r.samples) {
    for (const [k, v] of Object.entries(s.maps)) {
      const m = (maps[k] ??= { first: v, last: v, max: v });
      m.last = v;
      m.max = Math.max(m.max, v);
      if (rss && s.incarnation === rss.incarnation && s.block >= rss.fromBlock) {
        m.windowFirst ??= v;
        m.windowLast = v;
      }
    }
  }
  const eps = r.episodeBlocks;
  return {
    blocks,
    wallSeconds: Math.round(r.wallSeconds),
    blocksPerSecond: Math.round((r.options.blocks / r.wallSeconds) * 10) / 10,
    rss,
    rssPeakBytes: Math.max(0, ...r.samples.map((s) => s.rssBytes ?? 0)),
    logBytesPerBlock: Math.round((r.logBytes / blocks) * 10) / 10,
    ourTxs: r.ours.length,
    reverted: r.ours.filter((t) => t.receipt.status !== "success").length,
    duplicates: r.duplicateDetails.length,
    missed: r.missed.length,
    liquidations: { ours: r.liquidations.filter((l) => r.ours.some((t) => t.tx.hash === l.txHash)).length, all: r.liquidations.length },
    episodes: { count: eps.length, p50Blocks: eps.length ? median(eps) : 0, maxBlocks: Math.max(0, ...eps) },
    restarts: { total: r.restarts.length, sigkill: r.restarts.filter((x) => x.signal === "SIGKILL").length, resumed: r.restarts.filter((x) => x.resumed).length, failedStarts: r.restarts.reduce((n, x) => n + x.failedStarts, 0) },
    maps,
  };
}

const MB = (b: number | undefined) => (b === undefined ? "–" : `${(b / 1024 / 1024).toFixed(1)} MB`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The results table (Markdown; also what stdout shows). */
export function table(r: SoakResult, f: SoakFigures): string {
  const rows: [string, string][] = [
    ["blocks (chain time)", `${f.blocks} (${((f.blocks * 12) / 86_400).toFixed(1)} days of 12-s blocks)`],
    ["wall time", `${f.wallSeconds} s (${f.blocksPerSecond} blocks/s)`],
    ["RSS, last incarnation, second half after warm-up: first → last", f.rss ? `${MB(f.rss.firstBytes)} → ${MB(f.rss.lastBytes)} (blocks ${f.rss.fromBlock}–${f.rss.toBlock}, ${f.rss.samples} samples)` : "–"],
    ["RSS growth over the second half (target ≤ 5%)", f.rss ? `${pct(f.rss.growth)} ${f.rss.growth <= RSS_GROWTH_TARGET ? "✓" : "✗"}` : "–"],
    ["RSS peak (any incarnation)", MB(f.rssPeakBytes)],
    ["log bytes per block", `${f.logBytesPerBlock} (${r.logBytes} bytes; ${Object.entries(r.logLines).map(([k, v]) => `${v} ${k}`).join(", ")})`],
    ["missed / duplicate / reverted", `${f.missed} / ${f.duplicates} / ${f.reverted}`],
    ["our transactions; liquidations ours / all", `${f.ourTxs}; ${f.liquidations.ours} / ${f.liquidations.all}`],
    ["liquidatable episodes (blocks to resolve: p50, max)", `${f.episodes.count} (${f.episodes.p50Blocks}, ${f.episodes.maxBlocks}); ${r.checks} checks`],
    ["restarts (SIGKILL; resumed from checkpoint; starts that failed under faults)", `${f.restarts.total} (${f.restarts.sigkill}; ${f.restarts.resumed}; ${f.restarts.failedStarts})`],
    ["price moves (crashes, pumps); traders arrived / closed", `${r.events.priceMoves} (${r.events.crashes}, ${r.events.pumps}); ${r.events.arrivals} / ${r.events.closes}`],
    ["faults injected (of proxy requests)", `${Object.entries(r.faultsInjected).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`).join(", ") || "none"} (of ${r.proxyRequests})`],
  ];
  const maps = Object.entries(f.maps)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, m]) => `| ${k} | ${m.first} | ${m.last} | ${m.max} | ${m.windowFirst ?? "–"} → ${m.windowLast ?? "–"} |`);
  return [
    "| figure | value |",
    "|---|---|",
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    "",
    "| map (keeper_state_entries; checkpoint_*: the checkpoint file) | first | last | max | measured window |",
    "|---|---|---|---|---|",
    ...maps,
  ].join("\n");
}

export function machine(): string {
  const c = cpus();
  return `${c.length} × ${c[0]?.model.trim() ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`;
}

/** .bench/soak.json's content: every figure, the samples and restarts, and the target. */
export function soakJson(r: SoakResult, f: SoakFigures, meta: { date: string; command: string }): Record<string, unknown> {
  return {
    ...meta,
    machine: machine(),
    options: r.options,
    figures: f,
    targets: { soakRssGrowthLE5pct: f.rss !== undefined && f.rss.growth <= RSS_GROWTH_TARGET },
    restarts: r.restarts,
    events: r.events,
    faultsInjected: r.faultsInjected,
    missed: r.missed.map((m) => ({ ...m, since: Number(m.since), at: Number(m.at) })),
    duplicateDetails: r.duplicateDetails,
    failures: r.failures,
    samples: r.samples,
  };
}

export function soakMarkdown(r: SoakResult, f: SoakFigures, meta: { date: string; command: string }): string {
  const rssLine = r.samples.map((s) => `${s.block}:${s.incarnation}:${s.rssBytes === undefined ? "–" : (s.rssBytes / 1024 / 1024).toFixed(0)}`).join(" ");
  return [
    `# Soak, ${meta.date}`,
    "",
    `\`${meta.command}\` on ${machine()}.`,
    "",
    table(r, f),
    "",
    "Restarts:",
    "",
    "| block | signal | exit | stop ms | back ms | blocks down | resumed | events backfilled | failed starts |",
    "|---|---|---|---|---|---|---|---|---|",
    ...r.restarts.map(
      (x) =>
        `| ${x.block - r.fromBlock} | ${x.signal} | ${x.exitCode ?? "killed"} | ${x.stopMs} | ${x.readyMs} | ${x.downBlocks} | ${x.resumed ? "yes" : "no"} | ${x.backfilledEvents ?? "–"} | ${x.failedStarts}${x.startErrors.length ? ` (${x.startErrors.join("; ").replace(/\|/g, "\\|")})` : ""} |`,
    ),
    "",
    `RSS samples (block:incarnation:MB): ${rssLine}`,
    "",
  ].join("\n");
}

/** Write .bench/soak.json and .bench/soak.md (under `outDir`); their paths. */
export function writeSoakReport(outDir: string, r: SoakResult, f: SoakFigures, meta: { date: string; command: string }): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, "soak.json");
  const md = join(outDir, "soak.md");
  writeFileSync(json, `${JSON.stringify(soakJson(r, f, meta), null, 2)}\n`);
  writeFileSync(md, soakMarkdown(r, f, meta));
  return { json, md };
}
