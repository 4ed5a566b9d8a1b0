/**
 * The full fault matrix (`npm run test:faults`): every cell of cells.ts against the real keeper,
 * one Anvil, cells one after another from the same seeded world. Writes the table to
 * test/faults/results/matrix.{md,json}. `FAULT_CELLS=id,id` runs some cells only (no file written).
 */
import os from "node:os";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { test } from "../support/fixtures.ts";
import { CELLS } from "./cells.ts";
import { TRADERS, runCell, type CellResult } from "./harness.ts";
import { expectCellPassed, writeResults } from "./report.ts";

test.override({ traderCount: TRADERS });

const only = process.env.FAULT_CELLS?.split(",").filter(Boolean);
const cells = only ? CELLS.filter((c) => only.includes(c.id)) : CELLS;
const results: CellResult[] = [];
let t0 = 0;

beforeAll(() => {
  t0 = performance.now();
});
// The seeded world before the first cell, with time for it.
test.beforeAll(async ({ world }) => {
  expect(world.traders).toHaveLength(TRADERS);
}, 120_000);

afterAll(() => {
  if (results.length === 0) return;
  const meta = { date: new Date().toISOString().slice(0, 10), totalMs: performance.now() - t0, machine: `${os.cpus().length} cores, Node ${process.versions.node}` };
  const md = writeResults(results, meta, only ? "matrix-partial" : "matrix");
  process.stdout.write(`\n${md}\n`);
});

describe("fault matrix", () => {
  test.for(cells.map((c) => [c.id, c] as const))("%s", { timeout: 240_000 }, async ([, spec], { world }) => {
    const r = await runCell(world, spec);
    results.push(r);
    expectCellPassed(r);
  });
});
