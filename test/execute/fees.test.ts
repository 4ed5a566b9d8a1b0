import fc from "fast-check";
import { parseGwei } from "viem";
import { describe, expect, it } from "vitest";
import { REPLACEMENT_BUMP_PPM, bumpFees, bumped, quoteFees, shareToPpm, type FeePolicy } from "../../src/execute/fees.ts";

const policy: FeePolicy = { feeCapWei: parseGwei("100"), priorityFeeWei: parseGwei("1"), profitPriorityPpm: 0n };
const gwei = (x: string) => parseGwei(x);

describe("quoteFees", () => {
  it("maxFee = 2 × baseFee + priority, flat priority without a profit share", () => {
    expect(quoteFees({ baseFeePerGas: gwei("10"), policy, expectedProfitWei: 10n ** 18n, gas: 300_000n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("21"),
      maxPriorityFeePerGas: gwei("1"),
    });
  });

  it("tips a share of the expected profit spread over the gas limit", () => {
    // 10% of 0.003 ETH over 300k gas = 1 gwei extra.
    const p = { ...policy, profitPriorityPpm: shareToPpm(0.1) };
    expect(quoteFees({ baseFeePerGas: gwei("10"), policy: p, expectedProfitWei: gwei("3000000"), gas: 300_000n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("22"),
      maxPriorityFeePerGas: gwei("2"),
    });
    // A loss tips nothing extra.
    expect(quoteFees({ baseFeePerGas: gwei("10"), policy: p, expectedProfitWei: -gwei("3000000"), gas: 300_000n })).toMatchObject({
      maxPriorityFeePerGas: gwei("1"),
    });
  });

  it("caps maxFee, cuts the tip to what the cap leaves above the base fee, refuses a base fee above the cap", () => {
    expect(quoteFees({ baseFeePerGas: gwei("60"), policy, expectedProfitWei: 0n, gas: 1n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("100"),
      maxPriorityFeePerGas: gwei("1"),
    });
    expect(quoteFees({ baseFeePerGas: gwei("99.5"), policy, expectedProfitWei: 0n, gas: 1n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("100"),
      maxPriorityFeePerGas: gwei("0.5"),
    });
    expect(quoteFees({ baseFeePerGas: gwei("100.000000001"), policy, expectedProfitWei: 0n, gas: 1n })).toMatchObject({
      ok: false,
      reason: "fee_above_cap",
    });
  });

  it("shareToPpm rejects shares outside [0, 1]", () => {
    expect(shareToPpm(0.25)).toBe(250_000n);
    expect(() => shareToPpm(1.5)).toThrow(RangeError);
    expect(() => shareToPpm(Number.NaN)).toThrow(RangeError);
  });
});

describe("bumpFees", () => {
  it("raises both fields by at least 12.5%, or to a fresh quote when the base fee rose more", () => {
    const prev = { maxFeePerGas: gwei("21"), maxPriorityFeePerGas: gwei("1") };
    expect(bumpFees(prev, { baseFeePerGas: gwei("10"), policy, expectedProfitWei: 0n, gas: 1n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("23.625"),
      maxPriorityFeePerGas: gwei("1.125"),
    });
    expect(bumpFees(prev, { baseFeePerGas: gwei("20"), policy, expectedProfitWei: 0n, gas: 1n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("41"),
      maxPriorityFeePerGas: gwei("1.125"),
    });
  });

  it("never goes above the cap; no room for a valid bump means no replacement", () => {
    const prev = { maxFeePerGas: gwei("95"), maxPriorityFeePerGas: gwei("1") };
    expect(bumpFees(prev, { baseFeePerGas: gwei("10"), policy, expectedProfitWei: 0n, gas: 1n })).toMatchObject({
      ok: false,
      reason: "fee_cap_reached",
    });
    // Required 99 (88 + 12.5%), fresh quote 101 (2 × 50 + 1): capped at 100.
    const nearCap = { maxFeePerGas: gwei("88"), maxPriorityFeePerGas: gwei("1") };
    expect(bumpFees(nearCap, { baseFeePerGas: gwei("50"), policy, expectedProfitWei: 0n, gas: 1n })).toEqual({
      ok: true,
      maxFeePerGas: gwei("100"),
      maxPriorityFeePerGas: gwei("1.125"),
    });
  });

  it("bumps zero fees by at least one wei", () => {
    expect(bumped(0n)).toBe(1n);
    expect(bumped(1n)).toBe(2n);
    expect(bumped(8n)).toBe(9n);
  });

  it("property: a bump is a valid replacement (≥ +12.5% on both fields) within the cap, or refused", () => {
    const wei = fc.bigInt({ min: 0n, max: 10n ** 12n });
    fc.assert(
      fc.property(wei, wei, wei, wei, fc.bigInt({ min: 1n, max: 10n ** 13n }), (a, b, base, profit, cap) => {
        const prev = { maxFeePerGas: a > b ? a : b, maxPriorityFeePerGas: a > b ? b : a };
        const p: FeePolicy = { feeCapWei: cap, priorityFeeWei: cap / 10n, profitPriorityPpm: 100_000n };
        const q = bumpFees(prev, { baseFeePerGas: base, policy: p, expectedProfitWei: profit, gas: 100_000n });
        if (!q.ok) return;
        expect(q.maxFeePerGas).toBeLessThanOrEqual(cap);
        expect(q.maxPriorityFeePerGas).toBeLessThanOrEqual(q.maxFeePerGas);
        expect(q.maxFeePerGas * 1_000_000n).toBeGreaterThanOrEqual(prev.maxFeePerGas * (1_000_000n + REPLACEMENT_BUMP_PPM));
        expect(q.maxPriorityFeePerGas * 1_000_000n).toBeGreaterThanOrEqual(prev.maxPriorityFeePerGas * (1_000_000n + REPLACEMENT_BUMP_PPM));
        expect(q.maxFeePerGas).toBeGreaterThanOrEqual(base); // includable at the current base fee
      }),
    );
  });

  it("property: a quote is within the cap and includable at the current base fee", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (base, cap) => {
        const p = { ...policy, feeCapWei: cap, priorityFeeWei: cap / 4n };
        const q = quoteFees({ baseFeePerGas: base, policy: p, expectedProfitWei: 0n, gas: 1n });
        if (!q.ok) {
          expect(base).toBeGreaterThan(cap);
          return;
        }
        expect(q.maxFeePerGas).toBeLessThanOrEqual(cap);
        expect(q.maxFeePerGas).toBeGreaterThanOrEqual(base + q.maxPriorityFeePerGas);
      }),
    );
  });
});
