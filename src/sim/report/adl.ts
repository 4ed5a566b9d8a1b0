import type { Address } from "viem";
import { notional } from "../../engine/index.ts";
import type { BlockObservation } from "./observe.ts";
import { wadToDecimal } from "../../lib/units.ts";
import type { AdlReport } from "./types.ts";

/**
 * The run's auto-deleveraging (issue 16), from the market's `Deleveraged` events, and the check that
 * ADL left no bad debt the opposite side could have covered. Pure.
 *
 * - Notional deleveraged: Σ size × mark price of the events (the positions closed, at the mark).
 * - Profit given up: Σ profitGivenUp = Σ size × |mark − bankruptcy price|, what the counterparties
 *   lost against a close at the mark; it is the deficit ADL covered (to the rounding wei).
 * - Bad debt left after ADL: bad debt recorded in the run, plus the deficit of accounts still
 *   negative at the end beyond the insurance fund then (the fund pays the rest when they close).
 * - Coverable by the opposite side: for each block, the bad debt recorded in it against the
 *   unrealised profit then on the sides opposite to the bankrupt positions (observe.ts
 *   `oppositeProfit`), min of the two, summed over the run; and the same at the end for the open
 *   deficit beyond the fund. Bad debt recorded when a deleverage closes its account is the bankruptcy
 *   price's rounding (a few wei, by design) and is not counted. Where ADL is on, bad debt left must not exceed what the opposite side
 *   could not cover: `leftCoverable` (the coverable part that was left anyway) must be 0.
 */
export function adlReport(obs: readonly BlockObservation[], p: { enabled: boolean; operator?: string; badDebt: bigint }): AdlReport {
  let deleveragedNotional = 0n;
  let profitGivenUp = 0n;
  let coverable = 0n;
  const hit = new Set<Address>();
  const bankrupt = new Set<Address>();
  let events = 0;
  for (const o of obs) {
    for (const d of o.deleverages) {
      events++;
      deleveragedNotional += notional(d.size, d.markPrice);
      profitGivenUp += d.profitGivenUp;
      hit.add(d.counterparty);
      bankrupt.add(d.account);
    }
    // A deleverage closes its account at the bankruptcy price, rounded toward the mark: the few wei
    // it leaves are recorded as bad debt by design, not a deficit left to the opposite side.
    const closedByAdl = new Set(o.deleverages.map((d) => d.account));
    const recorded = o.badDebts.reduce((s, d) => (closedByAdl.has(d.account) ? s : s + d.uncovered), 0n);
    coverable += min(recorded, o.oppositeProfit.recorded);
  }
  const last = obs[obs.length - 1]!;
  const openLeft = last.openDeficit > last.insuranceFund ? last.openDeficit - last.insuranceFund : 0n;
  coverable += min(openLeft, last.oppositeProfit.open);
  const left = p.badDebt + openLeft;
  return {
    enabled: p.enabled,
    ...(p.operator !== undefined ? { operator: p.operator } : {}),
    events,
    deleveragedNotionalUsd: decimal(deleveragedNotional),
    accountsHit: hit.size,
    accountsDeleveraged: bankrupt.size,
    profitGivenUp: decimal(profitGivenUp),
    badDebtLeft: decimal(left),
    coverableByOppositeSide: decimal(coverable),
  };
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const decimal = (x: bigint) => wadToDecimal(x).toFixed();
