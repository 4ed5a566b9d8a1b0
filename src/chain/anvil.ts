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
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';

/** Anvil's default BIP-39 dev mnemonic. The derived keys are public test keys: never fund them on a real network. */
export const ANVIL_DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';

/** Chain id Anvil uses unless told otherwise (and unless forking). */
export const ANVIL_DEFAULT_CHAIN_ID = 31337;

/** Minimal logger shape (compatible with pino's `Logger`). */
export type AnvilLogger = {
  debug(obj: object, msg?: string): void;
};

/** Options for {@link startAnvil}. Every field is optional. */
export type AnvilOptions = {
  /** Port to listen on. Default `0`: the OS picks a free port, read back from Anvil's output. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Chain id (`--chain-id`). Default: Anvil's (31337), or the fork's chain id when forking. */
  chainId?: number;
  /** Interval mining, in seconds (`--block-time`). `undefined` = automine (a block per transaction). */
  blockTime?: number;
  /** Number of dev accounts (`--accounts`). Anvil's default is 10. */
  accounts?: number;
  /** Balance of each dev account, in ether (`--balance`). Anvil's default is 10000. */
  balance?: number;
  /**
   * Mnemonic for the dev accounts. Default: {@link ANVIL_DEFAULT_MNEMONIC}, passed explicitly so the
   * accounts stay deterministic even if Anvil's default ever changes.
   */
  mnemonic?: string;
  /** Fork from this JSON-RPC endpoint (`--fork-url`). */
  forkUrl?: string;
  /** Block to fork at (`--fork-block-number`). Only meaningful with {@link AnvilOptions.forkUrl}. */
  forkBlockNumber?: bigint | number;
  /**
   * Keep Anvil's on-disk fork cache (`~/.foundry/cache/rpc/<chain>/<block>`). Default `false`:
   * `--no-storage-caching` is passed, because the cache is keyed by chain id + block number only,
   * so forks of two different local chains (both 31337) at the same height would share stale state.
   * Set `true` for forks of real networks, where the cache saves RPC calls.
   */
  forkCache?: boolean;
  /** EIP-170 contract code size limit in bytes (`--code-size-limit`). */
  codeSizeLimit?: number;
  /** Block gas limit (`--gas-limit`). */
  gasLimit?: bigint | number;
  /** Enable step tracing for geth-style `debug_trace*` results (`--steps-tracing`). */
  stepsTracing?: boolean;
  /** Extra CLI arguments appended verbatim (after the ones derived from the options above). */
  extraArgs?: readonly string[];
  /** Path of the Anvil executable. Default: {@link resolveAnvilBinary}(). */
  binary?: string;
  /** Extra environment variables for the Anvil process (merged over `process.env`). */
  env?: Readonly<Record<string, string>>;
  /** Bound on the wait for `Listening on`. Default 20 000 ms (forks of slow remotes may need more). */
  startTimeoutMs?: number;
  /** Bound on the wait for exit after SIGTERM in {@link AnvilInstance.stop}, before SIGKILL. Default 5 000 ms. */
  stopTimeoutMs?: number;
  /** Lines of stdout and of stderr kept in the ring buffers. Default 200 each. */
  outputLines?: number;
  /** Receives lifecycle events and every output line at debug level. */
  logger?: AnvilLogger;
};

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
const MAX_LINE_CHARS = 4_000;
const ERROR_TAIL_LINES = 30;

// ---------------------------------------------------------------------------
// Binary resolution
// ---------------------------------------------------------------------------

const ARCH_NAMES: Readonly<Partial<Record<string, string>>> = { x64: 'amd64', arm64: 'arm64' };

/**
 * Name of the npm package holding the Anvil binary for a platform, following the
 * `@foundry-rs/anvil-<platform>-<arch>` convention (`x64` is spelled `amd64`).
 */
export function anvilPlatformPackage(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const archName = ARCH_NAMES[arch] ?? arch;
  return `@foundry-rs/anvil-${platform}-${archName}`;
}

let cachedBinary: string | undefined;

/**
 * Absolute path of the Anvil executable from the platform package (a dependency of
 * `@foundry-rs/anvil`). Looked up from this module, then from `@foundry-rs/anvil`'s own
 * location (non-hoisted installs). Throws an error naming the missing package.
 */
export function resolveAnvilBinary(): string {
  if (cachedBinary !== undefined) return cachedBinary;
  const pkg = anvilPlatformPackage();
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';

  const requireHere = createRequire(import.meta.url);
  const requirers = [requireHere];
  try {
    requirers.push(createRequire(requireHere.resolve('@foundry-rs/anvil/package.json')));
  } catch {
    // @foundry-rs/anvil itself is missing; the platform package may still be installed directly.
  }

  let pkgJson: string | undefined;
  for (const req of requirers) {
    try {
      pkgJson = req.resolve(`${pkg}/package.json`);
      break;
    } catch {
      // try the next location
    }
  }
  if (pkgJson === undefined) {
    throw new Error(
      `Anvil binary not found: npm package "${pkg}" is not installed for ${process.platform}/${process.arch}. ` +
        `It is an optional dependency of "@foundry-rs/anvil": run \`npm install\` without --omit=optional, ` +
        `or pass \`binary\` to startAnvil().`,
    );
  }

  const binary = path.join(path.dirname(pkgJson), 'bin', exe);
  try {
    accessSync(binary, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
  } catch (cause) {
    throw new Error(`Anvil binary from npm package "${pkg}" is missing or not executable: ${binary}`, { cause });
  }
  cachedBinary = binary;
  return binary;
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/** CLI arguments {@link startAnvil} passes for the given options (exported for logging and tests). */
export function anvilArgs(opts: AnvilOptions = {}): string[] {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`startAnvil: port must be an integer in 0..65535, got ${String(port)}`);
  }
  const args = ['--port', String(port), '--host', opts.host ?? '127.0.0.1'];
  args.push('--mnemonic', opts.mnemonic ?? ANVIL_DEFAULT_MNEMONIC);
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.accounts !== undefined) args.push('--accounts', String(opts.accounts));
  if (opts.balance !== undefined) args.push('--balance', String(opts.balance));
  if (opts.forkUrl !== undefined) {
    args.push('--fork-url', opts.forkUrl);
    if (opts.forkBlockNumber !== undefined) args.push('--fork-block-number', opts.forkBlockNumber.toString());
    if (opts.forkCache !== true) args.push('--no-storage-caching');
  } else if (opts.forkBlockNumber !== undefined) {
    throw new TypeError('startAnvil: forkBlockNumber requires forkUrl');
  }
  if (opts.codeSizeLimit !== undefined) args.push('--code-size-limit', String(opts.codeSizeLimit));
  if (opts.gasLimit !== undefined) args.push('--gas-limit', opts.gasLimit.toString());
  if (opts.stepsTracing === true) args.push('--steps-tracing');
  const extra = opts.extraArgs ?? [];
  const quiet = extra.find((a) => a === '-q' || a === '--quiet' || a === '--silent');
  if (quiet !== undefined) {
    // Would suppress the `Listening on` line we wait for; fail now instead of timing out.
    throw new TypeError(`startAnvil: ${quiet} is not supported (output is captured in a ring buffer instead)`);
  }
  args.push(...extra);
  return args;
}

// ---------------------------------------------------------------------------
// Output capture
// ---------------------------------------------------------------------------

const ANSI_RE = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

class RingBuffer {
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
function onLines(stream: NodeJS.ReadableStream, handle: (line: string) => void): void {
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

const LISTENING_RE = /Listening on (\S+):(\d+)\s*$/;

function connectHost(printed: string): string {
  // Rust prints IPv6 socket addresses as `[addr]:port`.
  if (printed === '0.0.0.0') return '127.0.0.1';
  if (printed === '[::]') return '[::1]';
  return printed;
}

// ---------------------------------------------------------------------------
// Process tracking (only processes started here)
// ---------------------------------------------------------------------------

/** Every Anvil this module spawned that has not exited yet (starting or ready), with its stop(). */
const liveChildren = new Map<ChildProcess, () => Promise<void>>();
let exitHookInstalled = false;

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: cannot wait for exit here, so just signal our own children.
  process.on('exit', () => {
    for (const child of liveChildren.keys()) {
      if (!isRunning(child)) continue;
      try {
        child.kill('SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Stops every Anvil started by this module that is still running, including ones still starting
 * (their startAnvil() then rejects). For CLI signal handlers and test teardown.
 */
export async function stopAllAnvils(): Promise<void> {
  await Promise.all([...liveChildren.values()].map((stop) => stop()));
}

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
