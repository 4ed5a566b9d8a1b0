/**
 * Helpers for CLI tests: run `bin/perp-keeper.js` as a child process (the way a user does), run the
 * real `cast` binary, and check processes by pid. Not a test file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(REPO_ROOT, 'bin', 'perp-keeper.js');

/** Variables a developer's shell may hold that change what the CLI signs with or connects to. */
const SECRET_VARIABLES = [
  'DEPLOYER_PRIVATE_KEY',
  'KEEPER_PRIVATE_KEY',
  'KEEPER_KEYSTORE_PASSWORD',
  'KEEPER_KEYSTORE_PASSWORD_FILE',
  'DEPLOYER_KEYSTORE_PASSWORD',
  'DEPLOYER_KEYSTORE_PASSWORD_FILE',
  'KEEPER_RPC_URLS',
  'KEEPER_RPC_URLS_FILE',
  'KEEPER_SEND_RPC_URLS',
  'KEEPER_SEND_RPC_URLS_FILE',
] as const;

/** The environment for a CLI child: no keys, passwords or RPC URLs from the developer's shell, no colour. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  for (const k of SECRET_VARIABLES) if (!(k in extra)) delete env[k];
  return env;
}

export type CliResult = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
};

/**
 * Run the CLI to completion (bounded: the child is SIGKILLed by pid after `timeoutMs`). The working
 * directory defaults to a fresh temp dir, so a developer's `.env` is never picked up.
 */
export function runCli(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? tmpdir(),
    env: cliEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 45_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** A started CLI child whose output accumulates as it runs. */
export type LiveCli = { child: ChildProcess; stdout: () => string; stderr: () => string; closed: Promise<CliResult> };

export function startCli(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): LiveCli {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? tmpdir(),
    env: cliEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const closed = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, closed };
}

/** A user's mistake: non-zero exit, exactly one line on stderr, never a stack trace. */
export function expectOneLineError(r: CliResult, code: number, match?: RegExp | string): string {
  const context = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.code, context).toBe(code);
  expect(r.stderr.endsWith('\n'), context).toBe(true);
  const lines = r.stderr.slice(0, -1).split('\n');
  expect(lines, context).toHaveLength(1);
  const line = lines[0]!;
  expect(line.startsWith('perp-keeper: '), context).toBe(true);
  expect(r.stderr).not.toContain('    at ');
  expect(r.stderr).not.toContain('--debug');
  if (match !== undefined) expect(line).toMatch(match);
  return line;
}

/** Run the real `cast` (through scripts/foundry.mjs, which passes its exit code through). */
export function cast(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts', 'foundry.mjs'), 'cast', ...args],
      { cwd: REPO_ROOT, timeout: 20_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`cast ${args.join(' ')} failed: ${stderr || err.message}`)) : resolve(stdout.trim())),
    );
  });
}

/** Strip cast's human annotations (`123 [1.23e2]`) from a decoded value. */
export function castValue(s: string): string {
  return s.replace(/ \[-?\d+(\.\d+)?e-?\d+\]/g, '').trim();
}

/** True while `pid` is a live process (a zombie counts as dead; Linux reads /proc). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'perp-keeper-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
