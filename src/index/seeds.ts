/**
 * Price sources a log introduces (a market pointed at a feed the state does not track yet): what
 * the reducer needs of each is read at the introducing block, and the source's own logs count only
 * from after that log.
 */
import type { Address } from "viem";
import type { Logger } from "../lib/logger.ts";
import { mapConcurrent } from "../lib/mapConcurrent.ts";
import { compareLogs, type CallAt, type IndexSource, type LogPosition, type ReducerState } from "./source.ts";

/** A source's seed, read at the block of `at`, the log that first points a market at it. */
export type Seed<L> = { at: L; seed: unknown };

/** Read the seed of every source `logs` introduce, at the introducing block. */
export async function readSeeds<S extends ReducerState<L>, L extends LogPosition>(p: {
  source: IndexSource<S, L>;
  state: S;
  logs: readonly L[];
  callAt: CallAt;
  concurrency: number;
  logger: Logger;
}): Promise<Map<Address, Seed<L>>> {
  const found = new Map<Address, L>();
  for (const log of p.logs) {
    const src = p.source.newSourceOf(p.state, log);
    if (src && !found.has(src)) found.set(src, log);
  }
  const seeds = new Map<Address, Seed<L>>();
  await mapConcurrent([...found], p.concurrency, async ([src, log]) => {
    const seed = await p.source.readSeed(p.callAt, src, log.blockHash);
    seeds.set(src, { at: log, seed });
    p.logger.info({ msg: "new price source", source: src, block: log.blockNumber, ...p.source.describeSource?.(log) });
  });
  return seeds;
}

/** Extra source logs, without those of a new source from before the log that introduces it. */
export function afterSeeds<L extends LogPosition>(extra: L[], seeds: Map<Address, Seed<L>>): L[] {
  return extra.filter((l) => {
    const seed = seeds.get(l.address);
    return !seed || compareLogs(l, seed.at) > 0;
  });
}

