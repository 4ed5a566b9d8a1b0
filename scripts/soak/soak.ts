/**
 * The soak: `perp-keeper run` for a compressed day (or week) of chain time against its own Anvil,
 * behind the fault proxy, with random prices, crashes and recoveries, traders arriving and closing,
 * fault phases and restarts (SIGTERM, and SIGKILL crashes), while its memory and state are sampled.
 *
 * The soak is the block producer (automine off): each step sends what happens in it (prices, a
 * crash, closing trades; an arrival wave is mined by the seeding code itself), mines one block (or
 * `idleBlocks` when nothing happens), reads the new blocks for our transactions, and waits (bounded)
 * until the daemon has processed the head, so the keeper sees the chain block by block as on a
 * 12-second chain, only faster. Restarts happen in the first half only, so that the last
 * incarnation runs through the whole second half: its RSS there is the flat-line figure.
 */
import { join } from "node:path";
import { mulberry32 } from "../../test/support/random.ts";
import { startFaultProxy, type FaultProxy } from "../../test/support/faultProxy.ts";
import { Audit, Windows, duplicates, type Failure, type Liquidation, type Missed, type OurTx } from "./audit.ts";
import { SoakDaemon } from "./daemon.ts";
import { phaseAt } from "./faults.ts";
import { SoakPrices, type PriceMove } from "./prices.ts";
import { takeSample, type Sample } from "./samples.ts";
import { Traders } from "./traders.ts";
import { startWorld, type SoakWorld } from "./world.ts";
import { writeKeeperConfig } from "./config.ts";
import { caughtUp, mineUntil, planRestarts, restart, type Restart } from "./restart.ts";

export type SoakOptions = {
  /** Blocks to mine (the run's length). */
  blocks: number;
  /** Traders seeded before the daemon starts. */
  traders: number;
  seed: string;
  /** A working directory of the caller's (deployment, keeper config, checkpoint); it removes it. */
  dir: string;
  /** Blocks per step when nothing happens. */
  idleBlocks: number;
  /** Blocks between samples of memory and state. */
  sampleEvery: number;
  /** Blocks per fault phase (clean and faulty phases alternate). */
  phaseBlocks: number;
  /** Restarts, spread over the first 45% of the run (every third a SIGKILL; at least one). */
  restarts: number;
  /** A liquidatable account still liquidatable after this many clean blocks is missed. */
  k: number;
  /** Blocks between two checks of who is liquidatable (also after every price change). */
  checkEvery: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** Keep the daemon's output in this file. */
  daemonLog?: string;
};


export type SoakResult = {
  options: Omit<SoakOptions, "log" | "dir">;
  fromBlock: number;
  toBlock: number;
  wallSeconds: number;
  samples: Sample[];
  restarts: Restart[];
  events: { priceMoves: number; crashes: number; pumps: number; arrivals: number; closes: number; failedWaves: number; faultPhases: string[] };
  faultsInjected: Record<string, number>;
  proxyRequests: number;
  logBytes: number;
  logLines: Record<string, number>;
  ours: OurTx[];
  liquidations: Liquidation[];
  duplicateDetails: string[];
  /** Our transactions with an item that did nothing, diagnosed (see audit.ts). */
  failures: Failure[];
  missed: Missed[];
  episodeBlocks: number[];
  checks: number;
  /** The last incarnation ended by SIGTERM with code 0 (or 3: transactions still in flight). */
  finalExit: number | null;
};


export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const rng = mulberry32(hash(o.seed));
  const world = await startWorld({ deploymentPath: join(o.dir, "deployment.json"), traders: o.traders, seed: o.seed });
  let proxy: FaultProxy | undefined;
  let daemon: SoakDaemon | undefined;
  try {
    proxy = await startFaultProxy({ target: world.anvil.rpcUrl, seed: hash(`${o.seed}-faults`) });
    const checkpointPath = join(o.dir, "checkpoint.json");
    const configPath = writeKeeperConfig(join(o.dir, "keeper.json"), checkpointPath);
    daemon = new SoakDaemon({ rpcUrl: proxy.url, deploymentPath: world.deploymentPath, configPath, key: world.keeperKey, cwd: o.dir, ...(o.daemonLog ? { logPath: o.daemonLog } : {}) });
    return await drive(o, world, proxy, daemon, checkpointPath, rng);
  } finally {
    daemon?.kill();
    await proxy?.close();
    await world.anvil.stop();
  }
}

async function drive(o: SoakOptions, world: SoakWorld, proxy: FaultProxy, daemon: SoakDaemon, checkpointPath: string, rng: () => number): Promise<SoakResult> {
  const test = world.test;
  await test.setAutomine(false);
  const prices = await SoakPrices.open(world, rng);
  const traders = new Traders(world, o.seed, rng);
  const windows = new Windows(o.k);
  const head = () => world.reader.getBlockNumber({ cacheTime: 0 });

  await daemon.start();
  const fromBlock = await head();
  const audit = new Audit(world, windows, o.k, fromBlock + 1n);
  const end = fromBlock + BigInt(o.blocks);
  // The daemon's start-up is not the keeper's to be measured on.
  windows.open(fromBlock);
  await caughtUp(daemon, fromBlock, 60_000);
  windows.close(fromBlock);

  const t0 = performance.now();
  const samples: Sample[] = [];
  const restarts: Restart[] = [];
  const restartAt = planRestarts(o);
  const ev = { priceMoves: 0, crashes: 0, pumps: 0, arrivals: 0, closes: 0, failedWaves: 0, faultPhases: [] as string[] };
  let phase: string | undefined;
  let lastPrice = fromBlock;
  let holdUntil = 0n;
  let lastCheck = fromBlock;
  let nextSample = fromBlock;
  let nextArrival = fromBlock + 150n;
  let nextClose = fromBlock + 100n;
  let nextPrune = fromBlock + 500n;
  let n = fromBlock;

  while (n < end) {
    const offset = Number(n - fromBlock);
    // Restarts (the chain goes on meanwhile: a block every 200 ms).
    const r = restartAt[0];
    if (r && offset >= r.offset) {
      restartAt.shift();
      restarts.push(await restart(daemon, world, windows, r.signal, n));
      n = await head();
      o.log(`block +${Number(n - fromBlock)}: restarted (${r.signal}), ${restarts.at(-1)!.downBlocks} blocks down`);
    }
    // Fault phases.
    const p = phaseAt(offset, o.phaseBlocks);
    if (p?.name !== phase) {
      if (p) {
        proxy.setFaults(p.schedule);
        ev.faultPhases.push(p.name);
        if (p.blocking) windows.open(n);
      } else {
        proxy.clear();
        windows.close(n);
      }
      phase = p?.name;
    }

    // What happens in this step.
    let event = false;
    let move: PriceMove | undefined;
    if (n >= holdUntil) {
      const x = rng();
      if (x < 1 / 400) move = "crash";
      else if (x < 1.5 / 400) move = "pump";
      else if (n - lastPrice >= 8n) move = "walk";
    }
    if (move) {
      prices.next(move);
      await prices.send();
      lastPrice = n;
      ev.priceMoves++;
      if (move === "crash") ev.crashes++;
      if (move === "pump") ev.pumps++;
      // After a shock the price holds a few blocks: the keeper's turn, not a recovery's.
      if (move !== "walk") holdUntil = n + 6n;
      event = true;
    }
    if (n >= nextClose && !move) {
      nextClose = n + 100n;
      await traders.closeSome(2);
      event = true;
    }
    if (n >= nextArrival && !move) {
      nextArrival = n + 150n;
      // Waves refill the population towards its starting size (liquidations and closes drain it), four at least.
      await traders.arrive(Math.min(20, Math.max(4, o.traders - traders.open.size))); // mines its own blocks
    }
    await test.mine({ blocks: event ? 1 : o.idleBlocks });
    n = await head();
    await audit.scan(n);
    if (move || n - lastCheck >= BigInt(o.checkEvery)) {
      await audit.check(n, traders.open);
      lastCheck = n;
    }
    if (n >= nextPrune) {
      nextPrune = n + 500n;
      await traders.prune();
    }
    if (n >= nextSample) {
      nextSample = n + BigInt(o.sampleEvery);
      const s = await takeSample(daemon, checkpointPath, n - fromBlock, t0);
      samples.push(s);
      o.log(`block +${s.block}: ${s.s} s, RSS ${mb(s.rssBytes)} MB, book ${s.maps.book_accounts ?? "?"}, our txs ${audit.ours.length}, open ${traders.open.size}${phase ? `, fault ${phase}` : ""}`);
    }
    // The keeper's turn: bounded, since a fault may be holding it.
    await caughtUp(daemon, n, 5_000);
  }
  samples.push(await takeSample(daemon, checkpointPath, n - fromBlock, t0));
  const wallSeconds = (performance.now() - t0) / 1000;

  // The end: faults off, a few blocks for what is in flight, then SIGTERM (settle, checkpoint, exit).
  proxy.clear();
  for (let i = 0; i < 5; i++) {
    await test.mine({ blocks: 1 });
    await caughtUp(daemon, await head(), 5_000);
  }
  const stopping = daemon.stop("SIGTERM");
  const last = await mineUntil(world, stopping);
  const toBlock = await head();
  await audit.scan(toBlock);
  const liquidations = await audit.liquidations(fromBlock + 1n, toBlock);
  ev.arrivals = traders.arrived;
  ev.closes = traders.closed;
  ev.failedWaves = traders.failedWaves;
  const c = proxy.counters();
  return {
    options: { blocks: o.blocks, traders: o.traders, seed: o.seed, idleBlocks: o.idleBlocks, sampleEvery: o.sampleEvery, phaseBlocks: o.phaseBlocks, restarts: o.restarts, k: o.k, checkEvery: o.checkEvery },
    fromBlock: Number(fromBlock),
    toBlock: Number(toBlock),
    wallSeconds,
    samples,
    restarts,
    events: ev,
    faultsInjected: c.injected,
    proxyRequests: c.requests,
    logBytes: daemon.bytes,
    logLines: Object.fromEntries(daemon.levels),
    ours: audit.ours,
    liquidations,
    duplicateDetails: duplicates(audit.ours, liquidations),
    failures: audit.failures,
    missed: audit.missed,
    episodeBlocks: audit.episodeBlocks,
    checks: audit.checks,
    finalExit: last.code,
  };
}


const mb = (b: number | undefined) => (b === undefined ? "?" : (b / 1024 / 1024).toFixed(1));

/** A 31-bit seed from a string. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) % 2 ** 31;
}
