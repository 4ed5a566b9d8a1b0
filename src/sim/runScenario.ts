/**
 * The parameter lab's runner: one scenario, run for real under one or more presets.
 *
 * For each preset: Anvil (embedded, or a fork of an RPC at a pinned block), the reference market
 * with that preset (deployed, or the upstream's own market re-parameterised by its impersonated
 * owner), the trader population's own transactions, the real keeper daemon(s), the oracle updates
 * of each market's price path, then report.json's run section read back from the chain.
 *
 * Determinism. The chain is driven block by block and nothing depends on wall-clock time:
 * - Anvil starts from a fixed genesis timestamp with one second between setup blocks; deployment
 *   waits for each receipt and seeding sends in a fixed order with automine off (seedTraders'
 *   `ordered` mode), so every setup block has the same contents and time on every run.
 * - During the run automine is off. Each step: the oracle updates for that step are sent with a
 *   zero tip (so they sort after the keepers' transactions, which execute at the prices the keepers
 *   saw), the block is mined at its scripted timestamp, and then each keeper, in order of latency,
 *   is handed the head it can see (a latency of L ms at block time B shows it the head floor(L/B)
 *   blocks late) through the daemon's own `onHead`, and the runner waits until the keeper's tick and
 *   every transaction job it queued have finished before the next block is mined. Keepers run
 *   with one job at a time, so their nonces follow the planner's order, and their clocks
 *   (backoffs, budgets) are the chain's clock, not the wall clock.
 * - A market with an impact model (src/sim/impact.ts) is sent its path moved by the liquidations of
 *   the previous block, read from that block's Liquidated events once it is mined: a function of
 *   the chain, so as repeatable as the rest.
 * - Each feed of a market is sent its own path (feedPaths.ts): a market may read the median of several.
 * The scenario's backstop keeper (else its first keeper) is the market's ADL operator: it runs
 * auto-deleveraging as a keeper duty, sent within its tick like its liquidations.
 * So a scenario, seed and preset list give the same report.json on every run, apart from the
 * wall-clock fields (`generatedAt`, `wallClockMs`). The daemon's `followHeads` poller is the one
 * part of the keeper not used: it samples heads on a timer, which no seed can make repeatable.
 */
import { encodeFunctionData, getAddress, testActions, type Account, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { ANVIL_DEFAULT_MNEMONIC, AnvilStartError, startAnvil, type AnvilInstance } from "../chain/anvil.ts";
import { connect, redactUrl, type ChainClients } from "../chain/clients.ts";
import { deployReferenceMarket, globalParamsArg, liquidationParamsArg, type Deployment } from "../chain/deploy.ts";
import { checkDeploymentCode } from "../chain/deployment.ts";
import { publisherOf } from "../chain/prices.ts";
import { readMarketStates } from "../chain/reads.ts";
import { loadKeeperSettings } from "../config/keeper.ts";
import { checkPresetFits } from "../config/presets.ts";
import { PPM, WAD, type Tier } from "../engine/index.ts";
import { createKeeper } from "../keeper/createKeeper.ts";
import type { Keeper } from "../keeper/keeper.ts";
import { protocolFor } from "../protocols/index.ts";
import { silentLogger, type Logger } from "../lib/logger.ts";
import { createMetrics } from "../lib/metrics.ts";
import { planPopulationCapped } from "./population.ts";
import { applyImpact, feedUpdates, marketFeeds, startUpdates } from "./feedPaths.ts";
import { liquidatedNotionalIn } from "./liquidatedNotional.ts";
import { checkMined, marketCall, sendAndMine, sendOwnerCalls, type OwnerCall } from "./ownerCalls.ts";
import { assembleRunReport, observeRun, type RunKeeper } from "./report/build.ts";
import { inputFiles, relativeToRepo, runMarkets } from "./report/inputs.ts";
import { REPORT_VERSION, type LabReport, type RunReport } from "./report/types.ts";
import { leverageCaps, planRuns, type RunPlan } from "./runs.ts";
import type { Scenario } from "./scenario.ts";
import { seedMarkets, seedPlannedTraders } from "./seedTraders.ts";
import { SimulationError } from "./simulationError.ts";

export type ForkTarget = {
  /** Upstream JSON-RPC URL (may carry an API key: only its redacted form is ever written). */
  url: string;
  block: bigint;
  /** The market already deployed upstream; without it the market is deployed on the fork. */
  deployment?: Deployment;
};

export type RunPhase = "chain" | "deploy" | "seed" | "run" | "report";

export type RunProgress = {
  /** 0-based index of the run, and how many there are. */
  run: number;
  runs: number;
  preset: string;
  phase: RunPhase;
  /** Progress within the phase (blocks mined, or blocks read for the report). */
  done: number;
  total: number;
};

export type RunScenarioParameters = {
  scenario: Scenario;
  /** Runs, in order: a preset, or a preset with market variants (`hyperliquid+BTC-steep`, see runs.ts). Default: the scenario's preset. */
  presets?: readonly string[];
  /** Overrides the scenario's seed. */
  seed?: string;
  /**
   * Every run of the comparison when `presets` is a part of it (seeds.ts runs them one at a time):
   * the population's leverage is capped over all their tier tables, so each part has the same
   * traders as the whole (default: `presets`).
   */
  comparedWith?: readonly string[];
  fork?: ForkTarget;
  /** Logs of the runner and the keepers (default: silent). */
  logger?: Logger;
  onProgress?: (p: RunProgress) => void;
  signal?: AbortSignal;
  /** Wall clock for the report's wall-clock fields (tests). */
  now?: () => number;
  /** Called after each run's report is built, while its chain still runs (tests check it against the chain). */
  inspect?: (run: RunInspection) => Promise<void>;
};

/** A finished run whose chain is still up. */
export type RunInspection = {
  rpcUrl: string;
  deployment: Deployment;
  startBlock: bigint;
  endBlock: bigint;
  keepers: readonly RunKeeper[];
  /** The seeded traders' addresses. */
  traders: readonly Address[];
  report: RunReport;
};

export { SimulationError } from "./simulationError.ts";

/** Fixed genesis time of an embedded chain (2026-01-01T00:00:00Z): the same clock on every run. */
export const GENESIS_TIMESTAMP = 1_767_225_600;
/** Block gas limit: room for every keeper's transactions and the oracle updates in one block. */
const BLOCK_GAS_LIMIT = 300_000_000n;

/** Run the scenario under each preset, one after the other; the report covers them all. */
export async function runScenario(p: RunScenarioParameters): Promise<LabReport> {
  const s = p.scenario;
  const names = p.presets && p.presets.length > 0 ? [...p.presets] : [s.preset];
  // A fork's own market is checked against its on-chain tiers when the run starts.
  const plans = planRuns(s, names, { source: "--compare", checkFits: !p.fork?.deployment, forkMarket: p.fork?.deployment !== undefined });
  const caps = leverageCaps(p.comparedWith ? planRuns(s, p.comparedWith, { source: "--compare", checkFits: false }) : plans);
  const seed = p.seed ?? s.seed;
  const now = p.now ?? Date.now;
  const runs: RunReport[] = [];
  let chainId = 0;
  for (const [i, run] of plans.entries()) {
    if (p.signal?.aborted) throw new SimulationError("interrupted", { userError: true });
    const r = await runOnce({ ...p, seed, run, caps, index: i, count: plans.length, now });
    chainId = r.chainId;
    runs.push(r.report);
  }
  return {
    version: REPORT_VERSION,
    generatedAt: new Date(now()).toISOString(),
    scenario: {
      name: s.name,
      description: s.description,
      file: s.file,
      seed,
      blockTimeSeconds: s.blockTimeSeconds,
      blocks: s.blocks,
      traders: s.traders.count,
      markets: s.markets.map((m) => m.symbol),
      // A fork's existing market keeps its own pool and fund: the scenario's liquidity is not used.
      ...(p.fork?.deployment
        ? {}
        : {
            liquidity: { pool: s.liquidity.poolTokens.toString(), insuranceFund: s.liquidity.insuranceTokens.toString() },
            defaults: s.defaults.map((d) => ({ ...d })),
          }),
      ...(s.sha256 ? { sha256: s.sha256 } : {}),
      files: inputFiles(s),
    },
    chain: p.fork
      ? { chainId, mode: "fork", forkUrl: redactUrl(p.fork.url), forkBlock: Number(p.fork.block) }
      : { chainId, mode: "embedded" },
    runs,
  };
}

type RunOnce = RunScenarioParameters & { seed: string; run: RunPlan; caps: ReadonlyMap<string, Tier[][]>; index: number; count: number; now: () => number };

type LabKeeper = RunKeeper & { keeper: Keeper; delayBlocks: number; jobs: Promise<unknown>[] };

async function runOnce(p: RunOnce): Promise<{ chainId: number; report: RunReport }> {
  const s = p.scenario;
  const logger = p.logger ?? silentLogger();
  const progress = (phase: RunPhase, done = 0, total = 0) =>
    p.onProgress?.({ run: p.index, runs: p.count, preset: p.run.name, phase, done, total });
  const t0 = p.now();
  progress("chain");
  const anvil = await startChain(p.fork);
  const keepers: LabKeeper[] = [];
  try {
    const dev = (i: number): Account => mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: i });
    const funder = await connect(anvil.rpcUrl, dev(0), { pollingInterval: 20 });
    const test = funder.publicClient.extend(testActions({ mode: "anvil" }));
    await test.setBlockTimestampInterval({ interval: 1 });
    await test.setBlockGasLimit({ gasLimit: BLOCK_GAS_LIMIT });
    await test.setBalance({ address: funder.walletClient.account.address, value: 1_000_000n * WAD });

    // The market: deployed with the preset, or the upstream's, re-parameterised. The ADL operator
    // is the scenario's backstop keeper (the first keeper when none runs in backstop mode).
    progress("deploy");
    const adlKeeper = Math.max(0, s.keepers.findIndex((k) => k.backstopMode));
    const adlOperator = getAddress(dev(adlKeeper + 1).address);
    const { deployment, owner, startPrices } = await prepareMarket(p, anvil, funder, adlOperator);
    // Prices go to each feed's publisher: a Chainlink proxy's aggregator (the lab never switches it).
    const feedAddresses = deployment.markets.flatMap((d) => d.feeds ?? [d.feed]);
    const publishers = new Map(await Promise.all(feedAddresses.map(async (f) => [f, await publisherOf(funder, f)] as const)));
    const markets = s.markets.map((m) => {
      const d = deployment.markets.find((x) => x.symbol === m.symbol);
      if (!d) throw new SimulationError(`market ${m.symbol} is not in the deployment (it has ${deployment.markets.map((x) => x.symbol).join(", ")})`, { userError: true });
      const single = p.run.singleFeed.get(m.symbol);
      if (m.feeds && single === undefined && m.feeds.length !== (d.feeds ?? [d.feed]).length) {
        throw new SimulationError(`market ${m.symbol} reads ${(d.feeds ?? [d.feed]).length} feed(s) in the deployment, but the scenario gives it ${m.feeds.length}`, { userError: true });
      }
      return marketFeeds({ market: m, deployed: d, publishers, ...(single !== undefined ? { singleFeed: single } : {}), startPrice: startPrices.get(m.symbol)!, steps: s.blocks, blockTimeSeconds: s.blockTimeSeconds, seed: p.seed });
    });
    const withImpact = markets.some((m) => m.impact);

    // Start prices where the chain is not already there (a fork, a csv path), then the population.
    await sendAndMine(funder, owner, markets.flatMap((m) => startUpdates(m, startPrices.get(m.symbol)!)));
    progress("seed");
    const seedInfo = await seedMarkets(funder, deployment, s.traders.markets);
    const { plans, capped } = planPopulationCapped({ spec: s.traders, markets: seedInfo, seed: p.seed, leverageCaps: p.caps });
    await seedPlannedTraders(funder, deployment, plans, { ordered: true, pollingInterval: 20 });

    // The keepers: the real daemon, each its own dev account.
    const settings = loadKeeperSettings({ pollingIntervalMs: 50, concurrency: 1 });
    let chainMs = 0;
    for (const [i, k] of s.keepers.entries()) {
      const account = dev(i + 1);
      await test.setBalance({ address: account.address, value: 1_000n * WAD });
      const c = await connect(anvil.rpcUrl, account, { pollingInterval: 20 });
      const keeper = createKeeper({ protocol: protocolFor(deployment),
        publicClient: c.publicClient,
        walletClient: c.walletClient,
        deployment,
        settings: { ...settings, minProfitUsd: k.minProfitUsd, backstopMode: k.backstopMode, nativeUsd: s.nativeUsd, checkpointPath: "" },
        logger: logger.child({ keeper: k.name }),
        metrics: createMetrics(),
        checkpoint: false,
        // The chain's clock, as this keeper sees it: backoffs and budgets are then repeatable.
        perfNow: () => chainMs + k.latencyMs,
        now: () => chainMs + k.latencyMs,
      });
      const jobs: Promise<unknown>[] = [];
      const submit = keeper.executor.submit.bind(keeper.executor);
      keeper.executor.submit = (plan) => {
        const r = submit(plan);
        if (r.accepted) jobs.push(r.done);
        return r;
      };
      keepers.push({ ...k, address: getAddress(account.address), keeper, delayBlocks: Math.floor(k.latencyMs / (s.blockTimeSeconds * 1_000)), jobs });
    }
    for (const k of keepers) await k.keeper.start();
    const order = [...keepers].sort((a, b) => a.latencyMs - b.latencyMs);

    // Step 0 (t = 0): funding rates and a fresh price on every feed. Then one block per step.
    await test.setAutomine(false);
    const staleness = await Promise.all(
      markets.map(async (m) => {
        const info = await funder.publicClient.readContract({ address: deployment.contracts.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(m.id)] });
        return BigInt(info.params.maxStaleness);
      }),
    );
    const latest = await funder.publicClient.getBlock();
    const startTime = latest.timestamp + BigInt(s.blockTimeSeconds);
    const ownerNonce = { next: await funder.publicClient.getTransactionCount({ address: owner.walletClient.account.address, blockTag: "pending" }) };
    const heads: Head[] = [];
    let startBlock = 0n;
    for (let step = 0; step <= s.blocks; step++) {
      if (p.signal?.aborted) throw new SimulationError("interrupted", { userError: true });
      const calls: OwnerCall[] = [];
      if (step === 0) {
        for (const [i, m] of s.markets.entries()) {
          if (!m.funding) continue;
          const rate = (markets[i]!.baseline[0]! * m.funding.ppm) / PPM / m.funding.perSeconds;
          calls.push(marketCall(deployment.contracts.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "setFundingRate", args: [BigInt(markets[i]!.id), rate] })));
        }
      }
      // Impact: the previous block's liquidations move this block's price (src/sim/impact.ts).
      const liquidated = withImpact && step > 0 ? await liquidatedNotionalIn(funder.publicClient, deployment.contracts.market, heads[step - 1]!.number) : undefined;
      for (const [i, m] of markets.entries()) {
        applyImpact(m, step, liquidated?.get(m.id) ?? 0n);
        calls.push(...feedUpdates(m, step, s.blockTimeSeconds, staleness[i]!));
      }
      const timestamp = startTime + BigInt(step * s.blockTimeSeconds);
      const hashes = await sendOwnerCalls(owner, calls, ownerNonce);
      await test.setNextBlockTimestamp({ timestamp });
      await test.mine({ blocks: 1 });
      const b = await funder.publicClient.getBlock({ blockTag: "latest" });
      if (b.timestamp !== timestamp) throw new SimulationError(`block ${b.number} was mined at ${b.timestamp}, expected ${timestamp}`);
      await checkMined(funder, hashes, b.number);
      if (step === 0) startBlock = b.number;
      heads.push({ number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n });
      chainMs = Number(b.timestamp) * 1_000;
      progress("run", step, s.blocks);
      if (step === s.blocks) break;
      for (const k of order) {
        const head = heads[step - k.delayBlocks];
        if (!head) continue;
        await k.keeper.onHead(head);
        while (k.jobs.length > 0) await Promise.all(k.jobs.splice(0));
      }
    }
    for (const k of keepers) await k.keeper.stop(0);
    const endBlock = heads[heads.length - 1]!.number;

    // The report, from the chain.
    progress("report", 0, s.blocks + 1);
    const before = await readBefore(funder, deployment.contracts.market, startBlock - 1n);
    const runKeepers: RunKeeper[] = keepers.map(({ name, address, latencyMs, minProfitUsd, backstopMode }) => ({ name, address, latencyMs, minProfitUsd, backstopMode }));
    const observations = await observeRun({
      client: funder.publicClient,
      deployment,
      startBlock,
      endBlock,
      markets: s.markets.map((m) => m.symbol),
      keepers: runKeepers,
      logger,
      onBlock: (done, total) => progress("report", done, total),
      ...(withImpact ? { baseline: new Map(markets.flatMap((m) => (m.impact ? [[m.symbol, m.baseline] as const] : []))) } : {}),
    });
    const impact = new Map(s.markets.flatMap((m) => (m.impact ? [[m.symbol, m.impact] as const] : [])));
    const report: RunReport = {
      ...assembleRunReport(observations, { preset: p.run.preset, keepers: runKeepers, nativeUsd: s.nativeUsd, wallClockMs: Math.round(p.now() - t0), before, impact, adlOperator: keepers[adlKeeper]!.name }),
      preset: p.run.name,
      ...(p.run.variants.length > 0 ? { variants: p.run.variants.map((v) => ({ ...v })) } : {}),
      ...(p.run.preset.source ? { presetSource: relativeToRepo(p.run.preset.source) } : {}),
      ...(p.run.preset.extends !== undefined ? { presetExtends: p.run.preset.extends } : {}),
      ...(p.fork?.deployment ? {} : { markets: runMarkets(p.run) }),
      leverageCapped: capped,
    };
    await p.inspect?.({ rpcUrl: anvil.rpcUrl, deployment, startBlock, endBlock, keepers: runKeepers, traders: plans.map((t) => t.address), report });
    return { chainId: funder.chainId, report };
  } finally {
    for (const k of keepers) await k.keeper.stop(0).catch(() => undefined);
    await anvil.stop();
  }
}

type Head = { number: bigint; hash: Hex; parentHash: Hex; timestamp: bigint; baseFeePerGas: bigint };

async function startChain(fork: ForkTarget | undefined): Promise<AnvilInstance> {
  if (!fork) return startAnvil({ chainId: 31337, extraArgs: ["--timestamp", String(GENESIS_TIMESTAMP)] });
  try {
    return await startAnvil({ forkUrl: fork.url, forkBlockNumber: fork.block, startTimeoutMs: 60_000 });
  } catch (e) {
    // No cause attached: Anvil's output names the URL, which may carry an API key.
    if (e instanceof AnvilStartError) throw new SimulationError(`cannot fork ${redactUrl(fork.url)} at block ${fork.block}: Anvil did not start (${e.reason})`, { userError: true });
    throw e;
  }
}

type Prepared = { deployment: Deployment; owner: ChainClients; startPrices: Map<string, bigint> };

/**
 * Embedded chain, or a fork without a deployment: deploy the scenario's markets with the preset
 * (each at its start price). A fork of a chain that has the market: check it is there, impersonate
 * its owner and set the preset's parameters on every market.
 */
async function prepareMarket(p: RunOnce, anvil: AnvilInstance, funder: ChainClients & { chainId: number }, adlOperator: Address): Promise<Prepared> {
  const s = p.scenario;
  const existing = p.fork?.deployment;
  if (!existing) {
    const specs = p.run.marketSpecs.map((spec) => {
      const m = s.markets.find((x) => x.symbol === spec.symbol)!;
      return { ...spec, initialPrice: m.startPrice ?? spec.initialPrice };
    });
    checkPresetFits(p.run.preset, specs);
    const deployment = await deployReferenceMarket(funder, {
      markets: specs,
      preset: p.run.preset,
      poolTokens: s.liquidity.poolTokens,
      insuranceTokens: s.liquidity.insuranceTokens,
      adlOperator,
    });
    return { deployment, owner: funder, startPrices: new Map(specs.map((m) => [m.symbol, m.initialPrice])) };
  }
  if (existing.chainId !== funder.chainId) {
    throw new SimulationError(`the deployment is for chain ${existing.chainId} but the fork is chain ${funder.chainId}`, { userError: true });
  }
  await checkDeploymentCode(funder, existing, "the deployment");
  const market = existing.contracts.market;
  const test = funder.publicClient.extend(testActions({ mode: "anvil" }));
  const ownerAddress = await funder.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "owner" });
  await test.impersonateAccount({ address: ownerAddress });
  await test.setBalance({ address: ownerAddress, value: 1_000_000n * WAD });
  const owner = await connect(anvil.rpcUrl, { address: ownerAddress, type: "json-rpc" }, { pollingInterval: 20 });
  for (const d of existing.markets) {
    // A Chainlink proxy's aggregator takes anyone's answer; a feed of its own, its owner's only.
    if ((await publisherOf(funder, d.feed)) !== d.feed) continue;
    const feedOwner = await funder.publicClient.readContract({ address: d.feed, abi: MockAggregatorV3.abi, functionName: "owner" });
    if (getAddress(feedOwner) !== getAddress(ownerAddress)) {
      throw new SimulationError(`the feed of ${d.symbol} is owned by ${feedOwner}, not by the market's owner ${ownerAddress}`, { userError: true });
    }
  }
  const states = await readMarketStates(funder, market);
  checkPresetFits(
    p.run.preset,
    existing.markets.map((d) => ({ symbol: d.symbol, tiers: [...(states.get(d.id)?.tiers ?? [])] })),
  );
  const l = p.run.preset.liquidation;
  const calls: OwnerCall[] = [
    marketCall(market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "setAdlOperator", args: [adlOperator] })),
    marketCall(
      market,
      encodeFunctionData({
        abi: PerpMarket.abi,
        functionName: "setGlobalLiquidationParams",
        args: [globalParamsArg(p.run.preset.global)],
      }),
    ),
    ...existing.markets.map((d) =>
      marketCall(
        market,
        encodeFunctionData({
          abi: PerpMarket.abi,
          functionName: "setLiquidationParams",
          args: [BigInt(d.id), liquidationParamsArg(l)],
        }),
      ),
    ),
  ];
  await sendAndMine(funder, owner, calls);
  const prices = await Promise.all(
    s.markets.map(async (m) => {
      const d = existing.markets.find((x) => x.symbol === m.symbol);
      if (!d) return [m.symbol, 0n] as const;
      const onChain = await funder.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(d.id)] });
      return [m.symbol, m.startPrice ?? onChain] as const;
    }),
  );
  return { deployment: { ...existing, preset: p.run.preset.name }, owner, startPrices: new Map(prices) };
}

async function readBefore(c: ChainClients, market: Address, blockNumber: bigint): Promise<{ insuranceFund: bigint; badDebt: bigint }> {
  const [insuranceFund, badDebt] = await Promise.all([
    c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "insuranceFund", blockNumber }),
    c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "badDebt", blockNumber }),
  ]);
  return { insuranceFund, badDebt };
}
