import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.ts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { scrubSecrets } from "../../src/lib/logger.ts";
import { test } from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { liquidatableTraders } from "../support/market.ts";

test.override({ traderCount: 12 });

const dir = mkdtempSync(join(tmpdir(), "perp-keeper-status-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("perp-keeper status", () => {
  test("lists the accounts closest to liquidation, lowest margin ratio first", { timeout: 60_000 }, async ({ world }) => {
    const { chain } = world;
    await world.prices.move(-20);
    const path = join(dir, "d.json");
    writeDeployment(path, world.deployment);
    const out: string[] = [];
    const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => out.push(`ERR ${l}`), env: {}, cwd: dir, signal: new AbortController().signal };
    expect(await main(["status", "--rpc", chain.anvil.rpcUrl, "--deployment", path, "--top", "5", "--json"], io)).toBe(0);
    const report = JSON.parse(out.join("\n")) as { accounts: number; closest: { account: string; marginRatioPpm: string; liquidatable: boolean }[] };
    expect(report.accounts).toBe(12);
    expect(report.closest).toHaveLength(5);
    const ratios = report.closest.map((r) => BigInt(r.marginRatioPpm));
    expect([...ratios].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(ratios);
    const liquidatable = await liquidatableTraders(world);
    // Liquidatable accounts have the lowest ratios, so they lead the list, exactly as the contract says.
    const shown = report.closest.filter((r) => r.liquidatable).map((r) => r.account);
    expect(shown).toEqual(report.closest.slice(0, shown.length).map((r) => r.account));
    expect(new Set(shown)).toEqual(new Set(liquidatable.filter((a) => report.closest.some((r) => r.account === a))));
    expect(shown.length).toBe(Math.min(5, liquidatable.length));
    out.length = 0;
    expect(await main(["status", "--rpc", chain.anvil.rpcUrl, "--deployment", path, "--top", "3"], io)).toBe(0);
    expect(out[0]).toMatch(/^Block \d+: 12 accounts with positions, \d+ liquidatable\.$/);
    expect(out[1]).toMatch(/ACCOUNT\s+EQUITY\s+MAINTENANCE\s+E\/MM\s+STATUS\s+POSITIONS/);
  });
});

describe("logger", () => {
  it("a listed key never reaches the output, even inside a message or an error", () => {
    const key = `0x${"ab".repeat(32)}`;
    const { logger: log, sink: { raw: lines } } = captureLogs({ secrets: [key] });
    log.info({ privateKey: key, nested: { key } }, `loaded ${key}`);
    log.error({ err: new Error(`bad key ${key.toUpperCase().replace("0X", "0x")}`) }, "failed");
    expect(lines.join("")).not.toMatch(/ab{1}ab{1}abab/i);
    expect(lines.join("")).toContain("[redacted]");
    // Wei amounts stay exact: bigints are written as decimal strings.
    log.info({ gasWei: 2n ** 80n + 1n, items: [{ size: 10n ** 30n }] }, "sent");
    const last = JSON.parse(lines.at(-1)!) as { gasWei: string; items: { size: string }[] };
    expect(last.gasWei).toBe((2n ** 80n + 1n).toString());
    expect(last.items[0]!.size).toBe((10n ** 30n).toString());
    // Transaction hashes, also 32 bytes, are left alone.
    const hash = `0x${"cd".repeat(32)}`;
    expect(scrubSecrets(`tx ${hash}`, [key])).toBe(`tx ${hash}`);
  });
});
