import { WAD, abs, ceilDiv, floorDiv } from "./math.ts";
import type { FundingState } from "./types.ts";

/** Notional |size| × price, rounded up. */
export function notional(absSize: bigint, price: bigint): bigint {
  return ceilDiv(abs(absSize) * price, WAD);
}

/** Unrealised PnL size × (price − entry), rounded down: a credit to the trader. */
export function pnl(size: bigint, price: bigint, entryPrice: bigint): bigint {
  return floorDiv(size * (price - entryPrice), WAD);
}

/** Funding owed size × (indexNow − indexAtEntry), rounded up: a debit to the trader. */
export function fundingOwed(size: bigint, indexNow: bigint, indexAtEntry: bigint): bigint {
  return ceilDiv(size * (indexNow - indexAtEntry), WAD);
}

/** The market's cumulative funding index at `timestamp`. */
export function fundingIndexAt(funding: FundingState, timestamp: bigint): bigint {
  return funding.index + funding.ratePerSecond * (timestamp - funding.lastUpdate);
}

/** Size-weighted entry price after an increase; rounded against the trader (up for longs). */
export function averageEntry(oldSize: bigint, entryPrice: bigint, absDelta: bigint, price: bigint): bigint {
  const oldAbs = abs(oldSize);
  const sum = oldAbs * entryPrice + absDelta * price;
  const total = oldAbs + absDelta;
  return oldSize > 0n ? ceilDiv(sum, total) : sum / total;
}
