/**
 * Issue 18, Pyth plumbing: updateData.ts encodes what MockPyth.createPriceFeedUpdateData encodes.
 * The layout by hand (abi.encode of a static struct and a uint64: ten 32-byte words in order), and
 * byte equality with the contract's own encoder on Anvil (abi/MockPyth.ts).
 */
import fc from "fast-check";
import { bytesToHex, decodeAbiParameters, hexToBigInt, sliceHex, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { MockPyth } from "../../abi/MockPyth.ts";
import {
  PRICE_FEED_UPDATE_PARAMETERS,
  PriceFeedUpdateRangeError,
  createPriceFeedUpdateData,
  priceUpdate,
  type PriceFeedUpdateParameters,
} from "../../src/chain/pyth/updateData.ts";
import { receiptOf } from "../support/blocks.ts";
import { test } from "../support/fixtures.ts";

const ID = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace" as const;
const P: PriceFeedUpdateParameters = {
  id: ID,
  price: 184136023127n,
  conf: 177166324n,
  expo: -8,
  emaPrice: 184100641000n,
  emaConf: 178704085n,
  publishTime: 1692110601n,
  prevPublishTime: 1692110600n,
};

/** Word i of an ABI encoding, as a signed 256-bit integer. */
const signedWord = (data: Hex, i: number): bigint => {
  const u = hexToBigInt(sliceHex(data, i * 32, (i + 1) * 32));
  return u >= 2n ** 255n ? u - 2n ** 256n : u;
};

describe("createPriceFeedUpdateData", () => {
  it("lays out id, price, ema price (sharing expo and publish time) and prevPublishTime as ten words", () => {
    const data = createPriceFeedUpdateData(P);
    expect((data.length - 2) / 2).toBe(320);
    expect(sliceHex(data, 0, 32)).toBe(ID);
    const words = Array.from({ length: 10 }, (_, i) => signedWord(data, i));
    expect(words.slice(1)).toEqual([P.price, P.conf, -8n, P.publishTime, P.emaPrice, P.emaConf, -8n, P.publishTime, P.prevPublishTime]);
  });

  it("sign-extends negative int64 and int32 values to the full word", () => {
    const data = createPriceFeedUpdateData({ ...P, price: -5n, emaPrice: -(2n ** 63n), expo: -2_147_483_648 });
    expect(sliceHex(data, 32, 64)).toBe(`0x${"f".repeat(63)}b`);
    expect(signedWord(data, 5)).toBe(-(2n ** 63n));
    expect(signedWord(data, 3)).toBe(-2_147_483_648n);
    expect(signedWord(data, 7)).toBe(-2_147_483_648n);
  });

  it("decodes back to the struct MockPyth stores", () => {
    const [feed, prev] = decodeAbiParameters(PRICE_FEED_UPDATE_PARAMETERS, createPriceFeedUpdateData(P));
    expect(feed).toEqual({
      id: ID,
      price: { price: P.price, conf: P.conf, expo: -8, publishTime: P.publishTime },
      emaPrice: { price: P.emaPrice, conf: P.emaConf, expo: -8, publishTime: P.publishTime },
    });
    expect(prev).toBe(P.prevPublishTime);
  });

  it("refuses values outside their Solidity types", () => {
    expect(() => createPriceFeedUpdateData({ ...P, price: 2n ** 63n })).toThrow();
    expect(() => createPriceFeedUpdateData({ ...P, conf: -1n })).toThrow();
    expect(() => createPriceFeedUpdateData({ ...P, expo: 2 ** 31 })).toThrow();
    expect(() => createPriceFeedUpdateData({ ...P, prevPublishTime: 2n ** 64n })).toThrow();
    expect(() => createPriceFeedUpdateData({ ...P, publishTime: 2n ** 64n })).toThrow(PriceFeedUpdateRangeError);
    expect(() => createPriceFeedUpdateData({ ...P, publishTime: 2n ** 64n - 1n })).not.toThrow();
  });

  it("priceUpdate sets the EMA to the price", () => {
    const price = { price: 3000_00000000n, conf: 1_00000000n, expo: -8, publishTime: 1_700_000_000n };
    expect(priceUpdate(ID, price, 7n)).toBe(createPriceFeedUpdateData({ id: ID, ...price, emaPrice: price.price, emaConf: price.conf, prevPublishTime: 7n }));
  });
});

describe("against MockPyth on Anvil", () => {
  test("the contract's own encoder returns the same bytes, for generated feeds", async ({ chain }) => {
    const hash = await chain.wallet(0).deployContract({ abi: MockPyth.abi, bytecode: MockPyth.bytecode, args: [60n, 1n] });
    const address = (await receiptOf(chain, hash)).contractAddress!;
    const int = (bits: bigint) => fc.bigInt({ min: -(2n ** (bits - 1n)), max: 2n ** (bits - 1n) - 1n });
    const uint = (bits: bigint) => fc.bigInt({ min: 0n, max: 2n ** bits - 1n });
    const feed: fc.Arbitrary<PriceFeedUpdateParameters> = fc.record({
      id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b)),
      price: int(64n),
      conf: uint(64n),
      expo: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      emaPrice: int(64n),
      emaConf: uint(64n),
      publishTime: uint(64n),
      prevPublishTime: uint(64n),
    });
    await fc.assert(
      fc.asyncProperty(feed, async (p) => {
        const onChain = await chain.publicClient.readContract({
          address,
          abi: MockPyth.abi,
          functionName: "createPriceFeedUpdateData",
          args: [p.id, p.price, p.conf, p.expo, p.emaPrice, p.emaConf, p.publishTime, p.prevPublishTime],
        });
        expect(createPriceFeedUpdateData(p)).toBe(onChain);
      }),
      { numRuns: 100 },
    );
  });
});
