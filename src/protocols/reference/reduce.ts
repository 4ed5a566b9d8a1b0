/**
 * The reference market's reducer: what each index event does to the tables. Pure: every write goes
 * through the journaling writer of {@link IndexState}, so a reorg can undo it.
 */
import { zeroAddress, type Address } from "viem";
import { TOKEN_SCALE, cumAmounts, type Account, type LiquidationParams, type Position } from "../../engine/index.ts";
import type { IndexLog } from "./events.ts";
import { emitterOf, switchedTo, withAnswer, type FeedSnapshot } from "./feeds.ts";
import type { Funds, IndexedMarket, Tables, TableName } from "./state.ts";

/** Writes one table entry (undefined: delete), journalling its previous value. */
export type TableWriter = {
  readonly tables: Readonly<Tables>;
  write<T extends TableName>(table: T, key: Tables[T] extends ReadonlyMap<infer K, unknown> ? K : never, value: (Tables[T] extends ReadonlyMap<unknown, infer V> ? V : never) | undefined): void;
};

/**
 * A market's liquidation parameters before LiquidationParamsUpdated: the contract's zeroed storage
 * (not a neutral policy: a zero step cap), so that the index matches the chain field for field.
 */
const ZERO_LIQUIDATION: LiquidationParams = {
  penaltyPpm: 0n,
  targetBufferPpm: 0n,
  maxStepPpm: 0n,
  tierStepDown: false,
  partialThreshold: 0n,
  dustNotional: 0n,
  adlEnabled: false,
};

function marketOr(t: Readonly<Tables>, id: number): IndexedMarket {
  return (
    t.markets.get(id) ?? {
      id,
      lotSize: 0n,
      tradingFeePpm: 0n,
      tiers: [],
      cums: [],
      liquidation: ZERO_LIQUIDATION,
      funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n },
      feed: zeroAddress,
      feedDecimals: 0,
      maxStaleness: 0n,
      feeds: [],
      minSources: 1,
      maxDeviationPpm: 0n,
    }
  );
}

/** The contract's zeroed storage: no insurance fund, no bad debt, no ADL operator. */
export const NO_FUNDS: Readonly<Funds> = Object.freeze({ insuranceFund: 0n, badDebt: 0n, adlOperator: zeroAddress });

function setFunds(w: TableWriter, change: (f: Funds) => Funds): void {
  w.write("funds", "funds", change(w.tables.funds.get("funds") ?? NO_FUNDS));
}

/** Store `next`; an emptied account is dropped, and its cooldown stamp moves to `partials`. */
function setAccount(w: TableWriter, address: Address, next: Account): void {
  const empty = next.collateral === 0n && next.positions.length === 0;
  const parked = w.tables.partials.get(address);
  const stamp = empty && next.lastPartialAt > 0n ? next.lastPartialAt : undefined;
  if (parked !== stamp) w.write("partials", address, stamp);
  w.write("accounts", address, empty ? undefined : next);
}

function accountOrNew(w: TableWriter, address: Address): Account {
  return w.tables.accounts.get(address) ?? { collateral: 0n, lastPartialAt: w.tables.partials.get(address) ?? 0n, positions: [] };
}

/**
 * Apply one decoded log to the tables through `w` (which journals every write). `ts` is the
 * block timestamp (MarketAdded, partial Liquidated); `feed` the snapshot of a feed the log
 * introduces.
 */
export function reduce(w: TableWriter, log: IndexLog, ts: bigint, seeds: ReadonlyMap<Address, FeedSnapshot>): void {
  switch (log.eventName) {
    case "MarketParamsUpdated":
    case "MarketAdded": {
      const id = Number(log.args.marketId);
      const p = log.args.params;
      if (!w.tables.feeds.has(p.feed)) w.write("feeds", p.feed, seeds.get(p.feed)!);
      const decimals = w.tables.feeds.get(p.feed)!.decimals;
      const m = marketOr(w.tables, id);
      // The contract keeps the index while its first feed stays, and resets it to this feed alone otherwise.
      const index = m.feeds[0] === p.feed ? {} : { feeds: [p.feed], minSources: 1, maxDeviationPpm: 0n };
      const next: IndexedMarket = {
        ...m,
        ...index,
        lotSize: p.lotSize,
        tradingFeePpm: BigInt(p.tradingFeePpm),
        feed: p.feed,
        feedDecimals: decimals,
        maxStaleness: BigInt(p.maxStaleness),
      };
      if (log.eventName === "MarketAdded") {
        next.funding = { index: 0n, ratePerSecond: 0n, lastUpdate: ts };
      }
      w.write("markets", id, next);
      return;
    }
    case "IndexFeedsUpdated": {
      const id = Number(log.args.marketId);
      const feeds = [...log.args.feeds];
      for (const f of feeds) if (!w.tables.feeds.has(f)) w.write("feeds", f, seeds.get(f)!);
      const first = feeds[0]!;
      w.write("markets", id, {
        ...marketOr(w.tables, id),
        feed: first,
        feedDecimals: w.tables.feeds.get(first)!.decimals,
        feeds,
        minSources: Number(log.args.minSources),
        maxDeviationPpm: BigInt(log.args.maxDeviationPpm),
      });
      return;
    }
    case "InsuranceFunded":
      setFunds(w, (f) => ({ ...f, insuranceFund: f.insuranceFund + log.args.tokens * TOKEN_SCALE }));
      return;
    case "BadDebt":
      setFunds(w, (f) => ({ ...f, insuranceFund: f.insuranceFund - log.args.coveredByInsurance, badDebt: f.badDebt + log.args.uncovered }));
      return;
    case "AdlOperatorUpdated":
      setFunds(w, (f) => ({ ...f, adlOperator: log.args.operator }));
      return;
    case "TiersUpdated": {
      const id = Number(log.args.marketId);
      const tiers = log.args.tiers.map((t) => ({ floor: t.floor, mmrPpm: BigInt(t.mmrPpm), maxLeverage: BigInt(t.maxLeverage) }));
      w.write("markets", id, { ...marketOr(w.tables, id), tiers, cums: cumAmounts(tiers) });
      return;
    }
    case "LiquidationParamsUpdated": {
      const id = Number(log.args.marketId);
      const l = log.args.params;
      const liquidation: LiquidationParams = {
        penaltyPpm: BigInt(l.penaltyPpm),
        targetBufferPpm: BigInt(l.targetBufferPpm),
        maxStepPpm: BigInt(l.maxStepPpm),
        tierStepDown: l.tierStepDown,
        partialThreshold: l.partialThreshold,
        dustNotional: l.dustNotional,
        adlEnabled: l.adlEnabled,
      };
      w.write("markets", id, { ...marketOr(w.tables, id), liquidation });
      return;
    }
    case "GlobalLiquidationParamsUpdated": {
      const g = log.args.params;
      w.write("global", "global", {
        cooldown: BigInt(g.cooldown),
        backstopPpm: BigInt(g.backstopPpm),
        keeperSharePpm: BigInt(g.keeperSharePpm),
      });
      return;
    }
    case "FundingRateUpdated": {
      const id = Number(log.args.marketId);
      const funding = { index: log.args.index, ratePerSecond: log.args.rate, lastUpdate: log.args.timestamp };
      w.write("markets", id, { ...marketOr(w.tables, id), funding });
      return;
    }
    case "CollateralUpdated": {
      const a = accountOrNew(w, log.args.account);
      setAccount(w, log.args.account, { ...a, collateral: log.args.collateral });
      return;
    }
    case "PositionUpdated": {
      const { account, size, entryPrice, entryFundingIndex } = log.args;
      const marketId = Number(log.args.marketId);
      const a = accountOrNew(w, account);
      const positions: Position[] = [...a.positions];
      const i = positions.findIndex((p) => p.marketId === marketId);
      if (size === 0n) {
        // The contract's swap-and-pop in _removeMarket, so positions keep its accountMarkets order.
        if (i !== -1) {
          positions[i] = positions[positions.length - 1]!;
          positions.pop();
        }
      } else {
        const p = { marketId, size, entryPrice, entryFundingIndex };
        if (i === -1) positions.push(p);
        else positions[i] = p;
      }
      setAccount(w, account, { ...a, positions });
      return;
    }
    case "Liquidated": {
      if (log.args.insuranceShare > 0n) setFunds(w, (f) => ({ ...f, insuranceFund: f.insuranceFund + log.args.insuranceShare }));
      if (log.args.full) return;
      const account = log.args.account;
      const a = w.tables.accounts.get(account);
      if (a) w.write("accounts", account, { ...a, lastPartialAt: ts });
      else w.write("partials", account, ts);
      return;
    }
    case "AnswerUpdated": {
      // The feeds this emitter prices: none for an aggregator no proxy uses any more (ignored).
      for (const [address, f] of w.tables.feeds) {
        if (emitterOf(address, f) === log.address) w.write("feeds", address, withAnswer(f, log.args.current, log.args.roundId, log.args.updatedAt));
      }
      return;
    }
    case "AggregatorConfirmed": {
      const proxy = w.tables.feeds.get(log.address);
      const latest = log.args.latest;
      if (!proxy) return; // a proxy no market reads
      const feed = seeds.get(latest);
      if (feed) {
        w.write("feeds", log.address, feed);
        return;
      }
      // No seed: some feed follows `latest` already (this proxy, from a seed read later in the block, or another).
      if (emitterOf(log.address, proxy) === latest) return;
      const other = [...w.tables.feeds].find(([address, f]) => emitterOf(address, f) === latest)!;
      w.write("feeds", log.address, switchedTo(proxy, latest, other[1]));
      return;
    }
  }
}
