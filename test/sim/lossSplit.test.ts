/**
 * Issue 15 on a real chain: the loss split and the sizing answers of a small deterministic crash
 * (partial and full liquidations, penalties, deficits the insurance fund pays from its share and
 * bad debt it cannot, a backstop keeper closing accounts for no reward), each checked against the
 * chain's own events and views read here by other means than the report builder (eth_getLogs,
 * the contract's accountHealth at every block, receipts). Then the insurance fund needed is
 * checked the hard way: the same run with that fund leaves no bad debt, and with $2 less it does.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, getAddress, http, parseEventLogs, type Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { WAD } from "../../src/engine/index.ts";
import { parseWad } from "../../src/lib/units.ts";
import { traderLosses, type EquityBlock } from "../../src/sim/report/lossSplit.ts";
import { backstopSpend, fundEvents, insuranceFundNeeded, type KeeperBlock } from "../../src/sim/report/sizing.ts";
import type { LabReport, RunReport } from "../../src/sim/report/types.ts";
import { runScenario, type RunInspection } from "../../src/sim/runScenario.ts";
import { loadScenario } from "../../src/sim/scenario.ts";
import { tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-loss-split-");
afterAll(tmp.cleanup);

const SCENARIO = {
  description: "a small crash: partial and full liquidations, equity lost while pending, deficits paid by insurance, bad debt",
  seed: "tiny",
  blockTime: "5s",
  blocks: 16,
  nativeTokenPrice: "$3,000",
  liquidity: { insuranceFund: "$0" },
  markets: { BTC: { path: { kind: "crash", drop: "12%", start: "5s", over: "60s" } } },
  traders: { count: 16, leverage: { min: "8x", max: "60x", distribution: "log-uniform" }, size: { min: "$20,000", max: "$2,000,000", distribution: "log-uniform" }, longShare: "100%" },
  keepers: [
    { name: "slow", latency: "6s", minProfit: "$0" },
    { name: "protocol", latency: "10s", minProfit: "$0", backstop: true },
  ],
};

function scenarioWithFund(fund: string) {
  const file = path.join(tmp.dir, `tiny-${fund.replace(/\W/g, "")}.json`);
  writeFileSync(file, JSON.stringify({ ...SCENARIO, liquidity: { insuranceFund: fund } }));
  return loadScenario(file);
}

const wad = (s: string) => parseWad(s);
const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);

let report: LabReport;
let expected: { traderLoss: bigint; equityLost: bigint; fundNeeded: bigint; deficits: bigint; backstop: ReturnType<typeof backstopSpend>; insurancePaid: bigint; badDebt: bigint; open: bigint } | undefined;

beforeAll(async () => {
  report = await runScenario({
    scenario: scenarioWithFund("$0"),
    inspect: async (run) => {
      expected = await fromChain(run);
    },
  });
}, 120_000);

/** The loss split and sizing inputs read from the chain by its own views and logs, run through the pure definitions. */
async function fromChain(run: RunInspection) {
  const client = createPublicClient({ transport: http(run.rpcUrl) });
  const market = run.deployment.contracts.market;
  const logs = await client.getLogs({ address: market, fromBlock: run.startBlock, toBlock: run.endBlock });
  const liquidated = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" });
  const badDebts = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "BadDebt" });
  const blocks: EquityBlock[] = [];
  const keeperBlocks: KeeperBlock[] = [];
  const backstop = run.keepers.find((k) => k.backstopMode)!;
  let backstopWei = 0n;
  let priced = 0n;
  let open = 0n;
  for (let b = run.startBlock; b <= run.endBlock; b++) {
    const inBlock = liquidated.filter((l) => l.blockNumber === b);
    const below: Address[] = [];
    const equity = new Map<Address, bigint>();
    open = 0n;
    for (const trader of run.traders) {
      const at = { blockNumber: b };
      const ids = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [trader], ...at });
      const liquidatedHere = inBlock.some((l) => getAddress(l.args.account) === trader);
      if (ids.length === 0 && !liquidatedHere) continue;
      const h = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountHealth", args: [trader], ...at });
      equity.set(trader, h.equity);
      if (ids.length > 0 && h.liquidatable) below.push(trader);
      if (ids.length > 0 && h.equity < 0n) open -= h.equity;
    }
    blocks.push({ belowMaintenance: below, equity, liquidations: inBlock.map((l) => ({ account: getAddress(l.args.account), penalty: l.args.penalty })) });
    // The backstop keeper's gas from its receipts, its rewards from its Liquidated events.
    const block = await client.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (getAddress(tx.from) !== backstop.address) continue;
      const r = await client.getTransactionReceipt({ hash: tx.hash });
      backstopWei += r.gasUsed * r.effectiveGasPrice;
    }
    const gasUsd = (backstopWei * 3_000n * WAD) / WAD;
    const mine = inBlock.filter((l) => getAddress(l.args.keeper) === backstop.address);
    keeperBlocks.push({ gasUsd: gasUsd - priced, rewards: sum(mine.map((l) => l.args.keeperReward)), rewardless: mine.filter((l) => l.args.keeperReward === 0n).length });
    priced = gasUsd;
  }
  const losses = traderLosses(blocks);
  const fund = insuranceFundNeeded(fundEvents(liquidated.map((l) => ({ logIndex: l.logIndex, insuranceShare: l.args.insuranceShare })), badDebts.map((d) => ({ logIndex: d.logIndex, covered: d.args.coveredByInsurance, uncovered: d.args.uncovered }))), open);
  return {
    traderLoss: losses.total,
    equityLost: losses.equityLost,
    fundNeeded: fund.needed,
    deficits: fund.deficits,
    backstop: backstopSpend(keeperBlocks),
    insurancePaid: sum(badDebts.map((d) => d.args.coveredByInsurance)),
    badDebt: sum(badDebts.map((d) => d.args.uncovered)),
    open,
  };
}

describe("issue 15: who bore the losses, read from the chain", () => {
  it("the scenario exercises every part: partial and full liquidations, equity lost, insurance paid, bad debt, reward-less backstop closes", () => {
    const r = report.runs[0]!;
    expect(r.totals.partialLiquidations).toBeGreaterThan(0);
    expect(r.totals.fullLiquidations).toBeGreaterThan(0);
    expect(wad(r.totals.traderEquityLost)).toBeGreaterThan(0n);
    expect(wad(r.totals.badDebtCoveredByInsurance)).toBeGreaterThan(0n);
    expect(wad(r.totals.badDebt)).toBeGreaterThan(0n);
    expect(r.sizing.backstop!.rewardlessCloses).toBeGreaterThan(0);
  });

  it("traders lost penalties plus equity; the fund paid its covered deficits; the rest was left as bad debt or open deficit", () => {
    const r = report.runs[0]!;
    const x = expected!;
    expect(wad(r.totals.traderLoss)).toBe(x.traderLoss);
    expect(wad(r.totals.traderEquityLost)).toBe(x.equityLost);
    expect(wad(r.totals.traderLoss)).toBe(wad(r.totals.penalties) + wad(r.totals.traderEquityLost));
    expect(wad(r.totals.badDebtCoveredByInsurance)).toBe(x.insurancePaid);
    expect(wad(r.totals.lossNotCovered)).toBe(x.badDebt + x.open);
    // Every deficit is the fund's or nobody's yet: none of it is counted as the traders'.
    expect(wad(r.sizing.deficits)).toBe(x.insurancePaid + x.badDebt + x.open);
  });

  it("the insurance fund needed and the backstop budget match the chain's events and receipts", () => {
    const r = report.runs[0]!;
    expect(wad(r.sizing.insuranceFundNeeded)).toBe(expected!.fundNeeded);
    expect(wad(r.sizing.deficits)).toBe(expected!.deficits);
    const b = r.sizing.backstop!;
    const row = r.keepers.find((k) => k.backstopMode)!;
    expect(b.keepers).toEqual([row.name]);
    expect([wad(b.gasCost), wad(b.rewards)]).toEqual([wad(row.gasCost), wad(row.rewards)]);
    expect([wad(b.gasCost), wad(b.rewards), b.rewardlessCloses, wad(b.budget)]).toEqual([expected!.backstop.gasCost, expected!.backstop.rewards, expected!.backstop.rewardlessCloses, expected!.backstop.budget]);
  });

  it("the same run with the fund needed leaves no bad debt; with $2 less it does", { timeout: 120_000 }, async () => {
    const needed = wad(report.runs[0]!.sizing.insuranceFundNeeded);
    expect(needed).toBeGreaterThan(2n * WAD);
    const dollars = (needed + WAD - 1n) / WAD; // the scenario takes whole dollars: round up
    const enough = (await runScenario({ scenario: scenarioWithFund(`$${dollars}`) })).runs[0]!;
    const short = (await runScenario({ scenario: scenarioWithFund(`$${dollars - 2n}`) })).runs[0]!;
    const same = (x: RunReport) => x.liquidations.map((l) => [l.block - x.startBlock, l.account, l.size, l.penalty]);
    // The fund changes who pays the deficits, nothing else of the run.
    expect(same(enough)).toEqual(same(report.runs[0]!));
    expect(same(short)).toEqual(same(report.runs[0]!));
    expect(enough.totals.badDebt).toBe("0");
    expect(wad(enough.final.insuranceFund)).toBeGreaterThanOrEqual(wad(enough.final.openDeficit!));
    expect(wad(short.totals.badDebt) > 0n || wad(short.final.insuranceFund) < wad(short.final.openDeficit!)).toBe(true);
    // And the answer does not depend on the fund the run started with.
    expect(enough.sizing.insuranceFundNeeded).toBe(report.runs[0]!.sizing.insuranceFundNeeded);
  });
});
