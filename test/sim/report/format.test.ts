import { describe, expect, it } from "vitest";
import {
  ReportNumberError,
  compareDecimal,
  formatCount,
  formatDecimal,
  formatDuration,
  formatPrice,
  formatUsd,
  formatUsdDelta,
  shortHex,
  sumDecimal,
  toChartNumber,
} from "../../../src/sim/report/render/format.ts";

describe("formatUsd", () => {
  it.each([
    ["0", "$0.00"],
    ["1234.567891", "$1,234.57"],
    ["1234567.5", "$1,234,567.50"],
    ["-1234.5", "-$1,234.50"],
    ["999.995", "$1,000.00"], // half-even at the third decimal: 999.995 → 1,000.00 (5 after an odd 9)
    ["0.125", "$0.12"], // half-even
    ["0.135", "$0.14"],
    ["12", "$12.00"],
    [".5", "$0.50"],
  ])("%s → %s", (input, out) => {
    expect(formatUsd(input)).toBe(out);
  });

  it("keeps the sign of a loss that rounds to zero", () => {
    expect(formatUsd("-0.000001")).toBe("-$0.00");
    expect(formatUsd("-0")).toBe("$0.00");
  });

  it("is exact far beyond float precision", () => {
    expect(formatUsd("123456789012345678901234.565")).toBe("$123,456,789,012,345,678,901,234.56");
    expect(formatUsd("9007199254740993.01")).toBe("$9,007,199,254,740,993.01");
  });

  it("refuses what is not a decimal string", () => {
    for (const bad of ["", "abc", "1e5", "1,000", "NaN", "Infinity", "--1", "0x10"]) {
      expect(() => formatUsd(bad), bad).toThrow(ReportNumberError);
    }
  });
});

describe("other formats", () => {
  it("formatUsdDelta shows a sign on gains", () => {
    expect(formatUsdDelta("12")).toBe("+$12.00");
    expect(formatUsdDelta("-3.5")).toBe("-$3.50");
    expect(formatUsdDelta("0")).toBe("$0.00");
    expect(formatUsdDelta("0.001")).toBe("+$0.00");
  });

  it("formatDecimal separates thousands and rounds to the places asked", () => {
    expect(formatDecimal("1234.56789", 4)).toBe("1,234.5679");
    expect(formatDecimal("-1000000", 0)).toBe("-1,000,000");
    expect(formatDecimal("0.00004", 4)).toBe("0.0000");
    expect(formatDecimal("-0.00004", 4)).toBe("-0.0000");
  });

  it("formatPrice picks decimals by magnitude", () => {
    expect(formatPrice("57040.4139")).toBe("$57,040.41");
    expect(formatPrice("2.34567")).toBe("$2.3457");
    expect(formatPrice("0.4761904")).toBe("$0.476190");
  });

  it("formatCount", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(-1234)).toBe("-1,234");
  });

  it("formatDuration", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_345)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
  });

  it("shortHex", () => {
    expect(shortHex("0x1234567890abcdef1234567890abcdef12345678")).toBe("0x1234…5678");
    expect(shortHex("0x1234")).toBe("0x1234");
  });

  it("compares and sums exactly", () => {
    expect(compareDecimal("0.1", "0.10")).toBe(0);
    expect(compareDecimal("-2", "1")).toBeLessThan(0);
    expect(compareDecimal("100000000000000000000.000001", "100000000000000000000")).toBeGreaterThan(0);
    expect(sumDecimal(["0.1", "0.2", "-0.3"])).toBe("0");
    expect(sumDecimal([])).toBe("0");
    expect(toChartNumber("-1234.5")).toBe(-1234.5);
  });
});
