/**
 * Cold start of our keeper in a fresh process (child of run.ts): no checkpoint, backfill from the
 * deploy block, then the first valuation of every account. Reports the backfill rate and the
 * process's resident memory, so the numbers carry neither the bench harness nor the seeding.
 * Dry run: it never sends.
 */
import { writeHeapSnapshot } from "node:v8";
import { mnemonicToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_MNEMONIC } from "../../../src/chain/anvil.ts";
import { connect } from "../../../src/chain/clients.ts";
import type { Deployment } from "../../../src/chain/deploy.ts";
import { loadKeeperSettings } from "../../../src/config/keeper.ts";
import { createKeeper } from "../../../src/keeper/createKeeper.ts";
import { protocolFor } from "../../../src/protocols/index.ts";
import { createLogger } from "../../../src/lib/logger.ts";
import { createMetrics } from "../../../src/lib/metrics.ts";

export type ColdStartInit = {
  type: "init";
  rpcUrl: string;
  deployment: Record<string, unknown>;
  /** Write a V8 heap snapshot here after the full GC (memory.ts --heap-snapshot), to see what the keeper holds. */
  heapSnapshot?: string;
};
export type ColdStartResult = {
  type: "result";
  events: number;
  accounts: number;
  ms: number;
  rssMb: number;
  heapUsedMb: number;
  /** After two full garbage collections (the child runs with --expose-gc): what the keeper holds. */
  rssAfterGcMb: number | null;
  heapUsedAfterGcMb: number | null;
  rpcRequests: number;
};

const init = await new Promise<ColdStartInit>((resolve) => process.once("message", (m) => resolve(m as ColdStartInit)));
const d = init.deployment;
const deployment = { ...d, deployBlock: BigInt(String(d.deployBlock)) } as Deployment;
const metrics = createMetrics();
const c = await connect(init.rpcUrl, mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 5 }), { metrics });
const settings = { ...loadKeeperSettings({ logLevel: "warn" }), checkpointPath: "" };
const keeper = createKeeper({ protocol: protocolFor(deployment), ...c, deployment, settings, logger: createLogger({ level: "warn" }), metrics, checkpoint: false, dryRun: true });
const t0 = performance.now();
await keeper.start();
const ms = performance.now() - t0;
const mem = process.memoryUsage();
let rpcRequests = 0;
for (const v of (await metrics.rpcRequests.get()).values) rpcRequests += v.value;
// The backfill's garbage (decoded logs, JSON answers) is still on the heap right after start; a
// full collection shows what the keeper keeps.
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
const after = gc ? process.memoryUsage() : undefined;
// After the figures above: writing a snapshot allocates, and must not change them.
if (init.heapSnapshot) writeHeapSnapshot(init.heapSnapshot);
const result: ColdStartResult = {
  type: "result",
  events: keeper.status.backfilledEvents,
  accounts: keeper.status.accounts,
  ms: Math.round(ms),
  rssMb: Math.round(mem.rss / 1024 / 1024),
  heapUsedMb: Math.round(mem.heapUsed / 1024 / 1024),
  rssAfterGcMb: after ? Math.round(after.rss / 1024 / 1024) : null,
  heapUsedAfterGcMb: after ? Math.round(after.heapUsed / 1024 / 1024) : null,
  rpcRequests,
};
process.send!(result, () => process.exit(0));
