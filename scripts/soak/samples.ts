/**
 * One sample of the daemon's memory and state, every `sampleEvery` blocks: the kernel's VmRSS
 * (/proc/<pid>/status), what its /metrics says (process_resident_memory_bytes, the V8 heap, every
 * `keeper_state_entries{map}`), and its checkpoint file read from disk: the index's tables, its
 * undo journal and recent block hashes, transactions in flight (the sizes the keeper's state-size
 * gauge cannot give without opening the protocol's state), and the files the daemon keeps beside it.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { ledgerPathOf } from "../../src/ledger/ledgerFile.ts";
import { metricByLabel, metricValue, type SoakDaemon } from "./daemon.ts";

export type Sample = {
  block: number;
  /** Wall seconds since the soak's first block. */
  s: number;
  incarnation: number;
  rssBytes?: number;
  /** The daemon's own process_resident_memory_bytes. */
  metricsRssBytes?: number;
  heapUsedBytes?: number;
  /** keeper_state_entries by map, and the checkpoint's counts (prefixed `checkpoint_`). */
  maps: Record<string, number>;
  /** Bytes of the checkpoint, the send journal and the profit ledger on disk. */
  files: Record<string, number>;
};

export async function takeSample(d: SoakDaemon, checkpointPath: string, block: bigint, t0: number): Promise<Sample> {
  const inc = d.current;
  const text = await d.metrics();
  const maps: Record<string, number> = text ? metricByLabel(text, "keeper_state_entries", "map") : {};
  Object.assign(maps, checkpointCounts(checkpointPath));
  const files: Record<string, number> = {};
  for (const [name, path] of [["checkpoint", checkpointPath], ["sendJournal", `${checkpointPath}.sends`], ["ledger", ledgerPathOf(checkpointPath)]] as const) {
    if (existsSync(path)) files[name] = statSync(path).size;
  }
  const rss = d.rssBytes();
  const metricsRss = text ? metricValue(text, "process_resident_memory_bytes") : undefined;
  const heap = text ? metricValue(text, "nodejs_heap_size_used_bytes") : undefined;
  return {
    block: Number(block),
    s: Math.round((performance.now() - t0) / 100) / 10,
    incarnation: inc?.n ?? 0,
    ...(rss === undefined ? {} : { rssBytes: rss }),
    ...(metricsRss === undefined ? {} : { metricsRssBytes: metricsRss }),
    ...(heap === undefined ? {} : { heapUsedBytes: heap }),
    maps,
    files,
  };
}

/** Entries of each table and of the undo journal in the checkpoint's index state, and its lists. */
function checkpointCounts(path: string): Record<string, number> {
  if (!existsSync(path)) return {};
  let cp: { inFlight?: unknown[]; index?: { recentBlocks?: unknown[]; state?: Record<string, unknown> } };
  try {
    cp = JSON.parse(readFileSync(path, "utf8")) as typeof cp;
  } catch {
    return {}; // being replaced (it is written atomically; a read can still race the rename on some filesystems)
  }
  const out: Record<string, number> = { checkpoint_in_flight: cp.inFlight?.length ?? 0, checkpoint_recent_blocks: cp.index?.recentBlocks?.length ?? 0 };
  const state = cp.index?.state ?? {};
  for (const [name, v] of Object.entries(state)) {
    if (name === "journal" && Array.isArray(v)) {
      out.checkpoint_journal_blocks = v.length;
      out.checkpoint_journal_undo = v.reduce((n: number, j: { undo?: unknown[] }) => n + (j.undo?.length ?? 0), 0);
    } else if (Array.isArray(v)) out[`checkpoint_${name}`] = v.length;
    else if (v !== null && typeof v === "object") out[`checkpoint_${name}`] = Object.keys(v).length;
  }
  return out;
}
