/**
 * `perp-keeper deploy` against the worker's Anvil, then seeded traders read back with a stock client
 * (`cast`), using nothing but the deployment file and the ABI: the file is a complete hand-off.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getAddress, type Abi, type AbiParameter } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFeedsLegacyAggregatorProxy } from '../../abi/DataFeedsLegacyAggregatorProxy.ts';
import { EmittingMockV3Aggregator } from '../../abi/EmittingMockV3Aggregator.ts';
import { MockUSDC } from '../../abi/MockUSDC.ts';
import { PerpMarket } from '../../abi/PerpMarket.ts';
import { connect } from '../../src/chain/clients.ts';
import type { Deployment } from '../../src/chain/deploy.ts';
import { readDeployment } from '../../src/chain/deployment.ts';
import { readAccount, readValuation } from '../../src/chain/reads.ts';
import { anvilDevAccount } from '../../src/cli/signer.ts';
import { loadMarkets } from '../../src/config/presets.ts';
import { TOKEN_SCALE, accountHealth, notional, tierIndex } from '../../src/engine/index.ts';
import { seedTraders, type SeedTradersReturnType } from '../../src/sim/seedTraders.ts';
import { getTestChain, withSnapshot } from '../support/anvil.ts';
import { cast, castValue, expectOneLineError, runCli, tempDir, type CliResult } from './cli.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

/** cast's "name(inputs)(outputs)" signature, built from the generated ABI, not typed by hand. */
function castSig(abi: Abi, name: string): string {
  const item = abi.find((x) => x.type === 'function' && x.name === name);
  if (!item || item.type !== 'function') throw new Error(`no function ${name} in the ABI`);
  const type = (p: AbiParameter): string =>
    p.type.startsWith('tuple') && 'components' in p
      ? `(${p.components.map(type).join(',')})${p.type.slice('tuple'.length)}`
      : p.type;
  return `${name}(${item.inputs.map(type).join(',')})(${item.outputs.map(type).join(',')})`;
}

/** "(a, b, (c, d))" → top-level fields, cast annotations removed. */
function tupleFields(s: string): string[] {
  const inner = castValue(s).replace(/^\(/, '').replace(/\)$/, '');
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of inner) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

let rpcUrl: string;
let deployRun: CliResult;
let deployment: Deployment;
let raw: Record<string, unknown>;
let seeded: SeedTradersReturnType;
const outFile = path.join(tmp.dir, 'deployments', 'local.json');

beforeAll(async () => {
  const { anvil } = await getTestChain();
  rpcUrl = anvil.rpcUrl;
  deployRun = await runCli(['deploy', '--rpc', rpcUrl, '--preset', 'hyperliquid', '--out', 'deployments/local.json'], { cwd: tmp.dir });
  if (deployRun.code !== 0) throw new Error(`deploy failed: ${deployRun.stderr}`);
  raw = JSON.parse(readFileSync(outFile, 'utf8'));
  deployment = readDeployment(outFile);
  const c = await connect(rpcUrl, anvilDevAccount(), { pollingInterval: 50 });
  seeded = await seedTraders(c, deployment, { count: 6, seed: 'cli-test' });
}, 120_000);

describe('deploy', () => {
  it("writes the deployment file and says on stderr that it used Anvil's dev key", () => {
    expect(deployRun.code).toBe(0);
    expect(deployRun.stderr).toBe(
      "perp-keeper: DEPLOYER_PRIVATE_KEY is not set; using Anvil's dev account #0 (0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266) on chain 31337\n",
    );
    expect(deployRun.stdout).toMatch(/^Deployed the reference market on chain 31337 \(preset hyperliquid, block \d+\)/);
    expect(deployRun.stdout).toContain(`Wrote ${outFile}`);
    expect(raw.chainId).toBe(31337);
    expect(raw.deployBlock).toMatch(/^\d+$/);
    expect(raw.preset).toBe('hyperliquid');
    expect(raw.protocol).toBe('reference'); // the protocol module that keeps it (src/protocols/reference)
    expect(Object.keys(raw).sort()).toEqual(['chainId', 'contracts', 'deployBlock', 'deployer', 'markets', 'preset', 'protocol']);
    const contracts = raw.contracts as Record<string, string>;
    for (const a of Object.values(contracts)) expect(a).toBe(getAddress(a)); // checksummed
    expect(deployment.markets.map((m) => m.symbol)).toEqual(['BTC', 'ETH', 'SMALLCAP']);
  });

  it('the file and the ABI are enough for cast to read markets, feeds and token', async () => {
    const { market, token } = deployment.contracts;
    expect(castValue(await cast(['call', market, castSig(PerpMarket.abi, 'marketCount'), '--rpc-url', rpcUrl]))).toBe('3');
    const btc = deployment.markets[0]!;
    const round = tupleFields(`(${castValue(await cast(['call', btc.feed, castSig(DataFeedsLegacyAggregatorProxy.abi, 'latestRoundData'), '--rpc-url', rpcUrl])).replace(/\n/g, ', ')})`);
    expect(round[0]).toBe(String(2n ** 64n + 1n)); // phase 1, the aggregator's round 1
    expect(round[1]).toBe('6000000000000'); // 60,000 with 8 decimals
    expect(castValue(await cast(['call', btc.feed, castSig(DataFeedsLegacyAggregatorProxy.abi, 'decimals'), '--rpc-url', rpcUrl]))).toBe(String(btc.feedDecimals));
    expect(castValue(await cast(['call', token, castSig(MockUSDC.abi, 'decimals'), '--rpc-url', rpcUrl]))).toBe('6');
  });
});

describe('feeds', () => {
  it("each market's feed is Chainlink's proxy (owned by the deployer) over an aggregator", async () => {
    const { publicClient } = await getTestChain();
    const specs = loadMarkets();
    for (const m of deployment.markets) {
      const proxy = { address: m.feed, abi: DataFeedsLegacyAggregatorProxy.abi } as const;
      const aggregator = await publicClient.readContract({ ...proxy, functionName: 'aggregator' });
      const agg = { address: aggregator, abi: EmittingMockV3Aggregator.abi } as const;
      expect(await publicClient.readContract({ ...proxy, functionName: 'phaseId' })).toBe(1);
      expect(await publicClient.readContract({ ...proxy, functionName: 'phaseAggregators', args: [1] })).toBe(aggregator);
      expect(await publicClient.readContract({ ...proxy, functionName: 'owner' })).toBe(deployment.deployer);
      expect(await publicClient.readContract({ ...proxy, functionName: 'description' })).toBe(specs.find((x) => x.symbol === m.symbol)!.description);
      // The aggregator is Chainlink's MockV3Aggregator (version 0, latestRound) with its events, round 1 published.
      expect(await publicClient.readContract({ ...agg, functionName: 'version' })).toBe(0n);
      expect(await publicClient.readContract({ ...agg, functionName: 'latestRound' })).toBe(1n);
      expect(await publicClient.readContract({ ...agg, functionName: 'decimals' })).toBe(m.feedDecimals);
    }
  });
});

describe('seeded traders, read back with cast', () => {
  it('every seeded position is on chain as planned', async () => {
    const { market } = deployment.contracts;
    await Promise.all(
      seeded.traders.map(async (t) => {
        const p = t.positions[0]!;
        const [ids, pos] = await Promise.all([
          cast(['call', market, castSig(PerpMarket.abi, 'accountMarkets'), t.address, '--rpc-url', rpcUrl]),
          cast(['call', market, castSig(PerpMarket.abi, 'getPosition'), t.address, String(p.marketId), '--rpc-url', rpcUrl]),
        ]);
        expect(castValue(ids)).toBe(`[${t.positions.map((x) => x.marketId).join(', ')}]`);
        const fields = tupleFields(pos);
        expect(fields[0]).toBe(p.size.toString());
        expect(fields[1]).toBe(p.price.toString());
      }),
    );
  });

  it("the contract's accountHealth (via cast) equals the engine's valuation of the same chain state", async () => {
    const { publicClient } = await getTestChain();
    const c = { publicClient };
    const { market } = deployment.contracts;
    const blockNumber = await publicClient.getBlockNumber();
    const v = await readValuation(c, market, { blockNumber });
    await Promise.all(
      seeded.traders.map(async (t) => {
        const h = accountHealth(await readAccount(c, market, t.address, { blockNumber }), v);
        const fields = tupleFields(
          await cast(['call', market, castSig(PerpMarket.abi, 'accountHealth'), t.address, '--rpc-url', rpcUrl, '--block', String(blockNumber)]),
        );
        // (collateral, equity, maintenance, initial, target, liquidatable, backstop, cooldownEndsAt)
        expect(fields).toEqual([h.collateral, h.equity, h.maintenance, h.initial, h.target, h.liquidatable, h.backstop, h.cooldownEndsAt].map(String));
        // Freshly seeded: within initial margin, so not liquidatable.
        expect(h.equity >= h.initial).toBe(true);
        const fees = t.positions.reduce((s, p) => s + p.fee, 0n);
        expect(h.collateral).toBe(t.depositTokens * TOKEN_SCALE - fees);
      }),
    );
  });

  it('the market holds every deposited token plus pool and insurance (cast balanceOf)', async () => {
    const { market, token } = deployment.contracts;
    const held = BigInt(castValue(await cast(['call', token, castSig(MockUSDC.abi, 'balanceOf'), market, '--rpc-url', rpcUrl])));
    const deposits = seeded.traders.reduce((s, t) => s + t.depositTokens, 0n);
    // deploy funds the pool with 100M tokens and the insurance fund with 1M (src/chain/deploy.ts).
    expect(held).toBe(deposits + 101_000_000n * 10n ** 6n);
  });

  it('the population has longs and shorts, every market, and tier 2+ positions', () => {
    const all = seeded.traders.flatMap((t) => t.positions);
    expect(all.some((p) => p.size > 0n)).toBe(true);
    expect(all.some((p) => p.size < 0n)).toBe(true);
    expect(new Set(all.map((p) => p.symbol))).toEqual(new Set(['BTC', 'ETH', 'SMALLCAP']));
    expect(all.some((p) => p.tier >= 2)).toBe(true);
    expect(seeded.transactions).toBe(2 + seeded.traders.length + all.length);
  });

  it('quote --rpc reads a seeded account and agrees with the contract', async () => {
    const t = seeded.traders[0]!;
    const r = await runCli(['quote', '--rpc', rpcUrl, '--deployment', outFile, '--account', t.address, '--json'], { cwd: tmp.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const q = JSON.parse(r.stdout);
    const fields = tupleFields(
      await cast(['call', deployment.contracts.market, castSig(PerpMarket.abi, 'accountHealth'), t.address, '--rpc-url', rpcUrl, '--block', q.blockNumber]),
    );
    expect(q.mode).toBe('chain');
    expect(q.account).toBe(t.address);
    expect([q.collateral.wad, q.equity.wad, q.maintenance.wad, q.initial.wad]).toEqual(fields.slice(0, 4));
    expect(q.positions.map((p: { market: string }) => p.market)).toEqual(t.positions.map((p) => p.symbol));
    for (const [i, p] of t.positions.entries()) {
      expect(q.positions[i].size.wad).toBe(p.size.toString());
      expect(q.positions[i].notional.wad).toBe(notional(p.size, p.price).toString());
      expect(q.positions[i].maxSlice.wad).toBe('0');
      // The ADL score is the contract's own view (0: a fresh position has no profit to give up).
      const score = castValue(await cast(['call', deployment.contracts.market, castSig(PerpMarket.abi, 'adlScore'), t.address, String(q.positions[i].marketId), '--rpc-url', rpcUrl, '--block', q.blockNumber]));
      expect(q.positions[i].adl.score.wad).toBe(BigInt(score).toString());
    }
  });
});

describe('quote on a stale feed', () => {
  withSnapshot();

  it('names the custom error the market reverts with, in one line', async () => {
    // Every feed is stale; whichever market's read fails first is named.
    const { testClient } = await getTestChain();
    await testClient.increaseTime({ seconds: 2 * 3600 });
    await testClient.mine({ blocks: 1 });
    const t = seeded.traders[0]!;
    const r = await runCli(['quote', '--rpc', rpcUrl, '--deployment', outFile, '--account', t.address], { cwd: tmp.dir });
    expectOneLineError(r, 1, /^perp-keeper: the market refused to value the account at block \d+: StalePrice\([012], \d+, 3600\)$/);
  });
});

describe('seed plan', () => {
  it('sizes are lot multiples, leverage is 2x up to 90% of the tier max, deposits cover margin and fees', async () => {
    const { publicClient } = await getTestChain();
    const v = await readValuation({ publicClient }, deployment.contracts.market);
    for (const t of seeded.traders) {
      expect(t.positions.length).toBeGreaterThanOrEqual(1);
      expect(t.positions.length).toBeLessThanOrEqual(3);
      expect(new Set(t.positions.map((p) => p.marketId)).size).toBe(t.positions.length);
      for (const p of t.positions) {
        const m = v.markets.get(p.marketId)!;
        expect(p.size % m.lotSize).toBe(0n);
        expect(tierIndex(m.tiers, p.notional)).toBe(p.tier);
        const max = m.tiers[p.tier]!.maxLeverage * 1_000_000n;
        expect(p.leveragePpm).toBeLessThanOrEqual((max * 9n) / 10n);
        if (max * 9n >= 20_000_000n) expect(p.leveragePpm).toBeGreaterThanOrEqual(2_000_000n);
      }
      const need = t.positions.reduce((s, p) => s + p.margin + p.fee, 0n);
      expect(t.depositTokens * TOKEN_SCALE).toBeGreaterThan(need);
    }
  });
});
