/**
 * The keeper's resident memory after a cold start, alone: the bench's chain (Anvil, the reference
 * market with the "hyperliquid" preset, N traders seeded in bulk), then coldStart.ts in a fresh
 * process, which backfills from the deploy block, runs two full GCs and reports RSS and heap.
 *
 *   npx tsx scripts/bench/keeper/memory.ts --accounts 100000 [--runs 1] [--seed bench]
 *        [--heap-snapshot /tmp/keeper.heapsnapshot [--top 40]]
 *        [--serve /tmp/chain.json | --attach /tmp/chain.json]
 *
 * --heap-snapshot: the child writes a V8 heap snapshot after its GCs; this script then prints the
 * heap's self sizes by kind (bigints, strings, objects by constructor, arrays), to see what the
 * retained heap is made of. --serve: seed once, write the chain's address and deployment to the
 * file and keep Anvil running until interrupted; --attach: measure against such a chain (seeding
 * 100,000 accounts takes minutes, a measurement seconds).
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mnemonicToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_MNEMONIC, startAnvil } from "../../../src/chain/anvil.ts";
import { connect } from "../../../src/chain/clients.ts";
import { deployReferenceMarket } from "../../../src/chain/deploy.ts";
import { deployNativeUsdFeed } from "../../../src/chain/nativeFeed.ts";
import { checkPresetFits, loadMarkets, loadPreset } from "../../../src/config/presets.ts";
import { bigintToString } from "../../../src/lib/json.ts";
import { seedTradersInBulk } from "../../../src/sim/seedBulk.ts";
import type { ColdStartInit, ColdStartResult } from "./coldStart.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    accounts: { type: "string", default: "100000" },
    seed: { type: "string", default: "bench" },
    runs: { type: "string", default: "1" },
    "heap-snapshot": { type: "string" },
    top: { type: "string", default: "40" },
    serve: { type: "string" },
    attach: { type: "string" },
  },
});
const N = Number(flags.accounts);
const log = (s: string) => process.stdout.write(`${s}\n`);

/** What --serve writes and --attach reads. */
type Chain = { rpcUrl: string; accounts: number; deployment: Record<string, unknown> };

/** One cold start in a fresh process, as run.ts spawns it. */
function coldStart(chain: Chain, heapSnapshot?: string): Promise<ColdStartResult> {
  return new Promise<ColdStartResult>((resolve, reject) => {
    const p = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(HERE, "coldStart.ts")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    p.once("message", (m) => resolve(m as ColdStartResult));
    p.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`cold-start child exited with ${code}`))));
    const init: ColdStartInit = { type: "init", rpcUrl: chain.rpcUrl, deployment: chain.deployment, ...(heapSnapshot ? { heapSnapshot } : {}) };
    p.send(init);
  });
}

type HeapRow = { kind: string; count: number; bytes: number };

/**
 * Self sizes in a V8 heap snapshot, by kind: strings, numbers and bigints by type; objects,
 * closures and internal arrays by constructor or V8's own name. Self sizes, not retained: the
 * shapes the heap is made of (a Map's table is one "(object elements)"-like array of its own).
 */
function heapHistogram(file: string): { total: number; rows: HeapRow[] } {
  type Snapshot = { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const byKind = new Map<string, HeapRow>();
  let total = 0;
  for (let n = 0; n < s.nodes.length; n += width) {
    const type = types[s.nodes[n + iType]!]!;
    const size = s.nodes[n + iSize]!;
    total += size;
    const named = type === "object" || type === "closure" || type === "array" || type === "hidden" || type === "code" || type === "native";
    const kind = named ? `${type} ${s.strings[s.nodes[n + iName]!]!.slice(0, 60)}` : type;
    const row = byKind.get(kind) ?? { kind, count: 0, bytes: 0 };
    row.count++;
    row.bytes += size;
    byKind.set(kind, row);
  }
  return { total, rows: [...byKind.values()].sort((a, b) => b.bytes - a.bytes) };
}

async function seededChain(): Promise<{ chain: Chain; stop: () => Promise<void> }> {
  const markets = loadMarkets();
  const preset = loadPreset("hyperliquid");
  checkPresetFits(preset, markets);
  // As run.ts: 1e9 block gas (1,000 accounts a seeding transaction), old state copies dropped.
  const anvil = await startAnvil({ port: 0, gasLimit: 1_000_000_000n, extraArgs: ["--prune-history", "128"] });
  try {
    const owner = await connect(anvil.rpcUrl, mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 0 }), { pollingInterval: 50, timeoutMs: 120_000 });
    const deployment = { ...(await deployReferenceMarket(owner, { markets, preset, seedable: true })), nativeUsdFeed: await deployNativeUsdFeed(owner) };
    const t0 = performance.now();
    const seeded = await seedTradersInBulk(owner, deployment, {
      count: N,
      seed: flags.seed,
      onProgress: (n) => {
        if (N >= 20_000 && n % 20_000 < 250) log(`  seeded ${n}/${N} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      },
    });
    log(`seeded ${N} traders: ${seeded.transactions} transactions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const chain: Chain = { rpcUrl: anvil.rpcUrl, accounts: N, deployment: JSON.parse(JSON.stringify(deployment, bigintToString)) as Record<string, unknown> };
    return { chain, stop: () => anvil.stop() };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

async function main(): Promise<void> {
  const attached = flags.attach ? (JSON.parse(readFileSync(flags.attach, "utf8")) as Chain) : undefined;
  const { chain, stop } = attached ? { chain: attached, stop: async () => {} } : await seededChain();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop().finally(() => process.exit(130)));
  try {
    if (flags.serve) {
      writeFileSync(flags.serve, JSON.stringify(chain) + "\n");
      log(`serving ${chain.rpcUrl} (${chain.accounts} accounts): wrote ${flags.serve}; interrupt to stop Anvil`);
      await new Promise<never>(() => {});
    }
    const runs: ColdStartResult[] = [];
    for (let i = 0; i < Number(flags.runs); i++) {
      const snapshot = i === 0 ? flags["heap-snapshot"] : undefined;
      const r = await coldStart(chain, snapshot);
      runs.push(r);
      log(JSON.stringify({ seeded: chain.accounts, run: i, ...r, backfillSeconds: +(r.ms / 1000).toFixed(2) }));
    }
    if (flags["heap-snapshot"]) {
      const { total, rows } = heapHistogram(flags["heap-snapshot"]);
      const mb = (b: number) => (b / 1024 / 1024).toFixed(1).padStart(8);
      log(`heap snapshot ${flags["heap-snapshot"]}: ${mb(total).trim()} MB of self sizes`);
      for (const r of rows.slice(0, Number(flags.top))) log(`${mb(r.bytes)} MB ${String(r.count).padStart(10)}  ${r.kind}`);
    }
  } finally {
    await stop();
  }
}

await main();
