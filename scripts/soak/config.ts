/**
 * The daemon's settings file for the soak: config/keeper.json with the fault matrix's choices
 * (test/faults/harness.ts defaultSettings: polling every 50 ms, no minimum profit, backstop mode, so
 * every liquidatable account is a target and "missed" means missed, not "not worth it"), an
 * ephemeral health port, and the info log level an operator runs (log bytes per block are measured
 * at that level). The gas budget is raised: it is per wall-clock hour, and a soak packs days of
 * crashes into minutes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dirname, "..", "..");

/** Writes the settings to `path`; returns `path`. */
export function writeKeeperConfig(path: string, checkpointPath: string): string {
  const file = JSON.parse(readFileSync(join(REPO, "config", "keeper.json"), "utf8")) as Record<string, unknown>;
  const settings = { ...file, pollingIntervalMs: 50, minProfitUsd: "0", backstopMode: true, checkpointPath, healthPort: 0, logLevel: "info", gasBudgetPerHourEth: "1000" };
  writeFileSync(path, `${JSON.stringify(settings, null, 2)}\n`);
  return path;
}
