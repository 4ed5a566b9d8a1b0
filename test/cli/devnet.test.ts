/**
 * `perp-keeper devnet` end to end, as a user runs it: start, wait for the RPC line, read a seeded
 * position with cast, Ctrl-C (SIGINT), and check it exits 0 having stopped its own Anvil.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDeployment } from '../../src/chain/deployment.ts';
import { waitFor } from '../support/anvil.ts';
import { cast, castValue, isAlive, startCli, tempDir, type LiveCli } from './cli.ts';

const tmp = tempDir();
let live: LiveCli | undefined;
afterAll(async () => {
  // Only if an assertion failed before the SIGINT: stop our own child, by pid.
  if (live && live.child.exitCode === null && live.child.signalCode === null) {
    live.child.kill('SIGTERM');
    await live.closed;
  }
  tmp.cleanup();
});

describe('devnet', () => {
  it('starts Anvil, deploys, seeds 5 traders, serves reads, and stops cleanly on SIGINT', async () => {
    const out = path.join(tmp.dir, 'devnet.json');
    live = startCli(['devnet', '--port', '0', '--traders', '5', '--out', out], { cwd: tmp.dir });
    const cli = live;
    const ready = await waitFor(() => /^RPC\s+(http:\/\/127\.0\.0\.1:\d+)$/m.exec(cli.stdout()) ?? cli.child.exitCode !== null, {
      timeoutMs: 45_000,
      intervalMs: 100,
      message: 'devnet printing its RPC line',
    });
    expect(ready, `devnet exited early:\n${cli.stdout()}\n${cli.stderr()}`).not.toBe(true);
    const stdout = cli.stdout();
    const rpcUrl = (ready as RegExpExecArray)[1]!;
    const anvilPid = Number(/^anvil pid\s+(\d+)$/m.exec(stdout)?.[1]);
    expect(anvilPid).toBeGreaterThan(0);
    expect(isAlive(anvilPid)).toBe(true);
    expect(stdout).toMatch(/^chain id\s+31337$/m);
    expect(stdout).toContain(`deployment  ${out}`);
    expect(cli.stderr()).toMatch(/^perp-keeper: DEPLOYER_PRIVATE_KEY is not set; using Anvil's dev account #0/);

    // The table: one row per seeded position (account, market, side, size, notional, leverage, liq. price).
    const rows = [...stdout.matchAll(/^ {2}(0x[0-9a-fA-F]{40}) {2}(\w+) +(long|short) +([\d,.]+) +\$[\d,]+ +([\d.]+)x +([\d,.]+|—)$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(new Set(rows.map((r) => r[1])).size).toBe(5);

    // Read the first seeded position with cast, from the deployment file alone.
    const d = readDeployment(out);
    const [, account, symbol, side] = rows[0]!;
    const market = d.markets.find((m) => m.symbol === symbol)!;
    const position = castValue(
      await cast(['call', d.contracts.market, 'getPosition(address,uint256)((int256,uint256,int256))', account!, String(market.id), '--rpc-url', rpcUrl]),
    );
    const size = BigInt(/^\((-?\d+),/.exec(position)![1]!);
    expect(side === 'long' ? size > 0n : size < 0n).toBe(true);

    cli.child.kill('SIGINT');
    const result = await cli.closed;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Stopped Anvil (pid ${anvilPid}).`);
    await waitFor(() => !isAlive(anvilPid), { timeoutMs: 5_000, message: `anvil pid ${anvilPid} gone` });
    expect(existsSync(out)).toBe(true);
  });
});
