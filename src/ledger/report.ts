/**
 * The profit ledger summed for a reader: per day (UTC, by the settling head's time) or per
 * transaction, and in total. Pure; `perp-keeper pnl` prints it as a table or JSON.
 */
import type { LedgerEntry } from "./entry.ts";
import { totalsOf, type USDTotals } from "./ledgerFile.ts";

export type PnlRow = USDTotals & { key: string };

export type PnlReport = { rows: PnlRow[]; totals: USDTotals };

/** The UTC day of a block time, "2026-12-07". */
export function dayOf(timestamp: bigint): string {
  return new Date(Number(timestamp) * 1000).toISOString().slice(0, 10);
}

/** Rows per day (oldest first) or per transaction (ledger order), and the totals of all. */
export function pnlReport(entries: readonly LedgerEntry[], by: "day" | "tx"): PnlReport {
  const groups = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    const key = by === "day" ? dayOf(e.timestamp) : e.hash;
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  const keys = by === "day" ? [...groups.keys()].sort() : [...groups.keys()];
  return { rows: keys.map((key) => ({ key, ...totalsOf(groups.get(key)!) })), totals: totalsOf(entries) };
}
