import { accountHealth, marketOf } from "./health.ts";
import { PPM, WAD, abs, ceilDiv, floorDiv } from "./math.ts";
import type { Account, Valuation } from "./types.ts";

/**
 * E(P)·WAD for the position in `marketId` as a function of its mark P, other prices held:
 * E(P)·WAD = kw + size × P, where kw folds collateral, the other positions' PnL, all funding
 * and −size × entry. Exact up to the contract's per-position floor rounding (≤ 1 wei each).
 */
function equityLine(account: Account, marketId: number, v: Valuation) {
  const h = accountHealth(account, v);
  const target = h.positions.find((p) => p.marketId === marketId);
  if (!target) return undefined;
  const kw = (h.equity - target.pnl) * WAD - target.size * target.entryPrice;
  return { h, target, kw };
}

/**
 * The mark price of `marketId` at which the account becomes liquidatable (E = ΣMM), other prices
 * held. Long: liquidatable at or below it (rounded up); short: at or above it (rounded down).
 * undefined when no positive price makes it liquidatable (a long backed beyond its loss).
 *
 * MM is the max of tier lines N × mmr_i − cum_i, so each line gives a root
 * P_i = (MO·WAD·1e6 − cum_i·WAD − kw·1e6) / (size·1e6 − mmr_i·|size|), and the threshold is the
 * largest root for a long, the smallest for a short.
 */
export function liquidationPrice(account: Account, marketId: number, v: Valuation): bigint | undefined {
  const line = equityLine(account, marketId, v);
  if (!line) return undefined;
  const { h, target, kw } = line;
  const m = marketOf(v, marketId);
  const otherMaintenance = h.maintenance - target.maintenance;
  const s = target.size;
  let best: bigint | undefined;
  m.tiers.forEach((tier, i) => {
    const num = otherMaintenance * WAD * PPM - m.cums[i]! * WAD - kw * PPM;
    const den = s * PPM - tier.mmrPpm * abs(s);
    const root = s > 0n ? ceilDiv(num, den) : floorDiv(num, den);
    if (best === undefined || (s > 0n ? root > best : root < best)) best = root;
  });
  if (best === undefined || best <= 0n) return undefined;
  return best;
}

/** The mark price at which the account's equity reaches zero, other prices held. */
export function bankruptcyPrice(account: Account, marketId: number, v: Valuation): bigint | undefined {
  const line = equityLine(account, marketId, v);
  if (!line) return undefined;
  const { target, kw } = line;
  const p = target.size > 0n ? ceilDiv(-kw, target.size) : floorDiv(-kw, target.size);
  return p > 0n ? p : undefined;
}
