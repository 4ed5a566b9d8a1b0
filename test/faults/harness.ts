/**
 * The fault matrix harness: one cell = one fault (or a combination) against one scenario with a
 * known set of accounts that must be liquidated, run against the REAL keeper — in process (Keeper
 * + followHeads, through the fault proxy, with the production logger) or as the `perp-keeper run`
 * daemon process — and measured from the chain, not from the keeper's own account of itself.
 *
 * A cell (one test; the shared world's snapshot per test returns the chain to the seeded world,
 * 48 traders on three markets, after it):
 *  1. empties the pool, mines a few blocks above the snapshot, refreshes prices;
 *  2. starts a fault proxy (credentials in the URL, so the log scan below means something) and the
 *     keeper behind it; waits until it has indexed the head;
 *  3. injects the fault (proxy schedule and/or a chain-side action), then moves prices in one
 *     block (the shock): the targets are the accounts the engine finds liquidatable on the
 *     contract's state at that block, at the intended prices, that the keeper's policy plans
 *     (checked against the contract's isLiquidatable where its price is usable);
 *  4. keeps the fault on for a number of blocks, then clears it;
 *  5. mines block by block — each only after the keeper processed the previous one, and at least
 *     BLOCK_MS apart — until every target has a Liquidated event, for at most RECOVERY_BLOCKS;
 *  6. settles (cooldowns pass, prices stay fresh) until no account is liquidatable, then stops the
 *     keeper and measures.
 *
 * Measures: missed targets; duplicate transactions of ours (an item of ours that did nothing on a
 * target whose last effective liquidation was ours: it was sent while our own earlier one was
 * pending or already mined); our reverted receipts; blocks and ms from the fault clearing to the
 * last target's first liquidation; the index against the contract's state at the index's head;
 * secrets (the key, the RPC password and API key) in any line the keeper wrote.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress, keccak256, stringToHex, type Address, type Hex, type Transaction } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { duplicates, ourTxOf, type OurTx } from "../../scripts/soak/audit.ts";
import { connect, urlSecrets } from "../../src/chain/clients.ts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { readAccount, readGlobalParams, readMarketStates } from "../../src/chain/reads.ts";
import { loadKeeperSettings, type KeeperSettings } from "../../src/config/keeper.ts";
import { accountHealth, type Account, type Valuation } from "../../src/engine/index.ts";
import { followHeads } from "../../src/keeper/followHeads.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { gasModelFor, planTransactions } from "../../src/plan/planLiquidations.ts";
import { findCandidates } from "../../src/protocols/reference/candidates.ts";
import { REFERENCE_GAS } from "../../src/protocols/reference/gas.ts";
import { IndexState, type IndexStateView } from "../../src/protocols/reference/state.ts";
import { ANVIL_DEV_PRIVATE_KEYS, waitFor, type TestChain, type TestTestClient } from "../support/anvil.ts";
import { startFaultProxy, type FaultCounters, type FaultProxy, type FaultSchedule } from "../support/faultProxy.ts";
import type { World } from "../support/fixtures.ts";
import { indexMismatches } from "../support/indexCheck.ts";
import { captureOutput, emptySink } from "../support/logs.ts";
import { NATIVE_USD, liquidatableTraders, liquidations, type Liquidation } from "../support/market.ts";

const REPO = join(import.meta.dirname, "..", "..");
/** Every line each cell's keeper wrote (git-ignored), for reading after a run. */
export const LOGS_DIR = join(import.meta.dirname, "results", "logs");

/** Dev account of the keeper under test, and of the competitor / the "other process". */
export const KEEPER_INDEX = 3;
export const COMPETITOR_INDEX = 4;
export const KEEPER_KEY = ANVIL_DEV_PRIVATE_KEYS[KEEPER_INDEX];
/** The RPC URL's secrets: Basic-auth password and API key (the proxy requires and strips both). */
export const RPC_USER = "keeper";
export const RPC_PASSWORD = "rpc-pass-5c0e7f3a91";
export const RPC_KEY = "rpc-key-d41b9e6c27aa";

/** Blocks after the fault clears within which every target must be liquidated. */
export const RECOVERY_BLOCKS = 30;
/** Least wall time between two blocks the harness mines (a fast chain, not an instant one). */
export const BLOCK_MS = 150;
/** Default shock: every market −5% in one block (14 of the 48 seeded traders become liquidatable). */
export const SHOCK_PERMILLE = -50;
/** Empty blocks mined after each cell's snapshot, above the deepest reorg a cell makes (5). */
const SNAPSHOT_MARGIN_BLOCKS = 8;
/** Traders seeded (the world's `traderCount` in the matrix files). */
export const TRADERS = 48;

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

export type CellResult = {
  id: string;
  title: string;
  /** The cell's bound on blocks from the shock to the last target's first liquidation, if any. */
  withinBlocks?: number;
  /** The cell's least number of targets, if any. */
  minTargets?: number;
  /** What was injected, as counted (proxy counters and chain-side actions). */
  injected: string;
  keeper: "in-process" | "daemon";
  targets: number;
  /** Liquidatable at the shock but below the keeper's profit policy (not targets). */
  belowPolicy: number;
  missed: number;
  missedAccounts: Address[];
  duplicates: number;
  duplicateDetails: string[];
  /** Our transactions mined, and those whose receipt is a revert. */
  ourTxs: number;
  reverted: number;
  /** Batch items of ours that failed on chain (LiquidationFailed), duplicates included. */
  failedItems: number;
  /** Our transactions with maxFeePerGas above the keeper's cap. */
  aboveCap: number;
  /** Transactions of ours mined while the fault was on. */
  txsDuringFault: number;
  /** Targets liquidated by another keeper. */
  byOthers: number;
  /** Blocks from the shock to the last target's first liquidation. */
  catchBlocks: number;
  /** Blocks and ms from the fault clearing to the last target's first liquidation (0: caught before). */
  recoverBlocks: number;
  recoverMs: number;
  /** Accounts still liquidatable when the cell ended (after settling). */
  leftLiquidatable: number;
  indexEqual: boolean;
  indexMismatches: string[];
  /** Lines the keeper wrote, and those holding a secret. */
  logLines: number;
  secretLines: number;
  notes: string[];
  ms: number;
};

// ---------------------------------------------------------------------------------------------
// The keeper under test
// ---------------------------------------------------------------------------------------------

export type KeeperUnderTest = {
  kind: "in-process" | "daemon";
  address: Address;
  /** Raw lines the keeper wrote (log lines; for the daemon, stdout and stderr). */
  lines: string[];
  /** The last head the keeper processed. */
  processedHead(): Promise<bigint | undefined>;
  /** Hash of the block its index is at (in process only). */
  indexedHash?(): Hex | undefined;
  /** Transactions the keeper has in flight. */
  inFlight(): Promise<number>;
  /** Stop (drain, checkpoint) and hand back its index. */
  stop(): Promise<{ view: IndexStateView; block: bigint }>;
  /** Kill without a chance to clean up (the daemon only). */
  kill?(): Promise<void>;
  /** Start again after kill() (the daemon only). */
  restart?(): Promise<void>;
  /** The daemon's checkpoint file (the daemon only). */
  checkpointPath?: string;
};

async function inProcessKeeper(rpcUrls: readonly string[], world: World, settings: KeeperSettings): Promise<KeeperUnderTest> {
  const metrics = createMetrics();
  const ac = new AbortController();
  const c = await connect(rpcUrls, privateKeyToAccount(KEEPER_KEY), { pollingInterval: settings.pollingIntervalMs, timeoutMs: 2_000, metrics, signal: ac.signal });
  // The secrets `perp-keeper run` gives its logger: the key and the RPC URL's secret parts.
  const { keeper, logger, logs } = world.keeper(KEEPER_INDEX, settings, { clients: c, metrics, logLevel: "debug", secrets: [KEEPER_KEY, ...rpcUrls.flatMap(urlSecrets)] });
  await keeper.start();
  const loop = followHeads(c.publicClient, keeper, settings.pollingIntervalMs, ac.signal, logger, { metrics, newHeads: c.newHeads });
  return {
    kind: "in-process",
    address: c.walletClient.account.address,
    lines: logs.raw,
    // A head is processed once its tick is done and what it planned has been sent (or skipped):
    // on a chain with 12-second blocks a keeper's sends reach the pool long before the next block.
    processedHead: async () => (keeper.executor.jobs > 0 ? undefined : (keeper.status.head ?? keeper.index.head?.number)),
    indexedHash: () => keeper.index.head?.hash,
    inFlight: async () => keeper.executor.inFlight().length,
    async stop() {
      ac.abort();
      await loop;
      await keeper.stop(5_000);
      c.close();
      return { view: keeper.index.state, block: keeper.index.head!.number };
    },
  };
}

/** `perp-keeper run` as a child process, with a checkpoint written every block. */
async function daemonKeeper(rpcUrls: readonly string[], args: readonly string[], world: World, settings: KeeperSettings, dir: string): Promise<KeeperUnderTest> {
  const deployment = join(dir, "deployment.json");
  const config = join(dir, "keeper.json");
  const checkpoint = join(dir, "checkpoint.json");
  writeDeployment(deployment, world.deployment);
  const file = JSON.parse(readFileSync(join(REPO, "config", "keeper.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(
    config,
    JSON.stringify({
      ...file,
      pollingIntervalMs: settings.pollingIntervalMs,
      minProfitUsd: "0",
      backstopMode: settings.backstopMode,
      checkpointEveryBlocks: 1,
      checkpointPath: checkpoint,
      healthPort: 0,
      logLevel: "debug",
    }),
  );
  // What every run of the daemon wrote, in order (a restart appends).
  const output = emptySink();
  const lines = output.raw;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let port: number | undefined;
  const start = async () => {
    const from = lines.length;
    port = undefined;
    const c = spawn(process.execPath, [join(REPO, "bin/perp-keeper.js"), "run", ...rpcUrls.flatMap((u) => ["--rpc", u]), ...args, "--deployment", deployment, "--config", config], {
      cwd: dir,
      env: { ...process.env, KEEPER_PRIVATE_KEY: KEEPER_KEY, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    exited = new Promise((r) => c.once("exit", (code) => r(code)));
    captureOutput(c, output);
    const ready = await waitFor(
      () => {
        if (c.exitCode !== null) throw new Error(`the daemon exited with ${c.exitCode}: ${lines.slice(from).join("\n").slice(-2_000)}`);
        return lines.slice(from).map(parse).find((l) => l?.msg === "serving /healthz and /metrics on 127.0.0.1");
      },
      { timeoutMs: 60_000, message: "the daemon serving /healthz" },
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; its output:\n${lines.slice(from).join("\n").slice(-3_000)}`, { cause: e });
    });
    port = Number(ready!.port);
  };
  const health = async (): Promise<Record<string, unknown> | undefined> => {
    if (port === undefined) return undefined;
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })).json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  await start();
  return {
    kind: "daemon",
    address: privateKeyToAccount(KEEPER_KEY).address,
    lines,
    async processedHead() {
      const h = await health();
      if (typeof h?.head === "string") return BigInt(h.head);
      const up = [...lines].reverse().map(parse).find((l) => l?.msg === "index up to date");
      return up?.block === undefined ? undefined : BigInt(String(up.block));
    },
    inFlight: async () => Number((await health())?.inFlight ?? 0),
    async kill() {
      child?.kill("SIGKILL");
      await exited;
      port = undefined;
    },
    restart: start,
    checkpointPath: checkpoint,
    async stop() {
      child?.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) throw new Error(`the daemon exited with ${code} on SIGTERM`);
      const cp = JSON.parse(readFileSync(checkpoint, "utf8")) as { index: { state: unknown } };
      const state = IndexState.fromJSON(cp.index.state);
      return { view: state, block: state.block };
    },
  };
}

function parse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Cells
// ---------------------------------------------------------------------------------------------

/** What a cell's hooks get. */
export type CellRun = {
  world: World;
  chain: TestChain;
  test: TestTestClient;
  proxy: FaultProxy;
  keeper: KeeperUnderTest;
  settings: KeeperSettings;
  /** Base fee of the seeded world's blocks (restored after a spike). */
  baselineBaseFee: bigint;
  /** Block of the shock (set by the shock). */
  shockBlock: bigint;
  /** Prices the shock means to set (the targets are computed at these). */
  intended: Map<number, bigint>;
  /** Chain-side faults injected, for the report. */
  injected: Record<string, number>;
  /** Transactions another process sent with the keeper's key (not the keeper's own). */
  foreign: Set<Hex>;
  notes: string[];
  /** The cell's own endpoints, if any. */
  endpoints?: CellEndpoints | undefined;
  /** Mine one block and wait (bounded by `waitMs`) until the keeper has processed it. */
  step(waitMs?: number): Promise<bigint>;
  /** Our Liquidated events since the shock. */
  ourLiquidations(): Promise<number>;
};

/** A transport cell's endpoints: the keeper's read URLs and flags, instead of the fault proxy's URL alone. */
export type CellEndpoints = {
  rpc: string[];
  /** More `perp-keeper run` flags (the daemon only), e.g. --send-rpc. */
  args?: string[];
  /** Before the shock, when the spec has no `inject` of its own. */
  inject?: (h: CellRun) => Promise<void>;
  /** While the fault is on, when the spec has no `during` of its own. */
  during?: (h: CellRun) => Promise<void>;
  /** After the cell: throws what the transport did wrong (the cell then fails). */
  check?: (h: CellRun) => Promise<void>;
  close(): Promise<void>;
};

export type CellSpec = {
  id: string;
  title: string;
  /** The keeper's endpoints (default: the fault proxy's URL). */
  endpoints?: (ctx: { chain: TestChain; proxy: FaultProxy }) => Promise<CellEndpoints>;
  /** The proxy's schedule while the fault is on. */
  proxy?: FaultSchedule;
  /** Keeper settings over the matrix defaults. */
  settings?: Partial<KeeperSettings>;
  daemon?: boolean;
  /** A chain-side fault, before the shock. */
  inject?: (h: CellRun) => Promise<void>;
  /** The shock: sets h.shockBlock and h.intended. Default: every market −8% in one block. */
  shock?: (h: CellRun) => Promise<void>;
  /** While the fault is on, after the shock. Default: `faultBlocks` blocks. */
  during?: (h: CellRun) => Promise<void>;
  faultBlocks?: number;
  /** End a chain-side fault. */
  clear?: (h: CellRun) => Promise<void>;
  /** Every target must be liquidated within this many blocks of the shock (default: no bound beyond RECOVERY_BLOCKS). */
  withinBlocks?: number;
  /** The shock must make at least this many targets (a burst cell). */
  minTargets?: number;
};

/**
 * The keeper's settings in the matrix: the defaults of config/keeper.json, polling every 50 ms, and
 * backstop mode (a protocol team's keeper: every liquidatable account is a target, at a loss if
 * need be, so "missed" means missed and not "not worth it").
 */
export function defaultSettings(over: Partial<KeeperSettings> = {}): KeeperSettings {
  return { ...loadKeeperSettings({ minProfitUsd: "0", pollingIntervalMs: 50, backstopMode: true }), ...over };
}

export async function defaultShock(h: CellRun): Promise<void> {
  h.intended = await h.world.prices.shocked(SHOCK_PERMILLE);
  h.shockBlock = await h.world.prices.inOneBlock(h.intended);
}

/** Mine `n` blocks at the matrix pace, waiting briefly for the keeper (it may be the one at fault). */
export async function driveBlocks(h: CellRun, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await h.step(2_000);
}

/** The chain as a cell starts it: the seeded world (the test's snapshot), an empty pool, fresh prices. */
async function resetWorld(world: World, baselineBaseFee: bigint): Promise<void> {
  const test = world.chain.testClient;
  await test.setAutomine(true);
  await test.request({ method: "anvil_dropAllTransactions" } as never);
  // Blocks between the test's snapshot and the cell: a reorg cell rolls back at most 5 blocks, and
  // one that reached the snapshot's block would invalidate it (evm_revert: not found).
  await test.mine({ blocks: SNAPSHOT_MARGIN_BLOCKS });
  // Not part of a snapshot: a base fee raised by an earlier cell, and the clock (warped by earlier
  // cells' cooldowns): prices are published afresh so no feed is stale.
  await test.setNextBlockBaseFeePerGas({ baseFeePerGas: baselineBaseFee });
  await world.prices.inOneBlock(await world.prices.marks());
}

function seedOf(id: string): number {
  return Number(BigInt(keccak256(stringToHex(id))) % 2n ** 31n);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs one cell on the seeded world (`world`, its traders seeded; the test's snapshot returns the
 * chain to it afterwards).
 */
export async function runCell(world: World, spec: CellSpec): Promise<CellResult> {
  const t0 = performance.now();
  const { chain } = world;
  // The seeded world's head: its base fee is the one a cell's spike is lifted back to.
  const baselineBaseFee = (await chain.publicClient.getBlock()).baseFeePerGas ?? 0n;
  await resetWorld(world, baselineBaseFee);
  const traders = world.traders; // a cell may seed more; the chain is reverted, and so is the list
  const test = chain.testClient;
  const startBlock = await chain.publicClient.getBlockNumber();
  const settings = defaultSettings(spec.settings);
  const proxy = await startFaultProxy({ target: chain.anvil.rpcUrl, seed: seedOf(spec.id), auth: { user: RPC_USER, password: RPC_PASSWORD }, key: RPC_KEY });
  const dir = tempDir();
  let keeper: KeeperUnderTest | undefined;
  let endpoints: CellEndpoints | undefined;
  try {
    endpoints = await spec.endpoints?.({ chain, proxy });
    const urls = endpoints?.rpc ?? [proxy.url];
    keeper = spec.daemon ? await daemonKeeper(urls, endpoints?.args ?? [], world, settings, dir) : await inProcessKeeper(urls, world, settings);
    const k = keeper;
    await waitFor(async () => ((await k.processedHead()) ?? -1n) >= startBlock, { timeoutMs: 30_000, message: "the keeper indexing the head" });

    let lastBlockAt = 0;
    const h: CellRun = {
      world,
      chain,
      test,
      proxy,
      keeper: k,
      settings,
      baselineBaseFee,
      shockBlock: 0n,
      intended: new Map(),
      injected: {},
      foreign: new Set(),
      notes: [],
      endpoints,
      async step(waitMs = 15_000) {
        const wait = BLOCK_MS - (performance.now() - lastBlockAt);
        if (wait > 0) await sleep(wait);
        await test.mine({ blocks: 1 });
        lastBlockAt = performance.now();
        const n = await chain.publicClient.getBlockNumber();
        await waitFor(async () => ((await h.keeper.processedHead()) ?? -1n) >= n, { timeoutMs: waitMs, intervalMs: 20 }).catch(() => undefined);
        return n;
      },
      async ourLiquidations() {
        const events = await liquidations(world, h.shockBlock);
        return events.filter((e) => e.keeper === getAddress(k.address)).length;
      },
    };

    // Fault on, shock, fault held, fault cleared.
    proxy.setFaults(spec.proxy ?? {});
    await (spec.inject ?? endpoints?.inject)?.(h);
    await (spec.shock ?? defaultShock)(h);
    const targets = await targetsAt(world, h.shockBlock, settings, { prices: h.intended, baseFeePerGas: baselineBaseFee });
    const during = spec.during ?? endpoints?.during;
    if (during) await during(h);
    else await driveBlocks(h, spec.faultBlocks ?? 8);
    proxy.clear();
    await spec.clear?.(h);
    const clearBlock = await chain.publicClient.getBlockNumber();
    const tClear = performance.now();

    // Recovery: block by block until every target has been liquidated.
    const firstLiquidation = async () => {
      const first = new Map<Address, { block: bigint; keeper: Address }>();
      for (const e of await liquidations(world, h.shockBlock)) if (!first.has(e.account)) first.set(e.account, { block: e.block, keeper: e.keeper });
      return first;
    };
    let recoverMs = 0;
    for (let i = 0; ; i++) {
      const first = await firstLiquidation();
      if (targets.planned.every((t) => first.has(t))) {
        const lastAt = Math.max(0, ...targets.planned.map((t) => Number(first.get(t)!.block - clearBlock)));
        recoverMs = lastAt === 0 ? 0 : performance.now() - tClear;
        break;
      }
      if (i >= RECOVERY_BLOCKS) break;
      await h.step();
    }
    const first = await firstLiquidation();
    const missedAccounts = targets.planned.filter((t) => {
      const f = first.get(t);
      return f === undefined || f.block > clearBlock + BigInt(RECOVERY_BLOCKS);
    });
    const caughtBlocks = targets.planned.filter((t) => first.has(t)).map((t) => Number(first.get(t)!.block - clearBlock));
    const recoverBlocks = Math.max(0, ...caughtBlocks);
    const catchBlocks = Math.max(0, ...targets.planned.filter((t) => first.has(t)).map((t) => Number(first.get(t)!.block - h.shockBlock)));

    // Settle: cooldowns pass and prices stay fresh until nothing is liquidatable.
    for (let r = 0; r < 12; r++) {
      if ((await liquidatableTraders(world)).length === 0 && (await k.inFlight()) === 0) break;
      await test.increaseTime({ seconds: 31 });
      await world.prices.inOneBlock(await world.prices.marks());
      for (let b = 0; b < 3; b++) await h.step();
    }
    const leftLiquidatable = (await liquidatableTraders(world)).length;
    const endBlock = await chain.publicClient.getBlockNumber();
    await waitFor(async () => ((await k.processedHead()) ?? -1n) >= endBlock, { timeoutMs: 30_000, message: "the keeper at the last head" });
    const index = await k.stop();
    keeper = undefined;
    const mismatches = await indexMismatches(world, index.view, index.block);

    // From the chain: our transactions, their receipts and what they did.
    const sentByUs = await ourTransactions(world, getAddress(k.address), startBlock + 1n, await chain.publicClient.getBlockNumber());
    const ours = sentByUs.filter((t) => !h.foreign.has(t.tx.hash));
    const dup = duplicates(ours, await liquidations(world, startBlock + 1n));
    const counters = proxy.counters();
    const secrets = [KEEPER_KEY.slice(2).toLowerCase(), RPC_PASSWORD.toLowerCase(), RPC_KEY.toLowerCase()];
    const secretLines = k.lines.filter((l) => secrets.some((s) => l.toLowerCase().includes(s)));
    mkdirSync(LOGS_DIR, { recursive: true });
    writeFileSync(join(LOGS_DIR, `${spec.id}.log`), `${k.lines.join("\n")}\n`);
    if (secretLines.length > 0) h.notes.push(`secret in: ${secretLines[0]!.slice(0, 300)}`);
    await endpoints?.check?.(h);

    return {
      id: spec.id,
      title: spec.title,
      ...(spec.withinBlocks === undefined ? {} : { withinBlocks: spec.withinBlocks }),
      ...(spec.minTargets === undefined ? {} : { minTargets: spec.minTargets }),
      injected: describeInjected(counters, h.injected),
      keeper: k.kind,
      targets: targets.planned.length,
      belowPolicy: targets.liquidatable.length - targets.planned.length,
      missed: missedAccounts.length,
      missedAccounts,
      duplicates: dup.length,
      duplicateDetails: dup,
      ourTxs: ours.length,
      reverted: ours.filter((t) => t.receipt.status !== "success").length,
      failedItems: ours.reduce((n, t) => n + t.failed.size, 0),
      aboveCap: ours.filter((t) => (t.tx.maxFeePerGas ?? t.tx.gasPrice ?? 0n) > settings.feeCapWei).length,
      txsDuringFault: ours.filter((t) => t.receipt.blockNumber >= h.shockBlock && t.receipt.blockNumber <= clearBlock).length,
      byOthers: targets.planned.filter((t) => first.has(t) && first.get(t)!.keeper !== getAddress(k.address)).length,
      catchBlocks,
      recoverBlocks,
      recoverMs: Math.round(recoverMs),
      leftLiquidatable,
      indexEqual: mismatches.length === 0,
      indexMismatches: mismatches,
      logLines: k.lines.length,
      secretLines: secretLines.length,
      notes: h.notes,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    world.traders = traders;
    if (keeper) await (keeper.kill?.() ?? keeper.stop().catch(() => undefined));
    await proxy.close();
    await endpoints?.close();
    await test.setAutomine(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

function describeInjected(c: FaultCounters, chain: Record<string, number>): string {
  const names: Record<string, string> = { rpcError: "RPC errors", http5xx: "HTTP 5xx", reset: "resets", drop: "drops", rateLimit: "429s", stale: "stale heads", latency: "delayed" };
  const parts = Object.entries(c.injected)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${names[k] ?? k}`);
  for (const [k, n] of Object.entries(chain)) parts.push(n === 1 ? k : `${n}× ${k}`);
  const base = parts.length === 0 ? "none" : parts.join(", ");
  return c.requests > 0 && Object.values(c.injected).some((n) => n > 0) ? `${base} (of ${c.requests} requests)` : base;
}

// ---------------------------------------------------------------------------------------------
// Reading the chain
// ---------------------------------------------------------------------------------------------

export type Targets = {
  /** Liquidatable by the engine at the block (and prices) asked. */
  liquidatable: Address[];
  /** Those the keeper's policy liquidates (its planner keeps a transaction for them). */
  planned: Address[];
};

/**
 * The accounts that must be liquidated: the engine on the contract's state at `block` (accounts,
 * markets, parameters read at that block), at the contract's mark prices or at `prices` (to
 * value a block whose feed is stale or zero as it will be once a good price returns). Without
 * `prices` the engine's answer is checked against the contract's own isLiquidatable.
 */
export async function targetsAt(
  world: World,
  block: bigint,
  settings: KeeperSettings,
  opts: { prices?: ReadonlyMap<number, bigint>; baseFeePerGas?: bigint } = {},
): Promise<Targets> {
  const c = world.chain;
  const market = world.deployment.contracts.market;
  const at = { blockNumber: block };
  const [b, markets, global, prices] = await Promise.all([
    world.chain.publicClient.getBlock(at),
    readMarketStates(c, market, at),
    readGlobalParams(c, market, at),
    opts.prices ? Promise.resolve(new Map(opts.prices)) : world.prices.marks(block),
  ]);
  const v: Valuation = { markets, prices, timestamp: b.timestamp, global };
  const accounts = await Promise.all(world.traders.map(async (t) => [t, await readAccount(c, market, t, at)] as [Address, Account]));
  const liquidatable = accounts.filter(([, a]) => a.positions.length > 0 && accountHealth(a, v).liquidatable).map(([t]) => t);
  if (!opts.prices) {
    const flags = await Promise.all(
      world.traders.map((t) => world.chain.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [t], ...at })),
    );
    const contract = world.traders.filter((_, i) => flags[i]);
    if (JSON.stringify(contract) !== JSON.stringify(liquidatable)) throw new Error(`engine and contract disagree at block ${block}: ${liquidatable} vs ${contract}`);
  }
  // Gas valued at the world's ETH / USD feed, as the keeper reads it.
  const gas = gasModelFor({ ...settings, gas: settings.gas ?? REFERENCE_GAS }, opts.baseFeePerGas ?? b.baseFeePerGas ?? 0n, { nativeUsd: settings.nativeUsd ?? NATIVE_USD });
  const txs = planTransactions(findCandidates(accounts.filter(([t]) => liquidatable.includes(t)), v, gas), gas, {
    minProfitUsd: settings.minProfitUsd,
    backstopMode: settings.backstopMode,
    maxBatch: settings.maxBatch,
  });
  const planned = new Set(txs.flatMap((tx) => tx.items.map((i) => getAddress(i.account))));
  return { liquidatable, planned: liquidatable.filter((t) => planned.has(t)) };
}

/** A transaction of ours and what it did, and the duplicate rule: one definition with the soak's (scripts/soak/audit.ts, which a script can import). */
export { duplicates, type OurTx };


/** Every transaction `from` sent in [fromBlock, toBlock], with its receipt and decoded targets. */
export async function ourTransactions(world: World, from: Address, fromBlock: bigint, toBlock: bigint): Promise<OurTx[]> {
  const client = world.chain.publicClient;
  const out: OurTx[] = [];
  for (let b = fromBlock; b <= toBlock; b++) {
    const block = await client.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) {
      if (getAddress(tx.from) !== from) continue;
      const receipt = await client.getTransactionReceipt({ hash: tx.hash });
      out.push(ourTxOf(world.deployment.contracts.market, tx as Transaction, receipt));
    }
  }
  return out;
}

/**
 * Duplicates: an item of ours that did nothing (reverted, failed in its batch, or no event) on a
 * target whose last effective liquidation before it (anyone's) was ours — it repeated our own
 * liquidation, sent while that one was pending or after it was mined. A race lost to another
 * keeper is not a duplicate (it is counted as reverted / failed).
 */
// ---------------------------------------------------------------------------------------------
// Helpers for cells
// ---------------------------------------------------------------------------------------------

/** A fresh temp dir (removed by the caller). */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "perp-keeper-faults-"));
}
