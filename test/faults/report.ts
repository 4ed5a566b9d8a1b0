/**
 * The matrix as Markdown and JSON (test/faults/results/), and the assertions every cell must meet.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { CellResult } from "./harness.ts";

export const RESULTS_DIR = join(import.meta.dirname, "results");

/** What "done" means for every cell: nothing missed, nothing duplicated, the index equal, no secret logged. */
export function expectCellPassed(r: CellResult): void {
  const context = JSON.stringify(r, null, 2);
  expect(r.targets, `${r.id}: a scenario with targets\n${context}`).toBeGreaterThanOrEqual(r.minTargets ?? 1);
  expect(r.missedAccounts, `${r.id}: missed\n${context}`).toEqual([]);
  expect(r.duplicateDetails, `${r.id}: duplicates\n${context}`).toEqual([]);
  expect(r.indexMismatches, `${r.id}: index ≠ chain\n${context}`).toEqual([]);
  expect(r.secretLines, `${r.id}: secrets in logs\n${context}`).toBe(0);
  expect(r.aboveCap, `${r.id}: fee above the cap\n${context}`).toBe(0);
  expect(r.leftLiquidatable, `${r.id}: liquidatable at the end\n${context}`).toBe(0);
  expect(r.reverted, `${r.id}: reverted transactions of ours\n${context}`).toBe(0);
  if (r.withinBlocks !== undefined) expect(r.catchBlocks, `${r.id}: every target within ${r.withinBlocks} blocks of the shock\n${context}`).toBeLessThanOrEqual(r.withinBlocks);
}

export function matrixMarkdown(results: readonly CellResult[], meta: { date: string; totalMs: number; machine: string }): string {
  const rows = results.map((r) =>
    [
      r.title,
      r.injected,
      String(r.targets),
      String(r.missed),
      String(r.duplicates),
      `${r.reverted} / ${r.ourTxs}`,
      String(r.catchBlocks),
      r.recoverBlocks === 0 ? "0" : `${r.recoverBlocks} / ${r.recoverMs} ms`,
      r.indexEqual ? "yes" : "**no**",
      String(r.secretLines),
    ].map((c) => c.replace(/\|/g, "\\|")),
  );
  const header = [
    "cell",
    "injected",
    "targets",
    "missed",
    "duplicate txs",
    "reverted / our txs",
    "all caught (blocks after shock)",
    "recovery after the fault (blocks / ms)",
    "index = chain",
    "secret log lines",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
  return [
    `Fault matrix, ${meta.date}, ${meta.machine}; ${results.length} cells in ${(meta.totalMs / 1000).toFixed(0)} s.`,
    "",
    ...lines,
    "",
  ].join("\n");
}

export function writeResults(results: readonly CellResult[], meta: { date: string; totalMs: number; machine: string }, name = "matrix"): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const md = matrixMarkdown(results, meta);
  writeFileSync(join(RESULTS_DIR, `${name}.md`), md);
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify({ ...meta, cells: results }, null, 2)}\n`);
  return md;
}
