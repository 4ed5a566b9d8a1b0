import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";
import { zodProblems } from "../../lib/zodIssues.ts";
import { CheckpointFormatError, IndexStateOutdatedError } from "../../index/checkpoint.ts";
import type { Account } from "../../engine/index.ts";
import type { JournalBlock, Tables } from "./state.ts";

/**
 * The index state as JSON-safe data, for checkpoints: bigints as decimal strings, maps as entry
 * lists sorted by key (one state, one text), addresses checksummed. One zod codec per shape gives both directions, and decoding
 * validates, so a damaged checkpoint fails with one clear error instead of a wrong state.
 */

const bigintString = z.codec(z.string().regex(/^-?\d+$/, { error: "not an integer string" }), z.bigint(), {
  decode: (s) => BigInt(s),
  encode: (b) => b.toString(),
});
const address = z.codec(
  z.string().refine((s) => isAddress(s, { strict: false }), { error: "not an address" }),
  z.custom<Address>((v) => typeof v === "string"),
  { decode: (s) => getAddress(s), encode: (a) => a },
);
const mapOf = <K extends z.ZodType, V extends z.ZodType>(key: K, value: V) =>
  z.codec(z.array(z.tuple([key, value])), z.custom<Map<z.output<K>, z.output<V>>>((v) => v instanceof Map), {
    decode: (entries) => new Map(entries as [z.output<K>, z.output<V>][]),
    encode: (map) => [...map.entries()] as never,
  });

const tier = z.object({ floor: bigintString, mmrPpm: bigintString, maxLeverage: bigintString });
const market = z.object({
  id: z.number().int().nonnegative(),
  lotSize: bigintString,
  tradingFeePpm: bigintString,
  tiers: z.array(tier),
  cums: z.array(bigintString),
  liquidation: z.object({
    penaltyPpm: bigintString,
    targetBufferPpm: bigintString,
    maxStepPpm: bigintString,
    tierStepDown: z.boolean(),
    partialThreshold: bigintString,
    dustNotional: bigintString,
    adlEnabled: z.boolean(),
  }),
  funding: z.object({ index: bigintString, ratePerSecond: bigintString, lastUpdate: bigintString }),
  feed: address,
  feedDecimals: z.number().int().min(0).max(18),
  maxStaleness: bigintString,
  feeds: z.array(address).min(1),
  minSources: z.number().int().min(1),
  maxDeviationPpm: bigintString,
});
const account = z.object({
  collateral: bigintString,
  lastPartialAt: bigintString,
  positions: z.array(
    z.object({ marketId: z.number().int().nonnegative(), size: bigintString, entryPrice: bigintString, entryFundingIndex: bigintString }),
  ),
});
const round = z.object({ answer: bigintString, updatedAt: bigintString, roundId: bigintString });
const proxy = z.object({ aggregator: address, phaseId: z.number().int().min(0).max(0xffff) });
const feed = z.object({ decimals: z.number().int().min(0).max(18), round: z.union([z.null(), round]), proxy: z.union([z.null(), proxy]) });
const global = z.object({ cooldown: bigintString, backstopPpm: bigintString, keeperSharePpm: bigintString });
const funds = z.object({ insuranceFund: bigintString, badDebt: bigintString, adlOperator: address });

/** undefined (absent) ⇄ null (JSON). null is tried first: a codec's encode never sees it. */
const optional = <S extends z.ZodType>(s: S) =>
  z.codec(z.union([z.null(), s]), z.custom<z.output<S> | undefined>(), {
    decode: (v) => (v === null ? undefined : (v as z.output<S>)),
    encode: (v) => (v === undefined ? null : v) as never,
  });
type FeedValue = { decimals: number; round: z.output<typeof round> | undefined; proxy?: z.output<typeof proxy> };
const feedValue = z.codec(feed, z.custom<FeedValue>(), {
  decode: (f) => ({ decimals: f.decimals, round: f.round ?? undefined, ...(f.proxy ? { proxy: f.proxy } : {}) }),
  encode: (f) => ({ decimals: f.decimals, round: f.round ?? null, proxy: f.proxy ?? null }) as never,
});

const undo = z.discriminatedUnion("table", [
  z.object({ table: z.literal("markets"), key: z.number().int().nonnegative(), prev: optional(market) }),
  z.object({ table: z.literal("accounts"), key: address, prev: optional(account) }),
  z.object({ table: z.literal("feeds"), key: address, prev: optional(feedValue) }),
  z.object({ table: z.literal("partials"), key: address, prev: optional(bigintString) }),
  z.object({ table: z.literal("global"), key: z.literal("global"), prev: optional(global) }),
  z.object({ table: z.literal("funds"), key: z.literal("funds"), prev: optional(funds) }),
]);

/** 2: feeds record a proxy's aggregator and phase. 3: a market's index feeds, ADL, the insurance fund. */
const VERSION = 3;

export const indexStateJson = z.object({
  version: z.literal(VERSION),
  maxReorgDepth: z.number().int().positive(),
  block: bigintString,
  floor: bigintString,
  markets: mapOf(z.number().int().nonnegative(), market),
  accounts: mapOf(address, account),
  feeds: mapOf(address, feedValue),
  partials: mapOf(address, bigintString),
  global: optional(global),
  funds: optional(funds),
  journal: z.array(z.object({ block: bigintString, undo: z.array(undo) })),
});

/** The JSON form of an IndexState (what `toJSON()` returns and `fromJSON()` accepts). */
export type IndexStateJson = z.input<typeof indexStateJson>;

/** The tables as plain maps (the accounts, held compactly by the state, as a map of snapshots). */
export type TablesData = Omit<Tables, "accounts"> & { accounts: ReadonlyMap<Address, Account> };

export type StateData = {
  maxReorgDepth: number;
  block: bigint;
  floor: bigint;
  tables: TablesData;
  journal: JournalBlock[];
};


/** The map with its keys sorted: a state has one JSON text, whatever order entries came in. */
function sorted<K extends string | number, V>(map: ReadonlyMap<K, V>): Map<K, V> {
  return new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function encodeStateJson(d: StateData): IndexStateJson {
  return indexStateJson.encode({
    version: VERSION,
    maxReorgDepth: d.maxReorgDepth,
    block: d.block,
    floor: d.floor,
    markets: sorted(d.tables.markets),
    accounts: sorted(d.tables.accounts),
    feeds: sorted(d.tables.feeds),
    partials: sorted(d.tables.partials),
    global: d.tables.global.get("global"),
    funds: d.tables.funds.get("funds"),
    journal: d.journal,
  } as z.output<typeof indexStateJson>);
}

export function decodeStateJson(json: unknown): StateData {
  const version = json !== null && typeof json === "object" ? (json as { version?: unknown }).version : undefined;
  if (version === 1) {
    // Version 1 held every feed as one that emits its own prices: behind a Chainlink proxy, its
    // prices would be stale. Not read: rebuilt from the chain.
    throw new IndexStateOutdatedError(["index state version 1 records no feed aggregators"]);
  }
  if (version === 2) {
    // Version 2 knew one feed per market and no insurance fund: an index price or an ADL would be missed.
    throw new IndexStateOutdatedError(["index state version 2 records no index feeds and no insurance fund"]);
  }
  const parsed = indexStateJson.safeDecode(json as IndexStateJson);
  if (!parsed.success) {
    throw new CheckpointFormatError(zodProblems(parsed.error));
  }
  const d = parsed.data;
  const g = d.global;
  const f = d.funds;
  return {
    maxReorgDepth: d.maxReorgDepth,
    block: d.block,
    floor: d.floor,
    tables: {
      markets: d.markets as Tables["markets"],
      accounts: d.accounts as TablesData["accounts"],
      feeds: d.feeds as Tables["feeds"],
      partials: d.partials as Tables["partials"],
      global: new Map(g ? [["global", g]] : []),
      funds: new Map(f ? [["funds", f]] : []),
    },
    journal: d.journal as JournalBlock[],
  };
}
