/**
 * Issue 14, secrets off the command line: every command that takes --rpc reads KEEPER_RPC_URLS (or
 * the file KEEPER_RPC_URLS_FILE names) when the flag is absent (several: see rpc-urls.test.ts). A bad
 * URL is refused in one line that says which; a URL is never echoed (it may carry an API key).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainClients } from '../../src/chain/clients.ts';
import { deployReferenceMarket, type Deployment } from '../../src/chain/deploy.ts';
import { deploymentToJson } from '../../src/chain/deployment.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { loadMarkets, loadPreset } from '../../src/config/presets.ts';
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain } from '../support/anvil.ts';
import { expectOneLineError, type CliResult } from './cli.ts';

const KEY = ANVIL_DEV_PRIVATE_KEYS[3];
const TRADER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const SECRET = 'sup3rs3cr3tap1k3y';

const dir = mkdtempSync(path.join(tmpdir(), 'perp-keeper-rpc-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let rpc: string;
let deployment: Deployment;

beforeAll(async () => {
  const chain = await getTestChain();
  rpc = chain.anvil.rpcUrl;
  const c = { publicClient: chain.publicClient, walletClient: chain.wallet(0) } as unknown as ChainClients;
  deployment = await deployReferenceMarket(c, { markets: loadMarkets(), preset: loadPreset('hyperliquid') });
  writeFileSync(path.join(dir, 'deployment.json'), deploymentToJson(deployment));
  writeFileSync(path.join(dir, 'rpc.txt'), `${rpc}\n`);
}, 120_000);

async function runMain(argv: string[], env: Record<string, string>): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env, cwd: dir, signal: AbortSignal.timeout(30_000) };
  const code = await main(argv, io);
  return { code, signal: null, stdout: stdout.map((l) => `${l}\n`).join(''), stderr: stderr.map((l) => `${l}\n`).join(''), ms: 0 };
}

const status = ['status', '--deployment', 'deployment.json', '--json'];
const quote = ['quote', '--deployment', 'deployment.json', '--account', TRADER, '--json'];

describe('issue 14: KEEPER_RPC_URLS and KEEPER_RPC_URLS_FILE stand in for --rpc', () => {
  it.each([
    ['status, KEEPER_RPC_URLS', status, () => ({ KEEPER_RPC_URLS: rpc })],
    ['status, KEEPER_RPC_URLS_FILE', status, () => ({ KEEPER_RPC_URLS_FILE: 'rpc.txt' })],
    ['quote on chain, KEEPER_RPC_URLS_FILE', quote, () => ({ KEEPER_RPC_URLS_FILE: path.join(dir, 'rpc.txt') })],
    ['status, --rpc wins over a variable that would be refused', [...status, '--rpc', 'RPC'], () => ({ KEEPER_RPC_URLS: 'a,b' })],
  ] as const)('%s', async (_name, argv, env) => {
    const r = await runMain(argv.map((a) => (a === 'RPC' ? rpc : a)), env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBeTypeOf('object');
  });

  it('a hypothetical quote stays hypothetical with KEEPER_RPC_URLS set', async () => {
    const r = await runMain(['quote', '--market', 'BTC', '--side', 'long', '--size', '1', '--collateral', '10000', '--mark', '60000', '--json'], { KEEPER_RPC_URLS: rpc });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'hypothetical' });
  });

  it('deploy reads it too', async () => {
    const r = await runMain(['deploy', '--preset', 'hyperliquid', '--out', 'out/d.json'], { KEEPER_RPC_URLS: rpc });
    expect(r.code, r.stderr).toBe(0);
    rmSync(path.join(dir, 'out'), { recursive: true, force: true });
  }, 60_000);
});

describe('issue 14: a bad KEEPER_RPC_URLS is one line, and never echoed', () => {
  const run = ['run', '--deployment', 'deployment.json', '--health-port', '0'];
  it.each([
    ['neither --rpc nor the variable (run)', run, {}, 2, /^perp-keeper: run: --rpc is required \(or set KEEPER_RPC_URLS in the environment; see perp-keeper run --help\)$/],
    ['neither (status)', status, {}, 2, /^perp-keeper: status: --rpc is required \(or set KEEPER_RPC_URLS/],
    ['neither (quote on chain)', quote, {}, 2, /^perp-keeper: quote: --rpc is required \(or set KEEPER_RPC_URLS/],
    ['neither (deploy)', ['deploy', '--preset', 'hyperliquid', '--out', 'x.json'], {}, 2, /^perp-keeper: deploy: --rpc is required \(or set KEEPER_RPC_URLS/],
    ['two URLs, the second not a URL', run, { KEEPER_RPC_URLS: `http://a.example/${SECRET},${SECRET}` }, 1, /^perp-keeper: KEEPER_RPC_URLS: URL 2 of 2 is not an http\(s\) or ws\(s\) URL$/],
    ['two URLs in the file, one a line, the second bad', status, { KEEPER_RPC_URLS_FILE: 'two.txt' }, 1, /^perp-keeper: KEEPER_RPC_URLS_FILE \(two\.txt\): URL 2 of 2 is not an http\(s\) or ws\(s\) URL$/],
    ['not a URL', run, { KEEPER_RPC_URLS: SECRET }, 1, /^perp-keeper: KEEPER_RPC_URLS: not an http\(s\) or ws\(s\) URL$/],
    ['an ftp:// URL', status, { KEEPER_RPC_URLS: `ftp://127.0.0.1:8546/${SECRET}` }, 1, /^perp-keeper: KEEPER_RPC_URLS: not an http\(s\) or ws\(s\) URL$/],
    ['both the variable and the file', run, { KEEPER_RPC_URLS: `http://x/${SECRET}`, KEEPER_RPC_URLS_FILE: 'rpc.txt' }, 1, /^perp-keeper: KEEPER_RPC_URLS: both KEEPER_RPC_URLS and KEEPER_RPC_URLS_FILE are set; unset one$/],
    ['the file missing', run, { KEEPER_RPC_URLS_FILE: 'nope.txt' }, 1, /^perp-keeper: KEEPER_RPC_URLS_FILE: nope\.txt: no such file$/],
    ['the file a directory', run, { KEEPER_RPC_URLS_FILE: '.' }, 1, /^perp-keeper: KEEPER_RPC_URLS_FILE: \.: is a directory$/],
    ['a send relay that is not a URL', [...run, '--rpc', 'RPC'], { KEEPER_SEND_RPC_URLS: SECRET, KEEPER_PRIVATE_KEY: KEY }, 1, /^perp-keeper: KEEPER_SEND_RPC_URLS: not an http\(s\) or ws\(s\) URL$/],
  ] as const)('%s', async (_name, argv, env, code, match) => {
    writeFileSync(path.join(dir, 'two.txt'), `http://a.example/${SECRET}\n${SECRET}\n`);
    const r = await runMain(argv.map((a) => (a === 'RPC' ? rpc : a)), { ...env });
    expectOneLineError(r, code, match);
    expect(r.stderr).not.toContain(SECRET);
  });
});
