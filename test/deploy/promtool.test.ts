/**
 * The shipped Prometheus files, checked by Prometheus's own tool: `promtool check config` on
 * deploy/prometheus/prometheus.yml (which also loads alerts.yml), `promtool check rules` on the
 * alert rules, `promtool test rules` on their unit tests (deploy/prometheus/alerts.test.yml: every
 * alert fires when it should and stays quiet when it should not), and every PromQL expression of
 * the Grafana dashboard parsed by promtool (as recording rules in a temporary file).
 *
 * Needs Debian's `prometheus` package (promtool); without it the suite is skipped and says so.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify as toYaml } from "yaml";
import { ALERTS, ALERT_TESTS, INSTALL_PROMETHEUS, PROMETHEUS_CONFIG, REPO, alertNames, dashboardQueries, hasTool } from "./support.ts";

const HAVE_PROMTOOL = hasTool("promtool");
if (!HAVE_PROMTOOL) process.stderr.write(`test/deploy/promtool.test.ts: skipped: promtool is not installed; ${INSTALL_PROMETHEUS}\n`);

type Run = { code: number | null; stdout: string; stderr: string };

/** promtool `args` in the repo (bounded), never through a shell. */
function promtool(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile("promtool", [...args], { cwd: REPO, timeout: 60_000, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const output = (r: Run) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The temp dir (created when the suite runs, so a skipped suite leaves nothing behind). */
let tmp = "";

describe.skipIf(!HAVE_PROMTOOL)(HAVE_PROMTOOL ? "promtool on deploy/prometheus" : `promtool on deploy/prometheus (skipped: ${INSTALL_PROMETHEUS})`, () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "perp-keeper-promtool-"));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("promtool check config: prometheus.yml is valid and its rule file loads", async () => {
    const r = await promtool(["check", "config", PROMETHEUS_CONFIG]);
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/);
    expect(r.stdout).toMatch(/is valid prometheus config file syntax/);
  });

  test("promtool check rules: alerts.yml is valid, with every alert", async () => {
    const r = await promtool(["check", "rules", ALERTS]);
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alertNames().length} rules found`);
  });

  test("promtool test rules: every alert's unit tests pass (alerts.test.yml)", async () => {
    const r = await promtool(["test", "rules", ALERT_TESTS]);
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
    expect(r.stdout + r.stderr).not.toMatch(/FAILED/);
  });

  test("promtool test rules fails when an alert's expectation is wrong (the tests can fail)", async () => {
    // The same tests against a KeeperNonceStuck without its "nothing settled" part: the busy keeper,
    // always with a transaction in flight, would page. The unit tests must catch that.
    const rules = readFileSync(ALERTS, "utf8");
    const cut = rules.replace(/\s*unless on \(instance, job\)\n\s*sum by \(instance, job\) \(changes\(keeper_transactions_total[^\n]*\n/, "\n");
    expect(cut).not.toBe(rules);
    writeFileSync(join(tmp, "alerts.yml"), cut);
    writeFileSync(join(tmp, "alerts.test.yml"), readFileSync(ALERT_TESTS, "utf8"));
    const r = await promtool(["test", "rules", join(tmp, "alerts.test.yml")]);
    expect(r.code, output(r)).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/KeeperNonceStuck/);
  });

  test("promtool parses every PromQL expression of the Grafana dashboard", async () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(10);
    const file = join(tmp, "dashboard-queries.yml");
    const groups = [{ name: "dashboard", rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })) }];
    writeFileSync(file, toYaml({ groups }));
    const r = await promtool(["check", "rules", file]);
    expect(r.code, `${output(r)}\nexpressions:\n${queries.map((q) => `${q.panel}: ${q.expr}`).join("\n")}`).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
