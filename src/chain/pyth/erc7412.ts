/**
 * ERC-7412's oracle query for Pyth prices, as the capped market writes it into
 * `OracleDataRequired(address oracleContract, bytes oracleQuery)` and as Synthetix's Pyth wrapper
 * reads it: `abi.encode(uint8 tag, uint64 stalenessTolerance, bytes32[] priceIds)`, tag 1 = "the
 * latest price, no older than the tolerance". The keeper decodes it to know which feeds to update;
 * `fulfillOracleQuery` takes `abi.encode(bytes[] updateData)`.
 */
import { decodeAbiParameters, encodeAbiParameters, type Hex } from "viem";

/** Tag 1: the latest price no older than a tolerance (Synthetix PythERC7412WrapperModule). */
export const LATEST_PRICE_QUERY = 1;

const QUERY = [{ type: "uint8" }, { type: "uint64" }, { type: "bytes32[]" }] as const;
const REPORT = [{ type: "bytes[]" }] as const;

export type LatestPriceQuery = { stalenessTolerance: bigint; priceIds: Hex[] };

export function encodeLatestPriceQuery(q: LatestPriceQuery): Hex {
  return encodeAbiParameters(QUERY, [LATEST_PRICE_QUERY, q.stalenessTolerance, q.priceIds]);
}

/** The query of an `OracleDataRequired`; undefined when it is not a latest-price query. */
export function decodeLatestPriceQuery(query: Hex): LatestPriceQuery | undefined {
  try {
    const [tag, stalenessTolerance, priceIds] = decodeAbiParameters(QUERY, query);
    return tag === LATEST_PRICE_QUERY ? { stalenessTolerance, priceIds: [...priceIds] } : undefined;
  } catch {
    return undefined;
  }
}

/** `fulfillOracleQuery`'s argument: the update data, ABI-encoded as one bytes[]. */
export function encodeOfflineReport(updateData: readonly Hex[]): Hex {
  return encodeAbiParameters(REPORT, [updateData]);
}
