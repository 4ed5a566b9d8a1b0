/**
 * Helpers for the deployment files' tests (test/deploy): where the files are, the metric names the
 * keeper really exports, the PromQL expressions of the Grafana dashboard, and whether Debian's
 * `prometheus` package (prometheus + promtool) is installed. Not a test file.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { createMetrics } from "../../src/lib/metrics.ts";

export const REPO = join(import.meta.dirname, "..", "..");
export const DEPLOY = join(REPO, "deploy");
export const PROMETHEUS_CONFIG = join(DEPLOY, "prometheus", "prometheus.yml");
export const ALERTS = join(DEPLOY, "prometheus", "alerts.yml");
export const ALERT_TESTS = join(DEPLOY, "prometheus", "alerts.test.yml");
export const DASHBOARD = join(DEPLOY, "grafana", "dashboards", "perp-keeper.json");
export const DATASOURCES = join(DEPLOY, "grafana", "provisioning", "datasources", "prometheus.yml");
export const DASHBOARD_PROVIDERS = join(DEPLOY, "grafana", "provisioning", "dashboards", "perp-keeper.yml");
export const COMPOSE = join(REPO, "docker-compose.yml");
export const DOCKERFILE = join(REPO, "Dockerfile");

/** What to do when the tools are missing: said in the skipped suites' names and once on stderr. */
export const INSTALL_PROMETHEUS = "install Debian's prometheus package (apt-get install --no-install-recommends prometheus) for promtool and prometheus";

/** Whether `cmd --version` runs: the tool is on PATH. */
export function hasTool(cmd: string): boolean {
  const r = spawnSync(cmd, ["--version"], { stdio: "ignore", timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

export function readYaml<T = unknown>(path: string): T {
  return parseYaml(readFileSync(path, "utf8")) as T;
}

/**
 * The series names the keeper exports (src/lib/metrics.ts, read from a real registry): every
 * counter and gauge by its name, a histogram by its _bucket, _sum and _count series.
 */
export async function keeperSeriesNames(): Promise<Set<string>> {
  const metrics = await createMetrics().registry.getMetricsAsJSON();
  const names = new Set<string>();
  for (const m of metrics) {
    if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
    else names.add(m.name);
  }
  return names;
}

/** The metrics registered in src/lib/metrics.ts as prom-client reports them (name, type, labels). */
export async function keeperMetrics(): Promise<{ name: string; type: string; labelled: boolean }[]> {
  const metrics = createMetrics();
  const json = await metrics.registry.getMetricsAsJSON();
  return json.map((m) => {
    const labelNames = (metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: readonly string[] } | undefined)?.labelNames ?? [];
    return { name: m.name, type: String(m.type), labelled: labelNames.length > 0 };
  });
}

/** Series Prometheus itself makes, which rules and panels may use besides the keeper's. */
export const PROMETHEUS_SERIES = new Set(["up", "ALERTS"]);

/**
 * Metric names an expression selects: every `keeper_*` word, and every name directly followed by a
 * `{` selector (`up{…}`, `ALERTS{…}`). (Function names are followed by `(`; label names sit inside
 * the braces or `by (…)`, so neither is picked up.)
 */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of withoutStrings.matchAll(/\bkeeper_[a-zA-Z0-9_]*/g)) names.add(m[0]);
  for (const m of withoutStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)) names.add(m[1]!);
  return [...names];
}

export type Dashboard = {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: { query?: string } | string; definition?: string; datasource?: { uid?: string } }[] };
};
export type Panel = {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: { expr: string; refId: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
};

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * The dashboard's PromQL expressions with Grafana's variables replaced by what Grafana would put
 * there (an interval, the dashboard's range, "all instances"), so Prometheus can parse and run them.
 */
export function dashboardQueries(d: Dashboard = readDashboard()): { panel: string; expr: string }[] {
  return allPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: grafanaToPromql(t.expr) })));
}

export function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "15s")
    .replaceAll("$__range", "1h")
    .replaceAll("${instance}", ".*")
    .replaceAll("$instance", ".*");
}

/** The alert names in deploy/prometheus/alerts.yml. */
export function alertNames(): string[] {
  const rules = readYaml<{ groups: { rules: { alert?: string }[] }[] }>(ALERTS);
  return rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
}
