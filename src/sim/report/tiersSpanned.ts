import { Decimal } from "decimal.js";
import type { Address } from "viem";
import { abs, notional, tierIndex, type Account, type Tier } from "../../engine/index.ts";
import type { TierGroupRow, TierStatistic } from "./types.ts";

/**
 * The per-tier statistic (issue 16). A published guide to tiered margin claims that accounts whose
 * positions span three or more tiers see 68% more partial liquidation events than those within one
 * tier. Here an account's tiers spanned is the tier count its largest position's notional at
 * opening covers: |size| × entry price as the run starts, its index in that market's tier table
 * + 1, capped at 3 ("3+"). Partial events are Liquidated events that leave a position. Pure.
 */

export const TIER_GROUPS = ["1", "2", "3+"] as const;
export type TierGroup = (typeof TIER_GROUPS)[number];

/** The claim's ratio: +68% partial events per account for "3+" against "1". */
export const CLAIMED_RATIO = "0.68";

/** The account's group, or undefined for an account without a position (or in a market without tiers). */
export function tiersSpanned(account: Pick<Account, "positions">, tiersOf: (marketId: number) => readonly Tier[] | undefined): TierGroup | undefined {
  let largest: { notional: bigint; tiers: readonly Tier[] } | undefined;
  for (const p of account.positions) {
    const tiers = tiersOf(p.marketId);
    if (!tiers || tiers.length === 0 || p.size === 0n) continue;
    const n = notional(abs(p.size), p.entryPrice);
    if (!largest || n > largest.notional) largest = { notional: n, tiers };
  }
  if (!largest) return undefined;
  const count = tierIndex(largest.tiers, largest.notional) + 1;
  return count >= 3 ? "3+" : count === 2 ? "2" : "1";
}

/** Partial events per account, by group, from each account's group and the run's liquidations. */
export function tierStatistic(groups: ReadonlyMap<Address, TierGroup>, liquidations: readonly { account: Address; full: boolean }[]): TierStatistic {
  const partial = new Map<Address, number>();
  for (const l of liquidations) if (!l.full) partial.set(l.account, (partial.get(l.account) ?? 0) + 1);
  const counts = TIER_GROUPS.map((tiers) => ({ tiers, accounts: 0, partialLiquidations: 0 }));
  for (const [account, g] of groups) {
    const row = counts[TIER_GROUPS.indexOf(g)]!;
    row.accounts++;
    row.partialLiquidations += partial.get(account) ?? 0;
  }
  return withRates(counts);
}

/** Several statistics (seeds, runs) pooled: accounts and events summed, rates taken again. */
export function poolTierStatistics(list: readonly TierStatistic[]): TierStatistic {
  const counts = TIER_GROUPS.map((tiers) => ({ tiers, accounts: 0, partialLiquidations: 0 }));
  for (const s of list) {
    for (const g of s.groups) {
      const row = counts[TIER_GROUPS.indexOf(g.tiers)]!;
      row.accounts += g.accounts;
      row.partialLiquidations += g.partialLiquidations;
    }
  }
  return withRates(counts);
}

function withRates(counts: readonly { tiers: TierGroup; accounts: number; partialLiquidations: number }[]): TierStatistic {
  const groups: TierGroupRow[] = counts.map((c) => ({
    ...c,
    ...(c.accounts > 0 ? { perAccount: new Decimal(c.partialLiquidations).div(c.accounts).toFixed(6) } : {}),
  }));
  const one = counts[0]!;
  const three = counts[2]!;
  const ratio =
    one.accounts > 0 && three.accounts > 0 && one.partialLiquidations > 0
      ? new Decimal(three.partialLiquidations).mul(one.accounts).div(new Decimal(three.accounts).mul(one.partialLiquidations)).minus(1).toFixed(6)
      : undefined;
  return { groups, ...(ratio !== undefined ? { ratio3vs1: ratio } : {}) };
}
