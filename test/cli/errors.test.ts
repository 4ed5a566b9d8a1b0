/**
 * A user's mistakes end with one line on stderr and a non-zero exit, never a stack trace, and leave
 * no output file behind. The table below runs the real binary (in parallel: each run pays ~1 s of
 * start-up); the cheaper cases after it call main() in-process with captured streams.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainClients } from '../../src/chain/clients.ts';
import { deployReferenceMarket } from '../../src/chain/deploy.ts';
import { deploymentToJson } from '../../src/chain/deployment.ts';
import { main } from '../../src/cli/main.ts';
import { loadMarkets, loadPreset } from '../../src/config/presets.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain } from '../support/anvil.ts';
import { BIN, REPO_ROOT, cliEnv, expectOneLineError, runCli, tempDir, type CliResult } from './cli.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);
const file = (name: string) => path.join(tmp.dir, name);
const ACCOUNT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

/** A port nothing listens on (127.0.0.1): bound by the OS, then released. */
async function unusedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function validDeployment(chainId: number): object {
  return {
    chainId,
    deployBlock: '1',
    deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    preset: 'hyperliquid',
    contracts: { market: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', token: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
    markets: [{ id: 0, symbol: 'BTC', feed: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0', feedDecimals: 8 }],
  };
}

type Case = { name: string; args: string[]; code: number; match: RegExp; out?: string };
const cases: Case[] = [];
const results = new Map<string, CliResult>();
let busy: net.Server;

beforeAll(async () => {
  const { anvil } = await getTestChain();
  const dead = `http://127.0.0.1:${await unusedPort()}`;

  // Tiers whose maintenance rates do not increase.
  const markets = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'markets.json'), 'utf8'));
  markets.BTC.tiers[2].mmr = '0.45%';
  writeFileSync(file('bad-markets.json'), JSON.stringify(markets));
  writeFileSync(file('malformed.json'), '{"chainId": 31337, "contracts": ');
  writeFileSync(file('other-chain.json'), JSON.stringify(validDeployment(1)));

  busy = net.createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  const busyPort = (busy.address() as net.AddressInfo).port;

  const quote = (deployment: string, rpc = anvil.rpcUrl) => ['quote', '--rpc', rpc, '--deployment', deployment, '--account', ACCOUNT];
  cases.push(
    {
      name: 'unknown preset',
      args: ['deploy', '--rpc', anvil.rpcUrl, '--preset', 'nasdaq', '--out', 'unknown-preset.json'],
      code: 1,
      match: /unknown preset "nasdaq"; known presets: reference, hyperliquid, binance/,
      out: 'unknown-preset.json',
    },
    {
      name: 'tiers with non-increasing rates',
      args: ['deploy', '--rpc', anvil.rpcUrl, '--preset', 'hyperliquid', '--markets', 'bad-markets.json', '--out', 'bad-tiers.json'],
      code: 1,
      match: /bad-markets\.json: BTC\.tiers: tier 2: maintenance rate must be above tier 1's .*\(TierRatesNotIncreasing\)/,
      out: 'bad-tiers.json',
    },
    {
      name: 'missing deployment file',
      args: quote('missing.json'),
      code: 1,
      match: /missing\.json: no such file$/,
    },
    {
      name: 'deployment for another chain id',
      args: quote('other-chain.json'),
      code: 1,
      match: /^perp-keeper: other-chain\.json is for chain 1 but the RPC is chain 31337$/,
    },
    {
      name: 'malformed deployment JSON',
      args: quote('malformed.json'),
      code: 1,
      match: /malformed\.json: not valid JSON/,
    },
    {
      name: 'unknown flag',
      args: ['deploy', '--rpc', anvil.rpcUrl, '--preset', 'hyperliquid', '--out', 'unknown-flag.json', '--gas-price', '7'],
      code: 2,
      match: /^perp-keeper: deploy: unknown option --gas-price \(see perp-keeper deploy --help\)$/,
      out: 'unknown-flag.json',
    },
    {
      name: 'unreachable RPC',
      args: ['deploy', '--rpc', dead, '--preset', 'hyperliquid', '--out', 'unreachable.json'],
      code: 1,
      match: new RegExp(`^perp-keeper: cannot reach the RPC at ${dead}/$`),
      out: 'unreachable.json',
    },
    {
      name: 'devnet port already in use',
      args: ['devnet', '--port', String(busyPort), '--traders', '1', '--out', 'busy.json'],
      code: 1,
      match: new RegExp(`^perp-keeper: port ${busyPort} is already in use`),
      out: 'busy.json',
    },
  );
  const runs = await Promise.all(cases.map((c) => runCli(c.args, { cwd: tmp.dir })));
  cases.forEach((c, i) => results.set(c.name, runs[i]!));
  busy.close();
}, 120_000);

describe('bad input through the binary: one line, non-zero exit, no output file', () => {
  it.each([
    'unknown preset',
    'tiers with non-increasing rates',
    'missing deployment file',
    'deployment for another chain id',
    'malformed deployment JSON',
    'unknown flag',
    'unreachable RPC',
    'devnet port already in use',
  ])('%s', (name) => {
    const c = cases.find((x) => x.name === name)!;
    const r = results.get(name)!;
    expectOneLineError(r, c.code, c.match);
    expect(r.stdout).toBe('');
    if (c.out) expect(existsSync(file(c.out))).toBe(false);
  });

  it('leaves no temp files behind', () => {
    expect(readdirSync(tmp.dir).sort()).toEqual(['bad-markets.json', 'malformed.json', 'other-chain.json']);
  });
});

// ---------------------------------------------------------------------------------------------
// In-process: the same main() the binary runs, with captured streams.
// ---------------------------------------------------------------------------------------------

async function runMain(argv: string[], env: Record<string, string> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = {
    stdout: (l) => stdout.push(l),
    stderr: (l) => stderr.push(l),
    env,
    cwd: tmp.dir,
    signal: new AbortController().signal,
  };
  const code = await main(argv, io);
  return { code, stdout: stdout.join('\n'), stderr };
}

describe('bad input in-process', () => {
  const hypo = (over: Record<string, string>) => {
    const flags: Record<string, string> = { market: 'BTC', side: 'long', size: '10', collateral: '34000', mark: '57000', ...over };
    return ['quote', ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v])];
  };

  it.each([
    [hypo({ market: 'DOGE' }), 2, /quote: unknown market "DOGE"; known markets: BTC, ETH, SMALLCAP$/],
    [hypo({ size: 'ten' }), 2, /quote: --size: "ten" is not a number$/],
    [hypo({ size: '0.0001' }), 2, /--size 0\.0001 is not a multiple of BTC's lot size 0\.001$/],
    [hypo({ collateral: '-5' }), 2, /quote: --collateral must not be negative, got "-5"$/],
    [hypo({ mark: '0' }), 2, /quote: --mark must be above 0/],
    [hypo({ side: 'sideways' }), 2, /--side must be long or short/],
    [hypo({ preset: 'nasdaq' }), 1, /unknown preset "nasdaq"/],
    [[...hypo({}), '--rpc', 'http://127.0.0.1:1'], 2, /--market is for a hypothetical quote and --rpc for an on-chain one/],
    [['quote', '--market', 'BTC'], 2, /quote: --side is required/],
    [['quote', '--rpc', 'http://127.0.0.1:1', '--deployment', 'x.json', '--account', '0x1234'], 2, /--account "0x1234" is not an address/],
    [['deploy', '--rpc', '--preset', 'hyperliquid', '--out', 'x.json'], 2, /deploy: --rpc needs a value \(--rpc URL\)$/],
    [['deploy', '--rpc', 'localhost:8545', '--preset', 'hyperliquid', '--out', 'x.json'], 2, /--rpc must be an http\(s\) or ws\(s\) URL/],
    [['deploy', 'now'], 2, /deploy: unexpected argument "now"/],
    [['quote', '--json=yes'], 2, /quote: --json takes no value/],
    [['devnet', '--traders', 'many'], 2, /devnet: --traders must be a whole number, got "many"/],
    [['frobnicate'], 2, /unknown command "frobnicate"; commands: run, status, pnl, demo, devnet, deploy, quote/],
    [['--rpc', 'x'], 2, /expected a command before --rpc/],
  ] as const)('%j → exit %i', async (argv, code, match) => {
    const r = await runMain([...argv]);
    expect(r.code).toBe(code);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(/^perp-keeper: /);
    expect(r.stderr[0]).toMatch(match);
    expect(r.stdout).toBe('');
  });

  it('never prints a private key, even a malformed one', async () => {
    const secret = '0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdeZ';
    const r = await runMain(['deploy', '--rpc', 'http://127.0.0.1:1', '--preset', 'hyperliquid', '--out', 'k.json'], {
      DEPLOYER_PRIVATE_KEY: secret,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual(['perp-keeper: DEPLOYER_PRIVATE_KEY is not a private key (expected 32 bytes as 64 hex digits, with or without 0x)']);
    expect(r.stderr.join('')).not.toContain('1234567890abcdef');
  });

  it('redacts credentials in an unreachable RPC URL', async () => {
    const port = await unusedPort();
    const r = await runMain(['quote', '--rpc', `http://alice:hunter2@127.0.0.1:${port}/v3/0123456789abcdefghijklmnop`, '--deployment', 'k.json', '--account', ACCOUNT]);
    // The deployment file is read first; give it one.
    expect(r.stderr[0]).toMatch(/k\.json: no such file/);
    writeFileSync(file('k.json'), JSON.stringify(validDeployment(31337)));
    const again = await runMain(['quote', '--rpc', `http://alice:hunter2@127.0.0.1:${port}/v3/0123456789abcdefghijklmnop`, '--deployment', 'k.json', '--account', ACCOUNT]);
    expect(again.code).toBe(1);
    expect(again.stderr).toEqual([`perp-keeper: cannot reach the RPC at http://***:***@127.0.0.1:${port}/v3/***`]);
  });

  it('--help prints the command help and exits 0', async () => {
    const r = await runMain(['devnet', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toEqual([]);
    expect(r.stdout).toMatch(/^Usage: perp-keeper devnet /);
    expect(r.stdout).toContain('--traders K');
  });

  describe('perp-keeper run refuses bad input with one line, and never shows the key', () => {
    const key = ANVIL_DEV_PRIVATE_KEYS[3];
    const cases: [string, string[], Record<string, string>, number, RegExp][] = [
      ['missing key', ['--deployment', 'run-ok.json'], {}, 1, /KEEPER_PRIVATE_KEY is not set/],
      ['malformed key', ['--deployment', 'run-ok.json'], { KEEPER_PRIVATE_KEY: `${key.slice(0, -1)}Z` }, 1, /KEEPER_PRIVATE_KEY is not a private key/],
      ['deployment missing', ['--deployment', 'nope.json'], { KEEPER_PRIVATE_KEY: key }, 1, /nope\.json/],
      ['deployment malformed', ['--deployment', 'malformed.json'], { KEEPER_PRIVATE_KEY: key }, 1, /malformed\.json/],
      ['deployment for another chain', ['--deployment', 'run-other.json'], { KEEPER_PRIVATE_KEY: key }, 1, /is for chain 1 but the RPC is chain 31337/],
      ['batch size out of range', ['--deployment', 'run-ok.json', '--max-batch', '0'], { KEEPER_PRIVATE_KEY: key }, 2, /--max-batch must be between 1 and 50/],
      ['negative minimum profit', ['--deployment', 'run-ok.json', '--min-profit', '-1'], { KEEPER_PRIVATE_KEY: key }, 2, /run: --min-profit: must not be negative$/],
      ['zero fee cap', ['--deployment', 'run-ok.json', '--fee-cap-gwei', '0'], { KEEPER_PRIVATE_KEY: key }, 2, /run: --fee-cap-gwei: must be above 0$/],
    ];
    it.each(cases)('%s', async (_name, args, env, code, match) => {
      const chain = await getTestChain();
      writeFileSync(file('run-ok.json'), JSON.stringify(validDeployment(31337)));
      writeFileSync(file('run-other.json'), JSON.stringify(validDeployment(1)));
      const r = await runMain(['run', '--rpc', chain.anvil.rpcUrl, '--health-port', '0', ...args], env);
      expect(r.code).toBe(code);
      expect(r.stderr).toHaveLength(1);
      expect(r.stderr[0]).toMatch(match);
      expect(r.stderr[0]).not.toMatch(/\n\s+at /);
      expect(r.stderr.join('') + r.stdout).not.toContain(key.slice(2, 20));
    });

    it('an unreachable RPC', async () => {
      writeFileSync(file('run-ok.json'), JSON.stringify(validDeployment(31337)));
      const port = await unusedPort();
      const r = await runMain(['run', '--rpc', `http://127.0.0.1:${port}`, '--deployment', 'run-ok.json', '--health-port', '0'], { KEEPER_PRIVATE_KEY: key });
      expect(r.code).toBe(1);
      expect(r.stderr).toEqual([`perp-keeper: cannot reach the RPC at http://127.0.0.1:${port}/`]);
    });
  });
});

describe('defect 10: a reader that goes away (| head) ends the CLI quietly', () => {
  /** Run the binary with a stdout whose reader is gone before the first line is written. */
  function runIntoClosedPipe(args: readonly string[]): Promise<CliResult> {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tmp.dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // as `head` does once it has its lines
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: '', stderr, ms: performance.now() - t0 });
      });
    });
  }

  it('quote … | head -3: exit 0, nothing on stderr', async () => {
    const r = await runIntoClosedPipe(['quote', '--market', 'BTC', '--side', 'long', '--size', '10', '--entry', '60000', '--collateral', '34000', '--mark', '57000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('status … | head -2: exit 0, nothing on stderr', async () => {
    const chain = await getTestChain();
    const c = { publicClient: chain.publicClient, walletClient: chain.wallet(0) } as unknown as ChainClients;
    const d = await deployReferenceMarket(c, { markets: loadMarkets(), preset: loadPreset('hyperliquid') });
    writeFileSync(file('status-pipe.json'), deploymentToJson(d));
    const r = await runIntoClosedPipe(['status', '--rpc', chain.anvil.rpcUrl, '--deployment', 'status-pipe.json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
