/**
 * CappedPerpsMarket.liquidateFlagged(max) and liquidateFlaggedAccounts(ids): applyLiquidation over
 * flagged accounts in turn, each seeing the markets and the pool the previous one left. Either
 * reverts as a whole (the pool cannot pay a reward) or returns every step.
 */
import { applyLiquidation, type CappedBook, type CappedLiquidationEvent, type CappedRefusal, type LiquidationOutcome } from "./liquidate.ts";
import type { CappedAccount, CappedValuation } from "./types.ts";

export type FlaggedInput = {
  /** Every flagged account the call may reach, by id. */
  accounts: ReadonlyMap<bigint, CappedAccount>;
  sender: `0x${string}`;
  v: CappedValuation;
  book: CappedBook;
};

export type FlaggedOutcome = {
  /** Σ rewards: the function's return value. */
  reward: bigint;
  /** The accounts the call reached, afterwards. */
  accounts: Map<bigint, CappedAccount>;
  v: CappedValuation;
  book: CappedBook;
  steps: LiquidationOutcome[];
  events: CappedLiquidationEvent[];
};

type Result = { ok: false; refusal: CappedRefusal } | { ok: true; outcome: FlaggedOutcome };

/** liquidateFlagged(maxNumberOfAccounts): the first min(max, n) of flaggedAccounts() as it was before the call. */
export function applyLiquidateFlagged(input: FlaggedInput & { maxNumberOfAccounts: bigint }): Result {
  const snapshot = input.book.flaggedAccounts;
  const n = input.maxNumberOfAccounts < BigInt(snapshot.length) ? Number(input.maxNumberOfAccounts) : snapshot.length;
  return run(input, snapshot.slice(0, n), false);
}

/** liquidateFlaggedAccounts(accountIds): the listed ones, each skipped unless flagged when its turn comes. */
export function applyLiquidateFlaggedAccounts(input: FlaggedInput & { accountIds: readonly bigint[] }): Result {
  return run(input, input.accountIds, true);
}

function run(input: FlaggedInput, ids: readonly bigint[], skipUnflagged: boolean): Result {
  let { v, book } = input;
  const accounts = new Map<bigint, CappedAccount>();
  const steps: LiquidationOutcome[] = [];
  let reward = 0n;
  for (const id of ids) {
    if (skipUnflagged && !book.flaggedAccounts.includes(id)) continue;
    const account = accounts.get(id) ?? input.accounts.get(id);
    if (account === undefined) throw new Error(`flagged account ${id} was not given`);
    const r = applyLiquidation({ account, sender: input.sender, v, book });
    if (!r.ok) return r;
    ({ v, book } = r.outcome);
    accounts.set(id, r.outcome.account);
    steps.push(r.outcome);
    reward += r.outcome.reward;
  }
  return { ok: true, outcome: { reward, accounts, v, book, steps, events: steps.flatMap((s) => s.events) } };
}
