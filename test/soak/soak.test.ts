/**
 * The short soak (`npm run soak` is the long one): the real daemon, `perp-keeper run`, for about
 * two thousand blocks against its own Anvil (port 0) behind the fault proxy, through random prices
 * and a crash, trader churn, fault phases, a SIGTERM restart and a SIGKILL crash. Asserted: nothing
 * missed, duplicated or reverted, every restart resumed from the checkpoint and caught up with the
 * chain, the daemon stopped cleanly, its state sizes were scraped from /metrics, and the report was
 * written. Not asserted: RSS growth (a figure of the long soak: timing and memory targets live in
 * benchmarks, never in timed tests).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { figures, writeSoakReport } from "../../scripts/soak/report.ts";
import { runSoak } from "../../scripts/soak/soak.ts";

const dir = mkdtempSync(join(tmpdir(), "perp-keeper-soak-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("soak (short)", () => {
  it("a compressed soak: 0 missed, 0 duplicate, 0 reverted; restarts resumed and caught up; the report written", { timeout: 300_000 }, async () => {
    const work = join(dir, "work");
    mkdirSync(work);
    const r = await runSoak({
      blocks: 1_800,
      traders: 40,
      seed: "soak-test",
      dir: work,
      idleBlocks: 4,
      sampleEvery: 150,
      phaseBlocks: 120,
      restarts: 2,
      k: 12,
      checkEvery: 10,
      log: () => {},
    });
    const f = figures(r);
    const context = JSON.stringify({ figures: f, restarts: r.restarts, missed: r.missed.map((m) => ({ ...m, since: String(m.since), at: String(m.at) })), duplicates: r.duplicateDetails }, null, 2);

    // The keeper worked: the soak's crash made liquidations, and ours are among them.
    expect(f.ourTxs, context).toBeGreaterThan(0);
    expect(f.liquidations.ours, context).toBeGreaterThan(0);
    expect(f.reverted, context).toBe(0);
    expect(r.duplicateDetails, context).toEqual([]);
    expect(r.missed, context).toEqual([]);
    expect(r.checks, context).toBeGreaterThan(50);

    // Restarts: one SIGTERM (exit 0 or 3), one SIGKILL; each resumed from its checkpoint and caught up.
    expect(r.restarts.map((x) => x.signal).sort(), context).toEqual(["SIGKILL", "SIGTERM"]);
    for (const x of r.restarts) {
      expect(x.resumed, context).toBe(true);
      expect(x.caughtUp, context).toBe(true);
    }
    expect(r.restarts.find((x) => x.signal === "SIGKILL")!.exitCode).toBe(null);
    expect([0, 3]).toContain(r.restarts.find((x) => x.signal === "SIGTERM")!.exitCode);
    expect(r.finalExit, context).toBe(0);
    // Faults were on in phases.
    expect(r.events.faultPhases.length, context).toBeGreaterThanOrEqual(5);
    expect(Object.values(r.faultsInjected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    // Memory and state were sampled from the daemon: VmRSS, and keeper_state_entries from /metrics.
    expect(r.samples.length).toBeGreaterThanOrEqual(10);
    const last = r.samples.at(-1)!;
    expect(last.rssBytes).toBeGreaterThan(0);
    for (const map of ["index_accounts", "book_accounts", "executor_in_flight", "executor_reserved_targets", "skip_log", "checkpoint_journal_undo"]) expect(last.maps, map).toHaveProperty(map);
    expect(f.logBytesPerBlock).toBeGreaterThan(0);

    // The report: written, with the target as a boolean (its value is the long soak's to judge).
    const out = writeSoakReport(join(dir, "out"), r, f, { date: new Date().toISOString(), command: "test/soak/soak.test.ts" });
    expect(existsSync(out.md)).toBe(true);
    const json = JSON.parse(readFileSync(out.json, "utf8")) as { targets: Record<string, unknown>; figures: { missed: number } };
    expect(typeof json.targets.soakRssGrowthLE5pct).toBe("boolean");
    expect(json.figures.missed).toBe(0);
  });
});
