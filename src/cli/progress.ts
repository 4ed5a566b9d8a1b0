import type { RunProgress } from "../sim/runScenario.ts";

/**
 * The simulator's progress on stderr, for runs longer than a few seconds: one line rewritten in
 * place on a terminal, or a plain line every few seconds (and at each phase) when stderr is a
 * file or a pipe. Nothing is shown before `delayMs`, so short runs stay silent.
 */

export type ProgressOutput = {
  /** stderr is a terminal: rewrite one line in place. */
  isTTY: boolean;
  /** Write raw text (terminal mode). */
  write: (chunk: string) => void;
  /** Write one line (plain mode). */
  line: (text: string) => void;
};

export type ProgressOptions = {
  out: ProgressOutput;
  now?: () => number;
  /** Show nothing until the run has taken this long. Default 2 000 ms. */
  delayMs?: number;
  /** Plain mode: at most one line per this many ms within a phase. Default 5 000 ms. */
  intervalMs?: number;
};

const PHASES: Record<RunProgress["phase"], string> = {
  chain: "starting Anvil",
  deploy: "deploying the market",
  seed: "seeding traders",
  run: "running",
  report: "reading the chain",
};

/** `[2/3 binance] running  ██████░░░░  60/120 blocks  12s` */
export function progressText(p: RunProgress, elapsedMs: number, barWidth = 24): string {
  const head = `[${p.run + 1}/${p.runs} ${p.preset}] ${PHASES[p.phase]}`;
  const secs = `${Math.round(elapsedMs / 1000)}s`;
  if (p.total <= 0) return `${head}  ${secs}`;
  const filled = Math.min(barWidth, Math.round((p.done / p.total) * barWidth));
  return `${head}  ${"█".repeat(filled)}${"░".repeat(barWidth - filled)}  ${p.done}/${p.total} blocks  ${secs}`;
}

export function createProgress(opts: ProgressOptions): { update: (p: RunProgress) => void; done: () => void } {
  const now = opts.now ?? (() => performance.now());
  const delay = opts.delayMs ?? 2_000;
  const interval = opts.intervalMs ?? 5_000;
  const start = now();
  let shown = false;
  let lastAt = -Infinity;
  let lastPhase = "";
  return {
    update(p) {
      const t = now();
      if (t - start < delay) return;
      const phase = `${p.run}:${p.phase}`;
      if (opts.out.isTTY) {
        if (t - lastAt < 100 && phase === lastPhase && p.done < p.total) return;
        opts.out.write(`\r\x1b[2K${progressText(p, t - start)}`);
      } else {
        if (phase === lastPhase && t - lastAt < interval) return;
        opts.out.line(progressText(p, t - start));
      }
      shown = true;
      lastAt = t;
      lastPhase = phase;
    },
    done() {
      if (shown && opts.out.isTTY) opts.out.write(`\r\x1b[2K`);
    },
  };
}
