/**
 * Issue 16: the report's ADL section from constructed observations: counts and sums of the
 * Deleveraged events, the bad debt left after ADL, and the part of it the opposite side could have
 * covered (0 wherever ADL is on), then its HTML check line.
 */
import { getAddress, type Address } from "viem";
import { describe, expect, it } from "vitest";
import { WAD } from "../../../src/engine/index.ts";
import { adlReport } from "../../../src/sim/report/adl.ts";
import type { BlockObservation, DeleverageEvent } from "../../../src/sim/report/observe.ts";
import { adlCheckText, adlHtml } from "../../../src/sim/report/render/adl.ts";
import { runColumns } from "../../../src/sim/report/render/comparison.ts";
import type { LabReport, RunReport } from "../../../src/sim/report/types.ts";

const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const usd = (x: number) => BigInt(x) * WAD;

function block(n: number, over: Partial<BlockObservation> = {}): BlockObservation {
  return {
    block: BigInt(n),
    timestamp: BigInt(n * 5),
    markets: [],
    belowMaintenance: [],
    impactDriven: [],
    underwater: 0,
    openDeficit: 0n,
    equity: new Map(),
    openAccounts: 0,
    closedOut: [],
    liquidations: [],
    badDebts: [],
    deleverages: [],
    oppositeProfit: { recorded: 0n, open: 0n },
    gas: new Map(),
    insuranceFund: 0n,
    badDebt: 0n,
    pool: 0n,
    ...over,
  };
}

function deleverage(account: number, counterparty: number, size: bigint, mark: bigint, bankruptcy: bigint): DeleverageEvent {
  const gap = mark > bankruptcy ? mark - bankruptcy : bankruptcy - mark;
  return {
    block: 2n,
    txHash: "0x",
    logIndex: 0,
    account: addr(account),
    counterparty: addr(counterparty),
    marketId: 0,
    market: "BTC",
    size,
    bankruptcyPrice: bankruptcy,
    markPrice: mark,
    score: 1n,
    profitGivenUp: (size * gap) / WAD,
  };
}

describe("adlReport", () => {
  // A long of 2 BTC bankrupt at 50,000 (bankruptcy price 50,500) closed against two shorts.
  const events = [deleverage(1, 10, WAD + WAD / 2n, usd(50_000), usd(50_500)), deleverage(1, 11, WAD / 2n, usd(50_000), usd(50_500))];

  it("counts the events, the notional at the mark, the accounts hit and the profit they gave up", () => {
    const r = adlReport([block(1), block(2, { deleverages: events }), block(3)], { enabled: true, operator: "protocol", badDebt: 0n });
    expect(r).toEqual({
      enabled: true,
      operator: "protocol",
      events: 2,
      deleveragedNotionalUsd: "100000",
      accountsHit: 2,
      accountsDeleveraged: 1,
      profitGivenUp: "1000",
      badDebtLeft: "0",
      coverableByOppositeSide: "0",
    });
  });

  it("bad debt left: recorded, plus the open deficit at the end beyond the fund; coverable: the smaller of deficit and opposite profit, per block", () => {
    const bad = (uncovered: bigint) => ({ block: 2n, logIndex: 0, account: addr(1), covered: 0n, uncovered });
    const obs = [
      block(1, { badDebts: [bad(usd(700))], oppositeProfit: { recorded: usd(500), open: 0n } }),
      block(2, { badDebts: [bad(usd(300))], oppositeProfit: { recorded: usd(1_000), open: 0n } }),
      block(3, { openDeficit: usd(900), insuranceFund: usd(100), oppositeProfit: { recorded: 0n, open: usd(50) } }),
    ];
    const r = adlReport(obs, { enabled: true, badDebt: usd(1_000) });
    expect(r.badDebtLeft).toBe("1800");
    // 500 of block 1's 700, all of block 2's 300, 50 of the 800 open beyond the fund.
    expect(r.coverableByOppositeSide).toBe("850");
    expect(adlCheckText(r)).toEqual({ text: "bad debt left after ADL: $1,800.00; coverable by the opposite side: $850.00, must be 0 ✗", ok: false });
    expect(adlCheckText({ ...r, enabled: false }).text).toBe("ADL off: bad debt left $1,800.00, of which the opposite side could have covered $850.00");
  });

  it("nothing to cover when the opposite side has no profit", () => {
    const obs = [block(1, { badDebts: [{ block: 1n, logIndex: 0, account: addr(1), covered: 0n, uncovered: usd(10) }] })];
    const r = adlReport(obs, { enabled: true, badDebt: usd(10) });
    expect(r.coverableByOppositeSide).toBe("0");
    expect(adlCheckText(r)).toEqual({ text: "bad debt left after ADL: $10.00; coverable by the opposite side: $0.00 ✓", ok: true });
  });
});

describe("the ADL section of report.html", () => {
  const adl = adlReport([block(1, { deleverages: [deleverage(1, 10, WAD, usd(50_000), usd(50_400))] })], { enabled: true, operator: "protocol", badDebt: 0n });
  const run = (preset: string, a: RunReport["adl"]) => ({ preset, ...(a ? { adl: a } : {}) }) as RunReport;
  const report = (runs: RunReport[]) => ({ runs }) as LabReport;

  it("one row per run, with its check line; the operator is named", () => {
    const runs = [run("hyperliquid", { ...adl, enabled: false, events: 0 }), run("hyperliquid-adl", adl)];
    const html = adlHtml(report(runs), runColumns(runs));
    expect(html).toContain('<section id="adl">');
    expect(html).toContain("ADL operator: the keeper <code>protocol</code>");
    expect(html).toContain("$50,000.00");
    expect(html).toContain("$400.00");
    expect(html).toContain("bad debt left after ADL: $0.00; coverable by the opposite side: $0.00 ✓");
    expect(html).toContain("ADL off: bad debt left $0.00");
  });

  it("no section when no run has ADL on and none deleveraged", () => {
    const runs = [run("binance", { ...adl, enabled: false, events: 0 }), run("old", undefined)];
    expect(adlHtml(report(runs), runColumns(runs))).toBe("");
  });
});

it("the bankruptcy price's rounding (bad debt recorded as a deleverage closes its account) is not coverable", () => {
  const d = deleverage(1, 10, WAD, usd(50_000), usd(50_400));
  const obs = [block(1, { deleverages: [d], badDebts: [{ block: 1n, logIndex: 1, account: addr(1), covered: 0n, uncovered: 5n }], oppositeProfit: { recorded: usd(100), open: 0n } })];
  const r = adlReport(obs, { enabled: true, badDebt: 5n });
  expect(r.badDebtLeft).toBe("0.000000000000000005");
  expect(r.coverableByOppositeSide).toBe("0");
});
