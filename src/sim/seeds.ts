import { availableParallelism, freemem } from "node:os";
import { seedEntry, seedRun } from "./distribution.ts";
import type { LabReport, RunReport } from "./report/types.ts";
import { runScenario, SimulationError, type RunProgress, type RunScenarioParameters } from "./runScenario.ts";
import { SeedThread } from "./seedThread.ts";

/**
 * Many seeds, several Anvils at once. Every run of the comparison (a preset, or a preset with
 * market variants) is run once per seed; each (seed, run) pair is one job on its own Anvil, and
 * `jobs` of them run at the same time. The seed drives both the population and the price draws
 * (as `--seed` does), and every part is capped over the whole comparison's tier tables, so the
 * runs of one seed have the same traders however the jobs are split.
 *
 * Determinism: each job is deterministic on its own chain, and the report is assembled in seed and
 * run order, never in completion order, so the same seeds give the same report.json (wall-clock
 * fields aside) whatever `jobs` is.
 */

/** Memory one job may take: its Anvil (≈110 MB for 200 traders × 156 blocks) and its share of this process's heap, with room. */
export const MEMORY_PER_JOB = 512 * 1024 * 1024;
export const MAX_SEEDS = 1_000;
export const MAX_JOBS = 32;

/** Jobs at once by default: one per core, fewer when free memory would not hold them (at least one). */
export function defaultJobs(cores = availableParallelism(), free = freemem()): number {
  return Math.max(1, Math.min(cores, Math.floor(free / MEMORY_PER_JOB)));
}

/** `--seeds N` → "1"…"N"; a comma-separated list as written; or what is wrong with it (the CLI says it in one line). */
export function seedList(text: string): string[] | { problem: string } {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > MAX_SEEDS) return { problem: `must be between 1 and ${MAX_SEEDS} seeds, got ${t}` };
    return Array.from({ length: n }, (_, i) => String(i + 1));
  }
  if (!t.includes(",")) return { problem: `must be a number of seeds or a comma-separated list of seeds, got "${t}"` };
  const seeds = t.split(",").map((x) => x.trim());
  if (seeds.some((x) => x === "")) return { problem: "must not have an empty entry in its list" };
  if (seeds.length > MAX_SEEDS) return { problem: `must be at most ${MAX_SEEDS} seeds, got ${seeds.length}` };
  const twice = seeds.find((x, i) => seeds.indexOf(x) !== i);
  if (twice !== undefined) return { problem: `lists seed "${twice}" twice` };
  return seeds;
}

export type RunSeedsParameters = Omit<RunScenarioParameters, "seed" | "comparedWith" | "inspect"> & {
  /** In order; the first seed's runs are the report's runs in full. */
  seeds: readonly string[];
  /** Jobs at once (each its own Anvil). */
  jobs: number;
  /** Add the `seeds` section (set by `--seeds`, even for one seed). */
  distribution: boolean;
};

type Job = { seed: string; seedIndex: number; run: string; runIndex: number };

/** Every run over every seed, `jobs` at a time; the report of the first seed, plus the seeds section. */
export async function runSeeds(p: RunSeedsParameters): Promise<LabReport> {
  const names = p.presets && p.presets.length > 0 ? [...p.presets] : [p.scenario.preset];
  const jobs: Job[] = p.seeds.flatMap((seed, seedIndex) => names.map((run, runIndex) => ({ seed, seedIndex, run, runIndex })));
  const results: (LabReport | undefined)[] = jobs.map(() => undefined);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  p.signal?.addEventListener("abort", onAbort);
  let next = 0;
  let failure: { error: unknown } | undefined;
  // Several jobs at once run in worker threads, one each, so they use the cores; one job at a time,
  // or with the keepers' logs asked for (a logger stays in this thread), in this thread.
  const threads = Math.min(p.jobs, jobs.length) > 1 && p.logger === undefined && p.now === undefined;
  const worker = async () => {
    const thread = threads ? new SeedThread() : undefined;
    try {
      await slot(thread);
    } finally {
      await thread?.close();
    }
  };
  const slot = async (thread: SeedThread | undefined) => {
    while (next < jobs.length && !failure) {
      const i = next++;
      const job = jobs[i]!;
      const onProgress = p.onProgress
        ? (x: RunProgress) => p.onProgress!({ ...x, run: i, runs: jobs.length, preset: p.seeds.length > 1 ? `${job.run} seed ${job.seed}` : job.run })
        : undefined;
      try {
        if (thread) {
          const { scenario, fork } = p;
          results[i] = await thread.run({ scenario, ...(fork ? { fork } : {}), presets: [job.run], comparedWith: names, seed: job.seed }, stop.signal, onProgress);
        } else {
          results[i] = await runScenario({ ...p, presets: [job.run], comparedWith: names, seed: job.seed, signal: stop.signal, ...(onProgress ? { onProgress } : {}) });
        }
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(p.jobs, jobs.length)) }, worker));
  } finally {
    p.signal?.removeEventListener("abort", onAbort);
  }
  if (failure) throw failure.error;
  if (p.signal?.aborted) throw new SimulationError("interrupted", { userError: true });

  const reports = results.map((r) => r!);
  const runOf = (seedIndex: number, runIndex: number): RunReport => reports[seedIndex * names.length + runIndex]!.runs[0]!;
  const first = reports[0]!;
  const report: LabReport = { ...first, runs: names.map((_, r) => runOf(0, r)) };
  if (!p.distribution) return report;
  return {
    ...report,
    seeds: {
      seeds: [...p.seeds],
      runs: names.map((name, r) => seedRun(name, p.seeds.map((seed, s) => seedEntry(seed, runOf(s, r))))),
    },
  };
}
