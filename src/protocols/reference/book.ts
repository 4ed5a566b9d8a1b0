/**
 * The reference market's book: every open account in the engine's health screen (float64 screen,
 * exact near the boundary) and in the liquidation-price index, kept in step with the indexed state.
 *
 * Fast path: a price tick names the accounts whose liquidation price it crosses (price index),
 * which with the accounts whose state changed are screened first: the price index
 * over-approximates accounts with several positions (at 100,000 accounts a 1.5% move crossed
 * ~9,000 of them for ~3,000 liquidatable), and the screen decides each exactly in well under a
 * microsecond unless it sits at the boundary. The full screened rescan is the safety net.
 */
import { getAddress, type Address } from "viem";
import { HealthScreen, accountHealth, marketOf, maxLiquidatable, type Account, type Health, type Valuation } from "../../engine/index.ts";
import type { IndexChanges } from "../../index/source.ts";
import type { Book, Duty, Unpriced, UnpricedWhy } from "../../keeper/protocol.ts";
import { MAX_DELEVERAGES_PER_TICK, adlDueMarkets, adlOperated, openInterest, planDeleverage, type AdlView } from "./adl.ts";
import { findCandidates } from "./candidates.ts";
import { LiquidationPriceIndex } from "./liquidationPriceIndex.ts";
import type { IndexStateView } from "./state.ts";
import { unpricedMarkets, valuationAt } from "./valuation.ts";

/** Ticks with a price change between two full rebuilds of the liquidation-price index. */
const REBUILD_EVERY = 50;

export class ReferenceBook implements Book {
  private readonly screen = new HealthScreen();
  private readonly lpIndex = new LiquidationPriceIndex<Address>();
  private readonly slot = new Map<Address, number>();
  private readonly slots: (Address | undefined)[] = [];
  private readonly free: number[] = [];
  private sinceRebuild = 0;
  /** The valuation last computed, for its timestamp and the state (version, block) it was made on. */
  private memo: { timestamp: bigint; version: number; block: bigint; v: Valuation } | undefined;
  private version = 0;
  /** The unpriced report last computed, memoised like the valuation. */
  private unpricedMemo: { timestamp: bigint; version: number; block: bigint; u: Unpriced } | undefined;

  constructor(
    private readonly state: () => IndexStateView,
    /** The market contract (deleverage calls go there). */
    private readonly market: Address,
  ) {}

  get size(): number {
    return this.slot.size;
  }

  reset(timestamp: bigint | undefined): void {
    this.version++;
    const v = timestamp === undefined ? undefined : this.valuation(timestamp);
    for (const [address, account] of this.state().accounts) this.track(address, account, undefined);
    this.rebuild(v);
  }

  sync(changes: IndexChanges, timestamp: bigint, reorged: boolean): Address[] {
    this.version++;
    const v = this.valuation(timestamp);
    const gone: Address[] = [];
    const accounts = this.state().accounts;
    for (const a of changes.accounts) if (!this.track(a, accounts.get(a), v)) gone.push(a);
    if (changes.markets.size > 0 || changes.global || reorged) this.rebuild(v);
    return gone;
  }

  suspects(changes: IndexChanges, timestamp: bigint): { moved: number; liquidatable: Address[] } {
    const v = this.valuation(timestamp);
    const moved = new Set<number>();
    const slotOf = (a: Address) => {
      const i = this.slot.get(a);
      if (i !== undefined) moved.add(i);
    };
    for (const a of changes.accounts) slotOf(a);
    for (const id of changes.prices) {
      const price = v.prices.get(id);
      if (price !== undefined) for (const a of this.lpIndex.crossed(id, price)) slotOf(a);
    }
    const liquidatable = moved.size > 0 ? this.screen.scan(v, moved).liquidatable.map((i) => this.slots[i]!) : [];
    return { moved: moved.size, liquidatable };
  }

  liquidatable(timestamp: bigint): Address[] {
    return this.screen.scan(this.valuation(timestamp)).liquidatable.map((i) => this.slots[i]!);
  }

  /**
   * Accounts whose last close the contract would refuse (AdlRequired: a deficit beyond the insurance
   * fund, in a market with ADL on, with an ADL operator and positions on the other side) get no
   * liquidation candidate: the operator deleverages them. The fund is projected through the
   * accounts in turn, each bankrupt one using up what it would take, so that a batch does not plan
   * closes the fund is already spent on.
   */
  candidates(accounts: readonly Address[], timestamp: bigint, gas: Parameters<Book["candidates"]>[2], admit: (account: Address, marketId: number) => boolean) {
    const v = this.valuation(timestamp);
    const state = this.state();
    const operated = adlOperated(state);
    let fund = state.funds.insuranceFund;
    let oi: ReturnType<typeof openInterest> | undefined;
    const leaveToAdl = (_account: Address, h: Health) => {
      if (h.equity >= 0n) return false;
      const deficit = -h.equity;
      if (deficit <= fund) {
        fund -= deficit;
        return false;
      }
      if (!operated) return false;
      oi ??= openInterest(state.accounts.values());
      return h.positions.some((p) => {
        const side = oi!.get(p.marketId);
        const opposite = p.size > 0n ? side?.short : side?.long;
        return marketOf(v, p.marketId).liquidation.adlEnabled && (opposite ?? 0n) > 0n;
      });
    };
    return findCandidates(this.accountsOf(accounts), v, gas, admit, leaveToAdl);
  }

  /**
   * The deleverages `keeper` should send now, if it is the market's ADL operator: the largest
   * deficit first, each planned on the state the ones before it leave.
   */
  duties(accounts: readonly Address[], timestamp: bigint, keeper: Address): Duty[] {
    const state = this.state();
    if (!adlOperated(state) || state.funds.adlOperator !== getAddress(keeper)) return [];
    const v = this.valuation(timestamp);
    const due: { account: Address; deficit: bigint }[] = [];
    for (const account of accounts) {
      const a = state.accounts.get(account);
      if (!a) continue;
      const h = accountHealth(a, v);
      if (adlDueMarkets(h, v, state.funds.insuranceFund).length > 0) due.push({ account, deficit: -h.equity });
    }
    if (due.length === 0) return [];
    due.sort((x, y) => (x.deficit > y.deficit ? -1 : x.deficit < y.deficit ? 1 : 0));
    const view: AdlView = { accounts: new Map(state.accounts), insuranceFund: state.funds.insuranceFund };
    const out: Duty[] = [];
    for (const { account } of due) {
      const plan = planDeleverage(view, state.markets, this.market, account, v);
      if (plan) out.push(plan);
      if (out.length >= MAX_DELEVERAGES_PER_TICK) break;
    }
    return out;
  }

  sizeNow(item: { account: Address; marketId: number }, timestamp: bigint): bigint {
    const a = this.state().accounts.get(getAddress(item.account));
    if (!a) return 0n;
    try {
      return maxLiquidatable(a, item.marketId, this.valuation(timestamp));
    } catch {
      return 0n;
    }
  }

  /**
   * Markets whose price the contract would refuse at `timestamp`, and the followed accounts with a
   * position in them (the screen skips those: see ScreenResult.unpriced). Walks the accounts only
   * while some market is unpriced.
   */
  unpriced(timestamp: bigint): Unpriced {
    const state = this.state();
    const m = this.unpricedMemo;
    if (m && m.timestamp === timestamp && m.version === this.version && m.block === state.block) return m.u;
    const why: Map<number, UnpricedWhy> = unpricedMarkets(state, timestamp);
    const held = new Map<number, number>([...why.keys()].map((id) => [id, 0]));
    let accounts = 0;
    if (why.size > 0) {
      for (const address of this.slot.keys()) {
        const markets = new Set((state.accounts.get(address)?.positions ?? []).filter((p) => p.size !== 0n && why.has(p.marketId)).map((p) => p.marketId));
        for (const id of markets) held.set(id, held.get(id)! + 1);
        if (markets.size > 0) accounts++;
      }
    }
    const u: Unpriced = { markets: [...why].map(([marketId, w]) => ({ marketId, why: w, accounts: held.get(marketId)! })), accounts };
    this.unpricedMemo = { timestamp, version: this.version, block: state.block, u };
    return u;
  }

  upkeep(changes: IndexChanges, timestamp: bigint): void {
    if (++this.sinceRebuild >= REBUILD_EVERY && changes.prices.size > 0) this.rebuild(this.valuation(timestamp));
  }

  /** The engine's valuation of the indexed state at `timestamp`, markets with a stale or invalid price left out. */
  private valuation(timestamp: bigint): Valuation {
    const state = this.state();
    const m = this.memo;
    if (m && m.timestamp === timestamp && m.version === this.version && m.block === state.block) return m.v;
    const v = valuationAt(state, timestamp);
    this.memo = { timestamp, version: this.version, block: state.block, v };
    return v;
  }

  private accountsOf(keys: Iterable<Address>): [Address, Account][] {
    const out: [Address, Account][] = [];
    const accounts = this.state().accounts;
    for (const k of keys) {
      const a = accounts.get(k);
      if (a && a.positions.length > 0) out.push([k, a]);
    }
    return out;
  }

  /** Keep the screen and the price index (valued at `v`) in step with one account; false when it has no position. */
  private track(address: Address, account: Account | undefined, v: Valuation | undefined): boolean {
    let i = this.slot.get(address);
    if (!account || account.positions.length === 0) {
      if (i !== undefined) {
        this.screen.delete(i);
        this.slot.delete(address);
        this.slots[i] = undefined;
        this.free.push(i);
      }
      this.lpIndex.remove(address);
      return false;
    }
    if (i === undefined) {
      i = this.free.pop() ?? this.slots.length;
      this.slot.set(address, i);
      this.slots[i] = address;
    }
    // The screen keeps what it is given for its exact re-check: a view of the compact store, not
    // this snapshot (100,000 snapshots would be most of the keeper's heap). The book re-sets every
    // changed account before each scan, so the view and the screen's figures agree.
    this.screen.set(i, this.state().accounts.live(address) ?? account);
    if (v) {
      try {
        this.lpIndex.update(address, account, v);
      } catch {
        this.lpIndex.remove(address); // a market without a usable price: the screen covers it
      }
    }
    return true;
  }

  private rebuild(v: Valuation | undefined): void {
    if (!v) return;
    const accounts = this.state().accounts;
    this.lpIndex.clear();
    for (const [address] of this.slot) {
      const a = accounts.get(address);
      if (!a) continue;
      try {
        this.lpIndex.update(address, a, v);
      } catch {
        // an account on a market without a usable price: left to the screen
      }
    }
    this.sinceRebuild = 0;
  }
}
