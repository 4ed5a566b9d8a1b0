/**
 * A keeper end-to-end scenario on a real chain: a seeded population of traders, the real keeper,
 * a price crash, and checks against the contract's own state and events.
 */
import { isDeepStrictEqual } from "node:util";
import { getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { expect } from "vitest";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../../src/chain/clients.ts";
import { deployReferenceMarket, type Deployment } from "../../src/chain/deploy.ts";
import { publishPrice } from "../../src/chain/prices.ts";
import { readAccount, readGlobalParams, readMarketStates } from "../../src/chain/reads.ts";
import { loadKeeperSettings, type KeeperSettings } from "../../src/config/keeper.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { accountHealth, type Account, type MarketState, type Position, type Valuation } from "../../src/engine/index.ts";
import { createKeeper } from "../../src/keeper/createKeeper.ts";
import type { Keeper as AnyKeeper } from "../../src/keeper/keeper.ts";
import { gasModelFor, planTransactions } from "../../src/plan/planLiquidations.ts";
import { findCandidates } from "../../src/protocols/reference/candidates.ts";
import { REFERENCE_GAS } from "../../src/protocols/reference/gas.ts";
import { referenceMarket, valuationAt, type IndexLog, type IndexState, type IndexStateView } from "../../src/protocols/reference/index.ts";

/** A keeper of the reference market. */
type Keeper = AnyKeeper<IndexState, IndexLog>;
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { seedTraders } from "../../src/sim/seedTraders.ts";
import type { TestChain, TestTestClient } from "../support/anvil.ts";

export type World = { chain: Pick<TestChain, "publicClient" | "testClient" | "wallet">; deployment: Deployment; traders: Address[] };

export function clientsOf(chain: World["chain"], walletIndex: number): ChainClients {
  return { publicClient: chain.publicClient, walletClient: chain.wallet(walletIndex) } as unknown as ChainClients;
}

/** Deploy with `preset` and seed `count` traders. */
export async function seedWorld(chain: World["chain"], preset = "hyperliquid", count = 24): Promise<World> {
  const owner = clientsOf(chain, 0);
  const deployment = await deployReferenceMarket(owner, { markets: loadMarkets(), preset: loadPreset(preset) });
  // Ordered: automine alone can strand a burst that fills a block (no block comes for the rest).
  const seeded = await seedTraders(owner, deployment, { count, seed: "keeper-e2e", ordered: true });
  return { chain, deployment, traders: seeded.traders.map((t) => getAddress(t.address)) };
}

export function keeperFor(world: World, walletIndex: number, overrides: Partial<KeeperSettings> = {}, checkpoint = false) {
  const settings: KeeperSettings = { ...loadKeeperSettings({ minProfitUsd: "0" }), ...overrides };
  const metrics = createMetrics();
  const keeper = createKeeper({
    protocol: referenceMarket(world.deployment.contracts.market),
    publicClient: world.chain.publicClient as unknown as ChainClients["publicClient"],
    walletClient: world.chain.wallet(walletIndex) as unknown as ChainClients["walletClient"],
    deployment: world.deployment,
    settings,
    logger: silentLogger(),
    metrics,
    checkpoint,
  });
  return { keeper, metrics, settings, address: world.chain.wallet(walletIndex).account.address };
}

export async function headOf(chain: World["chain"]) {
  const b = await chain.publicClient.getBlock({ blockTag: "latest" });
  return { number: b.number!, hash: b.hash!, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n };
}

export async function liquidatableTraders(world: World): Promise<Address[]> {
  const flags = await Promise.all(
    world.traders.map((t) =>
      world.chain.publicClient.readContract({ address: world.deployment.contracts.market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [t] }),
    ),
  );
  return world.traders.filter((_, i) => flags[i]);
}

/** Move every market's mark by `permille` (−80 = −8%), one block per feed. */
export async function movePrices(world: World, permille: number): Promise<void> {
  const owner = clientsOf(world.chain, 0);
  for (const m of world.deployment.markets) {
    const price = await world.chain.publicClient.readContract({
      address: world.deployment.contracts.market,
      abi: PerpMarket.abi,
      functionName: "markPrice",
      args: [BigInt(m.id)],
    });
    await publishPrice(owner, m.feed, (price * BigInt(1000 + permille)) / 1000n, m.feedDecimals);
  }
}

/**
 * Let time pass and blocks come until no trader is liquidatable (or `rounds` run out): each round
 * warps past the cooldown, re-publishes prices (keeping them fresh) and hands the head to the keepers.
 */
export async function runUntilSettled(world: World, keepers: Keeper[], rounds = 40): Promise<number> {
  const test = world.chain.testClient as TestTestClient;
  for (let r = 0; r < rounds; r++) {
    const head = await headOf(world.chain);
    await Promise.all(keepers.map((k) => k.onHead(head)));
    // The executor's sends are mined at once (automine); the next head carries their receipts.
    await test.mine({ blocks: 1 });
    const next = await headOf(world.chain);
    await Promise.all(keepers.map((k) => k.onHead(next)));
    if ((await liquidatableTraders(world)).length === 0 && keepers.every((k) => k.executor.inFlight().length === 0)) return r;
    await test.increaseTime({ seconds: 31 });
    await movePrices(world, 0);
  }
  return rounds;
}

/**
 * Run until no trader is liquidatable. What profit-seeking keepers leave must be unprofitable
 * (reward below the gas it would burn); a protocol team's keeper in backstop mode then clears it.
 */
export async function settleAndClear(world: World, keepers: Keeper[], settings: KeeperSettings): Promise<void> {
  await runUntilSettled(world, keepers);
  const leftover = await liquidatableTraders(world);
  if (leftover.length > 0) {
    const k0 = keepers[0]!;
    const head = await headOf(world.chain);
    const v = valuationAt(k0.index.state, head.timestamp);
    const gas = gasModelFor({ ...settings, gas: settings.gas ?? REFERENCE_GAS }, head.baseFeePerGas);
    const cands = findCandidates(leftover.map((t) => [t, k0.index.state.accounts.get(t)!] as [string, Account]), v, gas);
    for (const c of cands) expect(c.profitUsd < settings.minProfitUsd, `${c.account} left with profit ${c.profitUsd}`).toBe(true);
    const backstop = keeperFor(world, 5, { backstopMode: true });
    await backstop.keeper.start();
    await runUntilSettled(world, [...keepers, backstop.keeper]);
    expect(backstop.keeper.executor.stats().reverted).toBe(0);
    await backstop.keeper.stop(1_000);
  }
  expect(await liquidatableTraders(world)).toEqual([]);
}

/** Move prices down in steps, handing every head to the keepers; returns the traders seen liquidatable. */
export async function crashPath(world: World, keepers: Keeper[], totalPermille = -60, stepPermille = -2): Promise<Set<Address>> {
  const seen = new Set<Address>();
  for (let moved = 0; moved > totalPermille; moved += stepPermille) {
    await movePrices(world, stepPermille);
    for (const t of await liquidatableTraders(world)) seen.add(t);
    const head = await headOf(world.chain);
    await Promise.all(keepers.map((k) => k.onHead(head)));
  }
  return seen;
}

export type LiquidationEvent = { account: Address; marketId: bigint; keeper: Address; size: bigint; full: boolean; remainingSize: bigint; txHash: Hex };

export async function liquidationEvents(world: World, fromBlock: bigint): Promise<LiquidationEvent[]> {
  const logs = await world.chain.publicClient.getLogs({
    address: world.deployment.contracts.market,
    fromBlock,
    toBlock: "latest",
  });
  return parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" }).map((l) => ({
    account: getAddress(l.args.account),
    marketId: l.args.marketId,
    keeper: getAddress(l.args.keeper),
    size: l.args.size,
    full: l.args.full,
    remainingSize: l.args.remainingSize,
    txHash: l.transactionHash,
  }));
}

export async function tokenBalance(world: World, who: Address): Promise<bigint> {
  return world.chain.publicClient.readContract({ address: world.deployment.contracts.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [who] });
}

/** The keeper's index equals the contract's state for every trader, market, price and parameter. */
export async function expectIndexMatchesChain(world: World, keeper: Keeper): Promise<void> {
  expect(await indexMismatches(world, keeper.index.state, keeper.index.head!.number)).toEqual([]);
}

/**
 * The crash scenario the issue asks for: prices fall `totalPermille` in steps of `stepPermille`,
 * one feed update per block, the keeper watching every head. Some traders become liquidatable; the
 * keeper liquidates every one (partially where the rules say partial), each ends healthy or fully
 * closed, the keeper is rewarded, none of its transactions reverted, no bad debt formed, and its
 * index equals the chain.
 */
export async function crashAndCheck(world: World, totalPermille = -60, stepPermille = -2): Promise<void> {
  const k = keeperFor(world, 3);
  await k.keeper.start();
  expect(await liquidatableTraders(world)).toEqual([]);
  const from = (await headOf(world.chain)).number;
  const before = await tokenBalance(world, k.address);
  const seen = await crashPath(world, [k.keeper], totalPermille, stepPermille);
  expect(seen.size).toBeGreaterThan(2);

  await settleAndClear(world, [k.keeper], k.settings);
  const events = await liquidationEvents(world, from);
  const liquidated = new Set(events.map((e) => e.account));
  for (const v of seen) expect(liquidated.has(v)).toBe(true);
  expect(events.filter((e) => e.keeper === getAddress(k.address)).length).toBeGreaterThan(0);
  // Partial where the rules say partial: the preset caps large positions at 20% steps.
  expect(events.some((e) => !e.full)).toBe(true);
  const stats = k.keeper.executor.stats();
  expect(stats.reverted).toBe(0);
  expect(await tokenBalance(world, k.address)).toBeGreaterThan(before);
  await expectIndexMatchesChain(world, k.keeper);
  await k.keeper.stop(1_000);
}

// ---------------------------------------------------------------------------------------------
// For the fault matrix (test/faults): prices moved in one block, targets computed with the engine
// from the contract's state, and an index comparison that reports instead of throwing.
// ---------------------------------------------------------------------------------------------

/** Every market's mark price (the contract's view) at `blockNumber` (default latest). */
export async function markPrices(world: World, blockNumber?: bigint): Promise<Map<number, bigint>> {
  const at = blockNumber === undefined ? {} : { blockNumber };
  const prices = await Promise.all(
    world.deployment.markets.map((m) =>
      world.chain.publicClient.readContract({ address: world.deployment.contracts.market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(m.id)], ...at }),
    ),
  );
  return new Map(world.deployment.markets.map((m, i) => [m.id, prices[i]!]));
}

export type PublishInOneBlock = {
  /** Feed timestamps by market (a stale feed); default: the block's own time. */
  updatedAt?: ReadonlyMap<number, bigint>;
  /** Base fee of the block that carries the prices (a gas spike). */
  baseFeePerGas?: bigint;
  /** Fees of the price transactions (needed above a raised base fee). */
  fees?: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  /** Leave automine off afterwards (default: on again). */
  keepAutomineOff?: boolean;
};

/**
 * Publish `prices` (WAD, by market id; a market left out keeps its price) on the feeds in ONE
 * block: automine paused, the feed updates sent, one block mined. A keeper therefore sees the
 * move at once, and the accounts it makes liquidatable are exactly those liquidatable at the
 * returned block.
 */
export async function publishPricesInOneBlock(world: World, prices: ReadonlyMap<number, bigint>, opts: PublishInOneBlock = {}): Promise<bigint> {
  const test = world.chain.testClient as TestTestClient;
  const owner = world.chain.wallet(0);
  await test.setAutomine(false);
  try {
    const hashes: Hex[] = [];
    for (const m of world.deployment.markets) {
      const price = prices.get(m.id);
      if (price === undefined) continue;
      const answer = price / 10n ** BigInt(18 - m.feedDecimals);
      const at = opts.updatedAt?.get(m.id);
      const base = { address: m.feed, abi: MockAggregatorV3.abi, ...(opts.fees ?? {}) } as const;
      hashes.push(
        at === undefined
          ? await owner.writeContract({ ...base, functionName: "updateAnswer", args: [answer] })
          : await owner.writeContract({ ...base, functionName: "updateAnswerAt", args: [answer, at] }),
      );
    }
    if (opts.baseFeePerGas !== undefined) await test.setNextBlockBaseFeePerGas({ baseFeePerGas: opts.baseFeePerGas });
    await test.mine({ blocks: 1 });
    const receipts = await Promise.all(hashes.map((hash) => world.chain.publicClient.getTransactionReceipt({ hash })));
    const blocks = new Set(receipts.map((r) => r.blockNumber));
    if (receipts.some((r) => r.status !== "success") || blocks.size > 1) throw new Error("price updates did not land in one block");
    return receipts[0]?.blockNumber ?? (await world.chain.publicClient.getBlockNumber());
  } finally {
    if (!opts.keepAutomineOff) await test.setAutomine(true);
  }
}

/** Every market's price moved by `permille` (−80 = −8%) from its mark at `blockNumber`. */
export async function shockedPrices(world: World, permille: number, blockNumber?: bigint): Promise<Map<number, bigint>> {
  const now = await markPrices(world, blockNumber);
  return new Map([...now].map(([id, p]) => [id, (p * BigInt(1000 + permille)) / 1000n]));
}

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
  const c = clientsOf(world.chain, 0);
  const market = world.deployment.contracts.market;
  const at = { blockNumber: block };
  const [b, markets, global, prices] = await Promise.all([
    world.chain.publicClient.getBlock(at),
    readMarketStates(c, market, at),
    readGlobalParams(c, market, at),
    opts.prices ? Promise.resolve(new Map(opts.prices)) : markPrices(world, block),
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
  const gas = gasModelFor({ ...settings, gas: settings.gas ?? REFERENCE_GAS }, opts.baseFeePerGas ?? b.baseFeePerGas ?? 0n);
  const txs = planTransactions(findCandidates(accounts.filter(([t]) => liquidatable.includes(t)), v, gas), gas, {
    minProfitUsd: settings.minProfitUsd,
    backstopMode: settings.backstopMode,
    maxBatch: settings.maxBatch,
  });
  const planned = new Set(txs.flatMap((tx) => tx.items.map((i) => getAddress(i.account))));
  return { liquidatable, planned: liquidatable.filter((t) => planned.has(t)) };
}

/**
 * Where an index (a live indexer's state, or one read back from a checkpoint) differs from the
 * contract at `block`: every trader's collateral, cooldown stamp and positions, every market's
 * rules and funding, every feed's latest answer, and the global parameters. Empty when equal.
 */
export async function indexMismatches(world: World, view: IndexStateView, block: bigint): Promise<string[]> {
  const c = clientsOf(world.chain, 0);
  const market = world.deployment.contracts.market;
  const at = { blockNumber: block };
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => isDeepStrictEqual(a, b);
  const sort = (xs: readonly Position[]) => [...xs].sort((a, b) => a.marketId - b.marketId);
  const who = new Set<Address>([...world.traders, ...view.accounts.keys()]);
  await Promise.all(
    [...who].map(async (t) => {
      const onChain = await readAccount(c, market, t, at);
      const indexed = view.accounts.get(t) ?? { collateral: 0n, lastPartialAt: view.lastPartialAt(t), positions: [] };
      if (!same({ ...indexed, positions: sort(indexed.positions) }, { ...onChain, positions: sort(onChain.positions) })) out.push(`account ${t}`);
    }),
  );
  const [markets, global] = await Promise.all([readMarketStates(c, market, at), readGlobalParams(c, market, at)]);
  if (!same(view.global, global)) out.push("global parameters");
  for (const [id, m] of markets) {
    const im = view.markets.get(id);
    const pick = (x: MarketState) => ({ tiers: x.tiers, cums: x.cums, liquidation: x.liquidation, funding: x.funding, lotSize: x.lotSize, tradingFeePpm: x.tradingFeePpm });
    if (!im || !same(pick(im), pick(m))) out.push(`market ${id}`);
    const feed = world.deployment.markets.find((d) => d.id === id)!.feed;
    const [, answer, , updatedAt] = await world.chain.publicClient.readContract({ address: feed, abi: MockAggregatorV3.abi, functionName: "latestRoundData", ...at });
    const p = view.price(id);
    if (!p || p.answer !== answer || p.updatedAt !== updatedAt) out.push(`price ${id}`);
  }
  return out.sort();
}
