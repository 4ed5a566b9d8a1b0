/**
 * The engine's view of the indexed reference market at a time: every market, and the price of
 * each market whose price the contract would accept then.
 */
import type { GlobalLiquidationParams, MarketState, Valuation } from "../../engine/index.ts";
import { BaseError } from "../../lib/errors.ts";
import type { MarkRefusal } from "./mark.ts";
import type { IndexStateView } from "./state.ts";

export type PriceStatus = "ok" | MarkRefusal;

/**
 * Whether the contract would accept market `marketId`'s mark at time `now`: 'missing' (no market
 * or no answer yet), 'invalid' (a single feed's answer ≤ 0), 'stale' (too old or from the future,
 * or fewer fresh feeds than the index needs), 'deviation' (the fresh feeds disagree beyond the
 * market's guard), else 'ok'. The contract's _markPrice, in the same order.
 */
export function priceStatus(state: IndexStateView, marketId: number, now: bigint): PriceStatus {
  const m = state.mark(marketId, now);
  if (!m) return "missing";
  return m.ok ? "ok" : m.why;
}

/** The markets whose price the contract would refuse at `timestamp`, each with why ({@link priceStatus}). */
export function unpricedMarkets(state: IndexStateView, timestamp: bigint): Map<number, Exclude<PriceStatus, "ok">> {
  const out = new Map<number, Exclude<PriceStatus, "ok">>();
  for (const id of state.markets.keys()) {
    const s = priceStatus(state, id, timestamp);
    if (s !== "ok") out.set(id, s);
  }
  return out;
}

/**
 * The engine's valuation at `timestamp`: every market, and the WAD price of each market whose
 * price the contract would accept then ({@link priceStatus} 'ok'). A market without a usable
 * price has no entry in `prices`; valuing a position in it throws MissingMarketDataError, as the
 * contract would revert.
 */
export function valuationAt(state: IndexStateView, timestamp: bigint): Valuation {
  const global: GlobalLiquidationParams | undefined = state.global;
  if (!global) throw new BaseError("the global liquidation parameters are not indexed yet");
  const markets = new Map<number, MarketState>(state.markets);
  const prices = new Map<number, bigint>();
  for (const id of markets.keys()) {
    const m = state.mark(id, timestamp);
    if (m?.ok) prices.set(id, m.price);
  }
  return { markets, prices, timestamp, global };
}
