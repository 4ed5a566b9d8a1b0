/**
 * The reference market's auto-deleveraging as a keeper duty (docs/reference-market.md
 * "Auto-deleveraging"): for an account whose deficit at the mark exceeds the insurance fund, in a
 * market with ADL on, the ADL operator calls deleverage(account, market, counterparties) with the
 * profitable opposite positions ranked from the index (PnL% × effective leverage, then address).
 * The engine applies the call first (applyDeleverage): a call the contract would refuse is never
 * planned.
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
  type AdlParty,
  type Health,
  type Valuation,
} from "../../engine/index.ts";
import type { Duty } from "../../keeper/protocol.ts";
import type { IndexStateView } from "./state.ts";

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

/** Every account with a position in `marketId` on the side opposite to `size`: the ranking's candidates. */
function oppositeOf(state: IndexStateView, marketId: number, size: bigint): AdlParty[] {
  const out: AdlParty[] = [];
  for (const [address, account] of state.accounts) {
    if (account.positions.some((p) => p.marketId === marketId && p.size !== 0n && p.size > 0n !== size > 0n)) out.push({ address, account });
  }
  return out;
}

/**
 * The deleverage the engine says succeeds for `address` now, in the first of its ADL-due markets
 * that has one; undefined when none does (no profitable opposite position, no bankruptcy price).
 */
export function planDeleverage(state: IndexStateView, market: Address, address: Address, v: Valuation): Duty | undefined {
  const account = state.accounts.get(address);
  if (!account) return undefined;
  const h = accountHealth(account, v);
  const insuranceFund = state.funds.insuranceFund;
  for (const marketId of adlDueMarkets(h, v, insuranceFund)) {
    const position = h.positions.find((p) => p.marketId === marketId)!;
    const ranked = rankAdlCounterparties(position.size, marketId, oppositeOf(state, marketId, position.size), v);
    if (ranked.length === 0) continue;
    const counterparties = ranked.map((r) => ({ address: r.address, account: state.accounts.get(r.address)! }));
    const r = applyDeleverage({ bankrupt: { address, account }, marketId, counterparties, v, insuranceFund });
    if (!r.ok) continue;
    const args = [address, BigInt(marketId), ranked.map((c) => c.address)] as const;
    return {
      kind: "deleverage",
      account: address,
      to: market,
      data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "deleverage", args }),
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
