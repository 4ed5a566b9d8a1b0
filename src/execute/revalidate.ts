/**
 * Before a stuck transaction is bumped, every item is checked again against the current head: an
 * item that would fail is never rebroadcast. What is left decides the replacement:
 * - every item still valid as sent → "keep": the same calldata with higher fees;
 * - some items doomed, or a slice now too large with a smaller one still allowed → "replan": a
 *   replacement at the same nonce with only the valid items, resized where they shrank;
 * - nothing valid → "cancel": a 0-value self-transfer frees the nonce.
 */
import type { LiquidationItem } from "./types.ts";

export type Revalidation =
  | { kind: "keep" }
  | { kind: "replan"; items: LiquidationItem[]; dropped: LiquidationItem[] }
  | { kind: "cancel" };

export type ItemCheck = {
  /** The item, as sized, would succeed at the current head. */
  isStillValid: (item: LiquidationItem) => boolean;
  /** The largest slice of the item's target allowed at the current head (0n: none). */
  sizeNow?: (item: LiquidationItem) => bigint;
};

export function revalidate(items: readonly LiquidationItem[], check: ItemCheck): Revalidation {
  const kept: LiquidationItem[] = [];
  const dropped: LiquidationItem[] = [];
  let changed = false;
  for (const item of items) {
    if (check.isStillValid(item)) {
      kept.push(item);
      continue;
    }
    changed = true;
    const size = check.sizeNow?.(item) ?? 0n;
    if (size > 0n && size < item.size) kept.push(resized(item, size));
    else dropped.push(item);
  }
  if (kept.length === 0) return { kind: "cancel" };
  if (!changed) return { kind: "keep" };
  return { kind: "replan", items: kept, dropped };
}

/** `item` at a smaller `size`; the expected reward scales with the slice (the penalty is linear in it). */
function resized(item: LiquidationItem, size: bigint): LiquidationItem {
  return { ...item, size, expectedRewardTokens: (item.expectedRewardTokens * size) / item.size };
}
