import type { Address } from "viem";

/**
 * What liquidated traders lost beyond their penalties: the equity they lost while the market had
 * them below maintenance, down to zero (see RunTotals.traderEquityLost in types.ts for the
 * definition). Pure: block observations in, amounts out (WAD USD).
 */

/** What one block end shows of the accounts, as the chain has them. */
export type EquityBlock = {
  /** Accounts below maintenance at the end of the block. */
  belowMaintenance: readonly Address[];
  /** Equity at the end of the block of every account with a position, and of every account liquidated in the block. */
  equity: ReadonlyMap<Address, bigint>;
  /** The block's liquidations, in chain order. */
  liquidations: readonly { account: Address; penalty: bigint }[];
};

export type TraderLossEpisode = {
  account: Address;
  /** Index of the block whose end starts it, and of the block whose end (or the run's end) ends it. */
  from: number;
  to: number;
  startEquity: bigint;
  endEquity: bigint;
  penalties: bigint;
  /** max(0, max(E₀, 0) − max(E₁, 0) − penalties). */
  equityLost: bigint;
};

export type TraderLosses = {
  penalties: bigint;
  equityLost: bigint;
  /** penalties + equityLost. */
  total: bigint;
  /** Episodes with at least one liquidation, in the order they ended. */
  episodes: TraderLossEpisode[];
};

const max = (a: bigint, b: bigint) => (a > b ? a : b);

type Open = { from: number; startEquity: bigint; penalties: bigint; liquidated: boolean };

/** The traders' losses to liquidation over the run's block ends, in order. */
export function traderLosses(blocks: readonly EquityBlock[]): TraderLosses {
  const open = new Map<Address, Open>();
  const episodes: TraderLossEpisode[] = [];
  let penalties = 0n;
  let previous: ReadonlyMap<Address, bigint> = new Map();
  const close = (account: Address, e: Open, to: number, endEquity: bigint) => {
    open.delete(account);
    if (!e.liquidated) return;
    const equityLost = max(0n, max(e.startEquity, 0n) - max(endEquity, 0n) - e.penalties);
    episodes.push({ account, from: e.from, to, startEquity: e.startEquity, endEquity, penalties: e.penalties, equityLost });
  };
  blocks.forEach((b, i) => {
    for (const l of b.liquidations) {
      penalties += l.penalty;
      let e = open.get(l.account);
      if (!e) {
        // Liquidated without being seen below maintenance at the previous block's end (funding, or a
        // keeper's own view): the episode starts there all the same.
        e = { from: i - 1, startEquity: previous.get(l.account) ?? b.equity.get(l.account) ?? 0n, penalties: 0n, liquidated: false };
        open.set(l.account, e);
      }
      e.penalties += l.penalty;
      e.liquidated = true;
    }
    const below = new Set(b.belowMaintenance);
    for (const a of below) if (!open.has(a)) open.set(a, { from: i, startEquity: b.equity.get(a) ?? 0n, penalties: 0n, liquidated: false });
    for (const [a, e] of [...open]) if (!below.has(a)) close(a, e, i, b.equity.get(a) ?? 0n);
    previous = b.equity;
  });
  const last = blocks.length - 1;
  for (const [a, e] of [...open]) close(a, e, last, previous.get(a) ?? 0n);
  const equityLost = episodes.reduce((s, e) => s + e.equityLost, 0n);
  return { penalties, equityLost, total: penalties + equityLost, episodes };
}
