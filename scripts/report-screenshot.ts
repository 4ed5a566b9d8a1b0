/**
 * A full-page PNG screenshot (1280 px wide) of a liquidation-lab report, for the README.
 *
 *   tsx scripts/report-screenshot.ts                          # renders the test fixture
 *   tsx scripts/report-screenshot.ts out/report.html          # an existing report
 *   tsx scripts/report-screenshot.ts out/report.json          # renders report.json first (in a temp dir)
 *   tsx scripts/report-screenshot.ts … --out docs/report.png  # where to write (default docs/report.png)
 *   tsx scripts/report-screenshot.ts … --open                 # expand the per-run liquidation tables
 *
 * Needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { renderReport } from "../src/sim/report/render/index.ts";
import type { LabReport } from "../src/sim/report/types.ts";
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from "../test/sim/report/chromium.ts";
import { fixtureReport } from "../test/sim/report/fixture.ts";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string", default: "docs/report.png" },
      open: { type: "boolean", default: false },
      width: { type: "string", default: "1280" },
    },
  });
  if (positionals.length > 1) throw new Error("usage: report-screenshot [report.html | report.json] [--out FILE.png] [--open]");
  if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install chromium`);
  const width = Number(values.width);
  if (!Number.isInteger(width) || width < 320) throw new Error(`--width: "${values.width}" is not a width in pixels`);

  const input = positionals[0];
  let html: string;
  let tmp: string | undefined;
  if (input !== undefined && input.endsWith(".html")) {
    html = resolve(input);
  } else {
    const report: LabReport = input === undefined ? fixtureReport() : (JSON.parse(readFileSync(input, "utf8")) as LabReport);
    tmp = mkdtempSync(join(tmpdir(), "perp-keeper-report-"));
    const written = await renderReport(report, tmp);
    html = written[0]!;
  }

  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  const browser = await launchChromium({ width });
  try {
    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
    if (values.open) await page.evaluate(`document.querySelectorAll("details").forEach((d) => { d.open = true; })`);
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(`report-screenshot: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
