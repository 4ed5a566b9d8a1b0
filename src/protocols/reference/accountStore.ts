import type { Address } from "viem";
import type { Account, Position } from "../../engine/index.ts";
import { Int128Column } from "./int128Column.ts";

/**
 * The index's accounts, compact: struct-of-arrays in typed arrays instead of an object, an array,
 * position objects and four or more bigints per account (100,000 accounts in under 300 MB: README, Benchmarks).
 *
 * - Addresses are interned as dense integer ids, for good: an account that empties keeps its id,
 *   so an id names one address for the store's whole life (the book's live views rely on it).
 * - Per id: the position count (−1: absent), the first position row, collateral and lastPartialAt.
 * - Positions are rows of a shared pool (market, size, entry price, entry funding index, next row),
 *   linked per account in the contract's `accountMarkets` order; freed rows are reused.
 *
 * The read side is the engine's `Account`, exactly (wei): `get` materialises a fresh, immutable
 * snapshot (what the undo journal records and callers keep); `live` returns a small view that reads
 * the store at each access (what the book's health screen keeps for its exact re-check, so the
 * screen does not pin 100,000 snapshots). Writes replace a whole account, as the reducer produces it.
 * Iteration is in id order (first appearance), not a Map's re-insertion order.
 */
export class AccountStore implements ReadonlyMap<Address, Account> {
  private readonly ids = new Map<Address, number>();
  private readonly addresses: Address[] = [];
  private count = new Int8Array(0);
  private head = new Int32Array(0);
  private readonly collateral = new Int128Column();
  private readonly lastPartialAt = new Int128Column();
  private rowMarket = new Int32Array(0);
  private rowNext = new Int32Array(0);
  private readonly rowSize = new Int128Column();
  private readonly rowEntryPrice = new Int128Column();
  private readonly rowEntryFunding = new Int128Column();
  private rows = 0;
  private freeRow = -1;
  private live_ = 0;

  get size(): number {
    return this.live_;
  }

  /** The id of `address` if it was ever stored. */
  idOf(address: Address): number | undefined {
    return this.ids.get(address);
  }

  has(address: Address): boolean {
    const id = this.ids.get(address);
    return id !== undefined && this.count[id]! >= 0;
  }

  get(address: Address): Account | undefined {
    const id = this.ids.get(address);
    return id === undefined || this.count[id]! < 0 ? undefined : this.materialise(id);
  }

  /**
   * A view of `address`'s account that reads the store at every access (an emptied account reads
   * as empty); undefined if the address has no account now. Cheap to keep: two fields.
   */
  live(address: Address): Account | undefined {
    const id = this.ids.get(address);
    return id === undefined || this.count[id]! < 0 ? undefined : new LiveAccount(this, id);
  }

  set(address: Address, account: Account): this {
    if (account.positions.length > 127) throw new RangeError(`an account holds at most 127 positions here, got ${account.positions.length}`);
    let id = this.ids.get(address);
    if (id === undefined) id = this.intern(address);
    if (this.count[id]! < 0) this.live_++;
    else this.freeRows(id);
    this.collateral.set(id, account.collateral);
    this.lastPartialAt.set(id, account.lastPartialAt);
    let prev = -1;
    for (const p of account.positions) {
      const r = this.allocRow();
      this.rowMarket[r] = p.marketId;
      this.rowSize.set(r, p.size);
      this.rowEntryPrice.set(r, p.entryPrice);
      this.rowEntryFunding.set(r, p.entryFundingIndex);
      this.rowNext[r] = -1;
      if (prev === -1) this.head[id] = r;
      else this.rowNext[prev] = r;
      prev = r;
    }
    if (prev === -1) this.head[id] = -1;
    this.count[id] = account.positions.length;
    return this;
  }

  delete(address: Address): boolean {
    const id = this.ids.get(address);
    if (id === undefined || this.count[id]! < 0) return false;
    this.freeRows(id);
    this.count[id] = -1;
    this.head[id] = -1;
    this.live_--;
    return true;
  }

  *entries(): MapIterator<[Address, Account]> {
    for (let id = 0; id < this.addresses.length; id++) if (this.count[id]! >= 0) yield [this.addresses[id]!, this.materialise(id)];
  }

  *keys(): MapIterator<Address> {
    for (let id = 0; id < this.addresses.length; id++) if (this.count[id]! >= 0) yield this.addresses[id]!;
  }

  *values(): MapIterator<Account> {
    for (let id = 0; id < this.addresses.length; id++) if (this.count[id]! >= 0) yield this.materialise(id);
  }

  [Symbol.iterator](): MapIterator<[Address, Account]> {
    return this.entries();
  }

  forEach(fn: (value: Account, key: Address, map: ReadonlyMap<Address, Account>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  /** Bytes of the typed arrays (what the heap does not see as objects). */
  get bytes(): number {
    return (
      this.count.byteLength +
      this.head.byteLength +
      this.collateral.bytes +
      this.lastPartialAt.bytes +
      this.rowMarket.byteLength +
      this.rowNext.byteLength +
      this.rowSize.bytes +
      this.rowEntryPrice.bytes +
      this.rowEntryFunding.bytes
    );
  }

  // ---- reads by id (LiveAccount) -----------------------------------------------------------

  /** @internal */
  collateralOf(id: number): bigint {
    return this.count[id]! < 0 ? 0n : this.collateral.get(id);
  }

  /** @internal */
  lastPartialAtOf(id: number): bigint {
    return this.count[id]! < 0 ? 0n : this.lastPartialAt.get(id);
  }

  /** @internal */
  positionsOf(id: number): Position[] {
    const out: Position[] = [];
    if (this.count[id]! <= 0) return out;
    for (let r = this.head[id]!; r !== -1; r = this.rowNext[r]!) {
      out.push({ marketId: this.rowMarket[r]!, size: this.rowSize.get(r), entryPrice: this.rowEntryPrice.get(r), entryFundingIndex: this.rowEntryFunding.get(r) });
    }
    return out;
  }

  // ---- internals ----------------------------------------------------------------------------

  private materialise(id: number): Account {
    return { collateral: this.collateral.get(id), lastPartialAt: this.lastPartialAt.get(id), positions: this.positionsOf(id) };
  }

  private intern(address: Address): number {
    const id = this.addresses.length;
    if (id >= this.count.length) {
      const cap = Math.max(1024, this.count.length * 2);
      const count = new Int8Array(cap).fill(-1);
      count.set(this.count);
      const head = new Int32Array(cap).fill(-1);
      head.set(this.head);
      this.count = count;
      this.head = head;
      this.collateral.grow(cap);
      this.lastPartialAt.grow(cap);
    }
    this.ids.set(address, id);
    this.addresses.push(address);
    return id;
  }

  private allocRow(): number {
    if (this.freeRow !== -1) {
      const r = this.freeRow;
      this.freeRow = this.rowNext[r]!;
      return r;
    }
    const r = this.rows++;
    if (r >= this.rowMarket.length) {
      const cap = Math.max(1024, this.rowMarket.length * 2);
      const market = new Int32Array(cap);
      market.set(this.rowMarket);
      const next = new Int32Array(cap);
      next.set(this.rowNext);
      this.rowMarket = market;
      this.rowNext = next;
      this.rowSize.grow(cap);
      this.rowEntryPrice.grow(cap);
      this.rowEntryFunding.grow(cap);
    }
    return r;
  }

  /** Return an account's position rows to the free list. */
  private freeRows(id: number): void {
    let r = this.head[id]!;
    while (r !== -1) {
      const next = this.rowNext[r]!;
      this.rowNext[r] = this.freeRow;
      this.freeRow = r;
      r = next;
    }
    this.head[id] = -1;
  }
}

/** An account read through from the store at each access (see {@link AccountStore.live}). */
class LiveAccount implements Account {
  constructor(
    private readonly store: AccountStore,
    private readonly id: number,
  ) {}

  get collateral(): bigint {
    return this.store.collateralOf(this.id);
  }

  get lastPartialAt(): bigint {
    return this.store.lastPartialAtOf(this.id);
  }

  get positions(): readonly Position[] {
    return this.store.positionsOf(this.id);
  }
}
