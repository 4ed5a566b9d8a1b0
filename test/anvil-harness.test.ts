import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseEther, type Address } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AnvilStartError,
  anvilPlatformPackage,
  resolveAnvilBinary,
  startAnvil,
  type AnvilInstance,
  type AnvilOptions,
} from '../src/chain/anvil.ts';
import {
  createChainClients,
  getTestChain,
  mine,
  setNextBlockTimestamp,
  testAccounts,
  waitFor,
  withSnapshot,
} from './support/anvil.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ANVIL_MODULE_URL = pathToFileURL(fileURLToPath(new URL('../src/chain/anvil.ts', import.meta.url))).href;
const TARGET: Address = '0x00000000000000000000000000000000c0ffee00';

/** `process.kill(pid, 0)` outcome: 'alive' or the errno code (ESRCH once the process is gone and reaped). */
function probe(pid: number): string {
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'unknown';
  }
}

/**
 * True while `pid` is a live process. A zombie (exited, not yet reaped by its parent, e.g. an
 * orphan whose adoptive init does not reap) counts as dead; that needs /proc, so Linux only.
 */
function isAlive(pid: number): boolean {
  if (probe(pid) !== 'alive') return false;
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // vanished between the two checks
  }
}

// Extra Anvils started by individual tests; always stopped, even when an assertion fails.
const started: AnvilInstance[] = [];
async function start(opts?: AnvilOptions): Promise<AnvilInstance> {
  const anvil = await startAnvil(opts);
  started.push(anvil);
  return anvil;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((anvil) => anvil.stop()));
});

describe('worker chain (getTestChain)', () => {
  it('answers eth_chainId and exposes the deterministic dev accounts', async () => {
    const { anvil, publicClient, chain, wallet } = await getTestChain();
    expect(chain.id).toBe(31337);
    expect(await publicClient.request({ method: 'eth_chainId' })).toBe('0x7a69');
    expect(await publicClient.getChainId()).toBe(31337);
    expect(anvil.port).toBeGreaterThan(0);
    expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`);

    const accounts = await wallet(0).request({ method: 'eth_accounts' });
    expect(accounts.map((a) => a.toLowerCase())).toEqual(testAccounts.map((a) => a.address.toLowerCase()));

    // One instance per worker: later calls return the same chain.
    const again = await getTestChain();
    expect(again.anvil.pid).toBe(anvil.pid);
  });

  it.runIf(process.platform === 'linux')('runs the npm platform binary itself (the pid is Anvil, not a node wrapper)', async () => {
    const { anvil } = await getTestChain();
    expect(realpathSync(`/proc/${anvil.pid}/exe`)).toBe(realpathSync(resolveAnvilBinary()));
    expect(resolveAnvilBinary()).toMatch(/@foundry-rs[\\/]anvil-[a-z0-9]+-[a-z0-9]+[\\/]bin[\\/]anvil(\.exe)?$/);
  });
});

describe('withSnapshot', () => {
  const snapshotId = withSnapshot();
  // Captured by the first test, checked by the second: tests in a file run in order.
  let baseline: { block: bigint; nonce: number } | undefined;

  it('1: changes balances, nonces and blocks inside the snapshot', async () => {
    const { publicClient, testClient, wallet } = await getTestChain();
    expect(snapshotId()).toMatch(/^0x[0-9a-f]+$/);
    baseline = {
      block: await publicClient.getBlockNumber(),
      nonce: await publicClient.getTransactionCount({ address: testAccounts[1]!.address }),
    };
    expect(await publicClient.getBalance({ address: TARGET })).toBe(0n);

    await testClient.setBalance({ address: TARGET, value: parseEther('123') });
    const hash = await wallet(1).sendTransaction({ to: TARGET, value: parseEther('1') });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 10_000 });
    expect(receipt.status).toBe('success');

    expect(await publicClient.getBalance({ address: TARGET })).toBe(parseEther('124'));
    expect(await publicClient.getBlockNumber()).toBe(baseline.block + 1n);
  });

  it('2: starts from the state before test 1 (its changes were reverted)', async () => {
    const { publicClient } = await getTestChain();
    expect(baseline).toBeDefined();
    expect(await publicClient.getBalance({ address: TARGET })).toBe(0n);
    expect(await publicClient.getBlockNumber()).toBe(baseline!.block);
    expect(await publicClient.getTransactionCount({ address: testAccounts[1]!.address })).toBe(baseline!.nonce);
  });

  it('3: a revert consumes its snapshot id', async () => {
    const { testClient, publicClient } = await getTestChain();
    const id = await testClient.snapshot();
    await testClient.setBalance({ address: TARGET, value: 7n });
    expect(await testClient.request({ method: 'evm_revert', params: [id] })).toBe(true);
    expect(await publicClient.getBalance({ address: TARGET })).toBe(0n);
    expect(await testClient.request({ method: 'evm_revert', params: [id] })).toBe(false);
  });

  it('4: mine() and setNextBlockTimestamp() move the chain deterministically', async () => {
    const { publicClient } = await getTestChain();
    const before = await publicClient.getBlock();
    const ts = before.timestamp + 3_600n;
    await setNextBlockTimestamp(ts);
    await mine();
    const next = await publicClient.getBlock();
    expect(next.number).toBe(before.number + 1n);
    expect(next.timestamp).toBe(ts);
    await mine(3);
    expect(await publicClient.getBlockNumber()).toBe(before.number + 4n);
  });
});

describe('startAnvil', () => {
  it('gives concurrent starts different ports', async () => {
    const { anvil: worker } = await getTestChain();
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.port).not.toBe(b.port);
    expect(a.pid).not.toBe(b.pid);
    expect([a.port, b.port]).not.toContain(worker.port);
    for (const anvil of [a, b]) {
      expect(await createChainClients(anvil).publicClient.getChainId()).toBe(31337);
    }
  });

  it('stop() terminates that pid only, is idempotent, and leaves other Anvils alive', async () => {
    const { anvil: worker, publicClient: workerClient } = await getTestChain();
    const [a, b] = await Promise.all([start(), start()]);

    const stopping = a.stop();
    expect(a.stop()).toBe(stopping); // same promise: idempotent
    await stopping;
    expect(probe(a.pid)).toBe('ESRCH');
    const exit = await a.exited;
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    await a.stop(); // still fine after the fact

    expect(probe(b.pid)).toBe('alive');
    expect(probe(worker.pid)).toBe('alive');
    expect(await createChainClients(b).publicClient.getChainId()).toBe(31337);
    expect(await workerClient.getChainId()).toBe(31337);
  });

  it('rejects with the stderr tail, without hanging, when Anvil exits early', async () => {
    const err: unknown = await startAnvil({ extraArgs: ['--definitely-not-a-flag'], startTimeoutMs: 30_000 }).then(
      (anvil) => {
        started.push(anvil);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnvilStartError);
    const startErr = err as AnvilStartError;
    expect(startErr.reason).toBe('exit'); // detected from the exit, not from the 30 s timeout
    expect(startErr.exit?.code).not.toBe(0);
    expect(startErr.message).toMatch(/stderr/);
    expect(startErr.message).toContain("unexpected argument '--definitely-not-a-flag'");
    expect(startErr.stderr).toContain('--definitely-not-a-flag');
    expect(startErr.pid).toBeTypeOf('number');
    expect(probe(startErr.pid!)).toBe('ESRCH');
  });

  it('rejects with reason "spawn" when the binary cannot be executed', async () => {
    const err: unknown = await startAnvil({ binary: '/nonexistent/anvil' }).then(
      (anvil) => {
        started.push(anvil);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AnvilStartError);
    expect((err as AnvilStartError).reason).toBe('spawn');
    expect((err as AnvilStartError).message).toContain('ENOENT');
  });

  it('maps platforms to the @foundry-rs/anvil-<platform>-<arch> package names', () => {
    expect(anvilPlatformPackage('linux', 'x64')).toBe('@foundry-rs/anvil-linux-amd64');
    expect(anvilPlatformPackage('darwin', 'arm64')).toBe('@foundry-rs/anvil-darwin-arm64');
    expect(anvilPlatformPackage('win32', 'x64')).toBe('@foundry-rs/anvil-win32-amd64');
  });

  it('rejects after startTimeoutMs and stops the process when Anvil never becomes ready', async () => {
    // A fork endpoint that accepts connections but never answers: Anvil cannot start listening,
    // so the timeout path is taken regardless of machine speed.
    const sockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    blackHole.listen(0, '127.0.0.1');
    await once(blackHole, 'listening');
    const { port } = blackHole.address() as net.AddressInfo;
    try {
      const err: unknown = await startAnvil({ forkUrl: `http://127.0.0.1:${port}`, startTimeoutMs: 500 }).then(
        (anvil) => {
          started.push(anvil);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AnvilStartError);
      const startErr = err as AnvilStartError;
      expect(startErr.reason).toBe('timeout');
      expect(startErr.message).toContain('did not print "Listening on" within 500 ms');
      expect(probe(startErr.pid!)).toBe('ESRCH');
    } finally {
      for (const socket of sockets) socket.destroy();
      blackHole.close();
    }
  });

  it('stops still-running Anvils from the process exit hook', async () => {
    // A host process starts Anvil, reports the pid, and exits (process.exit) when told to.
    const script = [
      `import { startAnvil } from ${JSON.stringify(ANVIL_MODULE_URL)};`,
      'const anvil = await startAnvil();',
      'process.stdout.write(JSON.stringify({ pid: anvil.pid }) + "\\n");',
      'process.stdin.once("data", () => process.exit(0));',
    ].join('\n');
    const host = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const hostExit = once(host, 'exit');
    try {
      const [line] = (await Promise.race([
        once(host.stdout, 'data'),
        hostExit.then(([code]) => {
          throw new Error(`host exited early with ${String(code)}`);
        }),
      ])) as [Buffer];
      const { pid } = JSON.parse(line.toString()) as { pid: number };
      expect(isAlive(pid)).toBe(true);

      host.stdin.write('exit\n');
      const [code] = await hostExit;
      expect(code).toBe(0);
      // The hook only sends SIGTERM (it cannot wait), so wait, bounded, for Anvil to go away.
      await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, message: `anvil ${pid} to exit` });
    } finally {
      if (host.exitCode === null && host.signalCode === null) host.kill('SIGKILL');
    }
  });

  it('forks another Anvil at a block: the fork sees that state and its txs stay local', async () => {
    const a = await start();
    const chainA = createChainClients(a);
    const send = async (clients: typeof chainA, from: number, value: bigint) => {
      const hash = await clients.wallet(from).sendTransaction({ to: TARGET, value });
      const receipt = await clients.publicClient.waitForTransactionReceipt({ hash, timeout: 10_000 });
      expect(receipt.status).toBe('success');
      return receipt;
    };

    const forkBlock = (await send(chainA, 0, parseEther('1'))).blockNumber;
    await send(chainA, 0, parseEther('2')); // after the fork point: must not be visible on B
    expect(await chainA.publicClient.getBalance({ address: TARGET })).toBe(parseEther('3'));

    const b = await start({ forkUrl: a.rpcUrl, forkBlockNumber: forkBlock });
    expect(b.args).toContain('--no-storage-caching');
    const chainB = createChainClients(b);
    expect(await chainB.publicClient.getChainId()).toBe(31337);
    expect(await chainB.publicClient.getBlockNumber()).toBe(forkBlock);
    expect(await chainB.publicClient.getBalance({ address: TARGET })).toBe(parseEther('1'));
    expect(await chainB.publicClient.getTransactionCount({ address: testAccounts[0]!.address })).toBe(1);

    const onB = await send(chainB, 1, parseEther('5'));
    expect(onB.blockNumber).toBe(forkBlock + 1n);
    expect(await chainB.publicClient.getBalance({ address: TARGET })).toBe(parseEther('6'));

    // A is untouched by B's transaction.
    expect(await chainA.publicClient.getBalance({ address: TARGET })).toBe(parseEther('3'));
    expect(await chainA.publicClient.getBlockNumber()).toBe(forkBlock + 1n);
    expect(await chainA.publicClient.getTransactionCount({ address: testAccounts[1]!.address })).toBe(0);
    await expect(chainA.publicClient.getTransactionReceipt({ hash: onB.transactionHash })).rejects.toThrow();
  });

  it('supports interval mining (blockTime), observed with bounded polling', async () => {
    const anvil = await start({ blockTime: 1 });
    const { publicClient } = createChainClients(anvil);
    const block = await waitFor(
      async () => {
        const n = await publicClient.getBlockNumber();
        return n >= 2n ? n : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, message: 'two interval-mined blocks' },
    );
    expect(block).toBeGreaterThanOrEqual(2n);
  });

  it('waitFor fails with its message once the bound is reached', async () => {
    let calls = 0;
    await expect(
      waitFor(
        () => {
          calls += 1;
          return false;
        },
        { timeoutMs: 100, intervalMs: 10, message: 'the impossible' },
      ),
    ).rejects.toThrow('waitFor: the impossible not met within 100 ms');
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
