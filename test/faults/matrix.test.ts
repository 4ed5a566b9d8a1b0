/**
 * The fast subset of the fault matrix, part of `npm test`: a few cells that together cover the
 * proxy's faults, a lagging node, and reorgs with our transactions dropped and put back in the
 * pool. The whole matrix is `npm run test:faults` (matrix.full.test.ts).
 */
import { describe, expect } from "vitest";
import { test } from "../support/fixtures.ts";
import { FAST_CELLS, cell } from "./cells.ts";
import { TRADERS, runCell } from "./harness.ts";
import { expectCellPassed } from "./report.ts";

test.override({ traderCount: TRADERS });

// The seeded world before the first cell, with time for it.
test.beforeAll(async ({ world }) => {
  expect(world.traders).toHaveLength(TRADERS);
}, 120_000);

describe("fault matrix (fast subset)", () => {
  test.for(FAST_CELLS)("%s", { timeout: 120_000 }, async (id, { world }) => {
    expectCellPassed(await runCell(world, cell(id)));
  });
});
