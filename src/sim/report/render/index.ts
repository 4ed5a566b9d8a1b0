import { chmodSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../../lib/atomicFile.ts";
import type { LabReport } from "../types.ts";
import { buildCascadeCharts } from "./cascadeCharts.ts";
import { buildCharts } from "./charts.ts";
import { buildDistributionCharts } from "./distributionCharts.ts";
import { buildHtml, type HtmlOptions, type RenderedChart } from "./html.ts";
import { specToSvg } from "./svg.ts";

export { buildCharts, CHART_IDS, type ChartDef, type ChartId } from "./charts.ts";
export { buildCascadeCharts, CASCADE_CHART_IDS, type CascadeChartId } from "./cascadeCharts.ts";
export { buildDistributionCharts, DISTRIBUTION_CHART_IDS, type DistributionChartId } from "./distributionCharts.ts";
export { buildComparisonTable, type ComparisonTable } from "./comparison.ts";
export { buildHtml, type HtmlOptions } from "./html.ts";

export type RenderedReport = {
  html: string;
  charts: RenderedChart[];
  /** Vega-Lite and Vega warnings, if any (a spec that compiles with warnings still renders). */
  warnings: string[];
};

/** Everything the report consists of, as strings: no file is written. */
export async function renderReportStrings(report: LabReport, options: HtmlOptions = {}): Promise<RenderedReport> {
  const charts: RenderedChart[] = [];
  const warnings: string[] = [];
  for (const def of [...buildCharts(report), ...buildCascadeCharts(report), ...buildDistributionCharts(report)]) {
    const out = await specToSvg(def.spec, def.id);
    charts.push({ def, svg: out.svg });
    warnings.push(...out.warnings);
  }
  return { html: buildHtml(report, charts, options), charts, warnings };
}

/**
 * Write the human report beside report.json: `report.html` (self-contained: inline CSS and SVG,
 * no script, nothing fetched) and one standalone SVG per chart in `charts/`. Each file is
 * written atomically. Returns the written paths, report.html first.
 */
export async function renderReport(report: LabReport, outDir: string, options: HtmlOptions = {}): Promise<string[]> {
  const rendered = await renderReportStrings(report, options);
  const files: [string, string][] = [
    [join(outDir, "report.html"), rendered.html],
    ...rendered.charts.map(({ def, svg }): [string, string] => [join(outDir, "charts", `${def.id}.svg`), `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`]),
  ];
  for (const [path, text] of files) {
    writeFileAtomic(path, text);
    // writeFileAtomic creates 0600 files; a report is for reading, by a browser or a web server too.
    chmodSync(path, 0o644);
  }
  return files.map(([path]) => path);
}
