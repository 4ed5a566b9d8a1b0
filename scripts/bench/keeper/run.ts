/**
 * Keeper benchmark: `perp-keeper run`, the daemon operators run, as a separate process against
 * Anvil through its real transport, beside two baseline keepers, in one run.
 *
 *   npx tsx scripts/bench/keeper/run.ts --accounts 10000 [--rounds 6] [--transports ws,http]
 *        [--baselines multicall,timer|off] [--timer-ms 1000] [--block-ms 1000] [--drop 0.03]
 *        [--idle-blocks 20] [--chunk 1000] [--gas-budget-eth 1000] [--profit-only] [--out F]
 *
 * Set-up (setup.ts): Anvil, the reference market ("hyperliquid" preset), N traders seeded in bulk,
 * Multicall3; a cold start of our keeper in a fresh process (backfill, memory after a full GC).
 * Then automine is off and the bench mines a block every --block-ms (producer.ts).
 *
 * Every keeper talks to Anvil through its own counting proxy (countingProxy.ts), which counts its
 * requests by method and stamps its heads and its eth_sendRawTransaction answers:
 *  - ours: `perp-keeper run` (daemon.ts), over WebSocket (newHeads) in the "ws" phase, then a fresh
 *    daemon polling over HTTP every 250 ms (config/keeper.json's default) in the "http" phase;
 *  - "multicall": the per-block Multicall3 sweep (baseline.ts), handed each head over IPC (so its head
 *    detection costs it no request: the ratio is conservative);
 *  - "timer": the same sweep on a 1 s timer, as dYdX's (1.6 s) and Drift's (5 s) loops run.
 * They race for the same targets: the miner orders a block by priority fee, then arrival.
 *
 * Per phase: idle blocks (requests per block at each proxy), then rounds: warp 31 s (the preset's
 * cooldown), heartbeat, three settle blocks, one market's price moves by --drop in block B, then
 * B+1 and three more blocks. Targets of a round: accounts liquidatable with a slice > 0 at B, read
 * afterwards at B. Reaction: B mined (the bench's stamp) → the keeper's send naming a target
 * answered (the proxy's stamp), for the first target and for the slowest.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { getAddress, toHex, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_MNEMONIC } from "../../../src/chain/anvil.ts";
import { writeDeployment } from "../../../src/chain/deployment.ts";
import { feedAnswer } from "../../../src/chain/prices.ts";
import { bigintToString } from "../../../src/lib/json.ts";
import { liquidatedEvents, ownTimeOf, pct, reactions, roundTargets, type Round } from "./analysis.ts";
import type { BaselineInit, BaselineToParent } from "./baseline.ts";
import { startCountingProxy, type CountingProxy } from "./countingProxy.ts";
import { startDaemon, type Daemon } from "./daemon.ts";
import { blockProducer } from "./producer.ts";
import { MULTICALL3, coldStart, startBenchChain } from "./setup.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    accounts: { type: "string", default: "1000" },
    rounds: { type: "string", default: "6" },
    transports: { type: "string", default: "ws,http" },
    baselines: { type: "string", default: "multicall,timer" },
    "timer-ms": { type: "string", default: "1000" },
    "block-ms": { type: "string", default: "1000" },
    drop: { type: "string", default: "0.03" },
    "idle-blocks": { type: "string", default: "20" },
    chunk: { type: "string", default: "1000" },
    seed: { type: "string", default: "bench" },
    seeding: { type: "string", default: "bulk" },
    "seed-chunk": { type: "string", default: "2000" },
    "seed-poll-ms": { type: "string", default: "500" },
    "profit-only": { type: "boolean", default: false },
    // config/keeper.json's 1 ETH/h budget stops our keeper after a few batches at 10,000 accounts.
    "gas-budget-eth": { type: "string", default: "1000" },
    // debug: the daemon logs its per-phase timing of every tick that acts ("tick phases").
    "log-level": { type: "string", default: "debug" },
    out: { type: "string", default: "/tmp/bench-keeper.json" },
  },
});
const N = Number(flags.accounts);
const ROUNDS = Number(flags.rounds);
const BLOCK_MS = Number(flags["block-ms"]);
const DROP_PPM = BigInt(Math.round(Number(flags.drop) * 1e6));
const IDLE_BLOCKS = Number(flags["idle-blocks"]);
const transports = flags.transports.split(",").filter(Boolean) as ("ws" | "http")[];
const baselineKinds = flags.baselines === "off" ? [] : (flags.baselines.split(",") as ("multicall" | "timer")[]);
if (!Number.isInteger(N) || N < 10 || !Number.isInteger(ROUNDS) || ROUNDS < 1 || transports.some((t) => t !== "ws" && t !== "http") || baselineKinds.some((b) => b !== "multicall" && b !== "timer")) {
  process.stderr.write("bench: --accounts ≥ 10 and --rounds ≥ 1 are whole numbers; --transports takes ws,http; --baselines takes multicall,timer or off\n");
  process.exit(2);
}
const log = (s: string) => process.stdout.write(`${s}\n`);
const key = (i: number) => toHex(mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: i }).getHdKey().privateKey!);
const addr = (i: number) => mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: i }).address;
/** Dev accounts: ours over WebSocket, ours over HTTP, the multicall and the timer baselines. */
const KEYS = { ws: 3, http: 6, multicall: 4, timer: 7 } as const;

type Baseline = { kind: "multicall" | "timer"; child: ChildProcess; proxy: CountingProxy };

async function startBaseline(kind: "multicall" | "timer", rpcUrl: string, market: Address, accounts: Address[], priorityFeeWei: bigint): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(HERE, "baseline.ts")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ready = new Promise<void>((r) => child.on("message", (m: BaselineToParent) => m.type === "ready" && r()));
  const init: BaselineInit = {
    type: "init",
    rpcUrl,
    privateKey: key(KEYS[kind]),
    market,
    multicall: MULTICALL3,
    accounts,
    chunk: Number(flags.chunk),
    mode: "multicall",
    gas: "1500000",
    priorityFeeWei: priorityFeeWei.toString(),
    trigger: kind === "timer" ? "timer" : "heads",
    intervalMs: Number(flags["timer-ms"]),
  };
  child.send(init);
  await ready;
  return child;
}

async function main() {
  const chain = await startBenchChain({ accounts: N, seed: flags.seed, seeding: flags.seeding === "transactions" ? "transactions" : "bulk", seedChunk: Number(flags["seed-chunk"]), seedPollMs: Number(flags["seed-poll-ms"]), log });
  const { anvil, owner, test, deployment, markets, traders } = chain;
  const baselines: Baseline[] = [];
  const proxies: CountingProxy[] = [];
  let daemon: Daemon | undefined;
  const cleanup = async () => {
    await daemon?.stop(5_000).catch(() => undefined);
    for (const b of baselines) if (b.child.exitCode === null) b.child.kill("SIGTERM");
    for (const p of proxies) await p.close().catch(() => undefined);
    await anvil.stop();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  try {
    log(`anvil pid ${anvil.pid} on ${anvil.rpcUrl}; ${N} accounts seeded (${chain.seeding.mode}) in ${chain.seeding.seconds} s`);
    const dir = mkdtempSync(join(tmpdir(), "bench-keeper-"));
    const deploymentPath = join(dir, "deployment.json");
    writeDeployment(deploymentPath, deployment);

    const cold = await coldStart(anvil.rpcUrl, deployment);
    log(`cold start (fresh process): ${cold.events} events in ${cold.ms} ms, rss ${cold.rssMb} MB (${cold.rssAfterGcMb} MB, heap ${cold.heapUsedAfterGcMb} MB after a full GC)`);

    await test.setAutomine(false);
    const producer = await blockProducer(chain, BLOCK_MS);
    const priorityFeeWei = 1_000_000_000n;
    for (const kind of baselineKinds) {
      const proxy = await startCountingProxy(anvil.rpcUrl);
      proxies.push(proxy);
      const child = await startBaseline(kind, proxy.httpUrl, deployment.contracts.market, traders, priorityFeeWei);
      if (kind === "multicall") producer.pushHeadsTo(child);
      baselines.push({ kind, child, proxy });
    }
    await producer.heartbeat();
    for (let i = 0; i < 3; i++) await producer.mine("warmup");

    const settings = { pollingIntervalMs: 250, backstopMode: !flags["profit-only"], gasBudgetPerHourEth: flags["gas-budget-eth"], minProfitUsd: "0.10", nativePriceMaxAgeSeconds: 604_800 };
    const phases = [];
    const rounds: Round[] = [];
    let r = 0;
    for (const transport of transports) {
      const proxy = await startCountingProxy(anvil.rpcUrl);
      proxies.push(proxy);
      const tStart = performance.now();
      daemon = await startDaemon({ rpcUrl: transport === "ws" ? proxy.wsUrl : proxy.httpUrl, deploymentPath, privateKey: key(KEYS[transport]), settings, logLevel: flags["log-level"] });
      log(`\n[${transport}] perp-keeper run pid ${daemon.pid} ready in ${((performance.now() - tStart) / 1000).toFixed(1)} s`);
      for (let i = 0; i < 3; i++) await producer.mine("warmup");

      // Idle: nothing changes; requests per block at each proxy.
      const count0 = [proxy, ...baselines.map((b) => b.proxy)].map((p) => p.total());
      const byMethod0 = proxy.counts();
      for (let i = 0; i < IDLE_BLOCKS; i++) await producer.mine("idle");
      const count1 = [proxy, ...baselines.map((b) => b.proxy)].map((p) => p.total());
      const perBlock = count1.map((c, i) => +((c - count0[i]!) / IDLE_BLOCKS).toFixed(3));
      // Ours may make no request at all in the idle blocks: the ratio is then at least the baseline's count over one request.
      const idleTotals = count1.map((c, i) => c - count0[i]!);
      const byMethod = Object.fromEntries(Object.entries(proxy.counts()).map(([m, v]) => [m, +((v - (byMethod0[m] ?? 0)) / IDLE_BLOCKS).toFixed(3)]).filter(([, v]) => v !== 0));
      log(`[${transport}] idle requests per block: ours ${perBlock[0]}${baselines.map((b, i) => `, ${b.kind} ${perBlock[i + 1]}`).join("")}`);

      const phaseRounds: Round[] = [];
      for (let k = 0; k < ROUNDS; k++, r++) {
        const m = deployment.markets[r % deployment.markets.length]!;
        const spec = markets[m.id]!;
        const down = Math.floor(r / deployment.markets.length) % 2 === 0;
        const price = (spec.initialPrice * (down ? 1_000_000n - DROP_PPM : 1_000_000n + DROP_PPM)) / 1_000_000n;
        await test.increaseTime({ seconds: 31 });
        await producer.heartbeat();
        for (let i = 0; i < 3; i++) await producer.mine("settle");
        await producer.publish(m.feed, feedAnswer(price, m.feedDecimals));
        const priceBlock = await producer.mine("price");
        await producer.mine("next");
        for (let i = 0; i < 3; i++) await producer.mine("after");
        const round: Round = { round: r, phase: transport, market: m.symbol, direction: down ? "down" : "up", priceBlock: priceBlock.number, minedAt: priceBlock.minedAt, endAt: performance.now(), targets: new Set() };
        phaseRounds.push(round);
        log(`[${transport}] round ${r}: ${m.symbol} ${down ? "−" : "+"}${Number(DROP_PPM) / 1e4}% in block ${priceBlock.number}`);
      }
      const rss = (await daemon.metric("process_resident_memory_bytes")).get("");
      // The daemon's own per-phase timing of each price block's tick (its debug "tick phases" line).
      const tickPhases = phaseRounds.map((rd) => daemon!.lines.find((l) => l.msg === "tick phases" && String(l.block) === String(rd.priceBlock)) ?? null);
      const logBytes = daemon.logBytes;
      const code = await daemon.stop();
      daemon = undefined;
      rounds.push(...phaseRounds);
      phases.push({ transport, proxy, rounds: phaseRounds, idlePerBlock: { ours: perBlock[0]!, ...Object.fromEntries(baselines.map((b, i) => [b.kind, perBlock[i + 1]!])) } as Record<string, number> & { ours: number }, idleTotals: { ours: idleTotals[0]!, ...Object.fromEntries(baselines.map((b, i) => [b.kind, idleTotals[i + 1]!])) } as Record<string, number> & { ours: number }, oursIdleByMethod: byMethod, tickPhases, daemonRssMb: rss ? Math.round(rss / 2 ** 20) : null, logBytes, exitCode: code });
    }
    for (const b of baselines) b.child.kill("SIGTERM");
    await sleep(300);

    // ---- analysis (reads after the race, at historical blocks) ----
    const pub = owner.publicClient;
    const market = deployment.contracts.market;
    // A round's targets are the accounts its price move made liquidatable: liquidatable at B and
    // not at B − 1 (an account some keeper has not finished with is no reaction to the move).
    // Its B was mined at the earliest of the bench's evm_mine answer and any keeper's newHeads
    // notification of B (Anvil may notify its subscribers before it answers evm_mine).
    for (const rd of rounds) {
      const [now, before] = await Promise.all([roundTargets(pub, market, traders, rd.priceBlock), roundTargets(pub, market, traders, rd.priceBlock - 1n)]);
      rd.targets = new Set([...now].filter((a) => !before.has(a)));
      for (const p of proxies) for (const h of p.heads) if (h.number === rd.priceBlock && h.at < rd.minedAt) rd.minedAt = h.at;
    }
    const head = await pub.getBlockNumber();
    const liqs = await liquidatedEvents(pub, market, rounds[0]!.priceBlock, head);
    const keeperOf = new Map<string, string>([[getAddress(addr(KEYS.ws)), "ours"], [getAddress(addr(KEYS.http)), "ours"], [getAddress(addr(KEYS.multicall)), "multicall"], [getAddress(addr(KEYS.timer)), "timer"]]);
    const byKeeper: Record<string, number> = {};
    for (const l of liqs) byKeeper[keeperOf.get(getAddress(l.args.keeper)) ?? "other"] = (byKeeper[keeperOf.get(getAddress(l.args.keeper)) ?? "other"] ?? 0) + 1;

    const phaseResults = phases.map((ph) => {
      const inclusion = ph.rounds.map((rd) => {
        const firstHit = new Map<Address, { block: bigint; keeper: string }>();
        for (const l of liqs) {
          const a = getAddress(l.args.account);
          if (!rd.targets.has(a) || l.blockNumber <= rd.priceBlock) continue;
          const prev = firstHit.get(a);
          if (!prev || prev.block > l.blockNumber) firstHit.set(a, { block: l.blockNumber, keeper: keeperOf.get(getAddress(l.args.keeper)) ?? "other" });
        }
        const hits = [...firstHit.values()];
        return { round: rd.round, market: rd.market, direction: rd.direction, priceBlock: rd.priceBlock, targets: rd.targets.size, caughtNextBlock: hits.filter((h) => h.block === rd.priceBlock + 1n).length, caughtNextBlockByOurs: hits.filter((h) => h.block === rd.priceBlock + 1n && h.keeper === "ours").length, blocksToInclusion: hits.map((h) => Number(h.block - rd.priceBlock)) };
      });
      const ours = reactions(ph.proxy.sends, ph.rounds);
      const base = Object.fromEntries(baselines.map((b) => [b.kind, reactions(b.proxy.sends, ph.rounds)]));
      const own = ph.rounds.map((rd) => ownTimeOf(ph.proxy, rd)).filter((x) => x !== undefined);
      const firsts = (xs: { firstMs: number | null }[]) => xs.map((x) => x.firstMs).filter((x): x is number => x !== null);
      const lasts = (xs: { lastMs: number | null }[]) => xs.map((x) => x.lastMs).filter((x): x is number => x !== null);
      const targets = inclusion.reduce((s, x) => s + x.targets, 0);
      const next = inclusion.reduce((s, x) => s + x.caughtNextBlock, 0);
      const blocks = inclusion.flatMap((x) => x.blocksToInclusion);
      return {
        transport: ph.transport,
        reactionMs: {
          ours: { firstP50: pct(firsts(ours), 50), firstMax: pct(firsts(ours), 100), lastP50: pct(lasts(ours), 50), lastMax: pct(lasts(ours), 100), perRound: ours },
          ...Object.fromEntries(Object.entries(base).map(([k, v]) => [k, { firstP50: pct(firsts(v), 50), firstMax: pct(firsts(v), 100), lastP50: pct(lasts(v), 50), perRound: v }])),
        },
        ownTime: {
          p50: { headDeliveredMs: pct(own.map((o) => o.headDeliveredMs), 50), headToBroadcastMs: pct(own.map((o) => o.headToBroadcastMs), 50), nodeWaitMs: pct(own.map((o) => o.nodeWaitMs), 50), ownMs: pct(own.map((o) => o.ownMs), 50) },
          perRound: own,
        },
        inclusion: { targets, caughtNextBlock: next, shareNextBlock: targets ? +(next / targets).toFixed(4) : null, caughtNextBlockByOurs: inclusion.reduce((s, x) => s + x.caughtNextBlockByOurs, 0), blocksToInclusion: { p50: pct(blocks, 50), max: pct(blocks, 100) }, neverCaught: targets - blocks.length, perRound: inclusion },
        idleRequestsPerBlock: ph.idlePerBlock,
        oursIdleRequestsByMethod: ph.oursIdleByMethod,
        rpcRatio: {
          multicall: ph.idleTotals.multicall === undefined ? null : +(ph.idleTotals.multicall / Math.max(1, ph.idleTotals.ours)).toFixed(1),
          note: ph.idleTotals.ours === 0 ? `ours made no request in ${IDLE_BLOCKS} idle blocks: the ratio is a lower bound (the baseline's count over one request)` : undefined,
        },
        tickPhases: ph.tickPhases,
        daemon: { rssMbAtEnd: ph.daemonRssMb, logBytes: ph.logBytes, exitCode: ph.exitCode },
        requestsByMethod: ph.proxy.counts(),
      };
    });

    const ws = phaseResults.find((p) => p.transport === "ws");
    const ok = (x: number | null | undefined, limit: number, le = true) => (x == null ? null : le ? x <= limit : x >= limit);
    const timerRatio = ws && ws.reactionMs.ours.firstP50 && "timer" in ws.reactionMs ? +((ws.reactionMs as Record<string, { firstP50: number | null }>).timer!.firstP50! / ws.reactionMs.ours.firstP50).toFixed(1) : null;
    const result = {
      accounts: N,
      preset: chain.preset.name,
      blockMs: BLOCK_MS,
      roundsPerPhase: ROUNDS,
      dropPct: Number(DROP_PPM) / 1e4,
      seeding: chain.seeding,
      backfill: { coldStartFreshProcess: { ...cold, eventsPerSecond: Math.round(cold.events / (cold.ms / 1000)) } },
      phases: phaseResults,
      liquidationsByKeeper: byKeeper,
      timerRatio,
      targets: {
        firstBroadcastP50LE25ms: ok(ws?.reactionMs.ours.firstP50, 25),
        burstLastP50LE150ms: ok(ws?.reactionMs.ours.lastP50, 150),
        allCaughtNextBlock: ws ? ws.inclusion.shareNextBlock === 1 : null,
        rpcRatioGE50: ok(ws?.rpcRatio.multicall, 50, false),
        timerRatioGE40: ok(timerRatio, 40, false),
        rssAfterGcLE300MB: ok(cold.rssAfterGcMb, 300),
        backfillLE15s: ok(cold.ms / 1000, 15),
        ownTimeP50LE50ms: ok((ws ?? phaseResults[0])?.ownTime.p50.ownMs, 50),
      },
    };
    writeFileSync(flags.out, JSON.stringify(result, bigintToString, 2) + "\n");
    for (const p of phaseResults) {
      const o = p.reactionMs.ours;
      log(`\n[${p.transport}] ours: first broadcast p50 ${o.firstP50} ms (max ${o.firstMax}), last of burst p50 ${o.lastP50} ms; own time p50 ${p.ownTime.p50.ownMs} ms of ${p.ownTime.p50.headToBroadcastMs} ms head→broadcast (node ${p.ownTime.p50.nodeWaitMs} ms; head delivered ${p.ownTime.p50.headDeliveredMs} ms after mining)`);
      for (const b of baselines) {
        const x = (p.reactionMs as Record<string, { firstP50: number | null; lastP50: number | null }>)[b.kind]!;
        log(`[${p.transport}] ${b.kind}: first broadcast p50 ${x.firstP50} ms, last p50 ${x.lastP50} ms`);
      }
      log(`[${p.transport}] targets ${p.inclusion.targets}, next block ${p.inclusion.caughtNextBlock} (${((p.inclusion.shareNextBlock ?? 0) * 100).toFixed(1)}%, ours ${p.inclusion.caughtNextBlockByOurs}), blocks to inclusion max ${p.inclusion.blocksToInclusion.max}; idle requests/block ${JSON.stringify(p.idleRequestsPerBlock)}; daemon rss ${p.daemon.rssMbAtEnd} MB`);
    }
    log(`liquidations by keeper: ${JSON.stringify(byKeeper)}`);
    log(`targets: ${JSON.stringify(result.targets)}`);
    log(`wrote ${flags.out}`);
  } finally {
    await cleanup();
  }
}

await main();
