import type { RunReport } from "../types.ts";
import { formatCount, formatUsd, toDecimal } from "./format.ts";

/**
 * The loss a run leaves that nobody has paid: bad debt recorded in the run plus the deficit still
 * open at the end (negative equity of accounts not closed yet, which becomes bad debt, or a draw on
 * the insurance fund, only when a keeper closes them). And the accounts behind the open part: an
 * account with no equity pays no reward, so only a keeper in backstop mode closes it. Pure; the
 * HTML and the printed table both say it in these terms.
 */

/** Bad debt recorded + open deficit at the end. */
export function lossNotCovered(run: RunReport): string {
  return run.totals.lossNotCovered;
}

/** The deficit still open when the run ends ("0" when the report does not carry it). */
export function openAtEnd(run: RunReport): string {
  return run.final.openDeficit ?? "0";
}

export type StillUnderwater = {
  /** Accounts with equity ≤ 0 at the end (below maintenance, for a report without that count). */
  accounts: number;
  /** Their deficit, USD. */
  deficit: string;
  /** Whether any keeper of the run runs in backstop mode, the only kind that closes them. */
  backstopKeeper: boolean;
};

/** The run's accounts still underwater at the end, or undefined when no deficit is open. */
export function stillUnderwater(run: RunReport): StillUnderwater | undefined {
  const deficit = openAtEnd(run);
  if (!toDecimal(deficit).gt(0)) return undefined;
  return {
    accounts: run.final.underwater ?? run.final.belowMaintenance ?? 0,
    deficit,
    backstopKeeper: run.keepers.some((k) => k.backstopMode === true),
  };
}

/** Why nobody closes them, in the reader's words. */
export const NO_KEEPER_REASON = "each wants a profit, an account with no equity pays no reward, and none runs in backstop mode";

/** "$150.50: $100.00 bad debt recorded + $50.50 still open at the end", or shorter when one part is zero. */
export function lossSplit(run: RunReport): string {
  const total = formatUsd(lossNotCovered(run));
  const open = openAtEnd(run);
  if (toDecimal(open).isZero()) return total;
  if (toDecimal(run.totals.badDebt).isZero()) return `${total}, all of it deficits still open at the end`;
  return `${total}: ${formatUsd(run.totals.badDebt)} bad debt recorded + ${formatUsd(open)} still open at the end`;
}

/** "30 accounts, $817,147.86". */
export function underwaterFigures(u: StillUnderwater): string {
  return `${formatCount(u.accounts)} account${u.accounts === 1 ? "" : "s"}, ${formatUsd(u.deficit)}`;
}
