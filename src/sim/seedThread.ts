/**
 * Run the jobs of a many-seed simulation in worker threads (seedWorker.ts), one thread per slot,
 * and hand back each report as runScenario would in this thread. From the TypeScript sources the thread registers tsx's
 * loader first, as bin/perp-keeper.js does for this process; from the build, the compiled file.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { BaseError } from "../lib/errors.ts";
import type { LabReport } from "./report/types.ts";
import { SimulationError, type RunProgress } from "./runScenario.ts";
import type { SeedJobInput, SeedJobMessage } from "./seedWorker.ts";

const fromSources = import.meta.url.endsWith(".ts");
const WORKER = new URL(fromSources ? "./seedWorker.ts" : "./seedWorker.js", import.meta.url);

/** The thread's entry: the compiled file, or tsx's loader registered first and then the source. */
function startWorker(): Worker {
  if (!fromSources) return new Worker(WORKER);
  // tsx's ESM entry of its API (package.json "exports" → "./esm/api" → import).
  const tsx = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs")).href;
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(WORKER.href)}); });`;
  return new Worker(boot, { eval: true });
}

/** A job's error, rebuilt in this thread: the same one line, and whether it is the user's to fix. */
class SeedJobError extends BaseError {
  constructor(
    override readonly name: string,
    message: string,
    userError: boolean,
  ) {
    super(message, { userError });
  }
}

/** A thread that runs jobs one at a time (seedWorker.ts); `close()` ends it. */
export class SeedThread {
  private readonly worker = startWorker();
  private exited: number | undefined;
  private current: { resolve: (r: LabReport) => void; reject: (e: unknown) => void; onProgress?: ((p: RunProgress) => void) | undefined } | undefined;

  constructor() {
    this.worker.on("message", (m: SeedJobMessage) => {
      const c = this.current;
      if (!c) return;
      if (m.kind === "progress") return c.onProgress?.(m.progress);
      this.current = undefined;
      if (m.kind === "report") c.resolve(m.report);
      else c.reject(m.name === "SimulationError" ? new SimulationError(m.message, { userError: m.userError }) : new SeedJobError(m.name, m.message, m.userError));
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => {
      this.exited = code;
      this.fail(new SimulationError(`a simulation thread stopped (exit code ${code}) before its report`));
    });
  }

  /** `input` run in this thread; `signal` stops it (its Anvil is stopped before the run ends). */
  run(input: SeedJobInput, signal: AbortSignal, onProgress?: (p: RunProgress) => void): Promise<LabReport> {
    if (this.exited !== undefined) return Promise.reject(new SimulationError(`a simulation thread stopped (exit code ${this.exited})`));
    return new Promise<LabReport>((resolve, reject) => {
      const abort = () => this.worker.postMessage({ kind: "abort" });
      const done = <T>(f: (x: T) => void) => (x: T) => {
        signal.removeEventListener("abort", abort);
        f(x);
      };
      this.current = { resolve: done(resolve), reject: done(reject), onProgress };
      signal.addEventListener("abort", abort, { once: true });
      this.worker.postMessage({ kind: "run", input });
      if (signal.aborted) abort();
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private fail(e: unknown): void {
    const c = this.current;
    this.current = undefined;
    c?.reject(e);
  }
}
