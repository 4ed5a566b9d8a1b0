/** Issue 18, Pyth plumbing: ERC-7412's latest-price query and the offline report fulfillOracleQuery takes. */
import { decodeAbiParameters, encodeAbiParameters, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { LATEST_PRICE_QUERY, decodeLatestPriceQuery, encodeLatestPriceQuery, encodeOfflineReport } from "../../src/chain/pyth/erc7412.ts";

const ID = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace" as const;

describe("ERC-7412 latest-price query", () => {
  it("is abi.encode(uint8 1, uint64 tolerance, bytes32[] ids), and decodes back", () => {
    const q = encodeLatestPriceQuery({ stalenessTolerance: 60n, priceIds: [ID] });
    expect(decodeAbiParameters([{ type: "uint8" }, { type: "uint64" }, { type: "bytes32[]" }], q)).toEqual([LATEST_PRICE_QUERY, 60n, [ID]]);
    expect(decodeLatestPriceQuery(q)).toEqual({ stalenessTolerance: 60n, priceIds: [ID] });
  });

  it("another tag (Synthetix's benchmark query, 2) or bytes of another shape is not a latest-price query", () => {
    const benchmark = encodeAbiParameters([{ type: "uint8" }, { type: "uint64" }, { type: "bytes32[]" }], [2, 60n, [ID]]);
    expect(decodeLatestPriceQuery(benchmark)).toBeUndefined();
    expect(decodeLatestPriceQuery("0x1234")).toBeUndefined();
  });

  it("the offline report is the update data as one bytes[]", () => {
    const data: Hex[] = ["0x01", "0xabcd"];
    expect(decodeAbiParameters([{ type: "bytes[]" }], encodeOfflineReport(data))[0]).toEqual(data);
  });
});
