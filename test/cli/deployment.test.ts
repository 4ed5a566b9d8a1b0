/**
 * The deployment file: written atomically, read back with validation that names each problem, and
 * checked against the RPC's chain. Plus the deterministic trader plan. No chain needed.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/chain/deploy.ts';
import {
  DeploymentChainMismatchError,
  checkDeploymentChain,
  checkOutputPath,
  readDeployment,
  writeDeployment,
} from '../../src/chain/deployment.ts';
import { loadMarkets } from '../../src/config/presets.ts';
import { ConfigError } from '../../src/lib/errors.ts';
import { planTraders, traderPrivateKey, type SeedMarket } from '../../src/sim/seedTraders.ts';
import { tempDir } from './cli.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

const D: Deployment = {
  chainId: 31337,
  deployBlock: 12345678901234567890n,
  deployer: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
  preset: 'hyperliquid',
  contracts: { market: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512', token: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
  markets: [{ id: 0, symbol: 'BTC', feed: '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0', feedDecimals: 8 }],
};

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain('\n');
    return (e as ConfigError).shortMessage;
  }
  throw new Error('expected a ConfigError');
}

describe('deployment file', () => {
  it('round-trips: bigint as a decimal string, chain id as a number, addresses checksummed', () => {
    const file = path.join(tmp.dir, 'nested', 'dir', 'd.json');
    writeDeployment(file, D);
    const text = readFileSync(file, 'utf8');
    const raw = JSON.parse(text);
    expect(raw.chainId).toBe(31337);
    expect(raw.deployBlock).toBe('12345678901234567890');
    expect(raw.contracts.market).toBe('0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512');
    expect(text).toContain('\n  "chainId": 31337,\n'); // pretty
    const back = readDeployment(file);
    expect(back.deployBlock).toBe(D.deployBlock);
    expect(back.contracts.market.toLowerCase()).toBe(D.contracts.market);
    expect(readdirSync(path.dirname(file))).toEqual(['d.json']); // no temp file left
  });

  it('replaces an existing file whole (temp file + rename)', () => {
    const file = path.join(tmp.dir, 'replace.json');
    writeFileSync(file, 'old');
    writeDeployment(file, { ...D, preset: 'binance' });
    expect(readDeployment(file).preset).toBe('binance');
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a failed write leaves nothing behind', () => {
    const dir = path.join(tmp.dir, 'a-directory.json');
    writeDeployment(path.join(dir, 'x.json'), D); // makes a-directory.json a directory
    expect(() => writeDeployment(dir, D)).toThrow();
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(problem(() => checkOutputPath(dir))).toMatch(/is a directory/);
  });

  it('refuses a missing file, bad JSON, missing fields and bad addresses with one line', () => {
    const f = (name: string, content: string) => {
      const p = path.join(tmp.dir, name);
      writeFileSync(p, content);
      return p;
    };
    expect(problem(() => readDeployment(path.join(tmp.dir, 'nope.json')))).toMatch(/nope\.json: no such file$/);
    expect(problem(() => readDeployment(f('bad.json', '{"chainId": 1,')))).toMatch(/bad\.json: not valid JSON/);
    const { contracts: _c, ...noContracts } = JSON.parse(JSON.stringify({ ...D, deployBlock: '1' }));
    expect(problem(() => readDeployment(f('missing.json', JSON.stringify(noContracts))))).toMatch(/missing\.json: contracts: missing$/);
    const badAddr = { ...D, deployBlock: '1', contracts: { ...D.contracts, token: '0x1234' } };
    expect(problem(() => readDeployment(f('addr.json', JSON.stringify(badAddr))))).toMatch(/addr\.json: contracts\.token: not an address$/);
    const several = { ...D, chainId: 'one', deployBlock: '-1', markets: [] };
    expect(problem(() => readDeployment(f('several.json', JSON.stringify(several))))).toMatch(
      /several\.json: 3 problems: chainId: .*; deployBlock: .*; markets: must list at least one market$/,
    );
  });

  it('checkDeploymentChain names both chain ids', () => {
    expect(() => checkDeploymentChain(D, 31337)).not.toThrow();
    expect(() => checkDeploymentChain(D, 1, 'deployments/devnet.json')).toThrow(DeploymentChainMismatchError);
    expect(() => checkDeploymentChain(D, 1, 'deployments/devnet.json')).toThrow(
      'deployments/devnet.json is for chain 31337 but the RPC is chain 1',
    );
  });
});

describe('trader plan', () => {
  const markets: SeedMarket[] = loadMarkets().map((m, id) => ({ ...m, id, price: m.initialPrice }));

  it('is deterministic: same seed, same traders; another seed, others', () => {
    const a = planTraders({ count: 12, seed: 'x', markets });
    const b = planTraders({ count: 12, seed: 'x', markets });
    const c = planTraders({ count: 12, seed: 'y', markets });
    expect(b).toEqual(a);
    expect(c.map((t) => t.address)).not.toEqual(a.map((t) => t.address));
    // Adding traders does not change the earlier ones.
    expect(planTraders({ count: 20, seed: 'x', markets }).slice(0, 12)).toEqual(a);
    expect(a[3]!.privateKey).toBe(traderPrivateKey('x', 3));
  });

  it('spreads sides, markets, tiers and leverage', () => {
    const all = planTraders({ count: 100, seed: 'spread', markets }).flatMap((t) => t.positions);
    expect(all.filter((p) => p.size > 0n).length).toBeGreaterThan(all.length / 4);
    expect(all.filter((p) => p.size < 0n).length).toBeGreaterThan(all.length / 4);
    expect(new Set(all.map((p) => p.tier))).toEqual(new Set([0, 1, 2, 3]));
    expect(all.some((p) => p.leveragePpm <= 5_000_000n)).toBe(true);
    expect(all.some((p) => p.leveragePpm >= 50_000_000n)).toBe(true);
  });

  it('returns nothing for zero traders', () => {
    expect(planTraders({ count: 0, seed: 'x', markets })).toEqual([]);
  });
});

