/**
 * Local-chain test harness: one Anvil per vitest worker process, plus viem clients and helpers.
 *
 * Lifecycle (see vitest.config.ts):
 * - `globalSetup` is NOT used: it runs once in the main vitest process, so every worker would share
 *   one chain and snapshots/reverts from parallel files would trample each other.
 * - Instead {@link getTestChain} starts Anvil lazily, on first use, and keeps it in a per-process
 *   singleton (on `globalThis`, so it survives `vi.resetModules()` and a second evaluation of this
 *   module). With `pool: 'forks'` and vitest 4's default `isolate: true`, each test file runs in a
 *   fresh fork, so "per worker" is "per test file"; at most `maxWorkers` chains run at once.
 * - Importing this module (from a test file) registers a file-level `afterAll` that stops the chain,
 *   awaited and bounded, when the file is done. It is deliberately not a `setupFiles` entry: that
 *   would load viem into every test file (~0.7 s each here) even when no chain is needed. (Under
 *   `isolate: false`, not our config, the module may be evaluated once per worker: only the first
 *   file gets the hook, and a chain started later lives until the worker ends, when the safety nets
 *   below stop it.)
 * - Safety nets for abnormal ends: src/chain/anvil.ts SIGTERMs its children on process 'exit', and
 *   handlers installed here turn SIGTERM/SIGINT/SIGHUP and the loss of the IPC channel to vitest into
 *   `process.exit()` so that hook runs (see installExitHooks).
 */
import { isMainThread } from 'node:worker_threads';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  type Hex,
  type HttpTransport,
  type PrivateKeyAccount,
  type PublicClient,
  type TestClient,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { ANVIL_DEFAULT_CHAIN_ID, startAnvil, type AnvilInstance } from '../../src/chain/anvil.ts';

/** Polling interval for viem clients in tests (block/receipt watchers). */
export const TEST_POLLING_INTERVAL_MS = 50;

/**
 * Private keys of Anvil's default dev accounts (mnemonic "test test ... junk", m/44'/60'/0'/0/i).
 * Public, well-known test keys: never use them on a real network.
 */
export const ANVIL_DEV_PRIVATE_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
] as const satisfies readonly Hex[];

/** viem accounts for {@link ANVIL_DEV_PRIVATE_KEYS}, in the same order as Anvil's `eth_accounts`. */
export const testAccounts: readonly PrivateKeyAccount[] = ANVIL_DEV_PRIVATE_KEYS.map((key) => privateKeyToAccount(key));

/** viem chain for a test Anvil: the `foundry` definition (id 31337) pointed at the instance's URLs. */
export function testChainDefinition(anvil: Pick<AnvilInstance, 'rpcUrl' | 'wsUrl'>) {
  return defineChain({
    ...foundry,
    rpcUrls: { default: { http: [anvil.rpcUrl], webSocket: [anvil.wsUrl] } },
  });
}

export type TestChainDefinition = ReturnType<typeof testChainDefinition>;
export type TestPublicClient = PublicClient<HttpTransport, TestChainDefinition>;
export type TestTestClient = TestClient<'anvil', HttpTransport, TestChainDefinition>;
export type TestWalletClient = WalletClient<HttpTransport, TestChainDefinition, PrivateKeyAccount>;

/** Clients bound to one Anvil instance. */
export type ChainClients = {
  chain: TestChainDefinition;
  publicClient: TestPublicClient;
  testClient: TestTestClient;
  /** One wallet client per {@link testAccounts} entry (same order). */
  walletClients: readonly TestWalletClient[];
  /** Wallet client for dev account `index` (throws if out of range). */
  wallet(index?: number): TestWalletClient;
};

/** The worker's chain: the Anvil instance and its clients. */
export type TestChain = ChainClients & { anvil: AnvilInstance };

/**
 * Builds viem clients for any Anvil instance (the worker chain, or extra ones a test starts).
 * `cacheTime: 0` so reads such as `getBlockNumber()` never return a value cached from before a
 * `mine()`/revert (viem caches for `pollingInterval` by default).
 */
export function createChainClients(anvil: Pick<AnvilInstance, 'rpcUrl' | 'wsUrl'>): ChainClients {
  const chain = testChainDefinition(anvil);
  const transport = http(anvil.rpcUrl, { timeout: 10_000 });
  const publicClient: TestPublicClient = createPublicClient({
    chain,
    transport,
    pollingInterval: TEST_POLLING_INTERVAL_MS,
    cacheTime: 0,
  });
  const testClient: TestTestClient = createTestClient({
    mode: 'anvil',
    chain,
    transport,
    pollingInterval: TEST_POLLING_INTERVAL_MS,
    cacheTime: 0,
  });
  const walletClients: TestWalletClient[] = testAccounts.map((account) =>
    createWalletClient({ account, chain, transport, pollingInterval: TEST_POLLING_INTERVAL_MS, cacheTime: 0 }),
  );
  const wallet = (index = 0): TestWalletClient => {
    const client = walletClients[index];
    if (client === undefined) throw new RangeError(`no dev wallet #${index} (have ${walletClients.length})`);
    return client;
  };
  return { chain, publicClient, testClient, walletClients, wallet };
}

// ---------------------------------------------------------------------------
// Per-worker singleton
// ---------------------------------------------------------------------------

type WorkerState = {
  chain: Promise<TestChain> | undefined;
  exitHooksInstalled: boolean;
};

const STATE_KEY = Symbol.for('perp-keeper.test.anvil-chain');
type GlobalWithState = typeof globalThis & { [STATE_KEY]?: WorkerState };

function workerState(): WorkerState {
  const g = globalThis as GlobalWithState;
  g[STATE_KEY] ??= { chain: undefined, exitHooksInstalled: false };
  return g[STATE_KEY];
}

const FATAL_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Makes the ways a fork worker normally dies run 'exit' listeners (including the one in
 * src/chain/anvil.ts that SIGTERMs Anvil):
 * - SIGTERM/SIGINT/SIGHUP: vitest stops and cancels fork workers with SIGTERM, and Node's default
 *   for these signals is to die without 'exit' hooks. We exit with the conventional 128+n code.
 * - IPC 'disconnect': the vitest main process is gone (e.g. it was killed); without this, the
 *   running Anvil child would keep the orphaned worker, and itself, alive.
 */
function installExitHooks(state: WorkerState): void {
  // Signals are only delivered to the main thread; in worker_threads the 'exit' hook is all we get.
  if (state.exitHooksInstalled || !isMainThread) return;
  state.exitHooksInstalled = true;
  for (const [signal, code] of Object.entries(FATAL_SIGNALS)) {
    process.once(signal, () => process.exit(code));
  }
  if (process.send !== undefined) process.once('disconnect', () => process.exit(1));
}

async function createTestChain(): Promise<TestChain> {
  const anvil = await startAnvil({ chainId: ANVIL_DEFAULT_CHAIN_ID, startTimeoutMs: 30_000 });
  try {
    const clients = createChainClients(anvil);
    const chainId = await clients.publicClient.getChainId();
    if (chainId !== clients.chain.id) {
      throw new Error(`test Anvil reports chain id ${chainId}, expected ${clients.chain.id}`);
    }
    return { anvil, ...clients };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

/**
 * The worker's Anvil and clients, started on first call (concurrent first calls share one start).
 * A failed start is not cached: the next call retries.
 */
export function getTestChain(): Promise<TestChain> {
  const state = workerState();
  if (state.chain === undefined) {
    installExitHooks(state);
    const starting = createTestChain();
    state.chain = starting;
    starting.catch(() => {
      if (state.chain === starting) state.chain = undefined;
    });
  }
  return state.chain;
}

/** Stops the worker's Anvil if one was started (idempotent). The next getTestChain() starts a new one. */
export async function stopTestChain(): Promise<void> {
  const state = workerState();
  const current = state.chain;
  state.chain = undefined;
  if (current === undefined) return;
  const chain = await current.catch(() => undefined);
  await chain?.anvil.stop();
}

// Registered on the importing test file's root suite (module evaluation happens during collection).
// A no-op when the file never started a chain.
afterAll(stopTestChain);

// ---------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------

/** `evm_snapshot` on the worker chain; returns the snapshot id. */
export async function takeSnapshot(): Promise<Hex> {
  const { testClient } = await getTestChain();
  return testClient.snapshot();
}

/**
 * `evm_revert` to `id` on the worker chain. Anvil consumes the id (take a new snapshot afterwards)
 * and answers `false` for unknown ids, which is turned into an error here.
 */
export async function revertSnapshot(id: Hex): Promise<void> {
  const { testClient } = await getTestChain();
  // viem types evm_revert as void; Anvil actually returns a boolean.
  const ok: unknown = await testClient.request({ method: 'evm_revert', params: [id] });
  if (ok !== true) throw new Error(`evm_revert(${id}) failed (Anvil returned ${JSON.stringify(ok)})`);
}

/**
 * Registers `beforeEach` (take a fresh snapshot) and `afterEach` (revert to it) in the current
 * `describe` (or file). Every test starts from the same chain state; each revert consumes its id,
 * so a new one is taken before every test. Returns an accessor for the current test's snapshot id.
 */
export function withSnapshot(): () => Hex | undefined {
  let id: Hex | undefined;
  beforeEach(async () => {
    id = await takeSnapshot();
  });
  afterEach(async () => {
    const current = id;
    id = undefined;
    if (current !== undefined) await revertSnapshot(current);
  });
  return () => id;
}

// ---------------------------------------------------------------------------
// Waiting and time travel
// ---------------------------------------------------------------------------

export type WaitForOptions = {
  /** Give up after this long. Default 5 000 ms. */
  timeoutMs?: number;
  /** Pause between evaluations. Default 50 ms. */
  intervalMs?: number;
  /** Included in the timeout error. */
  message?: string;
};

/**
 * Polls `cond` until it returns a truthy value (which is returned), with a hard bound.
 * A throwing `cond` counts as "not yet"; the last error is attached as `cause` on timeout.
 * The condition is always evaluated at least once, and once more at the deadline.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await cond();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      const what = opts.message ?? 'condition';
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
}

/** Mines `blocks` blocks on the worker chain (default 1). */
export async function mine(blocks = 1): Promise<void> {
  const { testClient } = await getTestChain();
  await testClient.mine({ blocks });
}

/** Sets the timestamp (seconds) of the next block mined on the worker chain. */
export async function setNextBlockTimestamp(timestamp: bigint | number): Promise<void> {
  const { testClient } = await getTestChain();
  await testClient.setNextBlockTimestamp({ timestamp: BigInt(timestamp) });
}
