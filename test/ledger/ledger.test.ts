/**
 * The profit ledger: entries round-trip through their JSON line exactly; the file survives a
 * restart (the USD counters are fed from it); a torn last line is skipped with a warning and cut
 * off before the next append; a bad line elsewhere is reported as corruption.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { afterAll, describe, expect, test } from "vitest";
import type { MinedTx } from "../../src/execute/spend.ts";
import { entryFromLine, entryOf, entryToLine } from "../../src/ledger/entry.ts";
import { ledgerPathOf, parseLedger, ProfitLedger, readLedger } from "../../src/ledger/ledgerFile.ts";
import { pnlReport } from "../../src/ledger/report.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { captureLogs } from "../support/logs.ts";

const WAD = 10n ** 18n;
const ID = { chainId: 31337, market: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
const dir = mkdtempSync(join(tmpdir(), "perp-keeper-ledger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hash = (i: number) => `0x${i.toString(16).padStart(64, "0")}` as Hex;
/** A mined transaction: `rewardUsd` whole dollars of reward, `gwei` × 10^6 gas wei, `l1Gwei` of L1 fee. */
function mined(i: number, rewardUsd: bigint, gasWei: bigint, l1FeeWei: bigint, timestamp = 1_765_000_000n + BigInt(i) * 3_600n): MinedTx {
  return {
    hash: hash(i),
    block: 100n + BigInt(i),
    timestamp,
    liquidated: 2,
    failed: 0,
    items: [],
    rewardTokens: rewardUsd * 1_000_000n,
    gasWei,
    l1FeeWei,
    l1FeeFrom: l1FeeWei > 0n ? "estimate" : "none",
    reverted: false,
  };
}
const gauge = async (m: Metrics, name: string) => (await m.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;

describe("the profit ledger", () => {
  test("an entry is valued at the native price of its time and round-trips exactly", () => {
    const e = entryOf(mined(1, 825n, 600_000n * 10n ** 9n, 123_456_789_012n), 3_123_456_789_000_000_000_000n, ID);
    expect(e.rewardUsd).toBe(825n * WAD);
    expect(e.gasUsd).toBe((600_000n * 10n ** 9n * 3_123_456_789_000_000_000_000n) / WAD);
    expect(e.l1FeeUsd).toBe((123_456_789_012n * 3_123_456_789_000_000_000_000n) / WAD);
    expect(e.netUsd).toBe(e.rewardUsd - e.gasUsd - e.l1FeeUsd);
    const line = entryToLine(e);
    expect(line).not.toContain("\n");
    expect(entryFromLine(line)).toEqual(e);
    expect(JSON.parse(line)).toMatchObject({ v: 1, hash: hash(1), block: "101", nativeUsd: "3123.456789", rewardUsd: "825", l1FeeFrom: "estimate" });
  });

  test("it survives a restart: appended lines are read back, and the USD counters start from them", async () => {
    const path = ledgerPathOf(join(dir, "restart", "checkpoint.json"));
    const first = createMetrics();
    const a = ProfitLedger.open({ path, identity: ID, logger: captureLogs().logger, metrics: first });
    a.record(mined(1, 100n, 10n ** 15n, 0n), 2_000n * WAD); // $100 − $2
    a.record(mined(2, 50n, 10n ** 15n, 10n ** 15n), 2_000n * WAD); // $50 − $2 − $2
    expect(await gauge(first, "keeper_rewards_usd_total")).toBe(150);
    expect(await gauge(first, "keeper_gas_usd_total")).toBe(6);
    expect(await gauge(first, "keeper_profit_usd")).toBe(144);

    // Another deployment's line in the same file is kept but not counted.
    appendFileSync(path, `${entryToLine(entryOf(mined(3, 1_000n, 0n, 0n), WAD, { ...ID, chainId: 1 }))}\n`);
    const second = createMetrics();
    const b = ProfitLedger.open({ path, identity: ID, logger: captureLogs().logger, metrics: second });
    expect(await gauge(second, "keeper_rewards_usd_total")).toBe(150);
    expect(await gauge(second, "keeper_profit_usd")).toBe(144);
    b.record({ ...mined(4, 0n, 10n ** 15n, 0n), reverted: true, liquidated: 0, failed: 1 }, 2_000n * WAD); // a revert: −$2
    expect(await gauge(second, "keeper_profit_usd")).toBe(142);
    const r = readLedger(path);
    expect(r.entries.map((e) => e.hash)).toEqual([hash(1), hash(2), hash(3), hash(4)]);
    expect(r.torn).toBeUndefined();
    expect(r.bad).toEqual([]);
  });

  test("a torn last line is ignored with a warning, and cut off before the next append", async () => {
    const path = join(dir, "torn.ledger.jsonl");
    const good = entryToLine(entryOf(mined(1, 10n, 0n, 0n), 3_000n * WAD, ID));
    const half = entryToLine(entryOf(mined(2, 20n, 0n, 0n), 3_000n * WAD, ID)).slice(0, 57);
    writeFileSync(path, `${good}\n${half}`);
    expect(readLedger(path)).toMatchObject({ entries: [{ hash: hash(1) }], torn: { line: 2, offset: good.length + 1 }, bad: [] });

    const { logger, sink } = captureLogs({ level: "info" });
    const metrics = createMetrics();
    const l = ProfitLedger.open({ path, identity: ID, logger, metrics });
    expect(sink.messages()).toContain("profit ledger: the last line was cut short (a crash while writing it); ignored");
    expect(readFileSync(path, "utf8")).toBe(`${good}\n`);
    l.record(mined(3, 30n, 0n, 0n), 3_000n * WAD);
    const after = readLedger(path);
    expect(after.entries.map((e) => e.hash)).toEqual([hash(1), hash(3)]);
    expect(after.bad).toEqual([]);
    expect(await gauge(metrics, "keeper_rewards_usd_total")).toBe(40);
  });

  test("a whole last line without its newline is kept, and the next append starts on a new line", () => {
    const path = join(dir, "no-newline.ledger.jsonl");
    const good = entryToLine(entryOf(mined(1, 10n, 0n, 0n), 3_000n * WAD, ID));
    writeFileSync(path, good);
    const l = ProfitLedger.open({ path, identity: ID, logger: captureLogs().logger, metrics: createMetrics() });
    l.record(mined(2, 10n, 0n, 0n), 3_000n * WAD);
    expect(readLedger(path).entries).toHaveLength(2);
  });

  test("a bad line before the last is corruption, reported with its line number", () => {
    const good = entryToLine(entryOf(mined(1, 10n, 0n, 0n), 3_000n * WAD, ID));
    const r = parseLedger(`${good}\n{"v":1,"hash":"0x12"}\nnot json\n${good}\n`);
    expect(r.entries).toHaveLength(2);
    expect(r.bad).toEqual([
      { line: 2, why: "market: not an address" },
      { line: 3, why: "not JSON" },
    ]);
    expect(parseLedger(good.replace('"v":1', '"v":2')).torn).toEqual({ offset: 0, line: 1 }); // unterminated: torn, not corrupt
  });

  test("per day and per transaction, with totals", () => {
    const day = 86_400n;
    const t0 = 1_765_065_600n; // 2025-12-07T00:00:00Z
    const entries = [mined(1, 10n, 0n, 0n, t0 + 10n), mined(2, 20n, 0n, 0n, t0 + day + 5n), mined(3, 5n, 10n ** 15n, 0n, t0 + 20n)].map((m) => entryOf(m, 2_000n * WAD, ID));
    const byDay = pnlReport(entries, "day");
    expect(byDay.rows.map((r) => [r.key, r.transactions, r.netUsd])).toEqual([
      ["2025-12-07", 2, 13n * WAD],
      ["2025-12-08", 1, 20n * WAD],
    ]);
    expect(byDay.totals).toMatchObject({ transactions: 3, rewardsUsd: 35n * WAD, gasUsd: 2n * WAD, netUsd: 33n * WAD });
    expect(pnlReport(entries, "tx").rows.map((r) => r.key)).toEqual([hash(1), hash(2), hash(3)]);
  });
});
