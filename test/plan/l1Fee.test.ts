/**
 * The planner with an OP-stack L1 data fee: a transaction's profit is reward − L2 gas − L1 fee,
 * both priced at the head's native price. A liquidation that pays without the L1 fee and does not
 * with it is skipped; a batch spreads one transaction's L1 fee over its items.
 */
import { describe, expect, test } from "vitest";
import { gasCostUsd, gasModelFor, l1FeeUsd, planTransactions, type Candidate, type GasModel } from "../../src/plan/planLiquidations.ts";

const WAD = 10n ** 18n;
const GAS = { single: 200_000n, batchBase: 60_000n, batchItem: 150_000n };
const policy = { minProfitUsd: WAD / 10n, backstopMode: false, maxBatch: 10 };

/** An L1 fee of `perTx` wei plus `perItem` wei per liquidation in the transaction. */
const l1 = (perTx: bigint, perItem: bigint) => (items: number) => perTx + perItem * BigInt(items);

function candidate(account: string, rewardUsd: bigint, g: GasModel): Candidate {
  const gasUsd = gasCostUsd(g.singleGas, g);
  return { account, marketId: 0, size: WAD, full: false, backstop: false, rewardTokens: rewardUsd / 10n ** 12n, rewardUsd, gasUsd, profitUsd: rewardUsd - gasUsd };
}

describe("the planner counts the L1 fee", () => {
  test("profitable without the L1 fee, unprofitable with it: skipped", () => {
    const plain = gasModelFor({ gas: GAS, priorityFeeWei: 0n }, 10n ** 9n, { nativeUsd: 3_000n * WAD });
    const withL1 = gasModelFor({ gas: GAS, priorityFeeWei: 0n }, 10n ** 9n, { nativeUsd: 3_000n * WAD, l1FeeWei: l1(100_000_000_000_000n, 0n) }); // 0.0001 ETH = $0.30
    expect(l1FeeUsd(1, withL1)).toBe((3n * WAD) / 10n);
    // L2 gas: 200k × 1 gwei × $3,000 = $0.60. Reward $0.85: $0.25 over gas, $0.05 under gas + L1.
    const c = candidate("a", (85n * WAD) / 100n, plain);
    expect(c.profitUsd).toBe((25n * WAD) / 100n);

    expect(planTransactions([c], plain, policy)).toHaveLength(1);
    const skipped: string[] = [];
    expect(planTransactions([c], withL1, policy, (s, why) => skipped.push(`${s.account}:${why}`))).toEqual([]);
    expect(skipped).toEqual(["a:below_min_profit"]);
  });

  test("a kept item's profit and gas carry its L1 fee (alone, and its share in a batch)", () => {
    const g = gasModelFor({ gas: GAS, priorityFeeWei: 0n }, 10n ** 9n, { nativeUsd: 2_000n * WAD, l1FeeWei: l1(300_000_000_000_000n, 30_000_000_000_000n) });
    const [alone] = planTransactions([candidate("a", 10n * WAD, g)], g, policy);
    const l1One = ((300_000_000_000_000n + 30_000_000_000_000n) * 2_000n * WAD) / WAD; // $0.66
    expect(alone!.items[0]!.gasUsd).toBe(gasCostUsd(GAS.single, g) + l1One);
    expect(alone!.profitUsd).toBe(10n * WAD - gasCostUsd(GAS.single, g) - l1One);

    const four = ["a", "b", "c", "d"].map((a) => candidate(a, 10n * WAD, g));
    const [batch] = planTransactions(four, g, policy);
    expect(batch!.items).toHaveLength(4);
    const share = gasCostUsd(GAS.batchItem, g) + gasCostUsd(GAS.batchBase, g) / 4n + l1FeeUsd(4, g) / 4n;
    for (const item of batch!.items) expect(item.profitUsd).toBe(10n * WAD - share);
  });

  test("the native price scales the L1 fee in USD; without a price there is no gas model", () => {
    const at = (usd: bigint) => gasModelFor({ gas: GAS, priorityFeeWei: 0n }, 0n, { nativeUsd: usd * WAD, l1FeeWei: l1(10n ** 15n, 0n) });
    expect(l1FeeUsd(1, at(4_000n))).toBe(2n * l1FeeUsd(1, at(2_000n)));
    expect(() => gasModelFor({ gas: GAS, priorityFeeWei: 0n }, 0n)).toThrow(RangeError);
    // The settings' fixed price, when the head gives none.
    expect(gasModelFor({ gas: GAS, priorityFeeWei: 0n, nativeUsd: 5n * WAD }, 0n).nativeUsd).toBe(5n * WAD);
  });
});
