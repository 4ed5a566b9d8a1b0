/**
 * Sizes of the keeper's long-lived maps and arrays, for `keeper_state_entries{map}`: a daemon that
 * runs for weeks must hold state bounded by what is open on chain (accounts, markets, transactions
 * in flight), not by how long it has run. A soak (scripts/soak) watches these next to the process's
 * resident memory, so a leak shows which map grows. Protocol-neutral: each part answers through
 * its own public size (the protocol's state through the ReducerState port, its book through
 * Book.size); every size is O(1) to read, so it is set at every head.
 */
import type { Gauge } from "prom-client";
import type { LogPosition, ReducerState } from "../index/source.ts";

/** The parts whose sizes are reported: each a public size of a keeper part. */
export type StateSizeParts = {
  /** The indexed state (its account and market tables). */
  state: Pick<ReducerState<LogPosition>, "accounts" | "markets">;
  /** The protocol's book (accounts it values at each head). */
  book: { readonly size: number };
  /** The executor's maps: in flight, lately mined, reservations, backoffs, gas-budget spends. */
  executor: { sizes(): Record<string, number> };
  /** Accounts with a "not liquidating" reason said and not cleared (the skip log's dedupe map). */
  skips: { size(): number };
  /** Markets once seen unpriced (their gauge is kept at 0 afterwards). */
  unpricedSeen: ReadonlySet<number>;
};

/** `camelCase` → `snake_case`, the label style of every other keeper metric. */
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Entries by map name (`index_accounts`, `executor_in_flight`, …). */
export function stateSizes(p: StateSizeParts): Record<string, number> {
  const out: Record<string, number> = {
    index_accounts: p.state.accounts.size,
    index_markets: p.state.markets.size,
    book_accounts: p.book.size,
    skip_log: p.skips.size(),
    unpriced_markets_seen: p.unpricedSeen.size,
  };
  for (const [name, n] of Object.entries(p.executor.sizes())) out[`executor_${snake(name)}`] = n;
  return out;
}

/** Set `gauge` (labelled by `map`) to every size of `p`. */
export function recordStateSizes(gauge: Pick<Gauge<"map">, "set">, p: StateSizeParts): void {
  for (const [map, n] of Object.entries(stateSizes(p))) gauge.set({ map }, n);
}
