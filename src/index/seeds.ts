/**
 * Price sources a log introduces (a market pointed at a feed the state does not track yet): what
 * the reducer needs of each is read at the introducing block, and the logs of the addresses that
 * come with it (the source, and what its seed names: a proxy's aggregator) count only from after
 * that log. Those logs may introduce further sources in turn (a proxy that switches aggregators in
 * the same range): {@link seedSources} follows them until none is new.
 */
import type { Address } from "viem";
import type { Logger } from "../lib/logger.ts";
import { mapConcurrent } from "../lib/mapConcurrent.ts";
import { compareLogs, type CallAt, type IndexSource, type LogPosition, type ReducerState } from "./source.ts";

/** A source's seed, read at the block of `at`, the log that introduces it; `addresses`: whose logs come with it. */
export type Seed<L> = { at: L; seed: unknown; addresses: readonly Address[] };

type SeedInputs<S extends ReducerState<L>, L extends LogPosition> = {
  source: IndexSource<S, L>;
  state: S;
  callAt: CallAt;
  concurrency: number;
  logger: Logger;
};

/** Read the seed of every source `logs` introduce (but those in `known`), at the introducing block. */
export async function readSeeds<S extends ReducerState<L>, L extends LogPosition>(
  p: SeedInputs<S, L> & { logs: readonly L[]; known?: ReadonlyMap<Address, unknown> },
): Promise<Map<Address, Seed<L>>> {
  const found = new Map<Address, L>();
  for (const log of p.logs) {
    for (const src of p.source.newSourcesOf(p.state, log)) if (!found.has(src) && !p.known?.has(src)) found.set(src, log);
  }
  const seeds = new Map<Address, Seed<L>>();
  await mapConcurrent([...found], p.concurrency, async ([src, log]) => {
    const seed = await p.source.readSeed(p.callAt, src, log.blockHash, log);
    seeds.set(src, { at: log, seed, addresses: p.source.seedAddresses?.(src, seed) ?? [src] });
    p.logger.info({ msg: "new price source", source: src, block: log.blockNumber, ...p.source.describeSource?.(log) });
  });
  return seeds;
}

/** Extra source logs, without those of a new source's addresses from before the log that introduces it. */
export function afterSeeds<L extends LogPosition>(extra: L[], seeds: ReadonlyMap<Address, Seed<L>>): L[] {
  const since = new Map<Address, L>();
  for (const s of seeds.values()) {
    for (const a of s.addresses) {
      const prev = since.get(a);
      if (!prev || compareLogs(s.at, prev) < 0) since.set(a, s.at);
    }
  }
  return extra.filter((l) => {
    const at = since.get(l.address);
    return !at || compareLogs(l, at) > 0;
  });
}

/**
 * The seeds of every source `logs` introduce, and `logs` with the logs of the addresses that come
 * with them (read by `fetch` from the first introducing block on, for addresses not in `queried`),
 * again for the sources those logs introduce, until none is new. Sorted in chain order.
 */
export async function seedSources<S extends ReducerState<L>, L extends LogPosition>(
  p: SeedInputs<S, L> & {
    logs: readonly L[];
    queried: readonly Address[];
    fetch: (fromBlock: bigint, addresses: Address[]) => Promise<L[]>;
  },
): Promise<{ logs: L[]; seeds: Map<Address, Seed<L>> }> {
  const seeds = new Map<Address, Seed<L>>();
  const fetched = new Set(p.queried);
  let all = [...p.logs];
  let scan: readonly L[] = p.logs;
  for (;;) {
    const fresh = await readSeeds({ ...p, logs: scan, known: seeds });
    for (const [src, s] of fresh) seeds.set(src, s);
    const addresses = [...new Set([...fresh.values()].flatMap((s) => s.addresses))].filter((a) => !fetched.has(a));
    if (addresses.length === 0) break;
    for (const a of addresses) fetched.add(a);
    const first = [...fresh.values()].reduce((a, s) => (s.at.blockNumber < a ? s.at.blockNumber : a), [...fresh.values()][0]!.at.blockNumber);
    scan = afterSeeds(await p.fetch(first, addresses), seeds);
    all = [...all, ...scan];
  }
  return { logs: all.sort(compareLogs), seeds };
}
