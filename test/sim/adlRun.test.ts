/**
 * Issue 16 on a real chain: a small market read from three feeds, one of which (feed 1) drops 20%
 * in one block and stays down. The three-feed median holds, so nothing happens; a market that reads
 * feed 1 alone sends its longs underwater and, with ADL on and an empty insurance fund, the
 * scenario's backstop keeper (the ADL operator) deleverages them against the profitable shorts. The
 * report's ADL figures are checked against the market's own Deleveraged and BadDebt events, read
 * by eth_getLogs, and the check "bad debt the opposite side could cover" is 0.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, getAddress, http, parseEventLogs } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { WAD, notional } from "../../src/engine/index.ts";
import { parseWad, wadToDecimal } from "../../src/lib/units.ts";
import type { LabReport } from "../../src/sim/report/types.ts";
import { runScenario, type RunInspection } from "../../src/sim/runScenario.ts";
import { loadScenario } from "../../src/sim/scenario.ts";
import { tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-adl-run-");
afterAll(tmp.cleanup);

const SCENARIO = {
  description: "three feeds; feed 1 drops 20% in one block and stays down; an empty insurance fund",
  seed: "adl",
  blockTime: "2s",
  blocks: 30,
  nativeTokenPrice: "$3,000",
  liquidity: { insuranceFund: "$0" },
  markets: {
    BTC: {
      path: { kind: "flat" },
      feeds: [{ path: { kind: "legs", start: "6s", legs: [{ move: "-20%", over: "2s" }] } }, "same", "same"],
      index: { minSources: 2, maxDeviation: "25%" },
    },
  },
  traders: { count: 24, leverage: { min: "3x", max: "40x", distribution: "log-uniform" }, size: { min: "$5,000", max: "$400,000", distribution: "log-uniform" }, longShare: "70%" },
  keepers: [
    { name: "fast", latency: "0s", minProfit: "$0" },
    { name: "protocol", latency: "0s", minProfit: "$0", backstop: true },
  ],
};

const decimal = (x: bigint) => wadToDecimal(x).toFixed();
const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);

let report: LabReport;
const checks: { preset: string; outcome: { ok: true } | { ok: false; error: unknown } }[] = [];

beforeAll(async () => {
  const file = path.join(tmp.dir, "adl.json");
  writeFileSync(file, JSON.stringify(SCENARIO));
  report = await runScenario({
    scenario: loadScenario(file),
    presets: ["binance-adl", "binance-adl+BTC:feed1", "binance+BTC:feed1"],
    // Runs before each run's Anvil stops.
    inspect: async (run) => {
      const outcome = await checkAgainstChain(run).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      checks.push({ preset: run.report.preset, outcome });
    },
  });
}, 120_000);

/** The ADL figures against the market's own events, read by eth_getLogs while the chain runs. */
async function checkAgainstChain(run: RunInspection): Promise<void> {
  const client = createPublicClient({ transport: http(run.rpcUrl) });
  const market = run.deployment.contracts.market;
  const logs = await client.getLogs({ address: market, fromBlock: run.startBlock, toBlock: run.endBlock });
  const deleveraged = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Deleveraged" });
  const a = run.report.adl!;
  expect(a.events).toBe(deleveraged.length);
  expect(a.deleveragedNotionalUsd).toBe(decimal(sum(deleveraged.map((l) => notional(l.args.size, l.args.markPrice)))));
  expect(a.profitGivenUp).toBe(decimal(sum(deleveraged.map((l) => l.args.profitGivenUp))));
  expect(a.accountsHit).toBe(new Set(deleveraged.map((l) => getAddress(l.args.counterparty))).size);
  expect(a.accountsDeleveraged).toBe(new Set(deleveraged.map((l) => getAddress(l.args.account))).size);
  // The ADL operator is the backstop keeper.
  const operator = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "adlOperator" });
  expect(getAddress(operator)).toBe(run.keepers.find((k) => k.name === "protocol")!.address);
  // Bad debt left: recorded (Σ BadDebt.uncovered) + the open deficit at the end beyond the fund.
  const badDebts = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "BadDebt" });
  const [fund, openDeficit] = [parseWad(run.report.final.insuranceFund), parseWad(run.report.final.openDeficit ?? "0")];
  expect(a.badDebtLeft).toBe(decimal(sum(badDebts.map((l) => l.args.uncovered)) + (openDeficit > fund ? openDeficit - fund : 0n)));
}

describe("ADL on a single-feed wick, against a three-feed median", () => {
  it("the report's ADL figures match the chain's own events", async () => {
    expect(checks.map((c) => c.preset)).toEqual(["binance-adl", "binance-adl+BTC:feed1", "binance+BTC:feed1"]);
    for (const c of checks) if (!c.outcome.ok) throw c.outcome.error;
  });

  it("the median market holds: no liquidation, no deleverage, its price never left the start", () => {
    const median = report.runs[0]!;
    expect(median.totals.liquidations).toBe(0);
    expect(median.adl!.events).toBe(0);
    expect(new Set(median.blocks.map((b) => b.markets.BTC!.price))).toEqual(new Set(["60000"]));
    expect(median.markets![0]!.price).toBe("median of 3 feeds (at least 2 fresh, spread at most 25%)");
  });

  it("the single-feed market deleverages its underwater longs against profitable shorts, and leaves nothing the shorts could cover", () => {
    const single = report.runs[1]!;
    expect(single.markets![0]!.price).toBe("feed 1 alone");
    expect(single.blocks.at(-1)!.markets.BTC!.price).toBe("48000");
    const a = single.adl!;
    expect(a).toMatchObject({ enabled: true, operator: "protocol" });
    expect(a.events).toBeGreaterThan(0);
    expect(a.accountsHit).toBeGreaterThan(0);
    expect(parseWad(a.profitGivenUp)).toBeGreaterThan(WAD);
    expect(a.coverableByOppositeSide).toBe("0");
  });

  it("ADL leaves less bad debt than the same market without it, which left some the shorts could have covered", () => {
    const [withAdl, without] = [report.runs[1]!.adl!, report.runs[2]!.adl!];
    expect(without).toMatchObject({ enabled: false, events: 0 });
    expect(parseWad(without.coverableByOppositeSide)).toBeGreaterThan(0n);
    expect(parseWad(withAdl.badDebtLeft)).toBeLessThan(parseWad(without.badDebtLeft));
  });
});
