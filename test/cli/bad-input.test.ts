/**
 * Bad input, malformed and hostile: keeper settings files, deployment files, command-line flags,
 * `.env` keys and `simulate` scenario files. Every row asserts the same contract:
 *  - a non-zero exit code (2 for a wrong command line, 1 for anything else);
 *  - exactly one line on stderr, starting "perp-keeper: ", naming the problem, bounded in length
 *    (a 10 MB value is not echoed back), with no control character from the input in it;
 *  - no stack trace ("    at ") and no "--debug" hint (it is the user's mistake, not ours);
 *  - nothing written: the row's own directory holds exactly its input files afterwards (no output,
 *    no checkpoint, no temp file — writes are atomic);
 *  - a key never echoed, not even a malformed one; Object.prototype untouched.
 * Rows that need a process of their own (a `.env` file, bytes that are not UTF-8 in argv) run the
 * real binary; the others call main() in-process, with the same streams and exit codes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployReferenceMarket, type Deployment } from '../../src/chain/deploy.ts';
import { deploymentToJson } from '../../src/chain/deployment.ts';
import type { ChainClients } from '../../src/chain/clients.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { loadMarkets, loadPreset } from '../../src/config/presets.ts';
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain } from '../support/anvil.ts';
import { BIN, REPO_ROOT, cliEnv, expectOneLineError, type CliResult } from './cli.ts';

const KEY = ANVIL_DEV_PRIVATE_KEYS[3];
/** Longest acceptable error line: enough to list 20 missing settings, far below a 10 MB echo. */
const MAX_LINE = 2_000;
const TEN_MB = 10 * 1024 * 1024;

const root = mkdtempSync(path.join(tmpdir(), 'perp-keeper-bad-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let rpc: string;
let deployment: Deployment;
let keeperJson: Record<string, unknown>;
/** A port something listens on, for the busy health port row. */
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  const chain = await getTestChain();
  rpc = chain.anvil.rpcUrl;
  const c = { publicClient: chain.publicClient, walletClient: chain.wallet(0) } as unknown as ChainClients;
  deployment = await deployReferenceMarket(c, { markets: loadMarkets(), preset: loadPreset('hyperliquid') });
  keeperJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'keeper.json'), 'utf8')) as Record<string, unknown>;
  busy = createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  busyPort = (busy.address() as AddressInfo).port;
}, 120_000);
afterAll(() => new Promise<void>((r) => (busy ? busy.close(() => r()) : r())));

type Files = Record<string, string | Buffer>;
type Row = {
  name: string;
  /** The command line, with the row's rpc URL and file names. */
  argv: () => string[];
  files?: () => Files;
  env?: Record<string, string>;
  code: 1 | 2;
  match: RegExp;
};

/** A directory of its own for a row, with its input files. */
function rowDir(files: Files): string {
  const dir = mkdtempSync(path.join(root, 'row-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

async function runInProcess(argv: string[], dir: string, env: Record<string, string>): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env, cwd: dir, signal: AbortSignal.timeout(30_000) };
  const t0 = performance.now();
  const code = await main(argv, io);
  return { code, signal: null, stdout: stdout.map((l) => `${l}\n`).join(''), stderr: stderr.map((l) => `${l}\n`).join(''), ms: performance.now() - t0 };
}

/** The binary through bash, so that argv can carry bytes that are not UTF-8 ($'\xff'). */
function runThroughShell(script: string, dir: string): Promise<CliResult> {
  const t0 = performance.now();
  const child = spawn('bash', ['-c', `exec "${process.execPath}" "${BIN}" ${script}`], { cwd: dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function expectRow(r: CliResult, row: Pick<Row, 'code' | 'match'>, dir: string, inputs: string[]): void {
  const line = expectOneLineError(r, row.code, row.match);
  expect(line.length, line.slice(0, 200)).toBeLessThanOrEqual(MAX_LINE);
  // eslint-disable-next-line no-control-regex
  expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(r.stdout).toBe('');
  expect(`${r.stdout}${r.stderr}`.toLowerCase()).not.toContain(KEY.slice(2, 26).toLowerCase());
  expect(readdirSync(dir).sort()).toEqual([...inputs].sort());
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

// ---------------------------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------------------------

const settings = (over: Record<string, unknown>) => () => ({ 'deployment.json': deploymentToJson(deployment), 'keeper.json': JSON.stringify({ ...keeperJson, healthPort: 0, ...over }) });
const rawSettings = (text: string | Buffer) => () => ({ 'deployment.json': deploymentToJson(deployment), 'keeper.json': text });
const runWith = (...extra: string[]) => () => ['run', '--rpc', rpc, '--deployment', 'deployment.json', '--config', 'keeper.json', ...extra];
const runOn = (file: string) => () => ['run', '--rpc', rpc, '--deployment', file, '--health-port', '0'];
const deploymentFile = (text: string | Buffer | (() => string)) => () => ({ 'd.json': typeof text === 'function' ? text() : text });
const withDeployment = (f: (d: Record<string, unknown>) => Record<string, unknown>) =>
  deploymentFile(() => JSON.stringify(f(JSON.parse(deploymentToJson(deployment)) as Record<string, unknown>)));

const configRows: Row[] = [
  { name: 'negative polling interval', argv: runWith(), files: settings({ pollingIntervalMs: -5 }), code: 1, match: /keeper\.json: pollingIntervalMs: Too small/ },
  { name: 'negative minimum profit', argv: runWith(), files: settings({ minProfitUsd: '-1' }), code: 1, match: /keeper\.json: minProfitUsd: must not be negative/ },
  { name: 'huge batch size', argv: runWith(), files: settings({ maxBatch: 1e12 }), code: 1, match: /keeper\.json: maxBatch: Too big/ },
  { name: 'checkpoint interval beyond 2^53', argv: runWith(), files: settings({ checkpointEveryBlocks: 1e300 }), code: 1, match: /checkpointEveryBlocks: Too big/ },
  { name: 'NaN fee cap', argv: runWith(), files: settings({ feeCapGwei: 'NaN' }), code: 1, match: /feeCapGwei: "NaN" is not a number/ },
  { name: 'Infinity budget', argv: runWith(), files: settings({ gasBudgetPerHourEth: 'Infinity' }), code: 1, match: /gasBudgetPerHourEth: "Infinity" is not a number/ },
  { name: 'hex fee cap', argv: runWith(), files: settings({ feeCapGwei: '0x10' }), code: 1, match: /feeCapGwei: "0x10" is not a number/ },
  {
    name: 'wrong types (string for a boolean, array for an object)',
    argv: runWith(),
    files: settings({ backstopMode: 'yes', gas: [] }),
    code: 1,
    match: /2 problems: backstopMode: .*expected boolean.*; gas: .*expected object/,
  },
  { name: 'unknown key (a typo)', argv: runWith(), files: settings({ maxBatchh: 3 }), code: 1, match: /Unrecognized key: "maxBatchh"/ },
  {
    name: 'prototype pollution: "__proto__"',
    argv: runWith(),
    files: () => ({ 'deployment.json': deploymentToJson(deployment), 'keeper.json': `{"__proto__":{"polluted":true},${JSON.stringify(keeperJson).slice(1)}` }),
    code: 1,
    match: /Unrecognized key: "__proto__"/,
  },
  {
    name: 'prototype pollution: "constructor.prototype"',
    argv: runWith(),
    files: () => ({ 'deployment.json': deploymentToJson(deployment), 'keeper.json': `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(keeperJson).slice(1)}` }),
    code: 1,
    match: /Unrecognized key: "constructor"/,
  },
  { name: '10 MB decimal string', argv: runWith(), files: settings({ minProfitUsd: '1'.repeat(TEN_MB) }), code: 1, match: /minProfitUsd: Too big: expected string to have <=64 characters/ },
  { name: '10 MB checkpoint path', argv: runWith(), files: settings({ checkpointPath: 'a'.repeat(TEN_MB) }), code: 1, match: /checkpointPath: Too big/ },
  { name: '10 MB log level', argv: runWith(), files: settings({ logLevel: 'x'.repeat(TEN_MB) }), code: 1, match: /logLevel: Invalid option: expected one of "trace"/ },
  { name: 'a JSON array', argv: runWith(), files: rawSettings('[]'), code: 1, match: /keeper\.json: \d+ problems: pollingIntervalMs: / },
  { name: 'truncated JSON', argv: runWith(), files: rawSettings('{"pollingIntervalMs": 250, "minProf'), code: 1, match: /keeper\.json: Unterminated string in JSON/ },
  { name: 'empty file', argv: runWith(), files: rawSettings(''), code: 1, match: /keeper\.json: Unexpected end of JSON input/ },
  { name: 'bytes that are not UTF-8', argv: runWith(), files: rawSettings(Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x7d])), code: 1, match: /keeper\.json: .*JSON/ },
  { name: 'settings file missing', argv: () => ['run', '--rpc', rpc, '--deployment', 'deployment.json', '--config', 'nope.json'], files: settings({}), code: 1, match: /nope\.json: ENOENT/ },
  { name: 'a health host that is not an address', argv: runWith('--health-host', 'example.com'), files: settings({}), code: 2, match: /--health-host: not an IP address/ },
  { name: 'a health host not on this machine', argv: runWith('--health-host', '192.0.2.1'), files: settings({}), code: 1, match: /--health-host 192\.0\.2\.1: no such address on this host$/ },
  { name: 'checkpoint path under a file', argv: runWith('--checkpoint', 'keeper.json/cp.json'), files: settings({}), code: 1, match: /keeper\.json is not a directory/ },
  {
    name: 'no native-token price (no feed in the settings or the deployment, no fixed price)',
    argv: runWith('--checkpoint', 'cp.json'),
    files: settings({}),
    code: 1,
    match: /^perp-keeper: no native-token price: name a Chainlink feed \(nativeTokenPriceFeed in the settings file, or a deployment file with nativeUsdFeed\), or set a fixed price \(--native-price-usd \/ nativeTokenPriceUsd\)$/,
  },
  { name: 'a native-token price that is not a number', argv: runWith(), files: settings({ nativeTokenPriceUsd: 'three thousand' }), code: 1, match: /keeper\.json: nativeTokenPriceUsd: "three thousand" is not a number/ },
  { name: 'a native-token feed that is not an address', argv: runWith(), files: settings({ nativeTokenPriceFeed: '0x1234' }), code: 1, match: /keeper\.json: nativeTokenPriceFeed: not an address$/ },
  { name: 'a zero --native-price-usd', argv: runWith('--native-price-usd', '0'), files: settings({}), code: 2, match: /^perp-keeper: run: --native-price-usd: must be above 0$/ },
];

const deploymentRows: Row[] = [
  { name: 'truncated JSON', argv: runOn('d.json'), files: deploymentFile(() => deploymentToJson(deployment).slice(0, 80)), code: 1, match: /d\.json: not valid JSON/ },
  { name: 'not UTF-8', argv: runOn('d.json'), files: deploymentFile(Buffer.from([0xff, 0xfe, 0x00, 0x7b])), code: 1, match: /d\.json: not valid JSON/ },
  { name: 'null', argv: runOn('d.json'), files: deploymentFile('null'), code: 1, match: /d\.json: .*expected object, received null/ },
  { name: 'wrong chain id', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, chainId: 1 })), code: 1, match: /d\.json is for chain 1 but the RPC is chain 31337$/ },
  { name: 'chain id beyond 2^53', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, chainId: 1e300 })), code: 1, match: /chainId: Too big/ },
  {
    name: 'malformed addresses',
    argv: runOn('d.json'),
    files: withDeployment((d) => ({ ...d, contracts: { market: '0x123', token: 'market; DROP TABLE' } })),
    code: 1,
    match: /2 problems: contracts\.market: not an address; contracts\.token: not an address/,
  },
  {
    name: 'addresses with no code',
    argv: runOn('d.json'),
    files: withDeployment((d) => ({ ...d, contracts: { market: '0x000000000000000000000000000000000000dEaD', token: '0x000000000000000000000000000000000000bEEF' } })),
    code: 1,
    match: /d\.json: no contract at market 0x000000000000000000000000000000000000dEaD on chain 31337/,
  },
  { name: 'negative deploy block', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, deployBlock: '-1' })), code: 1, match: /deployBlock: not a block number/ },
  { name: 'no markets', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, markets: [] })), code: 1, match: /markets: must list at least one market/ },
  { name: '10 MB preset name', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, preset: 'p'.repeat(TEN_MB) })), code: 1, match: /preset: Too big/ },
  { name: 'a directory', argv: runOn('.'), files: () => ({}), code: 1, match: /: is a directory$/ },
  { name: 'a protocol no module keeps', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, protocol: 'othermarket' })), code: 1, match: /d\.json: unknown protocol "othermarket" \(known: reference\)$/ },
  { name: 'a protocol name that is not one', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, protocol: '../x' })), code: 1, match: /protocol: not a protocol name/ },
  {
    name: 'quote on a deployment of another protocol',
    argv: () => ['quote', '--rpc', rpc, '--deployment', 'd.json', '--account', deployment.deployer],
    files: withDeployment((d) => ({ ...d, protocol: 'othermarket' })),
    code: 1,
    match: /d\.json: this command reads the reference market only; the deployment names protocol "othermarket"$/,
  },
  { name: 'a prototype key as the protocol', argv: runOn('d.json'), files: withDeployment((d) => ({ ...d, protocol: 'constructor' })), code: 1, match: /unknown protocol "constructor"/ },
];

/** Issue 12, defect 10: a hand-edited deployment file is checked against the chain. */
const handEditedRows: Row[] = [
  {
    name: 'a market address that is not a market (the token)',
    argv: runOn('d.json'),
    files: withDeployment((d) => ({ ...d, contracts: { ...(d.contracts as object), market: deployment.contracts.token } })),
    code: 1,
    match: /d\.json: contracts\.market 0x[0-9a-fA-F]{40} is not a PerpMarket \(it does not answer marketCount\(\), token\(\) and globalLiquidation\(\)\)$/,
  },
  {
    name: 'a feed address that is not the feed the market reads (two swapped)',
    argv: runOn('d.json'),
    files: withDeployment((d) => {
      const m = d.markets as { feed: string }[];
      return { ...d, markets: m.map((x, i) => ({ ...x, feed: m[(i + 1) % m.length]!.feed })) };
    }),
    code: 1,
    match: /d\.json: market \w+ \(id 0\) lists feed 0x[0-9a-fA-F]{40} but the market reads its price from 0x[0-9a-fA-F]{40}$/,
  },
  {
    name: 'a market id the contract does not have',
    argv: runOn('d.json'),
    files: withDeployment((d) => ({ ...d, markets: [...(d.markets as object[]), { id: 7, symbol: 'DOGE', feed: deployment.markets[0]!.feed, feedDecimals: 8 }] })),
    code: 1,
    match: /d\.json: market DOGE \(id 7\) is not on the market at 0x[0-9a-fA-F]{40}, which has \d+ markets$/,
  },
  {
    name: 'a token address that is not the market\'s collateral',
    argv: runOn('d.json'),
    files: withDeployment((d) => ({ ...d, contracts: { ...(d.contracts as object), token: deployment.markets[0]!.feed } })),
    code: 1,
    match: /d\.json: contracts\.token is 0x[0-9a-fA-F]{40} but the market at 0x[0-9a-fA-F]{40} holds 0x[0-9a-fA-F]{40}$/,
  },
];

const flagRows: Row[] = [
  { name: 'unknown flag', argv: runWith('--frobnicate'), files: settings({}), code: 2, match: /run: unknown option --frobnicate \(see perp-keeper run --help\)$/ },
  { name: 'unknown flag with a value', argv: runWith('--gas-price=7'), files: settings({}), code: 2, match: /run: unknown option --gas-price/ },
  { name: 'duplicate flag', argv: runWith('--max-batch', '5', '--max-batch', '6'), files: settings({}), code: 2, match: /run: --max-batch is given more than once$/ },
  { name: 'duplicate --deployment', argv: () => [...runWith()(), '--deployment', 'other.json'], files: settings({}), code: 2, match: /run: --deployment is given more than once$/ },
  { name: 'the same --rpc URL twice', argv: () => ['run', '--rpc', rpc, ...runWith()().slice(1)], files: settings({}), code: 2, match: /^perp-keeper: run: --rpc: URL 2 of 2 is listed twice$/ },
  { name: 'a second --rpc that is not a URL', argv: () => ['run', '--rpc', rpc, '--rpc', 'file:///etc/passwd', '--deployment', 'deployment.json'], files: settings({}), code: 2, match: /^perp-keeper: run: --rpc: URL 2 of 2 is not an http\(s\) or ws\(s\) URL$/ },
  { name: 'a --send-rpc that is not a URL', argv: runWith('--send-rpc', 'javascript:alert(1)'), files: settings({}), code: 2, match: /^perp-keeper: run: --send-rpc must be an http\(s\) or ws\(s\) URL$/ },
  { name: '--send-fallback-public without relays', argv: runWith('--send-fallback-public'), files: settings({}), code: 2, match: /^perp-keeper: run: --send-fallback-public needs send relays \(--send-rpc or KEEPER_SEND_RPC_URLS\)$/ },
  { name: '--max-head-lag not a number', argv: runWith('--max-head-lag', 'three'), files: settings({}), code: 2, match: /^perp-keeper: run: --max-head-lag must be a whole number, got "three"$/ },
  { name: 'batch size 0', argv: runWith('--max-batch', '0'), files: settings({}), code: 2, match: /--max-batch must be between 1 and 50, got 0$/ },
  { name: 'port above 65535', argv: runWith('--health-port', '70000'), files: settings({}), code: 2, match: /--health-port must be between 0 and 65535/ },
  { name: 'polling interval beyond 2^53', argv: runWith('--polling-interval', '9'.repeat(30)), files: settings({}), code: 2, match: /--polling-interval must be between 10 and 60000/ },
  { name: 'negative grace', argv: runWith('--grace', '-1'), files: settings({}), code: 2, match: /--grace must be a whole number, got "-1"$/ },
  { name: 'a flag without its value', argv: () => ['run', '--rpc', '--deployment', 'deployment.json'], files: settings({}), code: 2, match: /run: --rpc needs a value/ },
  { name: 'file: URL as the RPC', argv: () => ['run', '--rpc', 'file:///etc/passwd', '--deployment', 'deployment.json'], files: settings({}), code: 2, match: /--rpc must be an http\(s\) or ws\(s\) URL$/ },
  { name: 'javascript: URL as the RPC', argv: () => ['run', '--rpc', 'javascript:alert(1)', '--deployment', 'deployment.json'], files: settings({}), code: 2, match: /--rpc must be an http\(s\) or ws\(s\) URL$/ },
  { name: 'shell injection in a path', argv: () => ['run', '--rpc', rpc, '--deployment', '$(touch pwned); `touch pwned2`'], files: settings({}), code: 1, match: /\$\(touch pwned\); `touch pwned2`: no such file$/ },
  {
    name: 'a fake second line in a flag value (newline, carriage return, escape)',
    argv: runWith('--max-batch', '5\nperp-keeper: all good\r\u001b[2K'),
    files: settings({}),
    code: 2,
    match: /--max-batch must be a whole number, got "5 perp-keeper: all good\\x0d\\x1b\[2K"$/,
  },
  { name: 'an unknown log level from a flag', argv: runWith('--log-level', 'info"}{"level":"fatal'), files: settings({}), code: 2, match: /^perp-keeper: run: --log-level: Invalid option/ },
  { name: 'a command that does not exist', argv: () => ['rm', '-rf', '/'], files: () => ({}), code: 2, match: /unknown command "rm"/ },
  { name: 'a minimum balance that is not a number', argv: runWith('--min-balance', 'lots'), files: settings({}), code: 2, match: /run: --min-balance: "lots" is not a number$/ },
  { name: 'a negative minimum balance', argv: runWith('--min-balance', '-0.5'), files: settings({}), code: 2, match: /run: --min-balance must not be negative, got -0\.5$/ },
  { name: 'a sweep address that is not an address', argv: runWith('--sweep-to', '0x1234', '--sweep-above', '10'), files: settings({}), code: 2, match: /run: --sweep-to must be an address \(0x and 40 hex digits, checksummed if mixed case\), got "0x1234"$/ },
  { name: 'a sweep address with a wrong checksum', argv: runWith('--sweep-to', '0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266', '--sweep-above', '10'), files: settings({}), code: 2, match: /run: --sweep-to must be an address/ },
  { name: 'the zero address as the sweep address', argv: runWith('--sweep-to', '0x0000000000000000000000000000000000000000', '--sweep-above', '10'), files: settings({}), code: 2, match: /run: --sweep-to must not be the zero address/ },
  { name: 'a sweep threshold that is not a number', argv: runWith('--sweep-to', '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', '--sweep-above', 'ten'), files: settings({}), code: 2, match: /run: --sweep-above: "ten" is not a number$/ },
  { name: 'a negative sweep threshold', argv: runWith('--sweep-to', '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', '--sweep-above', '-5'), files: settings({}), code: 2, match: /run: --sweep-above must not be negative, got -5$/ },
  { name: '--sweep-above without --sweep-to', argv: runWith('--sweep-above', '10'), files: settings({}), code: 2, match: /run: --sweep-above needs --sweep-to ADDRESS/ },
  { name: '--sweep-to without --sweep-above', argv: runWith('--sweep-to', '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'), files: settings({}), code: 2, match: /run: --sweep-to needs --sweep-above AMOUNT/ },
];

/** Issue 12, defect 10: errors that pointed the wrong way. */
const pointingRows: Row[] = [
  { name: '--min-profit abc names the flag, not the settings field', argv: runWith('--min-profit', 'abc'), files: settings({}), code: 2, match: /^perp-keeper: run: --min-profit: "abc" is not a number$/ },
  { name: 'a negative --min-profit names the flag', argv: runWith('--min-profit', '-1'), files: settings({}), code: 2, match: /^perp-keeper: run: --min-profit: must not be negative$/ },
  {
    name: 'a bad flag and a bad file field: both, each by its own name',
    argv: runWith('--log-level', 'loud'),
    files: settings({ maxBatch: 0 }),
    code: 1,
    match: /keeper\.json: 2 problems: maxBatch: Too small.*; --log-level: Invalid option: expected one of "trace"/,
  },
  { name: 'Foundry\'s --rpc-url', argv: runWith('--rpc-url', 'http://127.0.0.1:8545'), files: settings({}), code: 2, match: /^perp-keeper: run: unknown option --rpc-url; did you mean --rpc\? \(see perp-keeper run --help\)$/ },
  { name: 'a typo in a flag (--min-proft)', argv: runWith('--min-proft', '1'), files: settings({}), code: 2, match: /run: unknown option --min-proft; did you mean --min-profit\?/ },
  { name: 'a typo in a flag (--deploymnet)', argv: () => ['run', '--rpc', rpc, '--deploymnet', 'deployment.json'], files: settings({}), code: 2, match: /run: unknown option --deploymnet; did you mean --deployment\?/ },
  {
    name: '--private-key: keys are never flags (the value is not echoed)',
    argv: runWith(`--private-key=${KEY}`),
    files: settings({}),
    code: 2,
    match: /^perp-keeper: run: unknown option --private-key; keys are never flags: set KEEPER_PRIVATE_KEY in the environment or in \.env, or pass --keystore FILE \(an encrypted keystore\) \(see perp-keeper run --help\)$/,
  },
  {
    name: 'deploy --private-key points at DEPLOYER_PRIVATE_KEY',
    argv: () => ['deploy', '--rpc', rpc, '--preset', 'hyperliquid', '--out', 'x.json', '--private-key', KEY],
    files: () => ({}),
    code: 2,
    match: /deploy: unknown option --private-key; keys are never flags: set DEPLOYER_PRIVATE_KEY/,
  },
  {
    name: 'a busy health port, refused before any network work (the RPC is not even reachable)',
    argv: () => ['run', '--rpc', 'http://127.0.0.1:1', '--deployment', 'deployment.json', '--config', 'keeper.json', '--health-port', String(busyPort)],
    files: settings({}),
    code: 1,
    match: /^perp-keeper: port \d+ is in use \(another perp-keeper\?\); pass --health-port N, or 0 for any free port$/,
  },
  {
    name: 'a checkpoint locked by a live process',
    argv: runWith('--checkpoint', 'cp.json'),
    files: () => ({ ...settings({})(), 'cp.json.lock': JSON.stringify({ pid: process.ppid }) }),
    code: 1,
    match: new RegExp(`cp\\.json is in use by another process \\(pid ${process.ppid}, its lock is .*cp\\.json\\.lock\\); stop that one first, or pass another file$`),
  },
];

/** `perp-keeper pnl`: a ledger that is missing or corrupt, and bad flags. */
const pnlDeployment = () => ({ 'deployment.json': deploymentToJson(deployment) });
const pnlRows: Row[] = [
  { name: 'pnl: the ledger file is missing', argv: () => ['pnl', '--deployment', 'deployment.json', '--ledger', 'nope.jsonl'], files: pnlDeployment, code: 1, match: /nope\.jsonl: no such file \(no transaction mined yet, or another --ledger\)$/ },
  { name: 'pnl: the ledger is a directory', argv: () => ['pnl', '--deployment', 'deployment.json', '--ledger', '.'], files: pnlDeployment, code: 1, match: /: not a file$/ },
  {
    name: 'pnl: a corrupt ledger (bad lines before the last)',
    argv: () => ['pnl', '--deployment', 'deployment.json', '--ledger', 'l.jsonl'],
    files: () => ({ ...pnlDeployment(), 'l.jsonl': 'garbage\n{"v":1}\n{"v":1}\n' }),
    code: 1,
    match: /l\.jsonl: line 1 is not a ledger entry \(not JSON\), and 2 more: the ledger is corrupt$/,
  },
  { name: 'pnl: 10 MB of one line before the last', argv: () => ['pnl', '--deployment', 'deployment.json', '--ledger', 'l.jsonl'], files: () => ({ ...pnlDeployment(), 'l.jsonl': `${'x'.repeat(TEN_MB)}\n\n` }), code: 1, match: /line 1 is not a ledger entry \(not JSON\): the ledger is corrupt$/ },
  { name: 'pnl: --by week', argv: () => ['pnl', '--deployment', 'deployment.json', '--ledger', 'l.jsonl', '--by', 'week'], files: pnlDeployment, code: 2, match: /^perp-keeper: pnl: --by must be day or tx, got "week"$/ },
  { name: 'pnl: no --deployment', argv: () => ['pnl', '--ledger', 'l.jsonl'], files: () => ({}), code: 2, match: /^perp-keeper: pnl: --deployment is required/ },
  { name: 'pnl: the deployment file is missing', argv: () => ['pnl', '--deployment', 'nope.json', '--ledger', 'l.jsonl'], files: () => ({}), code: 1, match: /nope\.json: no such file$/ },
];

describe('bad ledgers and flags of perp-keeper pnl', () => {
  it.each(pnlRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files?.() ?? {};
    const dir = rowDir(files);
    expectRow(await runInProcess(row.argv(), dir, row.env ?? {}), row, dir, Object.keys(files));
  });
});

describe('bad keeper settings (run --config)', () => {
  it.each(configRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files?.() ?? {};
    const dir = rowDir(files);
    expectRow(await runInProcess(row.argv(), dir, row.env ?? { KEEPER_PRIVATE_KEY: KEY }), row, dir, Object.keys(files));
  });
});

describe('bad deployment files (run --deployment)', () => {
  it.each(deploymentRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files?.() ?? {};
    const dir = rowDir(files);
    expectRow(await runInProcess(row.argv(), dir, row.env ?? { KEEPER_PRIVATE_KEY: KEY }), row, dir, Object.keys(files));
  });
});

describe('defect 10: a hand-edited deployment file is checked against the chain', () => {
  it.each(handEditedRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files?.() ?? {};
    const dir = rowDir(files);
    expectRow(await runInProcess(row.argv(), dir, row.env ?? { KEEPER_PRIVATE_KEY: KEY }), row, dir, Object.keys(files));
  });
});

describe('defect 10: errors that name the flag, suggest the right one, and check the port and the lock first', () => {
  it.each(pointingRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files?.() ?? {};
    const dir = rowDir(files);
    expectRow(await runInProcess(row.argv(), dir, row.env ?? { KEEPER_PRIVATE_KEY: KEY }), row, dir, Object.keys(files));
  });
});

describe('bad flags', () => {
  it.each(flagRows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files?.() ?? {};
    const dir = rowDir(files);
    expectRow(await runInProcess(row.argv(), dir, row.env ?? { KEEPER_PRIVATE_KEY: KEY }), row, dir, Object.keys(files));
  });

  it('deploy: an output path under a file writes nothing', async () => {
    const dir = rowDir({ 'f.txt': 'x' });
    const r = await runInProcess(['deploy', '--rpc', rpc, '--preset', 'hyperliquid', '--out', 'f.txt/out.json'], dir, {});
    expectRow(r, { code: 1, match: /f\.txt\/out\.json: .*f\.txt is not a directory$/ }, dir, ['f.txt']);
  });
});

// ---------------------------------------------------------------------------------------------
// The real binary: .env keys, argv that is not UTF-8
// ---------------------------------------------------------------------------------------------

describe('the binary: .env keys and argv that is not UTF-8', () => {
  const body = KEY.slice(2);
  const envRows: [string, string][] = [
    ['63 hex digits', `0x${body.slice(0, 63)}`],
    ['65 hex digits', `0x${body}a`],
    ['not hex', `0x${'zz'.repeat(32)}`],
    ['0x alone', '0x'],
    ['zero', `0x${'0'.repeat(64)}`],
    ['above the curve order', `0x${'f'.repeat(64)}`],
    ['a mnemonic instead of a key', 'test test test test test test test test test test test junk'],
    ['a key with a space inside', `${KEY.slice(0, 30)} ${KEY.slice(30)}`],
  ];
  it.concurrent.each(envRows)('.env KEEPER_PRIVATE_KEY: %s', async (_name, value) => {
    const files = { '.env': `KEEPER_PRIVATE_KEY="${value}"\n`, 'deployment.json': deploymentToJson(deployment) };
    const dir = rowDir(files);
    const r = await runThroughShell(`run --rpc ${rpc} --deployment deployment.json`, dir);
    expectRow(r, { code: 1, match: /^perp-keeper: KEEPER_PRIVATE_KEY is not a private key \(expected 32 bytes as 64 hex digits, with or without 0x\)$/ }, dir, Object.keys(files));
    if (value.length > 12) expect(r.stderr).not.toContain(value.slice(2, 14));
  });

  it.concurrent.each([
    ['--rpc', `run --rpc $'http://\\xff\\xfe' --deployment deployment.json`, 2, /--rpc must be an http\(s\) or ws\(s\) URL$/],
    ['--deployment', `run --rpc ${'RPC'} --deployment $'\\xff\\xfe.json'`, 1, /\uFFFD\uFFFD\.json: no such file$/],
    ['a flag name', `run $'--\\xff' x`, 2, /run: unknown option --\uFFFD/],
  ] as const)('argv that is not UTF-8: %s', async (_name, script, code, match) => {
    const files = { 'deployment.json': deploymentToJson(deployment), '.env': `KEEPER_PRIVATE_KEY=${KEY}\n` };
    const dir = rowDir(files);
    const r = await runThroughShell(script.replace('RPC', rpc), dir);
    expectRow(r, { code, match }, dir, Object.keys(files));
  });
});

// ---------------------------------------------------------------------------------------------
// Scenario files for `perp-keeper simulate`
// ---------------------------------------------------------------------------------------------

describe('bad scenario files (perp-keeper simulate)', () => {
  // Each row is refused while the scenario is read, before any chain starts: nothing runs, and the
  // row's directory holds only its input afterwards (no out/, no report).
  const good = {
    blockTime: '5s',
    duration: '1m',
    markets: { BTC: { path: { kind: 'crash', drop: '30%', over: '30s' } } },
    traders: { count: 3, leverage: { min: '2x', max: '10x' }, size: { min: '$1,000', max: '$5,000' } },
  };
  const scenario = (over: Record<string, unknown>) => JSON.stringify({ ...good, ...over });
  const btcPath = (path: Record<string, unknown>) => scenario({ markets: { BTC: { path } } });
  const rows: [name: string, file: string, text: string | Buffer, match: RegExp][] = [
    ['empty file', 's.json', '', /s\.json: /],
    ['malformed JSON', 's.json', '{"blockTime": "5s",', /s\.json: /],
    ['malformed YAML', 's.yaml', 'markets:\n  BTC: [unclosed\n', /s\.yaml: /],
    ['not a mapping', 's.yaml', '- 1\n- 2\n', /s\.yaml: /],
    ['binary bytes', 's.json', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b]), /s\.json: /],
    ['unknown key', 's.json', scenario({ blockTiem: '5s' }), /s\.json: .*blockTiem/],
    ['__proto__ key', 's.json', '{"__proto__": {"polluted": true}, ' + scenario({}).slice(1), /s\.json: /],
    ['constructor.prototype key', 's.yaml', 'constructor: { prototype: { polluted: true } }\n', /s\.yaml: /],
    ['negative trader count', 's.json', scenario({ traders: { ...good.traders, count: -5 } }), /s\.json: .*traders\.count/],
    ['a billion traders', 's.json', scenario({ traders: { ...good.traders, count: 1e9 } }), /s\.json: .*traders\.count/],
    ['fractional trader count', 's.json', scenario({ traders: { ...good.traders, count: 2.5 } }), /s\.json: .*traders\.count/],
    ['negative leverage', 's.json', scenario({ traders: { ...good.traders, leverage: { min: '-2x', max: '10x' } } }), /s\.json: .*leverage/],
    ['zero block time', 's.json', scenario({ blockTime: '0s' }), /s\.json: .*blockTime/],
    ['a duration of a thousand years', 's.json', scenario({ duration: '8760000h' }), /s\.json: .*duration/],
    ['a price path to zero (crash 100%)', 's.json', btcPath({ kind: 'crash', drop: '100%', over: '30s' }), /s\.json: .*drop/],
    ['a price path below zero (crash 150%)', 's.json', btcPath({ kind: 'crash', drop: '150%', over: '30s' }), /s\.json: .*drop/],
    ['a negative start price', 's.json', scenario({ markets: { BTC: { startPrice: '-$5', path: good.markets.BTC.path } } }), /s\.json: .*startPrice/],
    ['unknown path kind', 's.json', btcPath({ kind: 'moon' }), /s\.json: .*kind/],
    ['unknown market', 's.json', scenario({ markets: { DOGE: good.markets.BTC } }), /s\.json: .*DOGE/],
    ['unknown preset', 's.json', scenario({ preset: 'nosuch' }), /nosuch/],
    ['a 10 MB string', 's.json', scenario({ name: 'x'.repeat(TEN_MB) }), /s\.json: .*name/],
    ['a 20 MB file', 's.json', scenario({ description: 'x'.repeat(2 * TEN_MB) }), /s\.json: larger than 16 MB/],
    ['YAML alias bomb', 's.yaml', ['a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join('\n') + '\n', /s\.yaml: /],
    ['a csv path whose file is missing', 's.json', btcPath({ kind: 'csv', file: 'nope.csv' }), /nope\.csv/],
    ['a control character in a value', 's.json', scenario({ name: 'crash\u001b[2J\u0007' }), /s\.json: /],
    ['index feeds: one feed, no index', 's.json', scenario({ markets: { BTC: { path: good.markets.BTC.path, feeds: ['same'] } } }), /s\.json: 2 problems: markets\.BTC\.feeds: give 2 to 7 feeds, got 1; markets\.BTC\.index: required with feeds/],
    ['index feeds: minSources above the feeds', 's.json', scenario({ markets: { BTC: { path: good.markets.BTC.path, feeds: ['same', 'same'], index: { minSources: 3, maxDeviation: '5%' } } } }), /s\.json: markets\.BTC\.index\.minSources: must be from 1 to the number of feeds \(2\), got 3/],
  ];
  it.each(rows)('%s', async (_name, file, text, match) => {
    const dir = rowDir({ [file]: text });
    const r = await runInProcess(['simulate', '--scenario', file, '--out', 'out'], dir, {});
    expectRow(r, { code: 1, match }, dir, [file]);
  });
});

describe('simulate --seeds and --jobs (issue 15)', () => {
  // Refused on the command line, before the scenario is run: exit 2, nothing written.
  const good = JSON.stringify({
    blockTime: '5s',
    duration: '1m',
    markets: { BTC: { path: { kind: 'crash', drop: '30%', over: '30s' } } },
    traders: { count: 3, leverage: { min: '2x', max: '10x' }, size: { min: '$1,000', max: '$5,000' } },
  });
  const rows: [name: string, flags: string[], match: RegExp][] = [
    ['--seeds 0', ['--seeds', '0'], /^perp-keeper: simulate: --seeds must be between 1 and 1000 seeds, got 0$/],
    ['--seeds -1', ['--seeds', '-1'], /^perp-keeper: simulate: --seeds must be a number of seeds or a comma-separated list of seeds, got "-1"$/],
    ['--seeds x', ['--seeds', 'x'], /^perp-keeper: simulate: --seeds must be a number of seeds or a comma-separated list of seeds, got "x"$/],
    ['--seeds too many', ['--seeds', '1001'], /^perp-keeper: simulate: --seeds must be between 1 and 1000 seeds, got 1001$/],
    ['--seeds with an empty entry', ['--seeds', '1,,2'], /^perp-keeper: simulate: --seeds must not have an empty entry in its list$/],
    ['--seeds with a seed twice', ['--seeds', '1,2,1'], /^perp-keeper: simulate: --seeds lists seed "1" twice$/],
    ['--seed and --seeds together', ['--seed', '7', '--seeds', '3'], /^perp-keeper: simulate: --seed and --seeds together: give one seed or several$/],
    ['--jobs 0', ['--jobs', '0'], /^perp-keeper: simulate: --jobs must be between 1 and 32, got 0$/],
    ['--jobs -1', ['--jobs', '-1'], /^perp-keeper: simulate: --jobs must be a whole number, got "-1"$/],
    ['--jobs x', ['--jobs', 'x'], /^perp-keeper: simulate: --jobs must be a whole number, got "x"$/],
    ['--jobs too many', ['--jobs', '33'], /^perp-keeper: simulate: --jobs must be between 1 and 32, got 33$/],
  ];
  it.each(rows)('%s', async (_name, flags, match) => {
    const dir = rowDir({ 's.json': good });
    const r = await runInProcess(['simulate', '--scenario', 's.json', '--out', 'out', ...flags], dir, {});
    expectRow(r, { code: 2, match }, dir, ['s.json']);
  });
});
