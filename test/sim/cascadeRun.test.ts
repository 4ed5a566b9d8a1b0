/**
 * The impact model for real (issue 16): the cascade example, shortened, on Anvil with the real
 * keepers. Each block's mark price on chain must be the path moved by the recurrence over the
 * liquidations read here by other means than the runner's (eth_getLogs over the whole run, sides
 * from the positions as they stood at the start); the cascade and per-tier sections must add up to
 * the run's totals; and a second run must give the same report.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, getAddress, http, parseEventLogs, type Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { notional } from "../../src/engine/index.ts";
import { parseWad, wadToDecimal } from "../../src/lib/units.ts";
import { MarketImpact } from "../../src/sim/impact.ts";
import type { LabReport } from "../../src/sim/report/types.ts";
import { runScenario, type RunInspection } from "../../src/sim/runScenario.ts";
import { loadScenario, type Scenario } from "../../src/sim/scenario.ts";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-cascade-");
afterAll(tmp.cleanup);

/** The cascade example, shortened: 60 traders, 40 blocks, the 11% slide over 50 s. */
function shortCascade(): Scenario {
  const raw = parseYaml(readFileSync(path.join(REPO_ROOT, "config", "scenarios", "cascade.yaml"), "utf8"));
  raw.duration = "80s";
  raw.traders.count = 60;
  raw.markets.BTC.path = { kind: "crash", drop: "11%", start: "10s", over: "50s" };
  raw.markets.BTC.impact = { depth: "$500,000 per 1%", halfLife: "20s" };
  const file = path.join(tmp.dir, "short-cascade.json");
  writeFileSync(file, JSON.stringify(raw));
  return loadScenario(file);
}

const wad = (s: string) => parseWad(s);

let scenario: Scenario;
let first: LabReport;
let chainCheck: { ok: true } | { ok: false; error: unknown } | undefined;

beforeAll(async () => {
  scenario = shortCascade();
  first = await runScenario({
    scenario,
    inspect: async (run) => {
      chainCheck = await checkPrices(run, scenario).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    },
  });
}, 180_000);

describe("a short cascade, run for real", () => {
  it("every block's mark price is the path moved by the recurrence over the previous blocks' liquidations", () => {
    expect(chainCheck).toBeDefined();
    if (chainCheck && !chainCheck.ok) throw chainCheck.error;
  });

  it("liquidations moved the price and made accounts liquidatable that the path alone would not have", () => {
    const c = first.runs[0]!.cascade!;
    expect(c.markets).toHaveLength(1);
    expect(Number(c.markets[0]!.worstExtraMove)).toBeLessThan(0);
    expect(c.impactDrivenAccounts).toBeGreaterThan(0);
    expect(c.longestCascadeBlocks).toBeGreaterThanOrEqual(1);
    expect(c.byGeneration.some((g) => g.generation > 0)).toBe(true);
  });

  it("the generations and the tier groups add up to the run's totals", () => {
    const r = first.runs[0]!;
    const gens = r.cascade!.byGeneration;
    expect(gens.reduce((a, g) => a + g.liquidations, 0)).toBe(r.totals.liquidations);
    expect(gens.reduce((a, g) => a + g.partialLiquidations, 0)).toBe(r.totals.partialLiquidations);
    expect(gens.reduce((a, g) => a + wad(g.notionalUsd), 0n)).toBe(wad(r.totals.liquidatedNotionalUsd));
    expect(r.tiersSpanned.groups.reduce((a, g) => a + g.accounts, 0)).toBe(60);
    expect(r.tiersSpanned.groups.reduce((a, g) => a + g.partialLiquidations, 0)).toBe(r.totals.partialLiquidations);
  });

  it("the same seed gives the same report.json, wall-clock fields aside", { timeout: 180_000 }, async () => {
    const second = await runScenario({ scenario });
    const strip = (r: LabReport) => ({ ...r, generatedAt: undefined, runs: r.runs.map((x) => ({ ...x, wallClockMs: undefined })) });
    expect(strip(second)).toEqual(strip(first));
  });
});

async function checkPrices(run: RunInspection, s: Scenario): Promise<void> {
  const client = createPublicClient({ transport: http(run.rpcUrl) });
  const market = run.deployment.contracts.market;
  const btc = run.deployment.markets.find((m) => m.symbol === "BTC")!;
  // Sides as the positions stood when the run started (traders do not trade during a run).
  const long = new Map<Address, boolean>();
  for (const t of run.traders) {
    const p = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "getPosition", args: [t, BigInt(btc.id)], blockNumber: run.startBlock - 1n });
    if (p.size !== 0n) long.set(getAddress(t), p.size > 0n);
  }
  const logs = await client.getLogs({ address: market, fromBlock: run.startBlock, toBlock: run.endBlock });
  const liquidated = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" });
  expect(liquidated.length).toBeGreaterThan(0);
  const impact = new MarketImpact(s.markets[0]!.impact!, s.blockTimeSeconds, 10n ** BigInt(18 - btc.feedDecimals));
  const rows = run.report.blocks;
  for (const [i, row] of rows.entries()) {
    const b = BigInt(row.block);
    const onChain = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(btc.id)], blockNumber: b });
    const pathPrice = wad(row.markets.BTC!.pathPrice!);
    if (i > 0) {
      const L = liquidated
        .filter((l) => l.blockNumber === b - 1n)
        .reduce((acc, l) => acc + (long.get(getAddress(l.args.account)) ? 1n : -1n) * notional(l.args.size, l.args.price), 0n);
      expect(onChain, `block ${row.block}`).toBe(impact.advance(L, pathPrice));
    } else expect(onChain).toBe(pathPrice);
    expect(row.markets.BTC!.price).toBe(wadToDecimal(onChain).toFixed());
  }
}
