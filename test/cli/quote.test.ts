/**
 * `perp-keeper quote` on a hypothetical position: the worked example of docs/reference-market.md
 * ('The reference example'), through the CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, tempDir, type CliResult } from './cli.ts';

const tmp = tempDir();
afterAll(tmp.cleanup);

const WORKED = ['--market', 'BTC', '--side', 'long', '--size', '10', '--entry', '60000', '--collateral', '34000', '--mark', '57000'];

type Amount = { wad: string; usd?: string; display?: string };
type QuoteJson = {
  mode: string;
  preset: string;
  collateral: Amount;
  equity: Amount;
  maintenance: Amount;
  initial: Amount;
  marginRatio: { ppm: string; display: string } | null;
  liquidatable: boolean;
  backstop: boolean;
  positions: {
    market: string;
    side: string;
    size: Amount;
    notional: Amount;
    liquidationPrice: Amount | null;
    bankruptcyPrice: Amount | null;
    maxSlice: Amount;
    penalty: Amount;
    keeperReward: { tokens: string; usd: string };
    insuranceShare: Amount;
  }[];
};

const e18 = (s: string) => `${s}${'0'.repeat(18)}`;

// Three CLI runs, started together (each pays ~1 s of tsx + viem start-up).
let ref: CliResult;
let capped: CliResult;
let text: CliResult;
let oversized: CliResult;
beforeAll(async () => {
  // The step-cap variant: the reference preset with maxStep 25% (docs/reference-market.md, 'The
  // reference example': slice 2.5 BTC instead).
  const presets = JSON.parse(readFileSync(path.join(REPO_ROOT, 'config', 'presets.json'), 'utf8'));
  presets.capped = { ...presets.reference, market: { ...presets.reference.market, maxStep: '25%' } };
  const presetsFile = path.join(tmp.dir, 'presets.json');
  writeFileSync(presetsFile, JSON.stringify(presets));
  [ref, capped, text, oversized] = await Promise.all([
    runCli(['quote', ...WORKED, '--preset', 'reference', '--json'], { cwd: tmp.dir }),
    runCli(['quote', ...WORKED, '--preset', 'capped', '--presets', presetsFile, '--json'], { cwd: tmp.dir }),
    runCli(['quote', ...WORKED, '--preset', 'reference'], { cwd: tmp.dir }),
    // The example: a 100 ETH short on $825 of collateral read "initial margin $20,000, status …" and nothing said it could not exist.
    runCli(['quote', '--market', 'ETH', '--side', 'short', '--size', '100', '--collateral', '825.075', '--mark', '5000'], { cwd: tmp.dir }),
  ]);
});

describe('quote (hypothetical)', () => {
  it("reproduces the reference market's worked example with --preset reference (and the 25% step cap variant)", () => {
    expect(ref.stderr).toBe('');
    expect(ref.code).toBe(0);
    const q = JSON.parse(ref.stdout) as QuoteJson;
    expect(q.mode).toBe('hypothetical');
    expect(q.preset).toBe('reference');
    expect(q.collateral).toEqual({ wad: e18('34000'), usd: '$34,000.00' });
    expect(q.equity).toEqual({ wad: e18('4000'), usd: '$4,000.00' });
    expect(q.maintenance).toEqual({ wad: e18('4400'), usd: '$4,400.00' });
    // 570,000 in the 250k–1M tier at 50x.
    expect(q.initial).toEqual({ wad: e18('11400'), usd: '$11,400.00' });
    expect(q.marginRatio).toEqual({ ppm: '909090', display: '90.909%' });
    expect(q.liquidatable).toBe(true);
    expect(q.backstop).toBe(false);
    expect(q.positions).toHaveLength(1);
    const p = q.positions[0]!;
    expect(p.market).toBe('BTC');
    expect(p.side).toBe('long');
    expect(p.notional).toEqual({ wad: e18('570000'), usd: '$570,000.00' });
    // 110/19 ≈ 5.7895 BTC, rounded up to a 0.001 lot.
    expect(p.maxSlice).toEqual({ wad: '5790000000000000000', display: '5.790' });
    // penalty 0.5% × 5.79 × 57,000 = 1,650.15; the keeper gets 50%, in whole token units.
    expect(p.penalty).toEqual({ wad: '1650150000000000000000', usd: '$1,650.15' });
    expect(p.keeperReward).toEqual({ tokens: '825075000', usd: '$825.08' });
    expect(p.insuranceShare.wad).toBe('825075000000000000000');
    // E(P) = 10P − 566,000 meets the 1% tier line 0.1P − 1,300 at P = 564,700 / 9.9 (rounded up);
    // equity reaches zero at 56,600.
    expect(p.liquidationPrice).toEqual({ wad: '57040404040404040404041', display: '57,040.40' });
    expect(p.bankruptcyPrice).toEqual({ wad: e18('56600'), display: '56,600.00' });

    expect(capped.stderr).toBe('');
    const c = JSON.parse(capped.stdout) as QuoteJson;
    expect(c.positions[0]!.maxSlice).toEqual({ wad: '2500000000000000000', display: '2.500' });
  });

  it('prints the same figures for people', () => {
    const r = text;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const line = (label: string) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(label))?.trim();
    expect(line('equity')).toBe('equity              $4,000.00');
    expect(line('maintenance margin')).toBe('maintenance margin  $4,400.00');
    expect(line('max slice now')).toBe('max slice now        5.790 BTC');
    expect(line('status')).toBe('status              LIQUIDATABLE');
    expect(line('keeper reward')).toBe('keeper reward        $825.08 (50.00% of the penalty)');
    expect(line('margin ratio')).toBe('margin ratio        90.91% (equity / maintenance)');
    // Σ notional / equity = 570,000 / 4,000.
    expect(line('leverage')).toBe('leverage            142.5x');
    // Liquidation at 57,040.40 is above the 57,000 mark: the long is already past it; bankruptcy at 56,600 is 0.70% below.
    expect(line('to liquidation')).toBe('to liquidation       +0.07% (already past)');
    expect(line('to bankruptcy')).toBe('to bankruptcy        -0.70%');
    // After the 5.790 slice: SPEC's worked example, E' ≈ 2,350 (exactly 4,000 − 1,650.15 penalty).
    expect(line('after the max slice')).toBe('after the max slice  4.210 BTC left, equity $2,349.85, liquidation price 56,713.53');
    // Underwater: no ADL score (only profitable positions are deleveraged).
    expect(line('ADL rank')).toMatch(/^ADL rank +— \(not eligible/);
    // Opened at 60,000: fee 0.05% of 600,000 = $300; equity $33,700 against IM $12,000 (600,000 at 50x).
    expect(line('could be opened')).toBe('could be opened     yes (equity after the $300.00 fee $33,700.00, initial margin $12,000.00)');
  });

  it('says when a hypothetical position could not be opened at all', () => {
    expect(oversized.code).toBe(0);
    const line = (label: string) => oversized.stdout.split('\n').find((l) => l.trimStart().startsWith(label))?.trim();
    expect(line('could be opened')).toBe(
      'could be opened     no: the market refuses it, InsufficientMargin (equity after the $250.00 fee $575.08, initial margin $20,000.00)',
    );
    expect(line('leverage')).toBe('leverage            606.0x');
  });
});
