/**
 * "The index equals the chain": an index of the reference market (a live indexer's state, a
 * keeper's, or one read back from a checkpoint) against the contract read at the index's block.
 */
import { getAddress, type Address, type Hex } from "viem";
import { expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { CHAINLINK_FEED_ABI, readAggregatorAt, readPhaseIdAt } from "../../src/chain/chainlink.ts";
import { readAccount, readGlobalParams, readMarkPrices, readMarketStates } from "../../src/chain/reads.ts";
import { priceStatus, valuationAt, type IndexStateView } from "../../src/protocols/reference/index.ts";
import { testAccounts } from "./anvil.ts";
import type { Deployed } from "./market.ts";

/** Where an index stands: its block, and the hash and time it recorded for it. */
export type IndexHead = { number: bigint; hash: Hex; timestamp: bigint };

/**
 * A canonical text of a value, equal for values `toEqual` finds equal: object keys and map entries
 * in a fixed order, undefined properties left out, bigints marked.
 */
function canon(x: unknown): string {
  const byKey = <T>(entries: [string, T][]) => entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    JSON.stringify(x, (_k, v: unknown) => {
      if (typeof v === "bigint") return `${v}n`;
      if (v instanceof Map) return { "<Map>": byKey([...v].map(([k, e]: [unknown, unknown]) => [canon(k), e])) };
      if (v !== null && typeof v === "object" && !Array.isArray(v)) return Object.fromEntries(byKey(Object.entries(v)));
      return v;
    }) ?? "undefined"
  );
}

/**
 * Where `view` differs from the contract at `at` (a block, or the index's head, whose hash and time
 * are then checked too): the global parameters; every market's rules and funding, feed, decimals,
 * staleness bound and latest round (as latestRoundData() through the feed reports it, a proxy's
 * phase-encoded round id included), a proxy feed's current aggregator and phase; every account (the dev accounts, the world's traders and every
 * account the index holds), absent from the index exactly when empty on chain, and its cooldown
 * stamp; and the valuation the scanner derives (the contract's mark prices where they are fresh).
 * Empty when equal.
 */
export async function indexMismatches(world: Deployed & { traders?: readonly Address[] }, view: IndexStateView, at: bigint | IndexHead): Promise<string[]> {
  const read = world.chain.publicClient;
  const c = { publicClient: read };
  const market = world.deployment.contracts.market;
  const pin = { blockNumber: typeof at === "bigint" ? at : at.number };
  const out: string[] = [];
  const differ = (what: string, indexed: unknown, onChain: unknown) => {
    const [i, o] = [canon(indexed), canon(onChain)];
    if (i !== o) out.push(`${what}: index ${i} ≠ chain ${o}`);
  };

  const block = await read.getBlock(pin);
  if (typeof at !== "bigint") {
    differ("head hash", at.hash, block.hash);
    differ("head timestamp", at.timestamp, block.timestamp);
  }
  const [markets, global] = await Promise.all([readMarketStates(c, market, pin), readGlobalParams(c, market, pin)]);
  differ("global parameters", view.global, global);
  for (const id of view.markets.keys()) if (!markets.has(id)) out.push(`market ${id}: indexed, not on chain`);
  for (const [id, onChain] of markets) {
    const indexed = view.markets.get(id);
    if (!indexed) {
      out.push(`market ${id}: not indexed`);
      continue;
    }
    const { feed, feedDecimals, maxStaleness, feeds, minSources, maxDeviationPpm, ...rules } = indexed;
    differ(`market ${id}`, rules, onChain);
    const m = await read.readContract({ address: market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(id)], ...pin });
    differ(`market ${id} feed`, { feed, feedDecimals, maxStaleness }, { feed: m.params.feed, feedDecimals: m.feedDecimals, maxStaleness: BigInt(m.params.maxStaleness) });
    const [chainFeeds, chainMin, chainDeviation] = await read.readContract({ address: market, abi: PerpMarket.abi, functionName: "indexFeeds", args: [BigInt(id)], ...pin });
    differ(`market ${id} index`, { feeds, minSources, maxDeviationPpm }, { feeds: chainFeeds.map((f) => getAddress(f)), minSources: chainMin, maxDeviationPpm: BigInt(chainDeviation) });
    // The price as latestRoundData() through the feed (a proxy: its phase in the round id's bits 64..79).
    const [roundId, answer, , updatedAt] = await read.readContract({ address: m.params.feed, abi: CHAINLINK_FEED_ABI, functionName: "latestRoundData", ...pin });
    differ(`price ${id}`, view.price(id), { answer, updatedAt, roundId: BigInt(roundId), price: answer * 10n ** BigInt(18 - m.feedDecimals) });
    // A proxy's current aggregator and phase (undefined: the feed emits its own prices).
    const call = async (to: Address, data: Hex, blockNumber: bigint) => {
      try {
        return (await read.call({ to, data, blockNumber })).data;
      } catch {
        return undefined;
      }
    };
    const [aggregator, phaseId] = await Promise.all([readAggregatorAt(call, m.params.feed, pin.blockNumber), readPhaseIdAt(call, m.params.feed, pin.blockNumber)]);
    differ(`feed ${id} proxy`, view.feeds.get(getAddress(m.params.feed))?.proxy, aggregator && phaseId !== undefined ? { aggregator: getAddress(aggregator), phaseId } : undefined);
  }
  const [insuranceFund, badDebt, adlOperator] = await Promise.all(
    (["insuranceFund", "badDebt", "adlOperator"] as const).map((functionName) => read.readContract({ address: market, abi: PerpMarket.abi, functionName, ...pin })),
  );
  differ("funds", view.funds, { insuranceFund, badDebt, adlOperator: getAddress(adlOperator as Address) });
  const who = new Set<Address>([...testAccounts.map((a) => a.address), ...(world.traders ?? []), ...view.accounts.keys()]);
  await Promise.all(
    [...who].map(async (address) => {
      const onChain = await readAccount(c, market, address, pin);
      const open = onChain.collateral !== 0n || onChain.positions.length > 0;
      differ(`account ${address}`, view.account(address), open ? onChain : undefined);
      differ(`account ${address} lastPartialAt`, view.lastPartialAt(address), onChain.lastPartialAt);
    }),
  );
  try {
    const v = valuationAt(view, block.timestamp);
    const fresh = [...markets.keys()].filter((id) => priceStatus(view, id, block.timestamp) === "ok");
    differ("valuation timestamp", v.timestamp, block.timestamp);
    differ("valuation prices", v.prices, await readMarkPrices(c, market, fresh, pin));
  } catch (e) {
    out.push(`valuation: ${(e as Error).message}`);
  }
  return out.sort();
}

/** The index (an indexer, or a keeper's) equals the contract at its head. */
export async function expectIndexMatchesChain(
  world: Deployed & { traders?: readonly Address[] },
  index: { state: IndexStateView; head: IndexHead | undefined },
): Promise<void> {
  expect(index.head, "the index has a head").toBeDefined();
  expect(await indexMismatches(world, index.state, index.head!)).toEqual([]);
}
