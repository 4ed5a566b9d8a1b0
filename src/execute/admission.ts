/**
 * What the executor can take now: reservations and backoffs, and the one answer the keeper asks
 * before it batches (`admissible`), so that it never builds a plan `submit` must refuse.
 *
 * - A target (account + market) is reserved from admission until its transaction is mined or
 *   dropped. Health and the partial-liquidation cooldown are per account, so while any step on an
 *   account is reserved, no other step on that account is admissible either ("busy account").
 * - Backoffs are kept by key: `t:<account>:<marketId>` (a target), `a:<account>` (an account, e.g.
 *   its cooldown) and `m:<marketId>` (a market whose price is stale or invalid), each until a time
 *   on the executor's clock. Expired entries are pruned whenever a backoff is added, so the map
 *   holds at most what is backing off now.
 */
import type { LiquidationItem } from "./types.ts";

export type AdmissionRefusal =
  /** The same target already has a job or a transaction in flight. */
  | { reason: "duplicate"; key: string }
  /** Another market of the same account has a job or a transaction in flight. */
  | { reason: "account_busy"; key: string }
  /** The target, its account or its market is backing off. */
  | { reason: "backoff"; key: string };

export function targetKey(item: Pick<LiquidationItem, "account" | "marketId">): string {
  return `${item.account.toLowerCase()}:${item.marketId}`;
}

export function accountKey(item: Pick<LiquidationItem, "account">): string {
  return item.account.toLowerCase();
}

export class Admission {
  /** Reserved targets. */
  private readonly targets = new Set<string>();
  /** Reserved targets per account. */
  private readonly accounts = new Map<string, number>();
  /** Backoff key → until (the clock's ms). */
  private readonly backoffs = new Map<string, number>();
  /**
   * Backoff key → until a chain timestamp (seconds): waits that the chain's own rules set (a
   * cooldown's end, a state that must move on), which a test chain may warp past and a wall clock
   * would not see.
   */
  private readonly chainBackoffs = new Map<string, bigint>();

  /** `chainNow`: the latest head's timestamp, undefined before the first head. */
  constructor(
    private readonly now: () => number,
    private readonly chainNow: () => bigint | undefined = () => undefined,
  ) {}

  /** Why `item` cannot be taken now, or `undefined` when it can. */
  refusal(item: Pick<LiquidationItem, "account" | "marketId">): AdmissionRefusal | undefined {
    const target = targetKey(item);
    if (this.targets.has(target)) return { reason: "duplicate", key: target };
    const account = accountKey(item);
    if ((this.accounts.get(account) ?? 0) > 0) return { reason: "account_busy", key: `a:${account}` };
    const backoff = this.backoffOf(item);
    if (backoff !== undefined) return { reason: "backoff", key: backoff };
    return undefined;
  }

  admissible(item: Pick<LiquidationItem, "account" | "marketId">): boolean {
    return this.refusal(item) === undefined;
  }

  isReserved(item: Pick<LiquidationItem, "account" | "marketId">): boolean {
    return this.targets.has(targetKey(item));
  }

  /** Reserve every item's target (the caller checked they were free). */
  reserve(items: readonly Pick<LiquidationItem, "account" | "marketId">[]): void {
    for (const item of items) {
      const key = targetKey(item);
      if (this.targets.has(key)) continue;
      this.targets.add(key);
      const a = accountKey(item);
      this.accounts.set(a, (this.accounts.get(a) ?? 0) + 1);
    }
  }

  release(item: Pick<LiquidationItem, "account" | "marketId">): void {
    const key = targetKey(item);
    if (!this.targets.delete(key)) return;
    const a = accountKey(item);
    const n = (this.accounts.get(a) ?? 1) - 1;
    if (n > 0) this.accounts.set(a, n);
    else this.accounts.delete(a);
  }

  /** The first of the item's target, account and market keys that is backing off now. */
  backoffOf(item: Pick<LiquidationItem, "account" | "marketId">): string | undefined {
    const now = this.now();
    const chainNow = this.chainNow();
    for (const key of [`t:${targetKey(item)}`, `a:${accountKey(item)}`, `m:${item.marketId}`]) {
      const until = this.backoffs.get(key);
      if (until !== undefined) {
        if (until > now) return key;
        this.backoffs.delete(key);
      }
      const chainUntil = this.chainBackoffs.get(key);
      if (chainUntil !== undefined) {
        if (chainNow === undefined || chainUntil > chainNow) return key;
        this.chainBackoffs.delete(key);
      }
    }
    return undefined;
  }

  /** Back `key` off for `ms` from now (an existing later end is kept). Returns the end. */
  backOff(key: string, ms: number): number {
    const now = this.now();
    this.prune(now);
    const until = now + Math.max(0, ms);
    if ((this.backoffs.get(key) ?? -Infinity) < until) this.backoffs.set(key, until);
    return this.backoffs.get(key)!;
  }

  /** Back `key` off until the chain's clock passes `timestamp` (an existing later end is kept). */
  backOffUntilChainTime(key: string, timestamp: bigint): void {
    this.prune(this.now());
    if ((this.chainBackoffs.get(key) ?? -1n) < timestamp) this.chainBackoffs.set(key, timestamp);
  }

  /** End `key`'s backoff now (the receipt that set it was reorganised away). */
  lift(key: string): void {
    this.backoffs.delete(key);
    this.chainBackoffs.delete(key);
  }

  /** Backoff entries held (expired ones go at the next `backOff`). */
  backoffCount(): number {
    return this.backoffs.size + this.chainBackoffs.size;
  }

  /** Entries of each map (reserved targets, busy accounts, backoffs by clock), for the state-size gauge. */
  sizes(): { reservedTargets: number; busyAccounts: number; backoffs: number; chainBackoffs: number } {
    return { reservedTargets: this.targets.size, busyAccounts: this.accounts.size, backoffs: this.backoffs.size, chainBackoffs: this.chainBackoffs.size };
  }

  private prune(now: number): void {
    for (const [key, until] of this.backoffs) if (until <= now) this.backoffs.delete(key);
    const chainNow = this.chainNow();
    if (chainNow !== undefined) for (const [key, until] of this.chainBackoffs) if (until <= chainNow) this.chainBackoffs.delete(key);
  }
}
