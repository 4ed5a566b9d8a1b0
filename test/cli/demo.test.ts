/**
 * `npm start` is the front door: `perp-keeper demo` on its embedded chain shows each liquidation as a
 * person reads it (market, account, partial or full, size in coins and share, price, reward and gas
 * in USD, block), never raw wei, and a summary read back from the chain.
 */
import { describe, expect, it } from 'vitest';
import { formatLiquidation } from '../../src/cli/demoView.ts';
import { runCli } from './cli.ts';

const WAD = 10n ** 18n;

describe('the demo view', () => {
  it('formats one liquidation in coins, shares and dollars', () => {
    const line = formatLiquidation(
      {
        block: 142n,
        symbol: 'ETH',
        account: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        full: false,
        size: (125n * WAD) / 100n,
        before: 5n * WAD,
        lotSize: WAD / 100n,
        price: (281240n * WAD) / 100n,
        rewardUsd: (421n * WAD) / 100n,
        gasUsd: (3n * WAD) / 100n,
      },
      8,
    );
    expect(line).toBe('block 142  ETH       0x7099…79C8  partial  1.25 ETH of 5.00 (25.00%) at $2,812.40  reward $4.21  gas $0.03');
  });

  it('npm start: liquidations as a person reads them, then the summary', { timeout: 240_000 }, async () => {
    const r = await runCli(['demo', '--traders', '30', '--steps', '15'], { timeoutMs: 220_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const liquidations = lines.filter((l) => l.startsWith('block '));
    expect(liquidations.length).toBeGreaterThan(0);
    for (const l of liquidations) {
      expect(l).toMatch(/^block \d+ {2}\S+ +0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} {2}(partial|full {3}) {2}[\d,.]+ \S+ of [\d,.]+ \(\d+\.\d\d%\) at \$[\d,.]+ {2}reward \$[\d,.]+ {2}gas \$[\d,.]+$/);
    }
    // No raw integers of wei or 6-decimal tokens anywhere in what a person sees.
    expect(r.stdout).not.toMatch(/\d{12,}/);
    expect(r.stdout).toMatch(/Summary\n\s+liquidations\s+\d+ \(\d+ partial, \d+ full\) on \d+ accounts/);
  });
});
