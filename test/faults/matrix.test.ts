/**
 * The fast subset of the fault matrix, part of `npm test`: a few cells that together cover the
 * proxy's faults, a lagging node, and reorgs with our transactions dropped and put back in the
 * pool. The whole matrix is `npm run test:faults` (matrix.full.test.ts).
 */
import { beforeAll, describe, test } from "vitest";
import { getTestChain } from "../support/anvil.ts";
import { FAST_CELLS, cell } from "./cells.ts";
import { runCell, seedMatrixWorld, type MatrixWorld } from "./harness.ts";
import { expectCellPassed } from "./report.ts";

let m: MatrixWorld;
beforeAll(async () => {
  m = await seedMatrixWorld(await getTestChain());
}, 120_000);

describe("fault matrix (fast subset)", () => {
  test.each(FAST_CELLS)("%s", { timeout: 120_000 }, async (id) => {
    expectCellPassed(await runCell(m, cell(id)));
  });
});
