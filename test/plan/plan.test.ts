import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { WAD, accountHealth, type Account } from "../../src/engine/index.ts";
import { gasCostUsd, planTransactions, type GasModel } from "../../src/plan/planLiquidations.ts";
import { findCandidates } from "../../src/protocols/reference/candidates.ts";
import { LiquidationPriceIndex } from "../../src/protocols/reference/liquidationPriceIndex.ts";
import { account, market, valuation, w } from "../engine/fixtures.ts";

const gas: GasModel = {
  singleGas: 200_000n,
  batchBaseGas: 60_000n,
  batchItemGas: 150_000n,
  gasPriceWei: 10n ** 9n, // 1 gwei
  nativeUsd: 3_000n * WAD,
};

const btc = market(0, [[0, 4_000, 125], [50_000, 5_000, 100], [250_000, 10_000, 50]], {
  liquidation: { penaltyPpm: 5_000n, targetBufferPpm: 5_000n },
});

describe("planner", () => {
  test("sizes with the engine's max slice and prices reward, gas and profit", () => {
    const v = valuation([btc], { 0: w(57_000) });
    const c = findCandidates([["a", account(w(34_000), [[0, w(10), w(60_000)]])]], v, gas);
    expect(c).toHaveLength(1);
    expect(c[0]!.size).toBe(w("5.79"));
    // penalty = 0.5% × 5.79 × 57,000 = 1,650.15; keeper half = 825.075 → 825 whole tokens.
    expect(c[0]!.rewardTokens).toBe(825_075_000n);
    expect(c[0]!.gasUsd).toBe(gasCostUsd(200_000n, gas));
    expect(c[0]!.gasUsd).toBe(w("0.6")); // 200k gas × 1 gwei × $3,000
    expect(c[0]!.profitUsd).toBe(w("825.075") - w("0.6"));
  });

  test("healthy accounts and accounts in cooldown are not candidates", () => {
    const v = { ...valuation([btc], { 0: w(57_000) }), global: { cooldown: 30n, backstopPpm: 0n, keeperSharePpm: 500_000n } };
    const healthy = account(w(100_000), [[0, w(10), w(60_000)]]);
    const cooling: Account = { ...account(w(34_000), [[0, w(10), w(60_000)]]), lastPartialAt: v.timestamp - 5n };
    expect(findCandidates([["h", healthy], ["c", cooling]], v, gas)).toEqual([]);
  });

  test("ranks by profit, drops the unprofitable, batches when it pays", () => {
    const mk = (account: string, rewardUsd: bigint) => ({
      account,
      marketId: 0,
      size: WAD,
      full: false,
      backstop: false,
      rewardTokens: rewardUsd / 10n ** 12n,
      rewardUsd,
      gasUsd: w("0.6"),
      profitUsd: rewardUsd - w("0.6"),
    });
    const cands = [mk("small", w("0.5")), mk("big", w(100)), mk("mid", w(10))];
    const single = planTransactions(cands, gas, { minProfitUsd: 0n, backstopMode: false, maxBatch: 1 });
    expect(single.map((t) => t.items[0]!.account)).toEqual(["big", "mid"]);
    const batched = planTransactions(cands, gas, { minProfitUsd: 0n, backstopMode: false, maxBatch: 10 });
    expect(batched).toHaveLength(1);
    // In a batch of 3 each item carries 150k + 60k/3 = 170k gas = $0.51: "small" ($0.50) still loses.
    expect(batched[0]!.items.map((c) => c.account)).toEqual(["big", "mid"]);
    expect(batched[0]!.gas).toBe(60_000n + 2n * 150_000n);
    const backstop = planTransactions([{ ...mk("small", w("0.5")), backstop: true }], gas, { minProfitUsd: w(1), backstopMode: true, maxBatch: 1 });
    expect(backstop).toHaveLength(1);
  });
});

describe("liquidation price index", () => {
  test("a tick finds every account the exact engine calls liquidatable, and only nearby ones", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ side: fc.constantFrom(1n, -1n), units: fc.bigInt({ min: 1n, max: 2_000n }), margin: fc.integer({ min: 50, max: 5_000 }) }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 700, max: 1_300 }),
        (rows, movePermille) => {
          const entry = w(60_000);
          const v0 = valuation([btc], { 0: entry });
          const book = rows.map((r, i) => {
            const size = r.side * r.units * 10n ** 15n;
            const n = (r.units * 10n ** 15n * entry) / WAD;
            return [`a${i}`, account((n * BigInt(r.margin)) / 10_000n, [[0, size, entry]])] as [string, Account];
          });
          const index = new LiquidationPriceIndex(0n);
          for (const [k, a] of book) index.update(k, a, v0);
          const p = (entry * BigInt(movePermille)) / 1000n;
          const v1 = valuation([btc], { 0: p });
          const crossed = new Set(index.crossed(0, p));
          for (const [k, a] of book) {
            if (accountHealth(a, v1).liquidatable) expect(crossed.has(k)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
