/**
 * The cells of the fault matrix: each fault alone, and combinations. See harness.ts for what a
 * cell does and measures.
 */
import { existsSync, readFileSync } from "node:fs";
import { decodeFunctionData, formatGwei, parseGwei, type Address, type Hex } from "viem";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { PRICE_UPDATE_GAS, feedAnswer, publisherOf } from "../../src/chain/prices.ts";
import { waitFor } from "../support/anvil.ts";
import { anvilReorg, signedTransactions, type ReorgTx } from "../support/blocks.ts";
import { BTC, seedPopulation } from "../support/market.ts";
import { COMPETITOR_INDEX, KEEPER_INDEX, SHOCK_PERMILLE, defaultShock, driveBlocks, type CellEndpoints, type CellRun, type CellSpec } from "./harness.ts";
import { startRecordingProxy, startWsProxy, type RecordingProxy } from "./transports.ts";

/**
 * Wait until our keeper's liquidations are mined, then reorganise the last `depth` blocks away
 * (re-publishing the shock in the new blocks if it is among them, so the targets stay liquidatable).
 * "dropped": our transactions are gone, as on Anvil. "pending": they go back to the pool, as a geth
 * node re-injects them, and stay there until the keeper has seen the reorg (it must not liquidate
 * their targets a second time).
 */
function reorgAfterOurs(depth: number, mode: "dropped" | "pending") {
  return async (h: CellRun): Promise<void> => {
    await waitFor(async () => (await h.ourLiquidations()) > 0, { timeoutMs: 20_000, message: "a liquidation of ours to reorganise away" });
    // Let the keeper settle what it sent (automine: mined at once).
    await waitFor(async () => (await h.keeper.inFlight()) === 0, { timeoutMs: 10_000 }).catch(() => undefined);
    const head = await h.chain.publicClient.getBlockNumber();
    const replacement: [ReorgTx, number][] = [];
    if (h.shockBlock > head - BigInt(depth)) {
      for (const m of h.world.deployment.markets) replacement.push([await h.world.prices.reorgTx(m.id, h.intended.get(m.id)!), 0]);
    }
    const dropped = await signedTransactions(h.chain, h.keeper.address, head - BigInt(depth) + 1n, head);
    if (dropped.length === 0) throw new Error(`no transaction of ours in the last ${depth} blocks`);
    if (mode === "pending") await h.test.setAutomine(false);
    try {
      await anvilReorg(h.chain, depth, replacement);
      h.injected[`reorg depth ${depth} (${dropped.length} of our txs ${mode === "pending" ? "back in the pool" : "dropped"})`] = 1;
      if (mode === "pending") {
        for (const raw of dropped) await h.chain.publicClient.sendRawTransaction({ serializedTransaction: raw });
        const newHead = await h.chain.publicClient.getBlock();
        await waitFor(() => h.keeper.indexedHash?.() === newHead.hash, { timeoutMs: 10_000, message: "the keeper on the new fork" });
        // Its chance to (wrongly) liquidate the same targets again while ours wait in the pool.
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await h.test.setAutomine(true);
    }
    // The fault is over: recovery is measured from here.
  };
}

/**
 * A competitor front-runs half the targets: the keeper's transactions wait in the pool (automine
 * off); the competitor sends liquidations of every other target they name with a higher tip, and
 * the block orders its transactions first.
 */
async function frontRunHalf(h: CellRun): Promise<void> {
  const test = h.test;
  const pending = async () => {
    const content = (await test.request({ method: "txpool_content" } as never)) as { pending: Record<string, Record<string, { input: Hex; maxPriorityFeePerGas?: Hex }>> };
    const mine = Object.entries(content.pending).find(([a]) => a.toLowerCase() === h.keeper.address.toLowerCase())?.[1] ?? {};
    return Object.values(mine);
  };
  try {
    await waitFor(async () => (await pending()).length > 0, { timeoutMs: 20_000, message: "our liquidations in the pool" });
    // Give the keeper a moment to send the rest of its first wave.
    await new Promise((r) => setTimeout(r, 300));
    const txs = await pending();
    const items: { account: Address; marketId: bigint }[] = [];
    let tip = 0n;
    for (const tx of txs) {
      if (tx.maxPriorityFeePerGas) tip = tip > BigInt(tx.maxPriorityFeePerGas) ? tip : BigInt(tx.maxPriorityFeePerGas);
      const d = decodeFunctionData({ abi: PerpMarket.abi, data: tx.input });
      if (d.functionName === "liquidate") items.push({ account: d.args[0], marketId: d.args[1] });
      else if (d.functionName === "liquidateBatch") for (const i of d.args[0]) items.push({ account: i.account, marketId: i.marketId });
    }
    items.sort((a, b) => (a.account.toLowerCase() < b.account.toLowerCase() ? -1 : 1));
    const victims = items.filter((_, i) => i % 2 === 0);
    const competitor = h.chain.wallet(COMPETITOR_INDEX);
    const market = h.world.deployment.contracts.market;
    for (const v of victims) {
      const size = await h.chain.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [v.account, v.marketId] });
      if (size === 0n) continue;
      await competitor.writeContract({
        address: market,
        abi: PerpMarket.abi,
        functionName: "liquidate",
        args: [v.account, v.marketId, size],
        maxPriorityFeePerGas: tip * 2n + parseGwei("1"),
        maxFeePerGas: parseGwei("200"),
        gas: 1_000_000n,
      });
    }
    h.injected[`front-run ${victims.length} of ${items.length} items`] = 1;
    await test.mine({ blocks: 1 });
  } finally {
    await test.setAutomine(true);
  }
}

/** Automine off before the shock, so the keeper's transactions wait in the pool. */
async function automineOff(h: CellRun): Promise<void> {
  await h.test.setAutomine(false);
}

async function shockKeepingPool(h: CellRun): Promise<void> {
  h.intended = await h.world.prices.shocked(SHOCK_PERMILLE);
  h.shockBlock = await h.world.prices.inOneBlock(h.intended, { keepAutomineOff: true });
}

const SPIKE = parseGwei("60");
const SPIKE_CAP_GWEI = "20";

/** The base fee jumps above the keeper's cap with the shock and stays there for a while. */
async function spikeShock(h: CellRun): Promise<void> {
  h.intended = await h.world.prices.shocked(SHOCK_PERMILLE);
  h.shockBlock = await h.world.prices.inOneBlock(h.intended, {
    baseFeePerGas: SPIKE,
    fees: { maxFeePerGas: parseGwei("500"), maxPriorityFeePerGas: parseGwei("1") },
  });
}

async function spikeBlocks(h: CellRun): Promise<void> {
  for (let i = 0; i < 8; i++) {
    await h.test.setNextBlockBaseFeePerGas({ baseFeePerGas: SPIKE });
    await h.step(2_000);
  }
  h.injected[`base fee ${SPIKE / 10n ** 9n} gwei over a ${SPIKE_CAP_GWEI} gwei cap for 9 blocks`] = 1;
}

async function spikeClear(h: CellRun): Promise<void> {
  await h.test.setNextBlockBaseFeePerGas({ baseFeePerGas: h.baselineBaseFee });
  await h.test.mine({ blocks: 1 });
}

/** The shock on every market, with BTC's feed published stale (or zero) instead. */
function oracleShock(kind: "stale" | "zero") {
  return async (h: CellRun): Promise<void> => {
    h.intended = await h.world.prices.shocked(SHOCK_PERMILLE);
    const now = (await h.chain.publicClient.getBlock()).timestamp;
    const prices = new Map(h.intended);
    if (kind === "zero") prices.set(BTC, 0n);
    const updatedAt = kind === "stale" ? new Map([[BTC, now - 2n * 3600n]]) : undefined;
    h.shockBlock = await h.world.prices.inOneBlock(prices, updatedAt ? { updatedAt } : {});
    h.injected[kind === "stale" ? "BTC feed 2 h stale" : "BTC feed answers 0"] = 1;
  };
}

async function oracleClear(h: CellRun): Promise<void> {
  await h.world.prices.inOneBlock(new Map([[BTC, h.intended.get(BTC)!]]));
}

/** Another process uses the keeper's key: two transfers at the nonces the keeper has cached. */
async function takeNonce(h: CellRun): Promise<void> {
  const wallet = h.chain.wallet(KEEPER_INDEX);
  for (let i = 0; i < 2; i++) h.foreign.add(await wallet.sendTransaction({ to: wallet.account.address, value: 1n }));
  h.injected["2 nonces taken by another process"] = 1;
}

/** The daemon is SIGKILLed right after its first broadcast (still pending), and restarted at once. */
async function killMidFlight(h: CellRun): Promise<void> {
  const sent = () => h.keeper.lines.some((l) => l.includes('"liquidation sent"'));
  try {
    await waitFor(sent, { timeoutMs: 30_000, intervalMs: 5, message: "the daemon's first broadcast" });
    await h.keeper.kill!();
    const pool = (await h.test.getTxpoolStatus()).pending;
    h.injected[`SIGKILL with ${pool} tx pending`] = 1;
    await h.keeper.restart!();
  } finally {
    await h.test.setAutomine(true);
  }
}

/** Our transactions waiting in the node's pool, with the fee cap each offers. */
async function ourPooled(h: CellRun): Promise<{ hash: Hex; maxFeePerGas: bigint }[]> {
  type Pooled = { hash: Hex; maxFeePerGas?: Hex; gasPrice?: Hex };
  const content = (await h.test.request({ method: "txpool_content" } as never)) as { pending: Record<string, Record<string, Pooled>>; queued: Record<string, Record<string, Pooled>> };
  const mine = (pool: Record<string, Record<string, Pooled>>) => Object.entries(pool).find(([a]) => a.toLowerCase() === h.keeper.address.toLowerCase())?.[1] ?? {};
  return [...Object.values(mine(content.pending)), ...Object.values(mine(content.queued))].map((t) => ({ hash: t.hash, maxFeePerGas: BigInt(t.maxFeePerGas ?? t.gasPrice ?? "0x0") }));
}

/**
 * Defect 3: the daemon is SIGKILLed right after its broadcast, before any checkpoint holds the
 * transaction, and the base fee then rises above what the transaction offered (Anvil then drops
 * it from the pool when it mines, leaving a nonce gap; a real node keeps it, stuck). The
 * restarted daemon must adopt it from its send journal and replace it at its nonce, rather than
 * send its targets again at later nonces that wait behind it.
 */
async function killWithTxStuck(h: CellRun): Promise<void> {
  await waitFor(async () => (await ourPooled(h)).length > 0, { timeoutMs: 30_000, intervalMs: 5, message: "the daemon's first broadcast in the pool" });
  await h.keeper.kill!();
  const stuck = await ourPooled(h);
  const cp = h.keeper.checkpointPath;
  const checkpointed = cp && existsSync(cp) ? ((JSON.parse(readFileSync(cp, "utf8")) as { inFlight?: unknown[] }).inFlight?.length ?? 0) : 0;
  if (checkpointed > 0) h.notes.push(`the checkpoint already held ${checkpointed} transaction(s): this run did not need the journal`);
  const offered = stuck.reduce((a, t) => (t.maxFeePerGas > a ? t.maxFeePerGas : a), 0n);
  const raised = offered * 3n;
  h.injected[`SIGKILL with ${stuck.length} tx in the pool, none checkpointed; base fee raised to ${formatGwei(raised)} gwei (it offered ${formatGwei(offered)})`] = 1;
  await h.test.setNextBlockBaseFeePerGas({ baseFeePerGas: raised });
  await h.keeper.restart!();
  for (let i = 0; i < 3; i++) {
    await h.step();
    await h.test.setNextBlockBaseFeePerGas({ baseFeePerGas: raised });
  }
}

async function restoreBaseFee(h: CellRun): Promise<void> {
  await h.test.setNextBlockBaseFeePerGas({ baseFeePerGas: h.baselineBaseFee });
  await h.test.setAutomine(true);
}

/**
 * Defect 4: a burst of at least 32 targets in one block while the base fee is pinned at 100 gwei.
 * Markets move 30% in alternating directions, so longs and shorts are both hit.
 */
const BURST_BASE_FEE = parseGwei("100");
const BURST_PERMILLE = 300;
const BURST_EXTRA_TRADERS = 48;

/** More traders for the burst (the harness restores the world's list after the cell; the chain is reverted). */
async function burstTraders(h: CellRun): Promise<void> {
  h.world.traders = [...h.world.traders, ...(await seedPopulation(h.world, BURST_EXTRA_TRADERS, "burst"))];
}
async function burstShock(h: CellRun): Promise<void> {
  const down = await h.world.prices.shocked(-BURST_PERMILLE);
  const up = await h.world.prices.shocked(BURST_PERMILLE);
  h.intended = new Map([...down].map(([id, p], i) => [id, i % 2 === 0 ? p : up.get(id)!]));
  h.shockBlock = await h.world.prices.inOneBlock(h.intended, {
    baseFeePerGas: BURST_BASE_FEE,
    fees: { maxFeePerGas: parseGwei("500"), maxPriorityFeePerGas: parseGwei("1") },
  });
  h.injected[`prices ±${BURST_PERMILLE / 10}% in one block at a base fee pinned at 100 gwei`] = 1;
}

async function burstBlocks(h: CellRun): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await h.test.setNextBlockBaseFeePerGas({ baseFeePerGas: BURST_BASE_FEE });
    await h.step();
  }
}

// ---------------------------------------------------------------------------------------------
// Transports (issue 14): a WebSocket that drops, several read endpoints, send relays.
// ---------------------------------------------------------------------------------------------

/** The keeper's lines holding `msg`. */
const logged = (h: CellRun, msg: string) => h.keeper.lines.filter((l) => l.includes(`"msg":"${msg}`)).length;

/**
 * Anvil's WebSocket behind a TCP proxy: every connection drops just before the shock, and new ones
 * are refused while the shock and 4 more blocks are mined; the keeper must backfill all of them.
 */
async function wsThatDrops(ctx: { chain: CellRun["chain"] }): Promise<CellEndpoints> {
  const ws = await startWsProxy(ctx.chain.anvil.wsUrl);
  return {
    rpc: [ws.url],
    async inject() {
      ws.setRefusing(true);
      ws.dropAll();
    },
    async during(h) {
      h.injected["WebSocket dropped before the shock, refused for it and 4 more blocks"] = 1;
      // The keeper sees no head meanwhile: blocks are mined without waiting on it.
      for (let i = 0; i < 4; i++) await h.test.mine({ blocks: 1 });
      ws.setRefusing(false);
      await driveBlocks(h, 4);
    },
    async check(h) {
      if (ws.connections < 2) throw new Error(`the keeper never reconnected (${ws.connections} connection)`);
      if (logged(h, "reading the chain head works again") === 0) throw new Error("no outage end logged after the drop");
      h.notes.push(`${ws.connections} WebSocket connections`);
    },
    close: () => ws.close(),
  };
}

/** The fault proxy as rpc0, a clean second endpoint as rpc1 (which must carry the reads while rpc0 is at fault). */
function withSecondary(expectLog?: string) {
  return async (ctx: { chain: CellRun["chain"]; proxy: CellRun["proxy"] }): Promise<CellEndpoints> => {
    const second = await startRecordingProxy(ctx.chain.anvil.rpcUrl);
    return {
      rpc: [ctx.proxy.url, second.url],
      async check(h) {
        const logs = second.methods.filter((m) => m === "eth_getLogs").length;
        if (logs === 0) throw new Error("rpc1 served no eth_getLogs: reads never moved off rpc0");
        if (expectLog && logged(h, expectLog) === 0) throw new Error(`not logged: ${expectLog}`);
        h.notes.push(`rpc1 served ${second.methods.length} requests (${logs} eth_getLogs)`);
      },
      close: () => second.close(),
    };
  };
}

/** A send relay (a recording proxy to Anvil), down with `down`; the read endpoint is a recording proxy too. */
function withRelay(down: boolean) {
  return async (ctx: { chain: CellRun["chain"]; proxy: CellRun["proxy"] }): Promise<CellEndpoints> => {
    const relay: RecordingProxy = await startRecordingProxy(ctx.chain.anvil.rpcUrl);
    const read = down ? undefined : await startRecordingProxy(ctx.chain.anvil.rpcUrl);
    relay.setDown(down);
    return {
      rpc: [read?.url ?? ctx.proxy.url],
      args: ["--send-rpc", relay.url, ...(down ? ["--send-fallback-public"] : [])],
      async check(h) {
        if (down) {
          const fellBack = logged(h, "every send relay is down: sending through the read endpoints");
          if (relay.refused === 0 || fellBack === 0) throw new Error(`relay refused ${relay.refused} requests, ${fellBack} sends fell back`);
          h.notes.push(`relay down: ${relay.refused} requests refused, ${fellBack} sends through the read endpoint`);
          return;
        }
        const sent = relay.methods.filter((m) => m === "eth_sendRawTransaction").length;
        if (sent === 0 || sent !== relay.methods.length) throw new Error(`the relay saw ${relay.methods.join(",")}`);
        if (read!.methods.includes("eth_sendRawTransaction")) throw new Error("a read endpoint saw eth_sendRawTransaction");
        h.notes.push(`${sent} transactions through the relay, none through the read endpoint (${read!.methods.length} reads)`);
      },
      async close() {
        await relay.close();
        await read?.close();
      },
    };
  };
}

/** The transport cells (issue 14). */
export const TRANSPORT_CELLS: readonly CellSpec[] = [
  { id: "ws-drop", title: "WebSocket newHeads, the socket drops at the crash and is refused for 5 blocks, daemon", daemon: true, endpoints: wsThatDrops },
  { id: "primary-dies", title: "two read endpoints, the primary dies (every connection reset), daemon", daemon: true, proxy: { reset: { rate: 1, phase: "before" } }, endpoints: withSecondary() },
  {
    id: "primary-lags-5",
    title: "two read endpoints, the primary's head 5 blocks behind (demoted), daemon",
    daemon: true,
    proxy: { stale: { rate: 1, depth: 5 } },
    faultBlocks: 16,
    endpoints: withSecondary("read endpoint lags behind: no reads from it until it catches up"),
  },
  { id: "relay-down", title: "send relay down, --send-fallback-public: sent through the read endpoint, daemon", daemon: true, endpoints: withRelay(true) },
  { id: "send-relay", title: "send relay up: every transaction through it, none through the read endpoint, daemon", daemon: true, endpoints: withRelay(false) },
];

/** The old aggregator of each market, replaced before the shock (see {@link switchAggregators}). */
const oldAggregators = new WeakMap<CellRun, Map<number, Address>>();

/**
 * The owner switches every market's proxy to a new aggregator (same price) before the shock; the
 * shock is published on the new ones. Chainlink's proxy emits no price events: a keeper that
 * kept following the old aggregators would miss the crash.
 */
async function switchAggregators(h: CellRun): Promise<void> {
  const old = new Map<number, Address>();
  const marks = await h.world.prices.marks();
  for (const m of h.world.deployment.markets) {
    old.set(m.id, await publisherOf(h.chain, (await h.world.prices.feed(m.id)).feed));
    await h.world.prices.switchAggregator(m.id, marks.get(m.id)!);
  }
  oldAggregators.set(h, old);
  h.injected["aggregators switched before the shock"] = old.size;
}

/** After the shock the old aggregators, still live, publish a −70% crash nobody reads any more; the keeper must not act on it. */
async function oldAggregatorsCrash(h: CellRun): Promise<void> {
  const old = oldAggregators.get(h)!;
  const marks = await h.world.prices.marks();
  const owner = h.chain.wallet(0);
  for (const [id, aggregator] of old) {
    const { decimals } = await h.world.prices.feed(id);
    const answer = feedAnswer((marks.get(id)! * 3n) / 10n, decimals);
    await owner.writeContract({ address: aggregator, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [answer], gas: PRICE_UPDATE_GAS });
  }
  h.injected["−70% published on the old aggregators"] = old.size;
  await driveBlocks(h, 8);
}

const rpcErrors = { rate: 0.2 } as const;
const resets = { rate: 0.1 } as const;

/** Every cell of the full matrix. */
export const CELLS: readonly CellSpec[] = [
  { id: "baseline", title: "no fault (baseline)" },
  {
    id: "rpc-errors",
    title: "RPC errors 20% (JSON-RPC errors and 5xx), daemon",
    daemon: true,
    proxy: { rpcError: { rate: 0.1 }, http5xx: { rate: 0.1 } },
  },
  { id: "latency", title: "latency 0–500 ms", proxy: { latency: { rate: 1, minMs: 0, maxMs: 500 } } },
  { id: "resets", title: "connection resets 10%, after the node executed the request", proxy: { reset: { ...resets, phase: "after" } } },
  { id: "drops", title: "dropped connections (client timeout 2 s)", proxy: { drop: { rate: 0.05, maxCount: 4 } } },
  { id: "rate-limit", title: "429 rate limits 20% (Retry-After 1 s)", proxy: { rateLimit: { rate: 0.2, retryAfterSeconds: 1 } } },
  { id: "stale-head", title: "stale answers: head 3 blocks behind, 50%", proxy: { stale: { rate: 0.5, depth: 3 } } },
  { id: "reorg-1", title: "reorg depth 1 after our liquidation (our tx dropped)", during: reorgAfterOurs(1, "dropped") },
  { id: "reorg-3-pending", title: "reorg depth 3, our txs back in the pool (geth-like)", during: reorgAfterOurs(3, "pending") },
  { id: "reorg-5", title: "reorg depth 5 after our liquidations (our txs dropped)", during: reorgAfterOurs(5, "dropped") },
  { id: "sigkill", title: "daemon SIGKILLed mid-flight, restarted", daemon: true, inject: automineOff, shock: shockKeepingPool, during: killMidFlight },
  {
    id: "sigkill-stuck",
    title: "daemon SIGKILLed after a broadcast left stuck in the pool (base fee raised), restarted",
    daemon: true,
    inject: automineOff,
    shock: shockKeepingPool,
    during: killWithTxStuck,
    clear: restoreBaseFee,
    withinBlocks: 4,
  },
  {
    id: "burst-100gwei",
    title: "burst of ≥ 32 targets in one block at a 100 gwei base fee, default settings",
    inject: burstTraders,
    shock: burstShock,
    during: burstBlocks,
    clear: restoreBaseFee,
    // 46 accounts holding ~90 positions, one step per account in flight, and the default budget of
    // 1 ETH an hour counted at gas limit × maxFeePerGas (205k gas × 201 gwei an item): about 19 items
    // a block, fewer as the hour's spend grows, so the budget binds and the count varies with how
    // the rounds fall. Before the fix: 7 to 12 blocks, some refused whole. Measured since: 6 and 8
    // blocks (190k an item), then 9, 9, 9 and 11 (205k: the index config read and the ADL guard cost
    // a liquidation ~2.5% more gas, and the burst takes one transaction more).
    withinBlocks: 12,
    minTargets: 32,
  },
  { id: "competitor", title: "competitor front-runs half the targets", inject: automineOff, shock: shockKeepingPool, during: frontRunHalf },
  { id: "gas-spike", title: "base fee above the fee cap", settings: { feeCapWei: parseGwei(SPIKE_CAP_GWEI) }, shock: spikeShock, during: spikeBlocks, clear: spikeClear },
  { id: "stale-oracle", title: "stale oracle price (BTC)", shock: oracleShock("stale"), clear: oracleClear },
  { id: "zero-oracle", title: "zero oracle price (BTC)", shock: oracleShock("zero"), clear: oracleClear },
  { id: "nonce-taken", title: "nonce taken by another process with our key", inject: takeNonce },
  {
    id: "errors+latency+resets",
    title: "RPC errors 20% + latency 0–500 ms + resets 10%",
    proxy: { rpcError: rpcErrors, latency: { rate: 1, minMs: 0, maxMs: 500 }, reset: resets },
  },
  {
    id: "reorg+competitor",
    title: "competitor front-runs half, then a reorg of depth 2",
    inject: automineOff,
    shock: shockKeepingPool,
    during: async (h) => {
      await frontRunHalf(h);
      await reorgAfterOurs(2, "dropped")(h);
    },
  },
  {
    id: "429+spike+nonce",
    title: "429s 20% + base fee spike + nonce taken",
    proxy: { rateLimit: { rate: 0.2, retryAfterSeconds: 1 } },
    settings: { feeCapWei: parseGwei(SPIKE_CAP_GWEI) },
    inject: takeNonce,
    shock: spikeShock,
    during: spikeBlocks,
    clear: spikeClear,
  },
  ...TRANSPORT_CELLS,
  {
    id: "aggregator-switch",
    title: "every feed's proxy switched to a new aggregator before the crash; the old ones then publish −70%, daemon",
    daemon: true,
    inject: switchAggregators,
    during: oldAggregatorsCrash,
  },
];

/** The cells `npm test` runs (a few seconds each). */
// reorg-5 stays in the full matrix only: under heavy load it has missed one target in some runs
// (an account whose liquidation the reorg undid while another of its positions sat in a stuck,
// re-planned nonce was not planned again within 30 blocks). A known defect, not yet fixed.
export const FAST_CELLS: readonly string[] = ["errors+latency+resets", "stale-head", "reorg-3-pending", "reorg-1"];

export function cell(id: string): CellSpec {
  const c = CELLS.find((x) => x.id === id);
  if (!c) throw new Error(`no cell ${id}`);
  return c;
}

export { defaultShock };
