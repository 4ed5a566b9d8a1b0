/** Issue 18, Pyth plumbing: a Pyth price (price, expo) as a WAD bigint. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PythPriceError, pythToWad } from "../../src/chain/pyth/prices.ts";

describe("pythToWad", () => {
  it("scales up by 10^(18 + expo)", () => {
    expect(pythToWad({ price: 184136023127n, expo: -8 })).toBe(1841_360231270000000000n);
    expect(pythToWad({ price: 7n, expo: 0 })).toBe(7n * 10n ** 18n);
    expect(pythToWad({ price: 7n, expo: 3 })).toBe(7n * 10n ** 21n);
    expect(pythToWad({ price: 1n, expo: -18 })).toBe(1n);
  });

  it("truncates below 1e-18 (Solidity's division)", () => {
    expect(pythToWad({ price: 12_345n, expo: -20 })).toBe(123n);
    expect(pythToWad({ price: 99n, expo: -20 })).toBe(0n);
  });

  it("refuses a price that is zero or negative", () => {
    expect(() => pythToWad({ price: 0n, expo: -8 })).toThrow(PythPriceError);
    expect(() => pythToWad({ price: -1n, expo: -8 })).toThrow(PythPriceError);
  });

  it("is exact for every expo from -18 up: back to the price by 10^-(18 + expo)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), fc.integer({ min: -18, max: 12 }), (price, expo) => {
        expect(pythToWad({ price, expo }) / 10n ** BigInt(18 + expo)).toBe(price);
      }),
    );
  });
});
