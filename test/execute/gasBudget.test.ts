import { describe, expect, it } from "vitest";
import { GasBudget, HOUR_MS } from "../../src/execute/gasBudget.ts";

describe("GasBudget", () => {
  it("counts spends within a sliding hour, with pending and a candidate on top", () => {
    let t = 0;
    const b = new GasBudget({ budgetWei: 100n, now: () => t });
    b.record(40n);
    t = 1_000;
    b.record(30n);
    expect(b.spent()).toBe(70n);
    expect(b.allows(20n, 10n)).toBe(true); // 70 + 20 + 10 = 100
    expect(b.allows(20n, 11n)).toBe(false);
    expect(b.hasRoom(29n)).toBe(true);
    expect(b.hasRoom(30n)).toBe(false);
    t = HOUR_MS; // the first spend is exactly an hour old: out
    expect(b.spent()).toBe(30n);
    t = HOUR_MS + 1_000;
    expect(b.spent()).toBe(0n);
    expect(b.hasRoom(99n)).toBe(true);
  });

  it("ignores non-positive spends and rejects a negative budget", () => {
    const b = new GasBudget({ budgetWei: 0n, now: () => 0 });
    b.record(0n);
    expect(b.spent()).toBe(0n);
    expect(b.hasRoom(0n)).toBe(false); // a zero budget sends nothing
    expect(() => new GasBudget({ budgetWei: -1n, now: () => 0 })).toThrow(RangeError);
  });
});
