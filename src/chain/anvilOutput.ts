/**
 * Capture of Anvil's stdout/stderr: line splitting, ring buffers, and the `Listening on` line.
 *
 * @module
 */
import { StringDecoder } from 'node:string_decoder';

const MAX_LINE_CHARS = 4_000;

const ANSI_RE = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

export class RingBuffer {
  private readonly lines: string[] = [];
  constructor(private readonly capacity: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }
  tail(n: number = this.capacity): string {
    return this.lines.slice(-n).join('\n');
  }
}

/** Splits a stream into lines (UTF-8 safe), stripping ANSI codes and bounding line length. */
export function onLines(stream: NodeJS.ReadableStream, handle: (line: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (raw: string): void => {
    const line = raw.replace(ANSI_RE, '').replace(/\r$/, '');
    handle(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
  };
  stream.on('data', (chunk: Buffer) => {
    pending += decoder.write(chunk);
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    // A runaway line without newline must not grow without bound.
    if (pending.length > MAX_LINE_CHARS * 4) {
      emit(pending);
      pending = '';
    }
  });
  stream.on('end', () => {
    pending += decoder.end();
    if (pending.length > 0) emit(pending);
    pending = '';
  });
}

export const LISTENING_RE = /Listening on (\S+):(\d+)\s*$/;

export function connectHost(printed: string): string {
  // Rust prints IPv6 socket addresses as `[addr]:port`.
  if (printed === '0.0.0.0') return '127.0.0.1';
  if (printed === '[::]') return '[::1]';
  return printed;
}
