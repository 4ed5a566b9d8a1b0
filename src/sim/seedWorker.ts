/**
 * The jobs of `simulate --seeds … --jobs N` (N > 1) in worker threads, one thread per slot, so that jobs use
 * the machine's cores: the keepers' and the runner's JavaScript, not only the Anvils. The thread
 * gets a job's parameters (plain data: the scenario, the run, the seed), posts progress and then
 * its report, or its error. An `abort` message stops the run the way a signal does: the run stops
 * its Anvil before the thread ends (terminating the thread would leave the Anvil running).
 */
import { parentPort } from "node:worker_threads";
import { BaseError } from "../lib/errors.ts";
import { runScenario, type RunScenarioParameters } from "./runScenario.ts";

/** What a job's thread is given. */
export type SeedJobInput = Omit<RunScenarioParameters, "logger" | "onProgress" | "signal" | "now" | "inspect">;

/** What it posts back. */
export type SeedJobMessage =
  | { kind: "progress"; progress: Parameters<NonNullable<RunScenarioParameters["onProgress"]>>[0] }
  | { kind: "report"; report: Awaited<ReturnType<typeof runScenario>> }
  | { kind: "error"; name: string; message: string; userError: boolean };

const port = parentPort;
if (port) {
  // One run at a time; a thread runs its slot's jobs one after another.
  let stop = new AbortController();
  port.on("message", (m: { kind: "run"; input: SeedJobInput } | { kind: "abort" }) => {
    if (m.kind === "abort") return stop.abort();
    stop = new AbortController();
    const post = (msg: SeedJobMessage) => port.postMessage(msg);
    runScenario({ ...m.input, signal: stop.signal, onProgress: (progress) => post({ kind: "progress", progress }) }).then(
      (report) => post({ kind: "report", report }),
      (e: unknown) =>
        post({
          kind: "error",
          name: e instanceof Error ? e.name : "Error",
          message: e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e),
          userError: e instanceof BaseError && e.userError,
        }),
    );
  });
}
