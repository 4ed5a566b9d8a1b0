/** Small helpers on liquidation items that every part of the executor uses: log fields, sums, kinds. */
import type { Address } from "viem";
import type { LiquidationItem } from "./types.ts";

/** A transaction with one item ("single") or several ("batch"): the `kind` label of the metrics. */
export type Kind = "single" | "batch";

/** The kind of a transaction of `items`. */
export function kindOfItems(items: readonly unknown[]): Kind {
  return items.length > 1 ? "batch" : "single";
}

/** An item as log fields (the size as a decimal string). */
export function describe(item: LiquidationItem): { account: Address; marketId: number; size: string } {
  return { account: item.account, marketId: item.marketId, size: item.size.toString() };
}

/** The keeper reward the planner expects from `items` (tokens). */
export function sumExpected(items: readonly LiquidationItem[]): bigint {
  return items.reduce((a, i) => a + i.expectedRewardTokens, 0n);
}
