/**
 * Keeper benchmark: our keeper against a naive baseline keeper, on one Anvil chain, in one run.
 *
 *   npx tsx scripts/bench/keeper/run.ts --accounts 1000 [--rounds 6] [--block-ms 1000]
 *        [--drop 0.03] [--idle-blocks 10] [--chunk 1000] [--baseline multicall|rpc-batch|off]
 *        [--profit-only] [--gas-budget-eth 1000] [--seed-chunk 2000] [--trace] [--skip-engine]
 *        [--out /tmp/bench-keeper.json]
 *
 * Set-up: Anvil (port 0, 1e9 block gas limit so one Multicall3 eth_call can value ~1000 accounts),
 * the reference market with the "hyperliquid" preset, N traders (the seedTraders population) opened
 * in bulk through SeedablePerpMarket's test-only seedAccounts (--seeding transactions: every trader
 * signs its own), a cold start of our keeper in a fresh process (coldStart.ts),
 * Multicall3 installed at its canonical address with anvil_setCode (runtime code obtained by
 * eth_call-ing the creation code viem ships), then automine is switched off.
 *
 * The bench is the block producer: it mines a block every --block-ms and pushes each new head to
 * both keepers at once (as an eth_subscribe newHeads would), so neither pays for head polling and
 * "received the block" is the same instant for both. Ours runs in-process (Keeper.onHead); the
 * baseline (baseline.ts) runs in a child process, so neither slows the other's event loop.
 *
 * Fairness: the two keepers RACE for the same targets. Both see the price block B at the same time;
 * the miner orders B+1 by priority fee then arrival; the loser's transaction reverts or finds less
 * to take. Latency is each keeper's own (head received → eth_sendRawTransaction answered), so it
 * does not depend on who wins; the catch rate is reported for both together and per keeper.
 *
 * Scenario per round: warp 31 s (the preset's 30 s cooldown), three settle blocks, then one market's
 * price moves by --drop (rounds cycle the markets, down first, then up), mined in block B; then B+1
 * and three more blocks. Targets of a round = accounts liquidatable with a slice > 0 at block B,
 * read afterwards at block B (so the bench's own reads never load the node during the race).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { getAddress, parseEventLogs, testActions, toHex, type Address, type Hex, type Log } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { EmittingMockV3Aggregator } from "../../../abi/EmittingMockV3Aggregator.ts";
import { CHAINLINK_FEED_ABI } from "../../../src/chain/chainlink.ts";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import { ANVIL_DEFAULT_MNEMONIC, startAnvil } from "../../../src/chain/anvil.ts";
import { connect } from "../../../src/chain/clients.ts";
import { deployReferenceMarket } from "../../../src/chain/deploy.ts";
import { deployNativeUsdFeed } from "../../../src/chain/nativeFeed.ts";
import { PRICE_UPDATE_GAS, feedAnswer, publisherOf } from "../../../src/chain/prices.ts";
import { loadKeeperSettings } from "../../../src/config/keeper.ts";
import { checkPresetFits, loadMarkets, loadPreset } from "../../../src/config/presets.ts";
import { createKeeper } from "../../../src/keeper/createKeeper.ts";
import { protocolFor } from "../../../src/protocols/index.ts";
import { createLogger } from "../../../src/lib/logger.ts";
import { createMetrics, type Metrics } from "../../../src/lib/metrics.ts";
import { seedTradersInBulk } from "../../../src/sim/seedBulk.ts";
import { seedTraders } from "../../../src/sim/seedTraders.ts";
import { benchEngine } from "../engine.ts";
import type { BaselineHead, BaselineInit, BaselineToParent } from "./baseline.ts";
import type { ColdStartInit, ColdStartResult } from "./coldStart.ts";
import { bigintToString } from "../../../src/lib/json.ts";

const MULTICALL3 = getAddress("0xcA11bde05977b3631167028862bE2a173976CA11");
const HERE = dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    accounts: { type: "string", default: "1000" },
    rounds: { type: "string", default: "6" },
    "block-ms": { type: "string", default: "1000" },
    drop: { type: "string", default: "0.03" },
    "idle-blocks": { type: "string", default: "10" },
    chunk: { type: "string", default: "1000" },
    seed: { type: "string", default: "bench" },
    "skip-engine": { type: "boolean", default: false },
    "log-level": { type: "string", default: "warn" },
    "profit-only": { type: "boolean", default: false },
    baseline: { type: "string", default: "multicall" },
    trace: { type: "boolean", default: false },
    "seed-poll-ms": { type: "string", default: "500" },
    "seed-chunk": { type: "string", default: "2000" },
    seeding: { type: "string", default: "bulk" },
    // config/keeper.json's 1 ETH/h budget stops our keeper after a few batches at 10,000 accounts.
    "gas-budget-eth": { type: "string", default: "1000" },
    // Executor and planner settings of ours (default: config/keeper.json).
    "max-batch": { type: "string" },
    concurrency: { type: "string" },
    out: { type: "string", default: "/tmp/bench-keeper.json" },
  },
});
const N = Number(flags.accounts);
const ROUNDS = Number(flags.rounds);
const BLOCK_MS = Number(flags["block-ms"]);
const DROP_PPM = BigInt(Math.round(Number(flags.drop) * 1e6));
const IDLE_BLOCKS = Number(flags["idle-blocks"]);
const CHUNK = Number(flags.chunk);

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2);
};
const rpcTotal = async (m: Metrics) => {
  const byMethod: Record<string, number> = {};
  let total = 0;
  for (const v of (await m.rpcRequests.get()).values) {
    byMethod[String(v.labels.method)] = v.value;
    total += v.value;
  }
  return { byMethod, total };
};
const diffMethods = (a: Record<string, number>, b: Record<string, number>, blocks: number) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, +((v - (a[k] ?? 0)) / blocks).toFixed(2)]).filter(([, v]) => v !== 0));
const mb = (x: number) => Math.round(x / 1024 / 1024);
const log = (s: string) => process.stdout.write(`${s}\n`);

/** --trace: our keeper's JSON-RPC calls during price blocks, as offsets from the head push (ms). */
type TraceRow = { block: bigint; methods: string; startMs: number; endMs: number };
const trace: TraceRow[] = [];
let headPushedAt = 0;
let tracing: bigint | undefined;
if (flags.trace) {
  const orig = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const block = tracing;
    const t0 = performance.now();
    const res = await orig(input, init);
    if (block !== undefined && typeof init?.body === "string") {
      const body = JSON.parse(init.body) as { method: string } | { method: string }[];
      const methods = (Array.isArray(body) ? body : [body]).map((b) => b.method).join("+");
      trace.push({ block, methods, startMs: +(t0 - headPushedAt).toFixed(1), endMs: +(performance.now() - headPushedAt).toFixed(1) });
    }
    return res;
  }) as typeof fetch;
}

async function main() {
  const markets = loadMarkets();
  const preset = loadPreset("hyperliquid");
  checkPresetFits(preset, markets);
  // Anvil keeps a full copy of the state for every block; the analysis reads at most ~60 blocks
  // back, so older copies are dropped (at 100,000 accounts each is ~100 MB).
  const anvil = await startAnvil({ port: 0, chainId: 31337, gasLimit: 1_000_000_000n, extraArgs: ["--prune-history", "128"] });
  let child: ReturnType<typeof spawn> | undefined;
  // Interrupted: stop what this run started (the baseline, Anvil), then exit.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      if (child && child.exitCode === null) child.kill("SIGTERM");
      void anvil.stop().finally(() => process.exit(130));
    });
  }
  try {
    log(`anvil pid ${anvil.pid} on ${anvil.rpcUrl}; ${N} accounts`);
    const owner = await connect(anvil.rpcUrl, mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 0 }), { pollingInterval: 50, timeoutMs: 120_000 });
    const test = owner.publicClient.extend(testActions({ mode: "anvil" }));
    // The native token's USD feed, as devnet deploys it: the keeper reads it at every head, as on a real chain.
    const deployment = { ...(await deployReferenceMarket(owner, { markets, preset, seedable: flags.seeding === "bulk" })), nativeUsdFeed: await deployNativeUsdFeed(owner) };

    // Seeding. "bulk" (default): SeedablePerpMarket's owner-only seedAccounts, 1,000 accounts per
    // transaction through the market's own deposit and trade code (same events, same rules) — the
    // test-only entry point of contracts/src/bench. "transactions": every trader signs its own
    // deposit and trades (seedTraders), with 1 s interval mining; ~30 min at 100,000 accounts.
    const tSeed = performance.now();
    const seeded = { traders: [] as { address: Address }[], transactions: 0 };
    if (flags.seeding === "bulk") {
      const r = await seedTradersInBulk(owner, deployment, {
        count: N,
        seed: flags.seed,
        onProgress: (n) => {
          if (N >= 20_000 && n % 20_000 < 250) log(`  seeded ${n}/${N} (${((performance.now() - tSeed) / 1000).toFixed(0)} s)`);
        },
      });
      seeded.traders = r.traders;
      seeded.transactions = r.transactions;
    } else {
      await test.setAutomine(false);
      await test.setIntervalMining({ interval: 1 });
      // In chunks (a distinct seed each, so distinct traders): seedTraders fires a whole chunk's
      // requests at once, and 10,000 at once time out against one Anvil.
      const SEED_CHUNK = Number(flags["seed-chunk"]);
      for (let i = 0; i * SEED_CHUNK < N; i++) {
        const count = Math.min(SEED_CHUNK, N - i * SEED_CHUNK);
        const part = await seedTraders(owner, deployment, { count, seed: `${flags.seed}-${i}`, pollingInterval: Number(flags["seed-poll-ms"]) });
        seeded.traders.push(...part.traders);
        seeded.transactions += part.transactions;
        if (N > SEED_CHUNK) log(`  seeded ${seeded.traders.length}/${N} (${((performance.now() - tSeed) / 1000).toFixed(0)} s)`);
      }
      await test.setIntervalMining({ interval: 0 });
    }
    const seedMs = performance.now() - tSeed;
    log(`seeded ${N} traders (${flags.seeding}): ${seeded.transactions} transactions in ${(seedMs / 1000).toFixed(1)} s`);
    const traders = seeded.traders.map((t) => t.address);

    // Multicall3 at its canonical address: runtime code = what its creation code returns.
    const viemDir = dirname(createRequire(import.meta.url).resolve("viem"));
    const { multicall3Bytecode } = (await import(pathToFileURL(join(viemDir, "..", "_esm", "constants", "contracts.js")).href)) as { multicall3Bytecode: Hex };
    const runtime = (await owner.publicClient.call({ data: multicall3Bytecode })).data!;
    await test.setCode({ address: MULTICALL3, bytecode: runtime });

    // Cold start in a fresh process: backfill rate and the keeper's own resident memory.
    const cold = await new Promise<ColdStartResult>((resolve, reject) => {
      const p = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(HERE, "coldStart.ts")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      p.once("message", (m) => resolve(m as ColdStartResult));
      p.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`cold-start child exited with ${code}`))));
      const init: ColdStartInit = { type: "init", rpcUrl: anvil.rpcUrl, deployment: JSON.parse(JSON.stringify(deployment, bigintToString)) };
      p.send(init);
    });
    log(`cold start (fresh process): ${cold.events} events in ${cold.ms} ms (${Math.round(cold.events / (cold.ms / 1000))}/s), ${cold.rpcRequests} RPC requests, rss ${cold.rssMb} MB (${cold.rssAfterGcMb} MB, heap ${cold.heapUsedAfterGcMb} MB after a full GC)`);

    await test.setAutomine(false);

    // ---- our keeper (dev account #3), in-process ----
    const metrics = createMetrics();
    const oursSamples: { ms: number; kind: string; block: bigint }[] = [];
    let currentKind = "setup";
    let currentBlock = 0n;
    const observe = metrics.priceToBroadcast.observe.bind(metrics.priceToBroadcast);
    metrics.priceToBroadcast.observe = ((v: number) => {
      oursSamples.push({ ms: v * 1000, kind: currentKind, block: currentBlock });
      observe(v);
    }) as typeof metrics.priceToBroadcast.observe;
    const oursAccount = mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 3 });
    const kc = await connect(anvil.rpcUrl, oursAccount, { pollingInterval: 50, metrics });
    // Backstop mode by default: after a 3% move many high-leverage accounts are underwater (equity ≤ 0,
    // so the penalty and the keeper's reward are 0); the naive baseline liquidates them anyway, and
    // a profit-only keeper would skip them. --profit-only measures the keeper's default policy.
    const settings = { ...loadKeeperSettings({ pollingIntervalMs: 50, logLevel: "warn", backstopMode: !flags["profit-only"], gasBudgetPerHourEth: flags["gas-budget-eth"], ...(flags["max-batch"] ? { maxBatch: Number(flags["max-batch"]) } : {}), ...(flags.concurrency ? { concurrency: Number(flags.concurrency) } : {}) }), checkpointPath: "" };
    const logger = createLogger({ level: flags["log-level"] as "warn" });
    const keeper = createKeeper({ protocol: protocolFor(deployment), publicClient: kc.publicClient, walletClient: kc.walletClient, deployment, settings, logger, metrics, checkpoint: false });
    const rssBefore = process.memoryUsage().rss;
    const tStart = performance.now();
    await keeper.start();
    const startMs = performance.now() - tStart;
    global.gc?.();
    const memAfterStart = process.memoryUsage();
    log(`our keeper: backfilled ${keeper.status.backfilledEvents} events in ${startMs.toFixed(0)} ms; ${keeper.status.accounts} accounts; rss ${mb(memAfterStart.rss)} MB`);

    // ---- baseline keeper (dev account #4), child process ----
    const baseAccount = mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 4 });
    const baseSent: Extract<BaselineToParent, { type: "sent" }>[] = [];
    const baseTicks: Extract<BaselineToParent, { type: "tick" }>[] = [];
    const baseFailed: Extract<BaselineToParent, { type: "sendFailed" }>[] = [];
    let rpcWaiter: ((m: { byMethod: Record<string, number>; total: number }) => void) | undefined;
    let ready!: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    const onBaseline = (m: BaselineToParent) => {
      if (m.type === "ready") ready();
      else if (m.type === "sent") baseSent.push(m);
      else if (m.type === "tick") baseTicks.push(m);
      else if (m.type === "sendFailed") baseFailed.push(m);
      else if (m.type === "rpc") rpcWaiter?.(m);
    };
    const init: BaselineInit = {
      type: "init",
      rpcUrl: anvil.rpcUrl,
      privateKey: toHex(baseAccount.getHdKey().privateKey!),
      market: deployment.contracts.market,
      multicall: MULTICALL3,
      accounts: traders,
      chunk: CHUNK,
      mode: flags.baseline === "rpc-batch" ? "rpc-batch" : "multicall", // "off": not started
      gas: "1500000",
      priorityFeeWei: settings.priorityFeeWei.toString(),
    };
    // --baseline off: our keeper alone on the chain (no contention for Anvil or the CPU).
    const baselineOn = flags.baseline !== "off";
    if (baselineOn) {
      child = spawn(process.execPath, ["--import", "tsx", join(HERE, "baseline.ts")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.on("message", onBaseline);
      child.send(init);
      await readyP;
    }
    const baseRpc = () =>
      baselineOn
        ? new Promise<{ byMethod: Record<string, number>; total: number }>((r) => {
            rpcWaiter = r;
            child!.send({ type: "rpc?" });
          })
        : Promise.resolve({ byMethod: {}, total: 0 });

    // ---- block producer ----
    const ticks: Promise<void>[] = [];
    const blocks: { number: bigint; kind: string }[] = [];
    const mine = async (kind: string) => {
      const t0 = performance.now();
      await test.mine({ blocks: 1 });
      const b = await owner.publicClient.getBlock({ blockTag: "latest" });
      currentKind = kind;
      currentBlock = b.number;
      blocks.push({ number: b.number, kind });
      const msg: BaselineHead = { type: "head", number: b.number.toString(), baseFeePerGas: (b.baseFeePerGas ?? 0n).toString(), kind };
      child?.send(msg);
      headPushedAt = performance.now();
      tracing = kind === "price" ? b.number : undefined;
      ticks.push(keeper.onHead({ number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? 0n }));
      const left = BLOCK_MS - (performance.now() - t0);
      if (left > 0) await sleep(left);
      tracing = undefined;
      return b.number;
    };

    // Heartbeat: every feed re-publishes its answer (as Chainlink feeds do on their heartbeat), so
    // no market goes stale however long seeding and the cold start took. Mined with the next block.
    // Prices are read through each proxy and published on its aggregator (the bench never switches it).
    const aggregators = new Map(await Promise.all(deployment.markets.map(async (m) => [m.feed, await publisherOf(owner, m.feed)] as const)));
    const publish = (feed: Address, answer: bigint) =>
      owner.walletClient.writeContract({ address: aggregators.get(feed)!, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [answer], gas: PRICE_UPDATE_GAS });
    const heartbeat = async () => {
      for (const f of deployment.markets) {
        const [, answer] = await owner.publicClient.readContract({ address: f.feed, abi: CHAINLINK_FEED_ABI, functionName: "latestRoundData" });
        await publish(f.feed, answer);
      }
    };
    await heartbeat();
    for (let i = 0; i < 3; i++) await mine("warmup");

    // Steady state: no price change, both keepers idle.
    const o0 = await rpcTotal(metrics);
    const b0 = await baseRpc();
    for (let i = 0; i < IDLE_BLOCKS; i++) await mine("idle");
    const o1 = await rpcTotal(metrics);
    const b1 = await baseRpc();
    const idleTickMs = (await metrics.loopDuration.get()).values; // histogram buckets; exact below
    void idleTickMs;

    // Rounds.
    const rounds: { round: number; market: string; direction: string; priceBlock: bigint; rpcOurs: number; rpcBase: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const m = deployment.markets[r % deployment.markets.length]!;
      const spec = markets[m.id]!;
      const down = Math.floor(r / deployment.markets.length) % 2 === 0;
      const price = (spec.initialPrice * (down ? 1_000_000n - DROP_PPM : 1_000_000n + DROP_PPM)) / 1_000_000n;
      await test.increaseTime({ seconds: 31 });
      await heartbeat();
      for (let i = 0; i < 3; i++) await mine("settle");
      await publish(m.feed, feedAnswer(price, m.feedDecimals));
      const ro0 = (await rpcTotal(metrics)).total;
      const rb0 = (await baseRpc()).total;
      const priceBlock = await mine("price");
      const seenLiquidatable = keeper.status.liquidatable;
      await mine("next");
      const ro1 = (await rpcTotal(metrics)).total;
      const rb1 = (await baseRpc()).total;
      for (let i = 0; i < 3; i++) await mine("after");
      rounds.push({ round: r, market: m.symbol, direction: down ? "down" : "up", priceBlock, rpcOurs: ro1 - ro0, rpcBase: rb1 - rb0 });
      log(`round ${r}: ${m.symbol} ${down ? "−" : "+"}${Number(DROP_PPM) / 1e4}% in block ${priceBlock}; ours saw ${seenLiquidatable} liquidatable, sent ${oursSamples.filter((x) => x.block === priceBlock).length} tx`);
    }
    await Promise.all(ticks);
    await sleep(200);

    // ---- analysis (reads after the race, at historical blocks) ----
    const pub = owner.publicClient;
    const market = deployment.contracts.market;
    const firstBlock = rounds[0]!.priceBlock - 4n;
    // Liquidated events only, a block range at a time (a node caps response sizes: ~14 MB of
    // logs at 10,000 accounts for all rounds at once).
    const head = await pub.getBlockNumber();
    const liquidatedEvent = PerpMarket.abi.find((x) => x.type === "event" && x.name === "Liquidated")!;
    const logs: Log[] = [];
    for (let from = firstBlock; from <= head; from += 8n) {
      const to = from + 7n < head ? from + 7n : head;
      logs.push(...(await pub.getLogs({ address: market, event: liquidatedEvent as never, fromBlock: from, toBlock: to })));
    }
    const liqs = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" });
    const keeperName = (a: Address) => (getAddress(a) === oursAccount.address ? "ours" : getAddress(a) === baseAccount.address ? "baseline" : "other");

    const perRound = [];
    for (const rd of rounds) {
      const at = { blockNumber: rd.priceBlock };
      const liquidatable = (await pub.multicall({
        contracts: traders.map((a) => ({ address: market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [a] }) as const),
        allowFailure: false,
        multicallAddress: MULTICALL3,
        batchSize: 40_000, // ~1000 calls per eth_call (a single 10,000-call request is refused)
        ...at,
      })) as boolean[];
      const found = traders.filter((_, i) => liquidatable[i]);
      const mkts = (await pub.multicall({
        contracts: found.map((a) => ({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [a] }) as const),
        allowFailure: false,
        multicallAddress: MULTICALL3,
        ...at,
      })) as (readonly bigint[])[];
      const pairs = found.flatMap((a, i) => mkts[i]!.map((id) => ({ a, id })));
      const sizes = (await pub.multicall({
        contracts: pairs.map((p) => ({ address: market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [p.a, p.id] }) as const),
        allowFailure: false,
        multicallAddress: MULTICALL3,
        ...at,
      })) as bigint[];
      const targets = new Set(pairs.filter((_, i) => sizes[i]! > 0n).map((p) => getAddress(p.a)));
      const firstHit = new Map<Address, { block: bigint; keeper: string }>();
      for (const l of liqs) {
        const acct = getAddress(l.args.account);
        if (!targets.has(acct) || l.blockNumber <= rd.priceBlock) continue;
        if (!firstHit.has(acct) || firstHit.get(acct)!.block > l.blockNumber) firstHit.set(acct, { block: l.blockNumber, keeper: keeperName(l.args.keeper) });
      }
      const inNext = [...firstHit.values()].filter((h) => h.block === rd.priceBlock + 1n);
      perRound.push({
        ...rd,
        priceBlock: rd.priceBlock.toString(),
        targets: targets.size,
        caughtNextBlock: inNext.length,
        caughtNextBlockByOurs: inNext.filter((h) => h.keeper === "ours").length,
        caughtNextBlockByBaseline: inNext.filter((h) => h.keeper === "baseline").length,
        caughtEver: firstHit.size,
        blocksToInclusion: [...firstHit.values()].map((h) => Number(h.block - rd.priceBlock)),
      });
    }

    // Gas per liquidation: per transaction, gasUsed ÷ Liquidated events in it, by entry point.
    const byTx = new Map<Hex, number>();
    for (const l of liqs) byTx.set(l.transactionHash, (byTx.get(l.transactionHash) ?? 0) + 1);
    const gasSingle: number[] = [];
    const gasBatch: { items: number; perItem: number }[] = [];
    const selLiquidate = "0x" + (await import("viem")).toFunctionSelector("liquidate(address,uint256,uint256)").slice(2);
    for (const [hash, items] of byTx) {
      const [tx, rc] = await Promise.all([pub.getTransaction({ hash }), pub.getTransactionReceipt({ hash })]);
      const per = Number(rc.gasUsed) / items;
      if (tx.input.startsWith(selLiquidate)) gasSingle.push(per);
      else gasBatch.push({ items, perItem: per });
    }
    const revertedOurs = keeper.executor.stats().reverted;

    const engine = flags["skip-engine"] ? undefined : benchEngine(N, 3);
    const memEnd = process.memoryUsage();

    const oursPrice = oursSamples.filter((s) => s.kind === "price").map((s) => s.ms);
    const basePrice = baseSent.filter((s) => s.kind === "price").map((s) => s.ms);
    // Reaction time: the first broadcast after each price update (the rest of that block's
    // transactions follow one by one, each under the nonce lock).
    const firstPerBlock = (xs: readonly { ms: number; kind: string; block: bigint | string }[]) => {
      const first = new Map<string, number>();
      for (const x of xs) if (x.kind === "price") first.set(String(x.block), Math.min(first.get(String(x.block)) ?? Infinity, x.ms));
      return [...first.values()];
    };
    const oursFirst = firstPerBlock(oursSamples);
    const baseFirst = firstPerBlock(baseSent);
    const allBlocksToIncl = perRound.flatMap((r) => r.blocksToInclusion);
    const totalTargets = perRound.reduce((s, r) => s + r.targets, 0);
    const totalNext = perRound.reduce((s, r) => s + r.caughtNextBlock, 0);
    const oursIdle = (o1.total - o0.total) / IDLE_BLOCKS;
    const baseIdle = (b1.total - b0.total) / IDLE_BLOCKS;
    const baseScan = baseTicks.filter((t) => !t.skipped).map((t) => t.scanMs);

    const result = {
      accounts: N,
      preset: preset.name,
      blockMs: BLOCK_MS,
      rounds: ROUNDS,
      dropPct: Number(DROP_PPM) / 1e4,
      oursBackstopMode: settings.backstopMode,
      oursGasBudgetEthPerHour: flags["gas-budget-eth"],
      baselineMode: baselineOn ? init.mode : "off",
      multicallChunk: CHUNK,
      seeding: { mode: flags.seeding, transactions: seeded.transactions, seconds: +(seedMs / 1000).toFixed(2), txPerSecond: Math.round(seeded.transactions / (seedMs / 1000)) },
      latencyMs: {
        ours: { samples: oursPrice.length, p50: pct(oursPrice, 50), p99: pct(oursPrice, 99), max: pct(oursPrice, 100) },
        baseline: { samples: basePrice.length, p50: pct(basePrice, 50), p99: pct(basePrice, 99), max: pct(basePrice, 100) },
        firstBroadcastPerPriceBlock: {
          ours: { samples: oursFirst.length, p50: pct(oursFirst, 50), max: pct(oursFirst, 100) },
          baseline: { samples: baseFirst.length, p50: pct(baseFirst, 50), max: pct(baseFirst, 100) },
        },
        baselineScanMs: { p50: pct(baseScan, 50), p99: pct(baseScan, 99) },
        baselineSkippedBusy: baseTicks.filter((t) => t.skipped).length,
      },
      inclusion: {
        targets: totalTargets,
        caughtNextBlock: totalNext,
        shareNextBlock: totalTargets ? +(totalNext / totalTargets).toFixed(4) : null,
        blocksToInclusion: { p50: pct(allBlocksToIncl, 50), max: pct(allBlocksToIncl, 100) },
        neverCaught: totalTargets - allBlocksToIncl.length,
        perRound,
      },
      rpcPerBlock: {
        steadyState: {
          ours: +oursIdle.toFixed(2),
          baseline: +baseIdle.toFixed(2),
          ratio: oursIdle > 0 ? +(baseIdle / oursIdle).toFixed(1) : null,
          oursByMethod: diffMethods(o0.byMethod, o1.byMethod, IDLE_BLOCKS),
          baselineByMethod: diffMethods(b0.byMethod, b1.byMethod, IDLE_BLOCKS),
          baselineViewCallsPerBlock: baselineOn ? N : 0,
          note: "eth_call of a Multicall3 chunk counts as 1 request (rpc-batch mode: 1 per account); heads are pushed, so head polling is excluded for both",
        },
        priceBlockPlusNext: {
          ours: perRound.map((r) => r.rpcOurs),
          baseline: perRound.map((r) => r.rpcBase),
        },
      },
      engine: engine && {
        fullRescanMs: engine.screenedRescan.rescanMs,
        exactRescanMs: engine.exactFullEvaluation.rescanMs,
        healthEvaluationsPerSecond: engine.exactFullEvaluation.healthEvaluationsPerSecond,
        note: "scripts/bench/engine.ts on a synthetic book of N accounts × 3 positions",
      },
      backfill: {
        coldStartFreshProcess: { ...cold, eventsPerSecond: Math.round(cold.events / (cold.ms / 1000)) },
        events: keeper.status.backfilledEvents,
        ms: Math.round(startMs),
        eventsPerSecond: Math.round(keeper.status.backfilledEvents / (startMs / 1000)),
        rssMbBeforeStart: mb(rssBefore),
        rssMbAfterStart: mb(memAfterStart.rss),
        heapUsedMbAfterStart: mb(memAfterStart.heapUsed),
        rssMbEnd: mb(memEnd.rss),
        note: "coldStartFreshProcess: the keeper alone in a new process; the other fields: the bench process (harness, seeding leftovers and our keeper)",
      },
      gasPerLiquidation: {
        single: { txs: gasSingle.length, mean: gasSingle.length ? Math.round(gasSingle.reduce((a, b) => a + b, 0) / gasSingle.length) : null },
        batched: {
          txs: gasBatch.length,
          meanPerItem: gasBatch.length ? Math.round(gasBatch.reduce((a, b) => a + b.perItem * b.items, 0) / gasBatch.reduce((a, b) => a + b.items, 0)) : null,
          meanItemsPerTx: gasBatch.length ? +(gasBatch.reduce((a, b) => a + b.items, 0) / gasBatch.length).toFixed(1) : null,
        },
      },
      sends: {
        ours: keeper.executor.stats(),
        oursReverted: revertedOurs,
        baselineSent: baseSent.length,
        baselineSendFailed: baseFailed.length,
        liquidationsByKeeper: { ours: liqs.filter((l) => keeperName(l.args.keeper) === "ours").length, baseline: liqs.filter((l) => keeperName(l.args.keeper) === "baseline").length },
      },
    };
    const ok = (x: number | null | undefined, limit: number, le = true) => (x == null ? null : le ? x <= limit : x >= limit);
    const targets = {
      note: "latency/inclusion/RPC targets are set at 10,000 accounts; rescan/RSS/backfill at 100,000",
      p50LE20ms: ok(result.latencyMs.ours.p50, 20),
      p99LE100ms: ok(result.latencyMs.ours.p99, 100),
      allCaughtNextBlock: result.inclusion.shareNextBlock === 1,
      rpcRatioGE50: ok(result.rpcPerBlock.steadyState.ratio, 50, false),
      fullRescanLE100ms: ok(engine?.screenedRescan.rescanMs.median, 100),
      coldRssLE300MB: ok(cold.rssMb, 300),
      coldBackfillLE30s: ok(cold.ms / 1000, 30),
    };
    Object.assign(result, { targets });
    if (flags.trace) Object.assign(result, { trace });
    const text = JSON.stringify(result, bigintToString, 2);
    writeFileSync(flags.out, text + "\n");

    const L = result.latencyMs;
    const rows: [string, string, string][] = [
      ["price→broadcast p50 (ms)", String(L.ours.p50), String(L.baseline.p50)],
      ["price→broadcast p99 (ms)", String(L.ours.p99), String(L.baseline.p99)],
      ["latency samples", String(L.ours.samples), String(L.baseline.samples)],
      ["first broadcast per price, p50 (ms)", String(L.firstBroadcastPerPriceBlock.ours.p50), String(L.firstBroadcastPerPriceBlock.baseline.p50)],
      ["first broadcast per price, max (ms)", String(L.firstBroadcastPerPriceBlock.ours.max), String(L.firstBroadcastPerPriceBlock.baseline.max)],
      ["RPC requests/block, steady", String(result.rpcPerBlock.steadyState.ours), String(result.rpcPerBlock.steadyState.baseline)],
      ["liquidations (events)", String(result.sends.liquidationsByKeeper.ours), String(result.sends.liquidationsByKeeper.baseline)],
      ["caught in next block (first)", String(perRound.reduce((s, r) => s + r.caughtNextBlockByOurs, 0)), String(perRound.reduce((s, r) => s + r.caughtNextBlockByBaseline, 0))],
    ];
    log("");
    log(`keeper bench, ${N} accounts, ${ROUNDS} rounds, ${BLOCK_MS} ms blocks`);
    log(`${"".padEnd(32)}${"ours".padStart(12)}${"baseline".padStart(12)}`);
    for (const [k, a, b] of rows) log(`${k.padEnd(32)}${a.padStart(12)}${b.padStart(12)}`);
    log(`targets ${totalTargets}, caught in next block ${totalNext} (${((totalNext / Math.max(1, totalTargets)) * 100).toFixed(1)}%), blocks to inclusion p50 ${result.inclusion.blocksToInclusion.p50} max ${result.inclusion.blocksToInclusion.max}, never ${result.inclusion.neverCaught}`);
    log(`RPC ratio baseline/ours (steady): ${result.rpcPerBlock.steadyState.ratio}×`);
    log(`cold start: ${cold.events} events in ${cold.ms} ms (${result.backfill.coldStartFreshProcess.eventsPerSecond}/s), rss ${cold.rssMb} MB`);
    log(`seeding ${result.seeding.seconds} s (${result.seeding.txPerSecond} tx/s); backfill ${result.backfill.events} events in ${result.backfill.ms} ms (${result.backfill.eventsPerSecond}/s); rss ${result.backfill.rssMbAfterStart} MB after start, ${result.backfill.rssMbEnd} MB at end`);
    if (engine) log(`engine: screened full rescan ${engine.screenedRescan.rescanMs.median} ms, exact ${engine.exactFullEvaluation.rescanMs.median} ms`);
    log(`gas/liquidation: single ${result.gasPerLiquidation.single.mean} (${gasSingle.length} tx), batched ${result.gasPerLiquidation.batched.meanPerItem} (${gasBatch.length} tx, ${result.gasPerLiquidation.batched.meanItemsPerTx} items/tx)`);
    log(`targets (${targets.note}): ${JSON.stringify(targets).replace(/"note":"[^"]*",/, "")}`);
    log(`wrote ${flags.out}`);

    await keeper.stop(1_000);
  } finally {
    if (child && child.exitCode === null) child.kill("SIGTERM");
    await anvil.stop();
  }
}

await main();
