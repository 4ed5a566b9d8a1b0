/**
 * docs/capped-market.md, "Worked example", to the wei: the ETH market, Alice's +500 ETH at 2000, the
 * fall to 1900, and her liquidation over three windows of 210 ETH.
 */
import { describe, expect, test } from "vitest";
import {
  accountMargins,
  applyLiquidation,
  keeperCosts,
  keeperReward,
  liquidationCapacity,
  maxLiquidationAmountInWindow,
  positionMargins,
  type CappedAccount,
  type CappedBook,
  type CappedValuation,
} from "../../../src/engine/capped/index.ts";
import { ETH_CONFIG, GUARDS, account, d, market, valuation } from "./fixtures.ts";

const KEEPER = "0x00000000000000000000000000000000000000a1" as const;
const T = 1_700_000_000n;
/** Native feed at 2000, 400k / 600k gas, base fee 1 gwei. */
const COSTS = keeperCosts({ flagGasUnits: 400_000n, liquidateGasUnits: 600_000n }, 10n ** 9n, d(2000));
/** Market 1 (the valuation's price keys are its id as a string). */
const ETH = 1n;

describe("the capped market's worked example", () => {
  test("keeper costs 0.8 and 1.2; the window's maximum 210 ETH", () => {
    expect(COSTS).toEqual({ flag: d("0.8"), liquidate: d("1.2") });
    expect(maxLiquidationAmountInWindow(ETH_CONFIG)).toBe(d(210));
  });

  test("opening +500 at 2000: IMR 7%, IM 70,050, flag reward 300, three windows, reward reserved 104.4", () => {
    const m = positionMargins(ETH_CONFIG, d(500), d(2000));
    expect(m).toMatchObject({ initialMarginRatio: d("0.07"), notional: d(1_000_000), initialMargin: d(70_050), flagReward: d(300), windows: 3n });
    expect(keeperReward(GUARDS, d(300), d(2), d(80_000))).toBe(d(100));
    expect(keeperReward(GUARDS, 0n, d("1.2"), 0n)).toBe(d("2.2"));
    const a = account(1n, d(80_000), [[ETH, d(500), d(2000)]]);
    const v = valuation([market(ETH, ETH_CONFIG, { skew: d(500), size: d(500) })], { "1": d(2000) }, T, COSTS);
    expect(accountMargins(a, v).liquidationReward).toBe(d("104.4"));
  });

  test("at 1900: available 29,500 against 33,300 + 104.4 — eligible", () => {
    const a = account(1n, d(79_500), [[ETH, d(500), d(2000)]]);
    const v = valuation([market(ETH, ETH_CONFIG, { skew: d(500), size: d(500) })], { "1": d(1900) }, T, COSTS);
    const m = accountMargins(a, v);
    expect(m).toMatchObject({ availableMargin: d(29_500), requiredMaintenanceMargin: d(33_300), liquidationReward: d("104.4"), totalFlagReward: d(285), eligible: true });
    expect(m.positions[0]!.maintenanceMarginRatio).toBe(d("0.035"));
  });

  test("liquidated over three windows: 210 (flag, reward 100), nothing within the window, 210 (2.2), the last 80 (2.2)", () => {
    let a: CappedAccount = account(1n, d(79_500), [[ETH, d(500), d(2000)]]);
    let v: CappedValuation = valuation([market(ETH, ETH_CONFIG, { skew: d(500), size: d(500) })], { "1": d(1900) }, T, COSTS);
    let book: CappedBook = { flaggedAccounts: [], poolBalance: d(1_000_000) };
    const paid: bigint[] = [];
    const step = (t: bigint) => {
      const r = applyLiquidation({ account: a, sender: KEEPER, v: { ...v, timestamp: t }, book });
      if (!r.ok) throw new Error(r.refusal.error);
      ({ account: a, v, book } = r.outcome);
      paid.push(r.outcome.reward);
      return r.outcome;
    };

    const first = step(T);
    expect(first.events).toEqual([
      { eventName: "AccountFlaggedForLiquidation", args: { accountId: 1n, availableMargin: d(29_500), requiredMaintenanceMargin: d(33_300), liquidationReward: d("104.4"), flagReward: d("0.8") } },
      { eventName: "MarketUpdated", args: { marketId: ETH, price: d(1900), skew: d(290), size: d(290), sizeDelta: -d(210), currentFundingRate: 0n, currentFundingVelocity: 0n, interestRate: 0n } },
      { eventName: "PositionLiquidated", args: { accountId: 1n, marketId: ETH, amountLiquidated: d(210), currentPositionSize: d(290) } },
      { eventName: "AccountLiquidationAttempt", args: { accountId: 1n, reward: d(100), fullLiquidation: false } },
    ]);
    expect(first.seized).toBe(d(79_500));
    expect(a).toEqual(account(1n, 0n, [[ETH, d(290), d(1900)]], true));
    expect(book).toEqual({ flaggedAccounts: [1n], poolBalance: d(1_000_000) + d(79_500) - d(100) });
    expect(liquidationCapacity(v.markets.get(ETH)!, T)).toEqual({ capacity: 0n, maxLiquidationInWindow: d(210), latestLiquidationTimestamp: T });

    const within = step(T + 29n);
    expect(within.events).toEqual([{ eventName: "AccountLiquidationAttempt", args: { accountId: 1n, reward: 0n, fullLiquidation: false } }]);
    expect(within.positions).toEqual([{ marketId: ETH, price: d(1900), sizeBefore: d(290), amount: 0n, rule: "none" }]);

    expect(step(T + 30n).reward).toBe(d("2.2"));
    expect(a.positions).toEqual([{ marketId: ETH, size: d(80), latestInteractionPrice: d(1900) }]);
    const last = step(T + 60n);
    expect(last.fullLiquidation).toBe(true);
    expect(a).toEqual(account(1n, 0n, [], false));
    expect(book.flaggedAccounts).toEqual([]);
    expect(v.markets.get(ETH)).toMatchObject({ skew: 0n, size: 0n });
    expect(paid.reduce((s, x) => s + x, 0n)).toBe(d("104.4"));
  });

  test("an account that is not eligible is refused, and nothing changes", () => {
    const a = account(2n, d(90_000), [[ETH, d(500), d(2000)]]);
    const v = valuation([market(ETH, ETH_CONFIG, { skew: d(500), size: d(500) })], { "1": d(1900) }, T, COSTS);
    expect(applyLiquidation({ account: a, sender: KEEPER, v, book: { flaggedAccounts: [], poolBalance: 0n } })).toEqual({
      ok: false,
      refusal: { error: "NotEligibleForLiquidation", accountId: 2n },
    });
  });
});
