/**
 * `perp-keeper price`: a devnet rehearsal publishes a market's price on the current aggregator of
 * its Chainlink proxy, by a set value or a percentage move, or installs a new aggregator answering
 * it (--new-aggregator, as the proxy's owner); and refuses on anything but a local development chain.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerpMarket } from '../../abi/PerpMarket.ts';
import { CHAINLINK_FEED_ABI } from '../../src/chain/chainlink.ts';
import { currentAggregator } from '../../src/chain/chainlinkDeploy.ts';
import { deployReferenceMarket, type Deployment } from '../../src/chain/deploy.ts';
import { deploymentToJson } from '../../src/chain/deployment.ts';
import { answerToWad } from '../../src/chain/chainlink.ts';
import { loadMarkets, loadPreset } from '../../src/config/presets.ts';
import { ANVIL_DEV_PRIVATE_KEYS, getTestChain, type TestChain } from '../support/anvil.ts';
import { runCli, tempDir } from './cli.ts';

const tmp = tempDir();
let chain: TestChain;
let deployment: Deployment;
let file: string;
let fakeGeth: Server;
let fakeUrl: string;

beforeAll(async () => {
  chain = await getTestChain();
  // BTC, ETH, SMALLCAP, and INDEX: BTC's rules priced from three feeds (median, two fresh, 5% guard).
  const markets = loadMarkets();
  const index = { ...markets[0]!, symbol: 'INDEX', index: { feeds: 3, minSources: 2, maxDeviationPpm: 50_000n } };
  deployment = await deployReferenceMarket({ publicClient: chain.publicClient, walletClient: chain.wallet(0) } as never, { markets: [...markets, index], preset: loadPreset('hyperliquid') });
  file = path.join(tmp.dir, 'devnet.json');
  writeFileSync(file, deploymentToJson(deployment));
  // A node that says it is geth on chain 31337: not a development chain, whatever its chain id.
  fakeGeth = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      const result = method === 'eth_chainId' ? '0x7a69' : method === 'web3_clientVersion' ? 'Geth/v1.14.11-stable/linux-amd64/go1.23.2' : null;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result }));
    });
  });
  await new Promise<void>((r) => fakeGeth.listen(0, '127.0.0.1', r));
  fakeUrl = `http://127.0.0.1:${(fakeGeth.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => fakeGeth.close(() => r()));
  tmp.cleanup();
});

async function priceOf(symbol: string): Promise<bigint> {
  const m = deployment.markets.find((x) => x.symbol === symbol)!;
  const [, answer] = await chain.publicClient.readContract({ address: m.feed, abi: CHAINLINK_FEED_ABI, functionName: 'latestRoundData' });
  return answerToWad(answer, m.feedDecimals);
}

const price = (...args: string[]) => runCli(['price', '--rpc', chain.anvil.rpcUrl, '--deployment', file, ...args], { cwd: tmp.dir });

describe('price', () => {
  it('--set publishes the price as the feed owner and says what moved', async () => {
    const r = await price('--market', 'BTC', '--set', '56400');
    expect(r.stderr).toMatch(/using Anvil's dev account #0/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^BTC: 60,000\.00 → 56,400\.00 \(-6\.00%\) in block \d+\n$/);
    expect(await priceOf('BTC')).toBe(56_400n * 10n ** 18n);
  });

  it('--move=-3% and --move +1.5% move the current price by that much', async () => {
    const before = await priceOf('ETH');
    const down = await price('--market', 'eth', '--move=-3%');
    expect(down.code, down.stderr).toBe(0);
    expect(await priceOf('ETH')).toBe((before * 970_000n) / 1_000_000n);
    expect(down.stdout).toMatch(/^ETH: .* \(-3\.00%\) in block \d+\n$/);
    const up = await price('--market', 'ETH', '--move', '+1.5%');
    expect(up.code, up.stderr).toBe(0);
    expect(await priceOf('ETH')).toBe((((before * 970_000n) / 1_000_000n) * 1_015_000n) / 1_000_000n);
  });

  it('--new-aggregator installs a new aggregator behind the proxy answering the price; later prices go to it', async () => {
    const feed = deployment.markets.find((x) => x.symbol === 'SMALLCAP')!.feed;
    const before = await currentAggregator(chain, feed);
    const r = await price('--market', 'SMALLCAP', '--set', '0.45', '--new-aggregator');
    expect(r.code, r.stderr).toBe(0);
    const after = await currentAggregator(chain, feed);
    expect(after).not.toBe(before);
    expect(r.stdout).toBe(`SMALLCAP: 0.500000 → 0.450000 (-10.00%) in block ${r.stdout.match(/block (\d+)/)![1]} on a new aggregator ${after} (was ${before})\n`);
    expect(await chain.publicClient.readContract({ address: feed, abi: CHAINLINK_FEED_ABI, functionName: 'phaseId' })).toBe(2);
    expect(await priceOf('SMALLCAP')).toBe(45n * 10n ** 16n);
    const next = await price('--market', 'SMALLCAP', '--move=+10%');
    expect(next.code, next.stderr).toBe(0);
    expect(await priceOf('SMALLCAP')).toBe(495n * 10n ** 15n);
  });

  it('--new-aggregator signed by another key than the proxy owner: one line, exit 1, nothing switched', async () => {
    const feed = deployment.markets.find((x) => x.symbol === 'BTC')!.feed;
    const before = await currentAggregator(chain, feed);
    const r = await runCli(['price', '--rpc', chain.anvil.rpcUrl, '--deployment', file, '--market', 'BTC', '--set', '1', '--new-aggregator'], {
      cwd: tmp.dir,
      env: { DEPLOYER_PRIVATE_KEY: ANVIL_DEV_PRIVATE_KEYS[4] },
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^perp-keeper: price: the feed 0x[0-9a-fA-F]{40} is owned by 0x[0-9a-fA-F]{40}, not 0x[0-9a-fA-F]{40}; sign with the owner's key/);
    expect(await currentAggregator(chain, feed)).toBe(before);
  });

  it.each([
    ['neither --set nor --move', ['--market', 'BTC'], /price: give exactly one of --set PRICE and --move ±N%/],
    ['both --set and --move', ['--market', 'BTC', '--set', '1', '--move=1%'], /price: give exactly one of --set PRICE and --move ±N%/],
    ['a move without %', ['--market', 'BTC', '--move=-3'], /price: --move takes a percentage such as -3% or \+1\.5%, got "-3"/],
    ['a move to zero', ['--market', 'BTC', '--move=-100%'], /price: --move -100% would take the price to 0 or below/],
    ['a price that is not a number', ['--market', 'BTC', '--set', '12abc'], /price: --set: "12abc" is not a number/],
    ['a negative price', ['--market', 'BTC', '--set', '-5'], /price: --set must be above 0, got "-5"/],
    ['an unknown market', ['--market', 'DOGE', '--set', '1'], /price: unknown market "DOGE"; the deployment has BTC, ETH, SMALLCAP, INDEX/],
    ['a source beyond the index', ['--market', 'INDEX', '--set', '1', '--source', '4'], /perp-keeper: price: --source must be a feed number from 1 to 3 \(INDEX reads 3 feeds\), got "4"/],
    ['a source 0', ['--market', 'INDEX', '--set', '1', '--source', '0'], /price: --source must be a feed number from 1 to 3/],
    ['a source on a one-feed market', ['--market', 'BTC', '--set', '1', '--source', '2'], /price: --source must be a feed number from 1 to 1 \(BTC reads 1 feed\), got "2"/],
  ])('%s: one line, exit 2 (the command line is wrong), nothing published', async (_name, args, match) => {
    const before = await priceOf('BTC');
    const r = await price(...args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(match);
    expect(await priceOf('BTC')).toBe(before);
  });

  it('an index market: every feed by default; --source N moves one venue, and the median holds', async () => {
    const m = deployment.markets.find((x) => x.symbol === 'INDEX')!;
    const mark = () => chain.publicClient.readContract({ address: deployment.contracts.market, abi: PerpMarket.abi, functionName: 'markPrice', args: [BigInt(m.id)] });
    const all = await price('--market', 'INDEX', '--set', '61000');
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim().split('\n').map((l) => l.replace(/ in block \d+$/, ''))).toEqual([1, 2, 3].map((i) => `INDEX source ${i} of 3: 60,000.00 → 61,000.00 (+1.67%)`));
    expect(await mark()).toBe(61_000n * 10n ** 18n);
    const wick = await price('--market', 'INDEX', '--move=-20%', '--source', '2');
    expect(wick.code, wick.stderr).toBe(0);
    expect(wick.stdout).toMatch(/^INDEX source 2 of 3: 61,000\.00 → 48,800\.00 \(-20\.00%\) in block \d+\n$/);
    // One venue 20% away from the others is beyond the 5% guard: the market refuses its mark (no
    // trade, no liquidation) rather than price from venues that disagree. Back in line, it trades again.
    await expect(mark()).rejects.toThrow(/PriceDeviation/);
    expect((await price('--market', 'INDEX', '--set', '61000', '--source', '2')).code).toBe(0);
    expect(await mark()).toBe(61_000n * 10n ** 18n);
  });

  it('refuses a node that is not a local development chain', async () => {
    const r = await runCli(['price', '--rpc', fakeUrl, '--deployment', file, '--market', 'BTC', '--set', '1'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('perp-keeper: price: refusing to publish a price: the node is "Geth/v1.14.11-stable/linux-amd64/go1.23.2", not a local development chain (Anvil, Hardhat or Ganache)');
  });
});
