/**
 * The real keeper on a test chain: built with createKeeper for the reference market, signing with
 * a dev account, and driven head by head through a price crash until every liquidatable trader
 * is dealt with; checked against the contract's own state and events.
 */
import { getAddress, type Address } from "viem";
import { expect } from "vitest";
import type { Deployment } from "../../src/chain/deploy.ts";
import { loadKeeperSettings, type KeeperSettings } from "../../src/config/keeper.ts";
import type { Account } from "../../src/engine/index.ts";
import { createKeeper } from "../../src/keeper/createKeeper.ts";
import type { Keeper } from "../../src/keeper/keeper.ts";
import { silentLogger, type Logger } from "../../src/lib/logger.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { gasModelFor } from "../../src/plan/planLiquidations.ts";
import { findCandidates } from "../../src/protocols/reference/candidates.ts";
import { REFERENCE_GAS } from "../../src/protocols/reference/gas.ts";
import { referenceMarket, valuationAt, type IndexLog, type IndexState } from "../../src/protocols/reference/index.ts";
import { headOf, type Clients } from "./blocks.ts";
import type { World } from "./fixtures.ts";
import { expectIndexMatchesChain } from "./indexCheck.ts";
import { captureLogs, emptySink, type LogSink } from "./logs.ts";
import { liquidatableTraders, liquidations, signer, tokenBalance } from "./market.ts";

/** A keeper of the reference market. */
export type RefKeeper = Keeper<IndexState, IndexLog>;

/** A keeper, what it was built with, and what it logged. */
export type TestKeeper = { keeper: RefKeeper; metrics: Metrics; settings: KeeperSettings; address: Address; logger: Logger; logs: LogSink };

export type KeeperOptions = {
  /** Write and resume from settings.checkpointPath (default: no checkpoint). */
  checkpoint?: boolean;
  /** Keep the keeper's log lines at this level in `logs` (default: no logging). */
  logLevel?: string;
  /** Masked in its log lines. */
  secrets?: readonly string[];
  /** Its clients, e.g. through a fault proxy (default: the chain's, signing as the wallet asked). */
  clients?: ReturnType<typeof signer>;
  metrics?: Metrics;
};

/** Builds a keeper signing as dev account `wallet`, with config/keeper.json (min profit 0) under `settings`. */
export type Keepers = (wallet: number, settings?: Partial<KeeperSettings>, opts?: KeeperOptions) => TestKeeper;

/** The keeper factory for `deployment` on `chain`. */
export function keepersOf(chain: Clients, deployment: Deployment): Keepers {
  return (wallet, overrides = {}, opts = {}) => {
    const settings: KeeperSettings = { ...loadKeeperSettings({ minProfitUsd: "0" }), ...overrides };
    const metrics = opts.metrics ?? createMetrics();
    const { logger, sink } = opts.logLevel === undefined ? { logger: silentLogger(), sink: emptySink() } : captureLogs({ level: opts.logLevel, secrets: opts.secrets ?? [] });
    const c = opts.clients ?? signer(chain, wallet);
    const keeper: RefKeeper = createKeeper({
      protocol: referenceMarket(deployment.contracts.market),
      ...c,
      deployment,
      settings,
      logger,
      metrics,
      checkpoint: opts.checkpoint ?? false,
    });
    return { keeper, metrics, settings, address: c.walletClient.account.address, logger, logs: sink };
  };
}

// ---------------------------------------------------------------------------------------------
// Driving keepers through a crash
// ---------------------------------------------------------------------------------------------

/**
 * Lets time pass and blocks come until no trader is liquidatable (or `rounds` run out): each round
 * warps past the cooldown, re-publishes prices (keeping them fresh) and hands the head to the keepers.
 */
export async function runUntilSettled(world: World<Clients>, keepers: RefKeeper[], rounds = 40): Promise<number> {
  const test = world.chain.testClient;
  for (let r = 0; r < rounds; r++) {
    const head = await headOf(world.chain);
    await Promise.all(keepers.map((k) => k.onHead(head)));
    // The executor's sends are mined at once (automine); the next head carries their receipts.
    await test.mine({ blocks: 1 });
    const next = await headOf(world.chain);
    await Promise.all(keepers.map((k) => k.onHead(next)));
    if ((await liquidatableTraders(world)).length === 0 && keepers.every((k) => k.executor.inFlight().length === 0)) return r;
    await test.increaseTime({ seconds: 31 });
    await world.prices.move(0);
  }
  return rounds;
}

/**
 * Runs until no trader is liquidatable. What profit-seeking keepers leave must be unprofitable
 * (reward below the gas it would burn); a protocol team's keeper in backstop mode then clears it.
 */
export async function settleAndClear(world: World<Clients>, keepers: RefKeeper[], settings: KeeperSettings): Promise<void> {
  await runUntilSettled(world, keepers);
  const leftover = await liquidatableTraders(world);
  if (leftover.length > 0) {
    const k0 = keepers[0]!;
    const head = await headOf(world.chain);
    const v = valuationAt(k0.index.state, head.timestamp);
    const gas = gasModelFor({ ...settings, gas: settings.gas ?? REFERENCE_GAS }, head.baseFeePerGas, { nativeUsd: k0.nativeUsd });
    const cands = findCandidates(leftover.map((t) => [t, k0.index.state.accounts.get(t)!] as [string, Account]), v, gas);
    for (const c of cands) expect(c.profitUsd < settings.minProfitUsd, `${c.account} left with profit ${c.profitUsd}`).toBe(true);
    const backstop = world.keeper(5, { backstopMode: true });
    await backstop.keeper.start();
    await runUntilSettled(world, [...keepers, backstop.keeper]);
    expect(backstop.keeper.executor.stats().reverted).toBe(0);
    await backstop.keeper.stop(1_000);
  }
  expect(await liquidatableTraders(world)).toEqual([]);
}

/** Moves prices down in steps, handing every head to the keepers; the traders seen liquidatable. */
export async function crashPath(world: World<Clients>, keepers: RefKeeper[], totalPermille = -60, stepPermille = -2): Promise<Set<Address>> {
  const seen = new Set<Address>();
  for (let moved = 0; moved > totalPermille; moved += stepPermille) {
    await world.prices.move(stepPermille);
    for (const t of await liquidatableTraders(world)) seen.add(t);
    const head = await headOf(world.chain);
    await Promise.all(keepers.map((k) => k.onHead(head)));
  }
  return seen;
}

/**
 * The crash scenario: prices fall `totalPermille` in steps of `stepPermille`, one feed update per
 * block, the keeper watching every head. Some traders become liquidatable; the keeper liquidates
 * every one (partially where the rules say partial), each ends healthy or fully closed, the keeper
 * is rewarded, none of its transactions reverted, no bad debt formed, and its index equals the chain.
 */
export async function crashAndCheck(world: World<Clients>, totalPermille = -60, stepPermille = -2): Promise<void> {
  const k = world.keeper(3);
  await k.keeper.start();
  expect(await liquidatableTraders(world)).toEqual([]);
  const from = (await headOf(world.chain)).number;
  const before = await tokenBalance(world, k.address);
  const seen = await crashPath(world, [k.keeper], totalPermille, stepPermille);
  expect(seen.size).toBeGreaterThan(2);

  await settleAndClear(world, [k.keeper], k.settings);
  const events = await liquidations(world, from);
  const liquidated = new Set(events.map((e) => e.account));
  for (const v of seen) expect(liquidated.has(v)).toBe(true);
  expect(events.filter((e) => e.keeper === getAddress(k.address)).length).toBeGreaterThan(0);
  // Partial where the rules say partial: the preset caps large positions at 20% steps.
  expect(events.some((e) => !e.full)).toBe(true);
  const stats = k.keeper.executor.stats();
  expect(stats.reverted).toBe(0);
  expect(await tokenBalance(world, k.address)).toBeGreaterThan(before);
  await expectIndexMatchesChain(world, k.keeper.index);
  await k.keeper.stop(1_000);
}
