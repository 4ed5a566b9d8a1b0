/**
 * Issue 14, a daemon operators can deploy: `npm run build` emits dist/, and a production install
 * (the package's files — package.json, package-lock.json, bin/, dist/ — and `npm install
 * --omit=dev`, so no tsx, no TypeScript, no sources) runs the CLI with plain node. The chart
 * packages stay off the daemon's path: with vega and vega-lite removed, `run` still starts and
 * only `simulate` needs them.
 *
 * The build runs in a temporary copy of the sources (the checkout's own dist/ is not touched), and
 * the install reuses npm's cache (--prefer-offline): it needs the npm registry only for packages
 * the cache lacks.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, expectOneLineError, type CliResult } from '../cli/cli.ts';

const root = mkdtempSync(path.join(tmpdir(), 'perp-keeper-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const checkout = path.join(root, 'checkout');
const prod = path.join(root, 'prod');

/** Run `file args` in `cwd` to completion (bounded), never through a shell. */
function exec(file: string, args: readonly string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, signal: (err?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** The installed CLI, run as an operator would: plain node, no signing keys from the developer's shell. */
function perpKeeper(args: readonly string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of ['DEPLOYER_PRIVATE_KEY', 'KEEPER_PRIVATE_KEY', 'NODE_OPTIONS']) delete env[k];
  return exec(process.execPath, [path.join(prod, 'bin', 'perp-keeper.js'), ...args], prod, 30_000, env);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let buildMs = 0;
let installMs = 0;

beforeAll(async () => {
  // A copy of what the build reads, with the checkout's node_modules (tsc) linked in.
  mkdirSync(checkout);
  for (const p of ['src', 'abi', 'config', 'bin', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(path.join(REPO_ROOT, p), path.join(checkout, p), { recursive: true });
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
  const build = await exec(npm, ['run', 'build'], checkout, 240_000);
  buildMs = build.ms;
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);

  // The package as it would be shipped ("files" in package.json), then its production dependencies.
  mkdirSync(prod);
  for (const p of ['package.json', 'package-lock.json', 'bin', 'dist']) cpSync(path.join(checkout, p), path.join(prod, p), { recursive: true });
  const install = await exec(npm, ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], prod, 240_000);
  installMs = install.ms;
  if (install.code !== 0) throw new Error(`npm install --omit=dev failed:\n${install.stdout}\n${install.stderr}`);
  expect(install.stderr).not.toMatch(/EBADENGINE/);
}, 480_000);
afterAll(() => console.info(`test/build: npm run build ${(buildMs / 1000).toFixed(1)} s, npm install --omit=dev ${(installMs / 1000).toFixed(1)} s`));

describe('issue 14: npm run build, then a production install, runs the daemon with plain node', () => {
  it('the build is a plain ESM tree: .js imports, the ABIs and config/ beside it, and package.json lists what ships', () => {
    const main = readFileSync(path.join(prod, 'dist', 'src', 'cli', 'main.js'), 'utf8');
    expect(main).toMatch(/from "\.\/commands\.js"/);
    expect(main).not.toMatch(/from "[^"]+\.ts"/);
    expect(existsSync(path.join(prod, 'dist', 'abi', 'PerpMarket.js'))).toBe(true);
    expect(existsSync(path.join(prod, 'dist', 'config', 'keeper.json'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).files).toEqual(['bin/', 'dist/']);
  });

  it('the production install has no tsx, no esbuild, no test tools and no sources', () => {
    // (TypeScript itself is installed: viem, abitype and ox name it as an optional peer, and npm
    // keeps such a package even with --omit=dev. Nothing loads it at run time.)
    for (const p of ['node_modules/tsx', 'node_modules/esbuild', 'node_modules/vitest', 'node_modules/@foundry-rs', 'src']) {
      expect(existsSync(path.join(prod, p)), p).toBe(false);
    }
    expect(existsSync(path.join(prod, 'node_modules', 'viem'))).toBe(true);
  });

  it('perp-keeper run --help, --version, and a quote that reads dist/config', async () => {
    const help = await perpKeeper(['run', '--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: perp-keeper run /);
    expect(help.stdout).toContain('--keystore FILE');
    const version = await perpKeeper(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(prod, 'package.json'), 'utf8')).version);
    const quote = await perpKeeper(['quote', '--market', 'BTC', '--side', 'long', '--size', '1', '--collateral', '10000', '--mark', '60000', '--json']);
    expect(quote.code, quote.stderr).toBe(0);
    expect(JSON.parse(quote.stdout)).toMatchObject({ mode: 'hypothetical' });
    // A user's mistake is still one line from the build.
    expectOneLineError(await perpKeeper(['run', '--deployment', 'd.json']), 2, /run: --rpc is required/);
  });

  it('without vega and vega-lite, run still starts; only simulate needs them', async () => {
    for (const p of ['vega', 'vega-lite']) rmSync(path.join(prod, 'node_modules', p), { recursive: true, force: true });
    const help = await perpKeeper(['run', '--help']);
    expect(help.code, help.stderr).toBe(0);
    const run = await perpKeeper(['run', '--deployment', 'd.json', '--rpc', 'http://127.0.0.1:1']);
    expectOneLineError(run, 1, /d\.json: no such file$/);
    // The check can fail: simulate does load them.
    const simulate = await perpKeeper(['simulate', '--help']);
    expect(simulate.code).not.toBe(0);
    expect(simulate.stderr).toMatch(/vega/);
  });
});
