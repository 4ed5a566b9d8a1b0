/**
 * `perp-keeper pnl`: the profit ledger as a table (per day or per transaction, 2-dp USD, totals)
 * and as JSON; and end to end on Anvil with an OP-stack GasPriceOracle in place: the real keeper
 * liquidates through a crash, its ledger records each mined transaction with its L2 gas and L1 fee
 * at the feed's price, and `pnl` shows exactly what the executor counted.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect } from "vitest";
import { writeDeployment } from "../../src/chain/deployment.ts";
import type { CliIO } from "../../src/cli/command.ts";
import { main } from "../../src/cli/main.ts";
import type { MinedTx } from "../../src/execute/spend.ts";
import { entryOf, entryToLine } from "../../src/ledger/entry.ts";
import { ledgerPathOf, readLedger } from "../../src/ledger/ledgerFile.ts";
import { placeGasPriceOracle } from "../execute/opOracle.ts";
import { headOf } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";
import { crashPath, runUntilSettled } from "../support/keepers.ts";
import { NATIVE_USD } from "../support/market.ts";

test.override({ traderCount: 16 });

const WAD = 10n ** 18n;
const root = mkdtempSync(join(tmpdir(), "perp-keeper-pnl-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function pnl(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: {}, cwd: root, signal: AbortSignal.timeout(30_000) };
  const code = await main(["pnl", ...argv], io);
  return { code, out, err };
}

const tx = (i: number, timestamp: bigint, rewardUsd: bigint, gasWei: bigint, l1FeeWei: bigint): MinedTx => ({
  hash: `0x${i.toString(16).padStart(64, "0")}`,
  block: BigInt(i),
  timestamp,
  liquidated: 1,
  failed: 0,
  items: [],
  rewardTokens: rewardUsd * 1_000_000n,
  gasWei,
  l1FeeWei,
  l1FeeFrom: "receipt",
  reverted: false,
});

describe("perp-keeper pnl", () => {
  test("a table per day or per transaction, and JSON", async ({ deployment }) => {
    const file = join(root, "d.json");
    writeDeployment(file, deployment);
    const id = { chainId: deployment.chainId, market: deployment.contracts.market };
    const t0 = 1_765_065_600n; // 2025-12-07T00:00:00Z
    const lines = [
      entryOf(tx(1, t0 + 60n, 12n, 2n * 10n ** 14n, 10n ** 14n), 3_000n * WAD, id), // 12 − 0.60 − 0.30
      entryOf(tx(2, t0 + 120n, 1n, 10n ** 15n, 0n), 3_000n * WAD, id), // 1 − 3.00
      entryOf(tx(3, t0 + 86_400n, 100n, 10n ** 15n, 10n ** 15n), 2_500n * WAD, id), // 100 − 2.50 − 2.50
    ].map(entryToLine);
    writeFileSync(join(root, "l.jsonl"), `${lines.join("\n")}\n`);

    const byDay = await pnl(["--deployment", "d.json", "--ledger", "l.jsonl"]);
    expect(byDay.code).toBe(0);
    expect(byDay.out.slice(1)).toEqual([
      "DAY (UTC)   TXS  REWARDS  L2 GAS  L1 FEE      NET",
      "2025-12-07    2   $13.00   $3.60   $0.30    $9.10",
      "2025-12-08    1  $100.00   $2.50   $2.50   $95.00",
      "TOTAL         3  $113.00   $6.10   $2.80  $104.10",
    ]);
    const byTx = await pnl(["--deployment", "d.json", "--ledger", "l.jsonl", "--by", "tx"]);
    expect(byTx.out[2]).toMatch(/^0x00000000… 2025-12-07 +1 +\$12\.00 +\$0\.60 +\$0\.30 +\$11\.10$/);
    expect(byTx.out[3]).toMatch(/\$1\.00 +\$3\.00 +\$0\.00 +-\$2\.00$/);

    const json = await pnl(["--deployment", "d.json", "--ledger", "l.jsonl", "--json"]);
    const j = JSON.parse(json.out.join("\n")) as { totals: Record<string, unknown>; rows: unknown[]; entries: { hash: string; nativeUsd: string }[] };
    expect(j.totals).toEqual({ rewardsUsd: "113", gasUsd: "6.1", l1FeeUsd: "2.8", netUsd: "104.1", transactions: 3 });
    expect(j.rows).toHaveLength(2);
    expect(j.entries.map((e) => e.nativeUsd)).toEqual(["3000", "3000", "2500"]);
  });

  test("end to end: the keeper liquidates on an OP-stack-like chain, and pnl shows each transaction", { timeout: 120_000 }, async ({ world }) => {
    await placeGasPriceOracle(world.chain, { fjord: true, l1BaseFee: 5_000_000_000n, blobBaseFee: 2_000_000n, baseFeeScalar: 2_269n, blobBaseFeeScalar: 1_055_762n });
    const checkpointPath = join(root, "e2e", "checkpoint.json");
    const k = world.keeper(3, { checkpointPath }, { checkpoint: true });
    await k.keeper.start();
    await crashPath(world, [k.keeper]);
    await runUntilSettled(world, [k.keeper]);
    await world.chain.testClient.mine({ blocks: 1 });
    await k.keeper.onHead(await headOf(world.chain)); // the last receipts settle
    await k.keeper.stop(1_000);

    const stats = k.keeper.executor.stats();
    expect(stats.mined).toBeGreaterThan(0);
    const ledger = readLedger(ledgerPathOf(checkpointPath));
    expect(ledger.bad).toEqual([]);
    expect(ledger.entries).toHaveLength(stats.mined + stats.reverted);
    expect(ledger.entries.reduce((s, e) => s + e.rewardTokens, 0n)).toBe(stats.rewardTokens);
    expect(ledger.entries.reduce((s, e) => s + e.gasWei, 0n)).toBe(stats.gasSpentWei);
    for (const e of ledger.entries) {
      expect(e.nativeUsd).toBe(NATIVE_USD); // the world's ETH / USD feed
      expect(e.l1FeeFrom).toBe("estimate"); // Anvil's receipts carry no l1Fee
      expect(e.l1FeeWei).toBeGreaterThan(0n);
    }
    const l1Total = ledger.entries.reduce((s, e) => s + e.l1FeeWei, 0n);
    const l1Metric = (await k.metrics.registry.getSingleMetric("keeper_l1_fee_wei_total")!.get()).values[0]!.value;
    expect(l1Metric).toBe(Number(l1Total));

    const file = join(root, "e2e", "deployment.json");
    writeDeployment(file, world.deployment);
    const r = await pnl(["--deployment", file, "--ledger", ledgerPathOf(checkpointPath), "--by", "tx", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out.join("\n")) as { totals: { transactions: number; rewardsUsd: string }; rows: { hash: string }[] };
    expect(j.totals.transactions).toBe(ledger.entries.length);
    expect(j.rows.map((row) => row.hash)).toEqual(ledger.entries.map((e) => e.hash));
    const rewardsUsd = Number(stats.rewardTokens) / 1e6;
    expect(Number(j.totals.rewardsUsd)).toBeCloseTo(rewardsUsd, 6);
    const table = await pnl(["--deployment", file, "--ledger", ledgerPathOf(checkpointPath)]);
    expect(table.out.at(-1)).toMatch(new RegExp(`^TOTAL +${ledger.entries.length} +\\$[\\d,]+\\.\\d\\d +\\$\\d+\\.\\d\\d +\\$\\d+\\.\\d\\d +\\$[\\d,]+\\.\\d\\d$`));
  });
});
