import { describe, expect, test } from "vitest";
import { WAD } from "../../src/engine/index.ts";
import { formatPpm, formatUsd, formatWad, parseLeverage, parsePpm, parseSeconds, parseWad } from "../../src/lib/units.ts";

describe("human numbers", () => {
  test("rates, leverage, amounts and durations parse exactly", () => {
    expect(parsePpm("0.5%")).toBe(5_000n);
    expect(parsePpm("0.005")).toBe(5_000n);
    expect(parsePpm("50bps")).toBe(5_000n);
    expect(parsePpm("66.6667%")).toBe(666_667n);
    expect(parseLeverage("50x")).toBe(50n);
    expect(parseWad("250,000")).toBe(250_000n * WAD);
    expect(parseWad("0.000000000000000001")).toBe(1n);
    expect(parseWad("-1.5")).toBe(-15n * 10n ** 17n);
    expect(parseSeconds("5m")).toBe(300n);
  });

  test("values that do not fit the unit are refused, not rounded", () => {
    expect(() => parsePpm("0.00001%")).toThrow(/more precision/);
    expect(() => parseWad("1e-19")).toThrow(/more precision/);
    expect(() => parseLeverage("2.5x")).toThrow(/more precision/);
    expect(() => parseLeverage("0x")).toThrow(/at least 1x/);
    expect(() => parsePpm("-1%")).toThrow(/negative/);
    expect(() => parseWad("12abc")).toThrow(/not a number/);
  });

  test("formatting", () => {
    expect(formatWad(1_234_567n * 10n ** 16n)).toBe("12,345.67");
    expect(formatUsd(-12n * WAD)).toBe("-$12.00");
    expect(formatPpm(5_000n)).toBe("0.5%");
  });
});
