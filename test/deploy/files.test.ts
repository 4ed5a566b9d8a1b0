/**
 * The deployment files (Dockerfile, docker-compose.yml, deploy/) against the code they deploy,
 * without Docker or Prometheus: every metric a rule, a rule test or a dashboard panel names exists in
 * src/lib/metrics.ts; every alert has unit tests that fire and that stay quiet; the dashboard parses
 * and shows what the issue asks for; the keeper's command line uses real `run` options and keeps
 * keys and RPC URLs out of the files; the ports agree with config/keeper.json.
 * (The images are not built here: no container registry. See deploy/README.md.)
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runCommand } from "../../src/cli/run.ts";
import {
  ALERTS,
  ALERT_TESTS,
  COMPOSE,
  DASHBOARD_PROVIDERS,
  DATASOURCES,
  DEPLOY,
  DOCKERFILE,
  PROMETHEUS_CONFIG,
  PROMETHEUS_SERIES,
  REPO,
  allPanels,
  alertNames,
  keeperSeriesNames,
  metricNamesIn,
  readDashboard,
  readYaml,
} from "./support.ts";

type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type AlertTests = {
  rule_files: string[];
  tests: {
    name?: string;
    input_series: { series: string; values: string }[];
    alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[];
  }[];
};
type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: unknown;
  secrets?: (string | { source: string })[];
  configs?: { source: string; target: string }[];
  volumes?: string[];
  ports?: string[];
  network_mode?: string;
  networks?: string[];
};
type Compose = {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  configs?: Record<string, { file: string }>;
};

const HEALTH_PORT = (JSON.parse(readFileSync(join(REPO, "config", "keeper.json"), "utf8")) as { healthPort: number }).healthPort;
const rules = readYaml<{ groups: { name: string; rules: Rule[] }[] }>(ALERTS).groups.flatMap((g) => g.rules);
const compose = readYaml<Compose>(COMPOSE);
const keeper = compose.services.keeper!;
const dockerfile = readFileSync(DOCKERFILE, "utf8");

describe("alert rules and their tests name only metrics the keeper exports", () => {
  test("every series in alerts.yml exists in src/lib/metrics.ts (or is Prometheus's own up)", async () => {
    const known = await keeperSeriesNames();
    for (const r of rules) {
      const names = metricNamesIn(r.expr);
      expect(names.length, r.alert).toBeGreaterThan(0);
      for (const n of names) expect(known.has(n) || PROMETHEUS_SERIES.has(n), `${r.alert}: ${n}`).toBe(true);
    }
  });

  test("every input series of alerts.test.yml is a real metric", async () => {
    const known = await keeperSeriesNames();
    const tests = readYaml<AlertTests>(ALERT_TESTS);
    for (const t of tests.tests) {
      for (const s of t.input_series) {
        const name = s.series.replace(/\{.*$/, "").trim();
        expect(known.has(name) || PROMETHEUS_SERIES.has(name), `${t.name}: ${name}`).toBe(true);
      }
    }
  });

  test("every alert has a severity, a summary and a description, and the issue's alerts are there", () => {
    for (const r of rules) {
      expect(r.alert, r.expr).toMatch(/^Keeper[A-Za-z]+$/);
      expect(["critical", "warning"]).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
    // The list.
    expect(alertNames().sort()).toEqual(
      [
        "KeeperDown",
        "KeeperLiquidatableAccountsLeft", // liquidatable accounts left for N blocks
        "KeeperNoNewHead", // no head for N seconds
        "KeeperHeadUnreadable",
        "KeeperNonceStuck", // a stuck nonce
        "KeeperWalletCannotPay", // the node refused a send for lack of funds
        "KeeperWalletBalanceLow", // low balance, before it is empty (under --min-balance)
        "KeeperGasBudgetExhausted", // gas budget exhausted
        "KeeperUnpricedMarket", // unpriced markets
        "KeeperRpcErrorRate", // RPC error rate
      ].sort(),
    );
  });

  test("every alert has a unit test where it fires and one where it stays quiet", () => {
    const tests = readYaml<AlertTests>(ALERT_TESTS);
    expect(tests.rule_files).toEqual(["alerts.yml"]);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of alertNames()) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${name} fires in some test`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name} stays quiet in some test`).toBe(true);
    }
  });

  test("README.md explains every alert and the health endpoints", () => {
    const readme = readFileSync(join(DEPLOY, "README.md"), "utf8");
    for (const name of alertNames()) expect(readme, name).toContain(`\`${name}\``);
    for (const path of ["/livez", "/readyz", "/healthz"]) expect(readme, path).toContain(`\`${path}\``);
    expect(readme).toMatch(/unpriced/i);
    expect(readme).toMatch(/gas budget/i);
    expect(readme).toMatch(/not built/i);
  });
});

describe("the Grafana dashboard", () => {
  const dashboard = readDashboard();
  const panels = allPanels(dashboard);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  test("parses, and every panel queries the provisioned Prometheus datasource", () => {
    const ds = readYaml<{ datasources: { uid: string; url: string; type: string }[] }>(DATASOURCES).datasources;
    expect(ds).toHaveLength(1);
    const uid = ds[0]!.uid;
    expect(dashboard.uid).toBe("perp-keeper");
    for (const p of panels) {
      if (p.type === "row") continue;
      expect(p.datasource?.uid, p.title).toBe(uid);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.expr.trim(), p.title).not.toBe("");
    }
    for (const v of dashboard.templating.list) expect(v.datasource?.uid, v.name).toBe(uid);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });

  test("panels do not overlap on the grid", () => {
    const boxes = panels.map((p) => ({ t: p.title, ...p.gridPos }));
    for (const [i, a] of boxes.entries()) {
      expect(a.x + a.w, a.t).toBeLessThanOrEqual(24);
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${a.t} / ${b.t}`).toBe(false);
      }
    }
  });

  test("every metric a panel or variable queries exists in src/lib/metrics.ts (or is Prometheus's own)", async () => {
    const known = await keeperSeriesNames();
    const variableQueries = dashboard.templating.list.map((v) => (typeof v.query === "string" ? v.query : (v.query?.query ?? "")));
    for (const e of [...exprs, ...variableQueries]) {
      for (const n of metricNamesIn(e)) expect(known.has(n) || PROMETHEUS_SERIES.has(n), `${n} in ${e}`).toBe(true);
    }
  });

  test("shows what the issue asks for", () => {
    const uses = (re: RegExp) => exprs.some((e) => re.test(e));
    expect(uses(/^keeper_head_block\{/)).toBe(true);
    expect(uses(/keeper_liquidatable_accounts/)).toBe(true);
    expect(uses(/sum by \(result\) \(increase\(keeper_liquidations_total/)).toBe(true);
    expect(uses(/histogram_quantile\(0\.5, sum by \(le\) \(rate\(keeper_price_to_broadcast_seconds_bucket/)).toBe(true);
    expect(uses(/histogram_quantile\(0\.99, sum by \(le\) \(rate\(keeper_price_to_broadcast_seconds_bucket/)).toBe(true);
    expect(uses(/keeper_gas_spent_wei_total/)).toBe(true);
    expect(uses(/keeper_reward_earned_tokens_total/)).toBe(true);
    expect(uses(/sum by \(method\) \(rate\(keeper_rpc_requests_total/)).toBe(true);
    expect(uses(/sum by \(method\) \(rate\(keeper_rpc_errors_total/)).toBe(true);
    expect(uses(/keeper_reorgs_total/)).toBe(true);
    expect(uses(/keeper_head_outages_total/)).toBe(true);
    expect(uses(/keeper_ready\{/)).toBe(true);
    expect(uses(/keeper_not_ready_reason\{/)).toBe(true);
    expect(uses(/keeper_unpriced_markets\{/)).toBe(true);
    expect(uses(/keeper_unpriced_accounts\{/)).toBe(true);
    expect(uses(/keeper_wallet_balance_wei\{/)).toBe(true);
  });

  test("the dashboard provider loads the folder compose mounts the dashboards at", () => {
    const providers = readYaml<{ providers: { options: { path: string } }[] }>(DASHBOARD_PROVIDERS).providers;
    const grafana = compose.services.grafana!;
    const mount = (grafana.volumes ?? []).find((v) => v.startsWith("./deploy/grafana/dashboards:"));
    expect(mount).toBeDefined();
    expect(mount!.split(":")[1]).toBe(providers[0]!.options.path);
  });
});

describe("docker-compose.yml", () => {
  test("the keeper gets its key and RPC URL from compose secrets, never from the file itself", () => {
    const env = keeper.environment ?? {};
    for (const k of ["KEEPER_PRIVATE_KEY", "KEEPER_RPC_URLS", "KEEPER_KEYSTORE_PASSWORD", "KEEPER_SEND_RPC_URLS", "DEPLOYER_PRIVATE_KEY"]) {
      expect(env, k).not.toHaveProperty(k);
    }
    expect(env.KEEPER_RPC_URLS_FILE).toBe("/run/secrets/rpc_url");
    expect(env.KEEPER_KEYSTORE_PASSWORD_FILE).toBe("/run/secrets/keeper_keystore_password");
    const cmd = keeper.command ?? [];
    expect(cmd).not.toContain("--rpc");
    expect(cmd[cmd.indexOf("--keystore") + 1]).toBe("/run/secrets/keeper_keystore");
    const secrets = (keeper.secrets ?? []).map((s) => (typeof s === "string" ? s : s.source));
    expect(secrets.sort()).toEqual(["keeper_keystore", "keeper_keystore_password", "rpc_url"]);
    // No URL with credentials, no hex key anywhere in the file.
    const text = readFileSync(COMPOSE, "utf8");
    expect(text).not.toMatch(/0x[0-9a-fA-F]{64}/);
    expect(text).not.toMatch(/https?:\/\/[^\s"']*@/);
    expect(text).not.toMatch(/KEEPER_RPC_URLS:/);
  });

  test("every secret file sits in deploy/secrets/, which git ignores", () => {
    for (const [name, s] of Object.entries(compose.secrets)) expect(s.file, name).toMatch(/^\.\/deploy\/secrets\/[^/]+$/);
    const ignore = readFileSync(join(DEPLOY, "secrets", ".gitignore"), "utf8").split("\n").map((l) => l.trim());
    expect(ignore).toContain("*");
    const dockerignore = readFileSync(join(REPO, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    expect(dockerignore[dockerignore.findIndex((l) => l !== "" && !l.startsWith("#"))]).toBe("*");
    expect(dockerignore.filter((l) => l.startsWith("!"))).not.toContain("!deploy");
    expect(dockerignore.filter((l) => l.startsWith("!"))).not.toContain("!.env");
  });

  test("the keeper's command line uses only options `perp-keeper run` has, and the health port of config/keeper.json", () => {
    const options = Object.keys(runCommand.options);
    const flags = (args: readonly string[]) => args.filter((a) => a.startsWith("--")).map((a) => a.slice(2));
    const composeCmd = keeper.command ?? [];
    expect(composeCmd[0]).toBe("run");
    for (const f of flags(composeCmd)) expect(options, `compose: --${f}`).toContain(f);
    expect(composeCmd[composeCmd.indexOf("--health-port") + 1]).toBe(String(HEALTH_PORT));
    expect(composeCmd[composeCmd.indexOf("--deployment") + 1]).toBe(keeper.configs?.[0]?.target);
    const cmdLine = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmdLine).not.toBeNull();
    const dockerCmd = JSON.parse(cmdLine![1]!) as string[];
    expect(dockerCmd[0]).toBe("run");
    for (const f of flags(dockerCmd)) expect(options, `Dockerfile CMD: --${f}`).toContain(f);
  });

  test("Prometheus scrapes the keeper's health port on the stack's network, and Grafana reaches Prometheus", () => {
    const prom = compose.services.prometheus!;
    // The keeper binds every address of its container, so Prometheus reaches it by service name.
    const cmd = keeper.command ?? [];
    expect(cmd[cmd.indexOf("--health-host") + 1]).toBe("0.0.0.0");
    expect(keeper.networks).toContain("monitoring");
    expect(prom.networks).toContain("monitoring");
    const config = readYaml<{ rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(PROMETHEUS_CONFIG);
    const job = config.scrape_configs.find((j) => j.job_name === "perp-keeper");
    expect(job?.static_configs[0]?.targets).toEqual([`keeper:${HEALTH_PORT}`]);
    // The rule file sits beside the config in the container, as in the repo.
    for (const f of config.rule_files) {
      expect(existsSync(join(DEPLOY, "prometheus", f)), f).toBe(true);
      expect(prom.volumes).toContain(`./deploy/prometheus/${f}:/etc/prometheus/${f}:ro`);
    }
    expect(prom.command).toContain("--web.listen-address=0.0.0.0:9090");
    const ds = readYaml<{ datasources: { url: string }[] }>(DATASOURCES).datasources[0]!;
    expect(ds.url).toBe("http://prometheus:9090");
    expect(compose.services.grafana?.networks).toContain("monitoring");
  });

  test("every file compose mounts from the repo exists", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        if (!v.startsWith("./")) continue;
        expect(existsSync(join(REPO, v.split(":")[0]!)), `${name}: ${v}`).toBe(true);
      }
    }
  });
});

describe("Dockerfile", () => {
  test("multi-stage: a build with dev dependencies, a runtime with production ones and the compiled build", () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => m[2]);
    expect(stages).toEqual(["build", "runtime"]);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    const [build, runtime] = dockerfile.split(/^FROM \S+ AS runtime$/m);
    expect(build).toMatch(/RUN npm install --ignore-scripts/);
    expect(build).toMatch(/RUN npm run build/);
    expect(runtime).toMatch(/npm install --omit=dev/);
    for (const p of ["dist", "bin", "config"]) expect(runtime).toMatch(new RegExp(`^COPY --from=build /src/${p} \\./${p}$`, "m"));
    expect(runtime).not.toMatch(/COPY (--from=build )?\S*src \.\/src/);
  });

  test("runs as a non-root user, exposes the health port and checks liveness (/livez)", () => {
    const users = [...dockerfile.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]!);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${HEALTH_PORT}$`, "m"));
    expect(dockerfile).toMatch(new RegExp(`^HEALTHCHECK .*\\n.*http://127\\.0\\.0\\.1:${HEALTH_PORT}/livez`, "m"));
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/perp-keeper\.js"\]$/m);
  });
});

describe(".ci/run", () => {
  test("installs Debian's prometheus package (promtool and prometheus) for these tests", () => {
    const ci = readFileSync(join(REPO, ".ci", "run"), "utf8");
    expect(ci).toMatch(/apt-get install [^\n]*prometheus/);
  });
});
