/**
 * Small, dependency-free spawner for the Anvil binary shipped on npm
 * (`@foundry-rs/anvil` → `@foundry-rs/anvil-<platform>-<arch>`).
 *
 * Used by the test harness (one Anvil per vitest worker) and by the
 * `perp-keeper devnet` command.
 *
 * Design notes:
 * - The platform binary is spawned directly (not the `node_modules/.bin/anvil`
 *   node wrapper), so {@link AnvilInstance.pid} is Anvil's own pid and signals
 *   reach Anvil, not a wrapper.
 * - Anvil is started with `--port 0` by default and the real port is parsed
 *   from its `Listening on HOST:PORT` line: no port races, no fixed ports.
 * - stdout/stderr are drained into small ring buffers (never `--silent`), so
 *   a failed start reports the tail of stderr and a running instance can be
 *   inspected with {@link AnvilInstance.output}.
 * - Only processes started by this module are ever signalled: a process
 *   `'exit'` hook sends SIGTERM to those still running. That hook does not run
 *   when the host process dies from an unhandled signal (Node's default for
 *   SIGTERM/SIGINT); hosts that handle signals (the CLI, the test harness)
 *   should call {@link AnvilInstance.stop} / {@link stopAllAnvils} or
 *   `process.exit()` from their handler.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { resolveAnvilBinary } from './anvilBinary.ts';
import { anvilArgs, type AnvilOptions } from './anvilOptions.ts';
import { LISTENING_RE, RingBuffer, connectHost, onLines } from './anvilOutput.ts';
import { installExitHook, isRunning, liveChildren } from './anvilProcesses.ts';

export { anvilPlatformPackage, resolveAnvilBinary } from './anvilBinary.ts';
export { ANVIL_DEFAULT_CHAIN_ID, ANVIL_DEFAULT_MNEMONIC, anvilArgs } from './anvilOptions.ts';
export type { AnvilLogger, AnvilOptions } from './anvilOptions.ts';
export { stopAllAnvils } from './anvilProcesses.ts';

/** How an Anvil process ended. */
export type AnvilExit = {
  code: number | null;
  signal: NodeJS.Signals | null;
};

/** A running Anvil started by {@link startAnvil}. */
export type AnvilInstance = {
  /** HTTP JSON-RPC endpoint, e.g. `http://127.0.0.1:41234`. */
  readonly rpcUrl: string;
  /** WebSocket endpoint (same port). */
  readonly wsUrl: string;
  /** Host to connect to (wildcard binds are mapped to loopback; IPv6 is bracketed). */
  readonly host: string;
  /** The port Anvil actually listens on. */
  readonly port: number;
  /** Pid of the Anvil process itself (not of a wrapper). */
  readonly pid: number;
  /** Arguments Anvil was started with. */
  readonly args: readonly string[];
  /** Milliseconds from spawn to `Listening on`. */
  readonly startupMs: number;
  /** Settles when the process has exited, for any reason. Never rejects. */
  readonly exited: Promise<AnvilExit>;
  /** Tail of Anvil's stdout and stderr (ANSI codes stripped). */
  output(): string;
  /**
   * SIGTERM, wait up to `stopTimeoutMs` for exit, then SIGKILL and wait again (bounded).
   * Idempotent: later calls return the same promise. Resolves once the process has exited.
   */
  stop(): Promise<void>;
};

/** Why {@link startAnvil} failed. */
export type AnvilStartFailure = 'exit' | 'timeout' | 'spawn';

/** Rejection of {@link startAnvil}: carries the failure kind, the pid (if one was spawned) and the output tail. */
export class AnvilStartError extends Error {
  override readonly name = 'AnvilStartError';
  readonly reason: AnvilStartFailure;
  readonly pid: number | undefined;
  readonly exit: AnvilExit | undefined;
  readonly stderr: string;
  readonly stdout: string;

  constructor(
    message: string,
    details: {
      reason: AnvilStartFailure;
      pid: number | undefined;
      exit?: AnvilExit | undefined;
      stderr: string;
      stdout: string;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = details.reason;
    this.pid = details.pid;
    this.exit = details.exit;
    this.stderr = details.stderr;
    this.stdout = details.stdout;
  }
}

const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const KILL_TIMEOUT_MS = 5_000;
const CLOSE_AFTER_EXIT_MS = 1_000;
const DEFAULT_OUTPUT_LINES = 200;
const ERROR_TAIL_LINES = 30;

// ---------------------------------------------------------------------------
// startAnvil
// ---------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describeExit(exit: AnvilExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

/**
 * Starts Anvil and resolves once it prints `Listening on HOST:PORT`.
 *
 * Rejects with {@link AnvilStartError} (including the stderr/stdout tail) if the process cannot be
 * spawned, exits early (e.g. a bad flag), or is not listening within `startTimeoutMs`; in the
 * timeout case the process is stopped before the promise rejects.
 *
 * @example
 * ```ts
 * const anvil = await startAnvil({ chainId: 31337 });
 * try {
 *   // use anvil.rpcUrl
 * } finally {
 *   await anvil.stop();
 * }
 * ```
 */
export async function startAnvil(opts: AnvilOptions = {}): Promise<AnvilInstance> {
  const args = anvilArgs(opts);
  const binary = opts.binary ?? resolveAnvilBinary();
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const capacity = opts.outputLines ?? DEFAULT_OUTPUT_LINES;
  const logger = opts.logger;

  const stdoutBuf = new RingBuffer(capacity);
  const stderrBuf = new RingBuffer(capacity);
  const output = (n?: number): string => {
    const out = stdoutBuf.tail(n);
    const err = stderrBuf.tail(n);
    return [out && `--- anvil stdout (tail) ---\n${out}`, err && `--- anvil stderr (tail) ---\n${err}`]
      .filter(Boolean)
      .join('\n');
  };

  const t0 = performance.now();
  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    windowsHide: true,
  });
  const pid = child.pid;

  const startError = (message: string, reason: AnvilStartFailure, exit?: AnvilExit, cause?: unknown): AnvilStartError =>
    new AnvilStartError(
      `${message}\nCommand: ${binary} ${args.join(' ')}\n` +
        `--- anvil stderr (tail) ---\n${stderrBuf.tail(ERROR_TAIL_LINES) || '(empty)'}\n` +
        `--- anvil stdout (tail) ---\n${stdoutBuf.tail(ERROR_TAIL_LINES) || '(empty)'}`,
      {
        reason,
        pid,
        exit,
        stderr: stderrBuf.tail(),
        stdout: stdoutBuf.tail(),
        cause,
      },
    );

  if (pid === undefined) {
    // Spawn failed (ENOENT, EACCES, ...): Node reports it through 'error', asynchronously.
    const cause = await new Promise<unknown>((resolve) => child.once('error', resolve));
    throw startError(`Failed to spawn anvil: ${String(cause)}`, 'spawn', undefined, cause);
  }

  const exited = new Promise<AnvilExit>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      const exit = { code, signal };
      logger?.debug({ pid, ...exit }, 'anvil exited');
      resolve(exit);
    });
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // Keep a listener so a late spawn/kill error never becomes an uncaught 'error' event.
  child.on('error', (err) => logger?.debug({ pid, err }, 'anvil process error'));

  let listening: { host: string; port: number } | undefined;
  let onListening: ((where: { host: string; port: number }) => void) | undefined;
  const listeningPromise = new Promise<{ host: string; port: number }>((resolve) => {
    onListening = resolve;
  });

  const handleLine = (stream: 'stdout' | 'stderr', buf: RingBuffer) => (line: string) => {
    buf.push(line);
    logger?.debug({ pid, stream }, line);
    if (listening === undefined) {
      const m = LISTENING_RE.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) {
        listening = { host: connectHost(m[1]), port: Number(m[2]) };
        onListening?.(listening);
      }
    }
  };
  if (child.stdout) onLines(child.stdout, handleLine('stdout', stdoutBuf));
  if (child.stderr) onLines(child.stderr, handleLine('stderr', stderrBuf));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (isRunning(child)) {
        logger?.debug({ pid }, 'stopping anvil (SIGTERM)');
        child.kill('SIGTERM');
        if ((await withTimeout(exited, stopTimeoutMs)) === 'timeout' && isRunning(child)) {
          logger?.debug({ pid, stopTimeoutMs }, 'anvil ignored SIGTERM; sending SIGKILL');
          child.kill('SIGKILL');
          if ((await withTimeout(exited, KILL_TIMEOUT_MS)) === 'timeout') {
            throw new Error(`anvil (pid ${pid}) did not exit within ${KILL_TIMEOUT_MS} ms of SIGKILL`);
          }
        }
      }
      await exited;
    })();
    return stopping;
  };
  liveChildren.set(child, stop);
  installExitHook();

  const outcome = await withTimeout(
    Promise.race([
      listeningPromise.then((where) => ({ kind: 'ready' as const, where })),
      exited.then((exit) => ({ kind: 'exit' as const, exit })),
    ]),
    startTimeoutMs,
  );

  if (outcome === 'timeout') {
    await stop().catch(() => undefined);
    await withTimeout(closed, CLOSE_AFTER_EXIT_MS);
    throw startError(`anvil (pid ${pid}) did not print "Listening on" within ${startTimeoutMs} ms; it was stopped.`, 'timeout');
  }
  if (outcome.kind === 'exit') {
    // 'exit' can precede the last stdio chunks; wait (bounded) for the pipes to drain.
    await withTimeout(closed, CLOSE_AFTER_EXIT_MS);
    throw startError(`anvil (pid ${pid}) exited with ${describeExit(outcome.exit)} before it was listening.`, 'exit', outcome.exit);
  }

  const { host, port } = outcome.where;
  const startupMs = performance.now() - t0;
  const instance: AnvilInstance = {
    rpcUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    host,
    port,
    pid,
    args,
    startupMs,
    exited,
    output: () => output(),
    stop,
  };
  logger?.debug({ pid, port, startupMs: Math.round(startupMs) }, 'anvil listening');
  return instance;
}
