/**
 * The capped market's views against the engine, at one block: every account's available,
 * withdrawable and required margins and canLiquidate; every market's capacity, window entries,
 * skew and size; the flagged set, the pool and the keeper costs.
 */
import { expect } from "vitest";
import { CappedPerpsMarket } from "../../abi/CappedPerpsMarket.ts";
import { accountMargins, entriesInWindow, liquidationCapacity, withdrawableMargin, type CappedAccount, type CappedBook, type CappedValuation } from "../../src/engine/capped/index.ts";
import type { CappedWorld } from "./cappedWorld.ts";

export type CappedViewStats = Record<string, number>;

export async function compareCappedViews(
  w: Pick<CappedWorld, "chain" | "market">,
  accounts: readonly CappedAccount[],
  v: CappedValuation,
  book: CappedBook,
  blockNumber: bigint,
  stats: CappedViewStats,
): Promise<void> {
  const read = w.chain.publicClient;
  const c = { address: w.market, abi: CappedPerpsMarket.abi, blockNumber } as const;
  const bump = (k: string) => void (stats[k] = (stats[k] ?? 0) + 1);
  await Promise.all(
    accounts.map(async (a) => {
      const m = accountMargins(a, v);
      const [available, required, can, withdrawable] = await Promise.all([
        read.readContract({ ...c, functionName: "getAvailableMargin", args: [a.id] }),
        read.readContract({ ...c, functionName: "getRequiredMargins", args: [a.id] }),
        read.readContract({ ...c, functionName: "canLiquidate", args: [a.id] }),
        read.readContract({ ...c, functionName: "getWithdrawableMargin", args: [a.id] }),
      ]);
      expect({ available, required: [...required], can, withdrawable }, `account ${a.id}`).toEqual({
        available: m.availableMargin,
        required: [m.requiredInitialMargin, m.requiredMaintenanceMargin, m.liquidationReward],
        can: m.eligible,
        withdrawable: withdrawableMargin(a, v),
      });
      bump(m.eligible ? "accounts liquidable" : "accounts healthy");
    }),
  );
  await Promise.all(
    [...v.markets.values()].map(async (m) => {
      const [capacity, [timestamps, amounts], skew, size] = await Promise.all([
        read.readContract({ ...c, functionName: "liquidationCapacity", args: [m.id] }),
        read.readContract({ ...c, functionName: "liquidationWindowEntries", args: [m.id] }),
        read.readContract({ ...c, functionName: "skew", args: [m.id] }),
        read.readContract({ ...c, functionName: "size", args: [m.id] }),
      ]);
      const cap = liquidationCapacity(m, v.timestamp);
      expect({ capacity: [...capacity], skew, size }, `market ${m.id}`).toEqual({ capacity: [cap.capacity, cap.maxLiquidationInWindow, cap.latestLiquidationTimestamp], skew: m.skew, size: m.size });
      const entries = entriesInWindow(m.window, m.config.maxSecondsInLiquidationWindow, v.timestamp);
      expect(timestamps.map((t, i) => ({ timestamp: t, amount: amounts[i] })), `window of market ${m.id}`).toEqual(entries);
      if (cap.capacity < cap.maxLiquidationInWindow) bump("markets with capacity used");
    }),
  );
  const [flagged, pool, costs] = await Promise.all([
    read.readContract({ ...c, functionName: "flaggedAccounts" }),
    read.readContract({ ...c, functionName: "poolBalance" }),
    read.readContract({ ...c, functionName: "getKeeperCosts" }),
  ]);
  expect({ flagged: [...flagged], pool, costs: [...costs] }).toEqual({ flagged: [...book.flaggedAccounts], pool: book.poolBalance, costs: [v.costs.flag, v.costs.liquidate] });
  bump("blocks compared");
}
