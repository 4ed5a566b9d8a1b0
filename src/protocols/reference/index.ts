/**
 * The reference market (contracts/src/PerpMarket.sol, docs/reference-market.md) as a protocol:
 * its events and reducer, its book (health screen, liquidation-price index, engine calls), its
 * liquidation calls and reverts, and its gas model.
 */
import { getAddress, type Address } from "viem";
import type { Protocol } from "../../keeper/protocol.ts";
import { ReferenceBook } from "./book.ts";
import { referenceCalls } from "./calls.ts";
import type { IndexLog } from "./events.ts";
import { REFERENCE_GAS } from "./gas.ts";
import { referenceIndexSource } from "./indexSource.ts";
import type { IndexState } from "./state.ts";

export type ReferenceProtocol = Protocol<IndexState, IndexLog>;

export const REFERENCE = "reference";

/** The reference market deployed at `market`. */
export function referenceMarket(market: Address): ReferenceProtocol {
  return {
    name: REFERENCE,
    index: referenceIndexSource(market),
    calls: referenceCalls(market),
    gas: REFERENCE_GAS,
    createBook: (state) => new ReferenceBook(state, getAddress(market)),
  };
}

export { IndexState, type IndexStateView } from "./state.ts";
export type { IndexLog } from "./events.ts";
export { priceStatus, valuationAt, type PriceStatus } from "./valuation.ts";
