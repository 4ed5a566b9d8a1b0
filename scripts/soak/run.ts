/**
 * `npm run soak`: the keeper daemon for a compressed week of chain time (see soak.ts), its figures
 * printed and written to .bench/soak.json and .bench/soak.md.
 *
 *   npm run soak -- [--blocks 50000] [--traders 60] [--seed soak] [--sample-every 500]
 *        [--phase-blocks 1000] [--restarts 8] [--idle-blocks 4] [--k 12] [--check-every 10] [--out .bench] [--daemon-log FILE]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { figures, table, writeSoakReport } from "./report.ts";
import { runSoak } from "./soak.ts";

const { values: flags } = parseArgs({
  options: {
    blocks: { type: "string", default: "50000" },
    traders: { type: "string", default: "60" },
    seed: { type: "string", default: "soak" },
    "sample-every": { type: "string", default: "500" },
    "phase-blocks": { type: "string", default: "1000" },
    restarts: { type: "string", default: "8" },
    "idle-blocks": { type: "string", default: "4" },
    k: { type: "string", default: "12" },
    "check-every": { type: "string", default: "10" },
    out: { type: "string", default: ".bench" },
    "daemon-log": { type: "string" },
  },
});
const int = (name: keyof typeof flags) => {
  const v = Number(flags[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a whole number, got ${String(flags[name])}`);
  return v;
};
const log = (s: string) => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "perp-keeper-soak-"));
  const command = `npm run soak -- ${process.argv.slice(2).join(" ")}`.trim();
  try {
    const r = await runSoak({
      blocks: int("blocks"),
      traders: int("traders"),
      seed: String(flags.seed),
      dir,
      idleBlocks: Math.max(1, int("idle-blocks")),
      sampleEvery: Math.max(1, int("sample-every")),
      phaseBlocks: Math.max(1, int("phase-blocks")),
      restarts: int("restarts"),
      k: int("k"),
      checkEvery: Math.max(1, int("check-every")),
      log,
      ...(flags["daemon-log"] ? { daemonLog: flags["daemon-log"] } : {}),
    });
    const f = figures(r);
    const meta = { date: new Date().toISOString(), command };
    const written = writeSoakReport(String(flags.out), r, f, meta);
    log("");
    log(table(r, f));
    log(`\nwritten: ${written.json}, ${written.md}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Interrupted: exit; Anvil goes with this process (src/chain/anvil.ts's exit hook) and the daemon with its parent (its parent watch).
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main().catch((e: unknown) => {
  process.stderr.write(`soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
