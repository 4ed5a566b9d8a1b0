import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core: no browser download, a fresh profile per launch,
 * nothing that phones home. Used by the report's browser test and scripts/report-screenshot.ts.
 */

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

export function chromiumAvailable(path = CHROMIUM_PATH): boolean {
  return existsSync(path);
}

export type Chromium = {
  context: BrowserContext;
  /** Close the browser and remove its profile directory. */
  close(): Promise<void>;
};

export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "perp-keeper-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
      deviceScaleFactor: 1,
      offline: true,
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
