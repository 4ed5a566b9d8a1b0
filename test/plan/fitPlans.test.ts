/** Splitting planned transactions to fit the block gas limit and the gas budget's room (no chain). */
import { describe, expect, it } from "vitest";
import { fitPlans } from "../../src/plan/fitPlans.ts";
import type { Candidate, PlannedTx } from "../../src/plan/planLiquidations.ts";

const item = (i: number): Candidate => ({
  account: `acct${i}`,
  marketId: 0,
  size: 1n,
  full: false,
  backstop: false,
  rewardTokens: 1n,
  rewardUsd: 10n,
  gasUsd: 1n,
  profitUsd: BigInt(100 - i),
});
const tx = (n: number): PlannedTx => ({ items: Array.from({ length: n }, (_, i) => item(i)), profitUsd: 0n, gas: 0n });
const gasOf = (items: readonly unknown[]) => 420_000n + 190_000n * BigInt(items.length);

describe("defect 4: a plan that does not fit is split, not refused", () => {
  it("over the budget's room: the best items go now, the rest waits", () => {
    const price = 201n * 10n ** 9n; // 2 × 100 gwei + 1 gwei tip
    const { txs, deferred } = fitPlans([tx(32)], { gasOf, worstCaseWei: (g) => g * price, roomWei: 10n ** 18n, blockGasLimit: 30_000_000n });
    expect(txs).toHaveLength(1);
    expect(txs[0]!.items.map((c) => c.account)).toEqual(Array.from({ length: 23 }, (_, i) => `acct${i}`));
    expect(txs[0]!.gas).toBe(gasOf(txs[0]!.items));
    expect(txs[0]!.gas * price).toBeLessThanOrEqual(10n ** 18n);
    expect(deferred).toHaveLength(9);
  });

  it("over the block gas limit: several transactions in the same round", () => {
    const { txs, deferred } = fitPlans([tx(32)], { gasOf, worstCaseWei: () => 0n, roomWei: 1n, blockGasLimit: 2_000_000n });
    expect(txs.map((t) => t.items.length)).toEqual([8, 8, 8, 8]);
    expect(txs.every((t) => t.gas <= 2_000_000n)).toBe(true);
    expect(deferred).toEqual([]);
  });

  it("no room at all: nothing now, everything deferred", () => {
    const { txs, deferred } = fitPlans([tx(3)], { gasOf, worstCaseWei: (g) => g, roomWei: 0n, blockGasLimit: 30_000_000n });
    expect(txs).toEqual([]);
    expect(deferred).toHaveLength(3);
  });
});
