/**
 * The reference market's auto-deleveraging as a keeper duty (docs/reference-market.md
 * "Auto-deleveraging"): for an account whose deficit at the mark exceeds the insurance fund, in a
 * market with ADL on, the ADL operator calls deleverage(account, market, counterparties) with the
 * profitable opposite positions ranked from the index (PnL% × effective leverage, then address).
 * The engine applies each call first (applyDeleverage): a call the contract would refuse is never
 * planned. Several are planned in a row, each on the state the ones before it leave.
 */
import { encodeFunctionData, zeroAddress, type Address } from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import {
  abs,
  accountHealth,
  adlDue,
  applyDeleverage,
  marketOf,
  rankAdlCounterparties,
  type Account,
  type AdlParty,
  type Health,
  type Valuation,
} from "../../engine/index.ts";
import type { Duty } from "../../keeper/protocol.ts";
import type { IndexedMarket, IndexStateView } from "./state.ts";

/** Deleverages sent in one tick at most (each after the one before, at the next nonce). */
export const MAX_DELEVERAGES_PER_TICK = 8;

/**
 * Gas limit of a deleverage: every valuation reads each feed of each position's market through its
 * proxy (measured 230k with one counterparty of one position, 514k with six, 1.12M with six of three
 * positions each), with a margin: 250k + 70k per position-feed of the bankrupt account and of each
 * counterparty, + 30k per counterparty.
 */
export function deleverageGas(bankrupt: Account, counterparties: readonly Account[], markets: ReadonlyMap<number, IndexedMarket>): bigint {
  const reads = (a: Account) => a.positions.reduce((n, p) => n + BigInt(markets.get(p.marketId)?.feeds.length ?? 1), 0n);
  return 250_000n + 70_000n * reads(bankrupt) + counterparties.reduce((g, c) => g + 30_000n + 70_000n * reads(c), 0n);
}

/** The markets of `h`'s positions where ADL is due for the account, largest notional first. */
export function adlDueMarkets(h: Health, v: Valuation, insuranceFund: bigint): number[] {
  if (h.equity >= 0n) return [];
  return h.positions
    .filter((p) => adlDue(h, insuranceFund, marketOf(v, p.marketId).liquidation.adlEnabled))
    .sort((a, b) => (a.notional > b.notional ? -1 : a.notional < b.notional ? 1 : a.marketId - b.marketId))
    .map((p) => p.marketId);
}

/** Whether the venue has an ADL operator at all (without one, nobody can deleverage: liquidation settles). */
export function adlOperated(state: IndexStateView): boolean {
  return state.funds.adlOperator !== zeroAddress;
}

/** The accounts and insurance fund a plan is made on: the index's, then as planned deleverages leave them. */
export type AdlView = { accounts: Map<Address, Account>; insuranceFund: bigint };

/** Every account with a position in `marketId` on the side opposite to `size`: the ranking's candidates. */
function oppositeOf(view: AdlView, marketId: number, size: bigint): AdlParty[] {
  const out: AdlParty[] = [];
  for (const [address, account] of view.accounts) {
    if (account.positions.some((p) => p.marketId === marketId && p.size !== 0n && p.size > 0n !== size > 0n)) out.push({ address, account });
  }
  return out;
}

/**
 * The deleverage the engine says succeeds for `address` on `view`, in the first of its ADL-due
 * markets that has one; undefined when none does (no profitable opposite position, no bankruptcy
 * price). The view is updated to the state after it.
 */
export function planDeleverage(view: AdlView, markets: ReadonlyMap<number, IndexedMarket>, market: Address, address: Address, v: Valuation): Duty | undefined {
  const account = view.accounts.get(address);
  if (!account) return undefined;
  const h = accountHealth(account, v);
  for (const marketId of adlDueMarkets(h, v, view.insuranceFund)) {
    const position = h.positions.find((p) => p.marketId === marketId)!;
    const ranked = rankAdlCounterparties(position.size, marketId, oppositeOf(view, marketId, position.size), v);
    if (ranked.length === 0) continue;
    const counterparties = ranked.map((r) => ({ address: r.address, account: view.accounts.get(r.address)! }));
    const r = applyDeleverage({ bankrupt: { address, account }, marketId, counterparties, v, insuranceFund: view.insuranceFund });
    if (!r.ok) continue;
    for (const c of [r.outcome.bankrupt, ...r.outcome.counterparties]) view.accounts.set(c.address, c.account);
    view.insuranceFund += r.outcome.insuranceDelta;
    const args = [address, BigInt(marketId), ranked.map((c) => c.address)] as const;
    return {
      kind: "deleverage",
      account: address,
      to: market,
      data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "deleverage", args }),
      gas: deleverageGas(account, counterparties.map((c) => c.account), markets),
      detail: {
        market: marketId,
        size: r.outcome.closed,
        of: abs(position.size),
        bankruptcyPrice: r.outcome.bankruptcyPrice,
        markPrice: r.outcome.markPrice,
        counterparties: ranked.length,
      },
    };
  }
  return undefined;
}

/** Open interest by market: Σ long sizes and Σ |short sizes| of the accounts (the contract's longSize/shortSize). */
export function openInterest(accounts: Iterable<Account>): Map<number, { long: bigint; short: bigint }> {
  const out = new Map<number, { long: bigint; short: bigint }>();
  for (const a of accounts) {
    for (const p of a.positions) {
      const oi = out.get(p.marketId) ?? { long: 0n, short: 0n };
      if (p.size > 0n) oi.long += p.size;
      else oi.short -= p.size;
      out.set(p.marketId, oi);
    }
  }
  return out;
}
