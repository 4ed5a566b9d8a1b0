/**
 * The parameter lab for real: a shortened example scenario (the 30% crash) on Anvil with the real
 * keepers. Every number of its report.json is checked against the chain's own events and state,
 * read here by other means than the report builder's (eth_getLogs instead of block receipts,
 * contract views instead of the indexer and the engine); then the same scenario is run again and
 * must give the same report, wall-clock fields aside.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, getAddress, http, parseEventLogs, type Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { WAD, notional } from "../../src/engine/index.ts";
import { parseWad, wadToDecimal } from "../../src/lib/units.ts";
import type { LabReport, RunReport } from "../../src/sim/report/types.ts";
import { runScenario, type RunInspection } from "../../src/sim/runScenario.ts";
import { loadScenario, type Scenario } from "../../src/sim/scenario.ts";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-lab-");
afterAll(tmp.cleanup);

/** The crash example, shortened: 60 traders, 36 blocks, a 2-minute fall, an empty insurance fund. */
function shortCrash(): Scenario {
  const raw = JSON.parse(readFileSync(path.join(REPO_ROOT, "config", "scenarios", "crash-30pct-10min.json"), "utf8"));
  raw.duration = "3m";
  raw.traders.count = 60;
  raw.liquidity.insuranceFund = "$0";
  raw.nativeTokenPrice = "$3,123.456789"; // not whole: gas in USD is rounded
  for (const m of Object.values(raw.markets) as { path: Record<string, string> }[]) Object.assign(m.path, { start: "10s", over: "2m" });
  const file = path.join(tmp.dir, "short-crash.json");
  writeFileSync(file, JSON.stringify(raw));
  return loadScenario(file);
}

/** Exact decimal of a WAD amount (the engine's conversion, not the report builder's). */
const decimal = (x: bigint) => wadToDecimal(x).toFixed();
const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
const wad = (s: string) => parseWad(s);

let scenario: Scenario;
let first: LabReport;
let chainCheck: { ok: true } | { ok: false; error: unknown } | undefined;

beforeAll(async () => {
  scenario = shortCrash();
  first = await runScenario({
    scenario,
    // Runs before the run's Anvil stops.
    inspect: async (run) => {
      chainCheck = await checkAgainstChain(run, scenario).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    },
  });
}, 180_000);

describe("a short crash, run for real", () => {
  it("every number of report.json matches the chain's own events and state", () => {
    expect(chainCheck).toBeDefined();
    if (chainCheck && !chainCheck.ok) throw chainCheck.error;
  });

  it("liquidates partially and in full, and leaves bad debt (so every figure below is exercised)", () => {
    const t = first.runs[0]!.totals;
    expect(t.partialLiquidations).toBeGreaterThan(0);
    expect(t.fullLiquidations).toBeGreaterThan(0);
    expect(t.badDebtEvents).toBeGreaterThan(0);
    expect(wad(t.badDebt)).toBeGreaterThan(0n);
    expect(first.runs[0]!.keepers.map((k) => k.liquidations).every((n) => n >= 0)).toBe(true);
    expect(first.chain).toEqual({ chainId: 31337, mode: "embedded" });
    expect(first.scenario).toMatchObject({ name: "crash-30pct-10min", seed: "crash-30", blocks: 36, blockTimeSeconds: 5, traders: 60, markets: ["BTC", "ETH"] });
    expect([first.scenario.liquidity, first.scenario.defaults]).toEqual([{ pool: "100000000", insuranceFund: "0" }, []]);
  });

  it("the run's totals are the sums of its block rows and of its liquidation rows", () => {
    const r = first.runs[0]!;
    expectTotalsAreSums(r);
  });

  it("the same seed gives the same report.json, wall-clock fields aside", { timeout: 180_000 }, async () => {
    const second = await runScenario({ scenario });
    expect(withoutWallClock(second)).toEqual(withoutWallClock(first));
  });
});

function withoutWallClock(r: LabReport): unknown {
  return { ...r, generatedAt: undefined, runs: r.runs.map((x) => ({ ...x, wallClockMs: undefined })) };
}

function expectTotalsAreSums(r: RunReport): void {
  const rows = r.blocks;
  const liq = r.liquidations;
  expect(rows.length).toBe(r.endBlock - r.startBlock + 1);
  expect(rows.map((b) => b.block)).toEqual(Array.from({ length: rows.length }, (_, i) => r.startBlock + i));
  expect(rows.map((b) => b.t)).toEqual(rows.map((_, i) => i * 5));
  expect(r.totals.partialLiquidations).toBe(rows.reduce((s, b) => s + b.partialLiquidations, 0));
  expect(r.totals.fullLiquidations).toBe(rows.reduce((s, b) => s + b.fullLiquidations, 0));
  expect(r.totals.liquidations).toBe(liq.length);
  expect(r.totals.partialLiquidations).toBe(liq.filter((l) => !l.full).length);
  expect(wad(r.totals.liquidatedNotionalUsd)).toBe(sum(rows.map((b) => wad(b.liquidatedNotionalUsd))));
  expect(wad(r.totals.liquidatedNotionalUsd)).toBe(sum(liq.map((l) => notional(wad(l.size), wad(l.price)))));
  expect(wad(r.totals.penalties)).toBe(sum(liq.map((l) => wad(l.penalty))));
  expect(rows[rows.length - 1]!.cumulativePenalties).toBe(r.totals.penalties);
  expect(wad(r.totals.keeperRewards)).toBe(sum(liq.map((l) => wad(l.keeperReward))));
  expect(wad(r.totals.keeperRewards)).toBe(sum(r.keepers.map((k) => wad(k.rewards))));
  expect(r.totals.liquidations).toBe(r.keepers.reduce((s, k) => s + k.liquidations, 0));
  expect(wad(r.totals.keeperProfit)).toBe(sum(r.keepers.map((k) => wad(k.profit))));
  expect(rows[rows.length - 1]!.cumulativeKeeperProfit).toBe(r.totals.keeperProfit);
  for (const k of r.keepers) expect(wad(k.profit)).toBe(wad(k.rewards) - wad(k.gasCost));
  expect(rows[rows.length - 1]!.cumulativeBadDebt).toBe(r.final.badDebt);
  expect(rows[rows.length - 1]!.insuranceFund).toBe(r.final.insuranceFund);
  // The loss split: traders lost penalties plus equity; the rest is the fund's or nobody's yet.
  expect(wad(r.totals.traderLoss)).toBe(wad(r.totals.penalties) + wad(r.totals.traderEquityLost));
  expect(wad(r.sizing.deficits)).toBe(wad(r.totals.badDebtCoveredByInsurance) + wad(r.totals.lossNotCovered));
  // Loss not covered: the bad debt recorded in the run plus the deficit still open at the end.
  expect(wad(r.totals.lossNotCovered)).toBe(wad(r.totals.badDebt) + wad(rows[rows.length - 1]!.openDeficit!));
  expect(r.final.underwater).toBe(rows[rows.length - 1]!.underwater);
  expect(r.totals.accountsLiquidated).toBe(new Set(liq.map((l) => l.account)).size);
  // Worst figures are the rows' extremes.
  expect(r.worst.maxBelowMaintenance).toBe(Math.max(...rows.map((b) => b.belowMaintenance)));
  expect(rows.find((b) => b.block === r.worst.maxBelowMaintenanceBlock)!.belowMaintenance).toBe(r.worst.maxBelowMaintenance);
  expect(r.worst.maxUnderwater).toBe(Math.max(...rows.map((b) => b.underwater)));
  expect(r.worst.maxLiquidationsInBlock).toBe(Math.max(...rows.map((b) => b.partialLiquidations + b.fullLiquidations)));
  expect(wad(r.worst.minInsuranceFund)).toBe(rows.map((b) => wad(b.insuranceFund)).reduce((a, b) => (b < a ? b : a)));
  expect(wad(r.worst.maxOpenDeficit!)).toBe(rows.map((b) => wad(b.openDeficit!)).reduce((a, b) => (b > a ? b : a)));
}

/** report.json against the chain, read independently of the report builder, while the chain still runs. */
async function checkAgainstChain(run: RunInspection, s: Scenario): Promise<void> {
  const client = createPublicClient({ transport: http(run.rpcUrl) });
  const market = run.deployment.contracts.market;
  const r = run.report;
  const at = (blockNumber: bigint) => ({ blockNumber });
  const view = <F extends "insuranceFund" | "badDebt" | "poolBalance">(functionName: F, blockNumber: bigint) =>
    client.readContract({ address: market, abi: PerpMarket.abi, functionName, ...at(blockNumber) });

  // Liquidations and bad debt: the market's own events, by eth_getLogs.
  const logs = await client.getLogs({ address: market, fromBlock: run.startBlock, toBlock: run.endBlock });
  const liquidated = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" });
  const symbol = (id: bigint) => run.deployment.markets.find((m) => BigInt(m.id) === id)!.symbol;
  expect(r.liquidations).toEqual(
    liquidated.map((l) => ({
      block: Number(l.blockNumber),
      txHash: l.transactionHash,
      logIndex: l.logIndex,
      keeper: getAddress(l.args.keeper),
      account: getAddress(l.args.account),
      market: symbol(l.args.marketId),
      size: decimal(l.args.size),
      full: l.args.full,
      price: decimal(l.args.price),
      penalty: decimal(l.args.penalty),
      keeperReward: decimal(l.args.keeperReward),
      insuranceShare: decimal(l.args.insuranceShare),
    })),
  );
  // Nothing was liquidated before the run (setup blocks).
  const early = await client.getLogs({ address: market, fromBlock: run.deployment.deployBlock, toBlock: run.startBlock - 1n });
  expect(parseEventLogs({ abi: PerpMarket.abi, logs: early, eventName: "Liquidated" })).toEqual([]);
  // Per block: counts of partial and full.
  for (const row of r.blocks) {
    const inBlock = liquidated.filter((l) => Number(l.blockNumber) === row.block);
    expect([row.partialLiquidations, row.fullLiquidations]).toEqual([inBlock.filter((l) => !l.args.full).length, inBlock.filter((l) => l.args.full).length]);
    expect(wad(row.liquidatedNotionalUsd)).toBe(sum(inBlock.map((l) => notional(l.args.size, l.args.price))));
  }
  const badDebts = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "BadDebt" });
  expect(r.totals.badDebtEvents).toBe(badDebts.length);
  expect(wad(r.totals.badDebt)).toBe(sum(badDebts.map((l) => l.args.uncovered)));
  expect(wad(r.totals.badDebtCoveredByInsurance)).toBe(sum(badDebts.map((l) => l.args.coveredByInsurance)));
  expect(wad(r.worst.maxBadDebtEvent)).toBe(badDebts.map((l) => l.args.uncovered).reduce((a, b) => (b > a ? b : a), 0n));

  // The contract's state: every block's insurance fund and bad debt, and the final pool.
  for (const row of r.blocks) {
    const b = BigInt(row.block);
    expect(row.insuranceFund).toBe(decimal(await view("insuranceFund", b)));
    expect(row.cumulativeBadDebt).toBe(decimal(await view("badDebt", b)));
    for (const m of run.deployment.markets) {
      const price = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(m.id)], ...at(b) });
      expect(row.markets[m.symbol]!.price).toBe(decimal(price));
    }
  }
  const before = await view("insuranceFund", run.startBlock - 1n);
  expect(r.final.insuranceFund).toBe(decimal(await view("insuranceFund", run.endBlock)));
  expect(r.final.badDebt).toBe(decimal(await view("badDebt", run.endBlock)));
  expect(r.final.pool).toBe(decimal(await view("poolBalance", run.endBlock)));
  expect(wad(r.totals.insuranceFundDelta)).toBe((await view("insuranceFund", run.endBlock)) - before);
  // Every wei of the insurance fund's change: penalty shares in, deficits covered out.
  expect(wad(r.totals.insuranceFundDelta)).toBe(sum(liquidated.map((l) => l.args.insuranceShare)) - sum(badDebts.map((l) => l.args.coveredByInsurance)));

  // Accounts at the end, from the contract's own views.
  let below = 0;
  let underwater = 0;
  let deficit = 0n;
  let open = 0;
  const oi = new Map(run.deployment.markets.map((m) => [m.symbol, { long: 0n, short: 0n }]));
  for (const trader of run.traders) {
    const h = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountHealth", args: [trader], ...at(run.endBlock) });
    const ids = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [trader], ...at(run.endBlock) });
    if (ids.length === 0) continue;
    open++;
    if (h.liquidatable) below++;
    if (h.equity <= 0n) underwater++;
    if (h.equity < 0n) deficit -= h.equity;
    for (const id of ids) {
      const p = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "getPosition", args: [trader, id], ...at(run.endBlock) });
      const o = oi.get(symbol(id))!;
      if (p.size > 0n) o.long += p.size;
      else o.short -= p.size;
    }
  }
  const last = r.blocks[r.blocks.length - 1]!;
  expect([last.belowMaintenance, last.underwater, last.openDeficit, r.final.openAccounts]).toEqual([below, underwater, decimal(deficit), open]);
  expect([r.final.belowMaintenance, r.final.openDeficit, r.final.underwater]).toEqual([below, decimal(deficit), underwater]);
  for (const [sym, o] of oi) {
    expect(last.markets[sym]!.longOpenInterest).toBe(decimal(o.long));
    expect(last.markets[sym]!.shortOpenInterest).toBe(decimal(o.short));
  }

  // Keepers: rewards are tokens in their wallets; gas is what their transactions' receipts say.
  for (const k of r.keepers) {
    const address = getAddress(k.address) as Address;
    const mine = liquidated.filter((l) => getAddress(l.args.keeper) === address);
    expect(k.liquidations).toBe(mine.length);
    expect(wad(k.rewards)).toBe(sum(mine.map((l) => l.args.keeperReward)));
    const tokens = await client.readContract({ address: run.deployment.contracts.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [address], ...at(run.endBlock) });
    expect(tokens * 10n ** 12n).toBe(wad(k.rewards));
    let wei = 0n;
    let txs = 0;
    let reverted = 0;
    for (let b = run.startBlock; b <= run.endBlock; b++) {
      const block = await client.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) {
        if (getAddress(tx.from) !== address) continue;
        const receipt = await client.getTransactionReceipt({ hash: tx.hash });
        wei += receipt.gasUsed * receipt.effectiveGasPrice;
        txs++;
        if (receipt.status !== "success") reverted++;
      }
    }
    expect([k.transactions, k.revertedTransactions]).toEqual([txs, reverted]);
    expect(wad(k.gasCost)).toBe((wei * s.nativeUsd) / WAD);
    // The ETH it started with, less that gas.
    const eth = await client.getBalance({ address, blockNumber: run.endBlock });
    expect(eth).toBe(1_000n * WAD - wei);
  }
}
