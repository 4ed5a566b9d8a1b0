/**
 * decodeIndexLog's hand decoder for the hot events (CollateralUpdated, PositionUpdated) against
 * viem's decodeEventLog, on random values at the edges of int256/uint256 and random addresses.
 */
import fc from "fast-check";
import { decodeEventLog, encodeAbiParameters, encodeEventTopics, getAbiItem, getAddress, type Hex, type RpcLog } from "viem";
import { describe, expect, it } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { decodeIndexLog } from "../../src/protocols/reference/events.ts";

const MARKET = getAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3");
const int256 = fc.bigInt(-(1n << 255n), (1n << 255n) - 1n);
const uint256 = fc.bigInt(0n, (1n << 256n) - 1n);
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(`0x${Buffer.from(b).toString("hex")}`));

function rawLog(topics: Hex[], data: Hex): RpcLog {
  return {
    address: MARKET.toLowerCase() as Hex,
    topics: topics as [Hex, ...Hex[]],
    data,
    blockNumber: "0x10",
    blockHash: `0x${"ab".repeat(32)}`,
    logIndex: "0x3",
    transactionHash: `0x${"cd".repeat(32)}`,
    transactionIndex: "0x0",
    removed: false,
  };
}

const viemDecode = (topics: Hex[], data: Hex) => decodeEventLog({ abi: PerpMarket.abi, topics: topics as [Hex, ...Hex[]], data, strict: true });

describe("decodeIndexLog (hot events decoded by hand)", () => {
  it("CollateralUpdated equals viem's decoding", () => {
    const event = getAbiItem({ abi: PerpMarket.abi, name: "CollateralUpdated" });
    fc.assert(
      fc.property(address, int256, (account, collateral) => {
        const topics = encodeEventTopics({ abi: [event], args: { account } }) as Hex[];
        const data = encodeAbiParameters([{ type: "int256" }], [collateral]);
        const got = decodeIndexLog(rawLog(topics, data), MARKET);
        const want = viemDecode(topics, data);
        expect(got).toMatchObject({ eventName: want.eventName, args: want.args, address: MARKET, blockNumber: 16n, logIndex: 3 });
      }),
      { numRuns: 300 },
    );
  });

  it("PositionUpdated equals viem's decoding", () => {
    const event = getAbiItem({ abi: PerpMarket.abi, name: "PositionUpdated" });
    fc.assert(
      fc.property(address, uint256, int256, uint256, int256, (account, marketId, size, entryPrice, entryFundingIndex) => {
        const topics = encodeEventTopics({ abi: [event], args: { account, marketId } }) as Hex[];
        const data = encodeAbiParameters([{ type: "int256" }, { type: "uint256" }, { type: "int256" }], [size, entryPrice, entryFundingIndex]);
        const got = decodeIndexLog(rawLog(topics, data), MARKET);
        const want = viemDecode(topics, data);
        expect(got).toMatchObject({ eventName: want.eventName, args: want.args });
      }),
      { numRuns: 300 },
    );
  });

  it("a log with the right selector but the wrong shape is not decoded by hand (nor accepted)", () => {
    const event = getAbiItem({ abi: PerpMarket.abi, name: "CollateralUpdated" });
    const topics = encodeEventTopics({ abi: [event], args: { account: MARKET } }) as Hex[];
    expect(decodeIndexLog(rawLog(topics, "0x01"), MARKET)).toBeUndefined();
    expect(decodeIndexLog(rawLog([topics[0]!], encodeAbiParameters([{ type: "int256" }], [1n])), MARKET)).toBeUndefined();
  });
});
