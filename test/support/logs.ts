/**
 * Log sinks: what a logger (or a child process) wrote, kept line by line for assertions, raw and
 * parsed (lines that are not JSON are kept raw only).
 */
import type { ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/lib/logger.ts";

export type LogSink = {
  /** Every line, as written (without its newline). */
  raw: string[];
  /** The JSON lines, parsed. */
  lines: Record<string, unknown>[];
  /** The `msg` of every JSON line. */
  messages(): string[];
};

/** A sink nothing writes to (a silent logger's). */
export function emptySink(): LogSink {
  const sink: LogSink = { raw: [], lines: [], messages: () => sink.lines.map((l) => String(l.msg)) };
  return sink;
}

/** The function that feeds `sink` text (split into lines; a partial line waits for its end). */
function lineSink(sink = emptySink()): { sink: LogSink; write: (text: string) => void } {
  let buf = "";
  const write = (text: string) => {
    buf += text;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() === "") continue;
      sink.raw.push(line);
      try {
        sink.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a JSON line
      }
    }
  };
  return { sink, write };
}

/** A logger (JSON, `level`, masking `secrets`) whose every line is kept. */
export function captureLogs(opts: { level?: string; secrets?: readonly string[] } = {}): { logger: Logger; sink: LogSink } {
  const { sink, write } = lineSink();
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      write(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: opts.level ?? "info", secrets: opts.secrets ?? [], destination }), sink };
}

/** Keeps every line `child` writes to stdout and stderr (in `into`, after what it holds, if given). */
export function captureOutput(child: ChildProcess, into?: LogSink): LogSink {
  const { sink, write } = lineSink(into);
  const onData = (chunk: Buffer) => write(chunk.toString());
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return sink;
}
