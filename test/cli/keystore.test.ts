/**
 * Issue 14, keys: `--keystore FILE` reads an encrypted keystore (what `cast wallet import` writes),
 * its password from the environment (never argv). Every bad keystore, password or combination of
 * key sources ends with one line on stderr, exit 1, nothing written, and neither the key nor the
 * password in any output. The good path runs the real daemon from a keystore, with its RPC URL
 * and password from files named in the environment, and checks the logs for secrets.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainClients } from '../../src/chain/clients.ts';
import { deployReferenceMarket, type Deployment } from '../../src/chain/deploy.ts';
import { deploymentToJson } from '../../src/chain/deployment.ts';
import { deployNativeUsdFeed } from '../../src/chain/nativeFeed.ts';
import { KeystoreAddressError, KeystoreFormatError, KeystorePasswordError, decryptKeystore } from '../../src/chain/keystore.ts';
import type { CliIO } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { loadMarkets, loadPreset } from '../../src/config/presets.ts';
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain, waitFor } from '../support/anvil.ts';
import { expectOneLineError, startCli, type CliResult } from './cli.ts';
import { castKeystore, encryptKeystore, type KeystoreJson } from './keystores.ts';

const KEY = ANVIL_DEV_PRIVATE_KEYS[5];
const OTHER_KEY = ANVIL_DEV_PRIVATE_KEYS[6];
const ADDRESS = '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc';
const PASSWORD = 'correct horse battery staple';

const root = mkdtempSync(path.join(tmpdir(), 'perp-keeper-keystore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let rpc: string;
let deployment: Deployment;
/** The keystore `cast wallet import` wrote for KEY under PASSWORD. */
let castWritten: string;

beforeAll(async () => {
  const chain = await getTestChain();
  rpc = chain.anvil.rpcUrl;
  const c = { publicClient: chain.publicClient, walletClient: chain.wallet(0) } as unknown as ChainClients;
  deployment = { ...(await deployReferenceMarket(c, { markets: loadMarkets(), preset: loadPreset('hyperliquid') })), nativeUsdFeed: await deployNativeUsdFeed(c) };
  const castDir = path.join(root, 'cast');
  mkdirSync(castDir);
  castWritten = await castKeystore(castDir, 'keeper', KEY, PASSWORD);
}, 120_000);

async function runMain(argv: string[], dir: string, env: Record<string, string>): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env, cwd: dir, signal: AbortSignal.timeout(30_000) };
  const code = await main(argv, io);
  return { code, signal: null, stdout: stdout.map((l) => `${l}\n`).join(''), stderr: stderr.map((l) => `${l}\n`).join(''), ms: 0 };
}

function rowDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(root, 'row-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** No key (either), no password, in any output. */
function expectNoSecrets(text: string): void {
  for (const k of [KEY, OTHER_KEY]) expect(text.toLowerCase()).not.toContain(k.slice(2, 26).toLowerCase());
  expect(text).not.toContain(PASSWORD);
}

describe('issue 14: --keystore decrypts what cast wallet import writes', () => {
  it("a keystore written by the project's cast decrypts to the imported key", async () => {
    const parsed = JSON.parse(castWritten) as KeystoreJson;
    expect(parsed.crypto.kdf).toBe('scrypt');
    const d = await decryptKeystore('keeper', castWritten, PASSWORD);
    expect(d).toEqual({ privateKey: KEY, address: ADDRESS });
  });

  it("a geth-style keystore (PBKDF2, 'Crypto', the address field) decrypts too", async () => {
    const { crypto, ...rest } = encryptKeystore(KEY, PASSWORD, { kdf: 'pbkdf2', address: true });
    const d = await decryptKeystore('geth', JSON.stringify({ ...rest, Crypto: crypto }), PASSWORD);
    expect(d.address).toBe(ADDRESS);
  });

  it('errors are decided by class: wrong password, malformed file, another address', async () => {
    await expect(decryptKeystore('k', castWritten, 'wrong')).rejects.toBeInstanceOf(KeystorePasswordError);
    await expect(decryptKeystore('k', '{"version":3}', PASSWORD)).rejects.toBeInstanceOf(KeystoreFormatError);
    const other = { ...encryptKeystore(KEY, PASSWORD), address: ADDRESS.replace('99', '11') };
    await expect(decryptKeystore('k', JSON.stringify(other), PASSWORD)).rejects.toBeInstanceOf(KeystoreAddressError);
  });
});

type Row = { name: string; files: () => Record<string, string>; argv?: string[]; env: Record<string, string>; match: RegExp };

const ks = (over: (k: KeystoreJson) => unknown = (k) => k, key: Hex = KEY) => JSON.stringify(over(encryptKeystore(key, PASSWORD)));
const withCrypto = (f: (c: KeystoreJson['crypto']) => object) => (k: KeystoreJson) => ({ ...k, crypto: f(k.crypto) });
const pw = { KEEPER_KEYSTORE_PASSWORD: PASSWORD };
const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;

const rows: Row[] = [
  { name: 'wrong password', files: () => ({ 'k.json': castWritten }), env: { KEEPER_KEYSTORE_PASSWORD: 'Tr0ub4dor&3' }, match: /k\.json: wrong password \(the keystore's MAC does not match\)$/ },
  {
    name: 'wrong password from KEEPER_KEYSTORE_PASSWORD_FILE',
    files: () => ({ 'k.json': castWritten, 'pw.txt': 'not it\n' }),
    env: { KEEPER_KEYSTORE_PASSWORD_FILE: 'pw.txt' },
    match: /k\.json: wrong password/,
  },
  { name: 'no password set', files: () => ({ 'k.json': castWritten }), env: {}, match: /--keystore needs its password in KEEPER_KEYSTORE_PASSWORD or KEEPER_KEYSTORE_PASSWORD_FILE \(never on the command line\)$/ },
  {
    name: 'both password variables set',
    files: () => ({ 'k.json': castWritten, 'pw.txt': PASSWORD }),
    env: { ...pw, KEEPER_KEYSTORE_PASSWORD_FILE: 'pw.txt' },
    match: /KEEPER_KEYSTORE_PASSWORD: both KEEPER_KEYSTORE_PASSWORD and KEEPER_KEYSTORE_PASSWORD_FILE are set; unset one$/,
  },
  { name: 'password file missing', files: () => ({ 'k.json': castWritten }), env: { KEEPER_KEYSTORE_PASSWORD_FILE: 'nope.txt' }, match: /KEEPER_KEYSTORE_PASSWORD_FILE: nope\.txt: no such file$/ },
  { name: 'a keystore and KEEPER_PRIVATE_KEY both set', files: () => ({ 'k.json': castWritten }), env: { ...pw, KEEPER_PRIVATE_KEY: OTHER_KEY }, match: /both --keystore and KEEPER_PRIVATE_KEY are set; use one$/ },
  { name: 'keystore file missing', files: () => ({}), env: pw, match: /k\.json: no such file$/ },
  { name: 'keystore is a directory', files: () => ({}), argv: ['--keystore', '.'], env: pw, match: /: is a directory$/ },
  { name: 'not JSON', files: () => ({ 'k.json': 'not json' }), env: pw, match: /k\.json: not a keystore \(not valid JSON\)$/ },
  { name: 'truncated', files: () => ({ 'k.json': castWritten.slice(0, 120) }), env: pw, match: /k\.json: not a keystore \(not valid JSON\)$/ },
  { name: 'a deployment file instead', files: () => ({ 'k.json': deploymentToJson(deployment) }), env: pw, match: /k\.json: not a v3 keystore \(version: / },
  { name: 'version 1', files: () => ({ 'k.json': ks((k) => ({ ...k, version: 1 })) }), env: pw, match: /k\.json: not a v3 keystore \(version: / },
  { name: 'no crypto section', files: () => ({ 'k.json': '{"version":3}' }), env: pw, match: /k\.json: not a v3 keystore \(no crypto section\)$/ },
  { name: 'unknown kdf', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, kdf: 'argon2' }))) }), env: pw, match: /k\.json: not a v3 keystore \(crypto\.kdf: / },
  { name: 'unknown cipher', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, cipher: 'aes-256-gcm' }))) }), env: pw, match: /k\.json: not a v3 keystore \(crypto\.cipher: / },
  {
    name: 'scrypt n = 2^30 (16 GiB of memory) refused before deriving',
    files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, kdfparams: { ...c.kdfparams, n: 2 ** 30 } }))) }),
    env: pw,
    match: /k\.json: not a v3 keystore \(crypto\.kdfparams\.n: Too big/,
  },
  { name: 'scrypt n not a power of 2', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, kdfparams: { ...c.kdfparams, n: 1000 } }))) }), env: pw, match: /kdfparams\.n: must be a power of 2/ },
  { name: 'a salt that is not hex', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, kdfparams: { ...c.kdfparams, salt: 'zz' } }))) }), env: pw, match: /kdfparams\.salt: not hex/ },
  { name: 'a short iv', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, cipherparams: { iv: 'abcd' } }))) }), env: pw, match: /crypto\.cipherparams\.iv: not 16 bytes of hex/ },
  { name: 'a ciphertext altered (one bit)', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, ciphertext: flip(c.ciphertext) }))) }), env: pw, match: /k\.json: wrong password \(the keystore's MAC does not match\)$/ },
  { name: 'a MAC altered', files: () => ({ 'k.json': ks(withCrypto((c) => ({ ...c, mac: flip(c.mac) }))) }), env: pw, match: /k\.json: wrong password/ },
  {
    name: 'a key for another address (the file names one, the key is another)',
    files: () => ({ 'k.json': ks((k) => ({ ...k, address: ADDRESS.slice(2).toLowerCase() }), OTHER_KEY) }),
    env: pw,
    match: /k\.json: holds the key of 0x976EA74026E726554dB657fA54763abd0C3a0aa9, but the file names 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc$/,
  },
  {
    name: 'a decrypted key that is zero',
    files: () => ({ 'k.json': ks((k) => k, `0x${'0'.repeat(64)}`) }),
    env: pw,
    match: /k\.json: the decrypted key is not a valid secp256k1 private key$/,
  },
  { name: 'a 10 MB file', files: () => ({ 'k.json': `{"version":3,"x":"${'a'.repeat(10 * 1024 * 1024)}"}` }), env: pw, match: /k\.json: not a keystore \(larger than 64 KiB\)$/ },
];

describe('issue 14: a bad keystore, password or key source is one line and exit 1 (run)', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const files = row.files();
    const dir = rowDir(files);
    const argv = ['run', '--rpc', rpc, '--deployment', 'deployment.json', '--health-port', '0', ...(row.argv ?? ['--keystore', 'k.json'])];
    writeFileSync(path.join(dir, 'deployment.json'), deploymentToJson(deployment));
    const r = await runMain(argv, dir, row.env);
    expectOneLineError(r, 1, row.match);
    expect(r.stdout).toBe('');
    expectNoSecrets(r.stderr);
    expect(readdirSync(dir).sort()).toEqual([...Object.keys(files), 'deployment.json'].sort());
  });
});

describe('issue 14: deploy --keystore, with DEPLOYER_KEYSTORE_PASSWORD', () => {
  it('a wrong password is one line; the right one deploys with the keystore address as the deployer', async () => {
    const dir = rowDir({ 'k.json': castWritten });
    const argv = ['deploy', '--preset', 'hyperliquid', '--out', 'd.json', '--keystore', 'k.json'];
    const wrong = await runMain(argv, dir, { KEEPER_RPC_URLS: rpc, DEPLOYER_KEYSTORE_PASSWORD: 'nope' });
    expectOneLineError(wrong, 1, /k\.json: wrong password/);
    // The keeper's password variable is not the deployer's.
    const keeperVar = await runMain(argv, dir, { KEEPER_RPC_URLS: rpc, KEEPER_KEYSTORE_PASSWORD: PASSWORD });
    expectOneLineError(keeperVar, 1, /--keystore needs its password in DEPLOYER_KEYSTORE_PASSWORD or DEPLOYER_KEYSTORE_PASSWORD_FILE/);
    expect(readdirSync(dir)).toEqual(['k.json']);

    const ok = await runMain(argv, dir, { KEEPER_RPC_URLS: rpc, DEPLOYER_KEYSTORE_PASSWORD: PASSWORD });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe('');
    const written = JSON.parse(readFileSync(path.join(dir, 'd.json'), 'utf8')) as { deployer: string };
    expect(written.deployer).toBe(ADDRESS);
    expectNoSecrets(ok.stdout);
  }, 60_000);
});

describe('issue 14: the daemon signs with a keystore, its URL and password from files the environment names', () => {
  it('run --keystore (no --rpc, no key, no password in argv) starts as the keystore address; logs hold no secret', async () => {
    const apiKey = 'k3y0f4ap1pr0v1d3r5ecret';
    const dir = rowDir({ 'k.json': castWritten, 'pw.txt': `${PASSWORD}\n`, 'rpc.txt': `${rpc}/?apikey=${apiKey}\n`, 'deployment.json': deploymentToJson(deployment) });
    const argv = ['run', '--deployment', 'deployment.json', '--keystore', 'k.json', '--health-port', '0', '--dry-run', '--checkpoint', 'cp.json'];
    const live = startCli(argv, { cwd: dir, env: { KEEPER_KEYSTORE_PASSWORD_FILE: 'pw.txt', KEEPER_RPC_URLS_FILE: 'rpc.txt' } });
    try {
      // Started: past the backfill, following heads (a stop during start-up is another matter).
      await waitFor(() => live.stderr().includes('serving /healthz') || live.child.exitCode !== null, { timeoutMs: 30_000 });
      const starting = live.stderr().split('\n').find((l) => l.includes('"starting"'));
      expect(starting, live.stderr()).toBeDefined();
      expect(JSON.parse(starting!)).toMatchObject({ keeper: ADDRESS, chainId: 31337, dryRun: true });
    } finally {
      live.child.kill('SIGTERM');
    }
    const r = await live.closed;
    expect(r.code, r.stderr).toBe(0);
    expectNoSecrets(r.stdout + r.stderr);
    expect(r.stdout + r.stderr).not.toContain(apiKey);
  }, 60_000);
});
