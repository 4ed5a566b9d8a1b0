/** What the executor can take now: reservations per target and per account, and backoffs (no chain). */
import type { Address } from "viem";
import { describe, expect, it } from "vitest";
import { Admission } from "../../src/execute/admission.ts";

const A = "0x00000000000000000000000000000000000000aA" as Address;
const B = "0x00000000000000000000000000000000000000bB" as Address;

describe("defect 6: reservations cover the whole account", () => {
  it("a step in flight on one market of an account makes every market of that account busy until it is released", () => {
    const adm = new Admission(() => 0);
    adm.reserve([{ account: A, marketId: 0 }]);
    expect(adm.refusal({ account: A, marketId: 0 })).toEqual({ reason: "duplicate", key: `${A.toLowerCase()}:0` });
    expect(adm.refusal({ account: A, marketId: 1 })).toEqual({ reason: "account_busy", key: `a:${A.toLowerCase()}` });
    expect(adm.admissible({ account: B, marketId: 1 })).toBe(true);
    adm.release({ account: A, marketId: 0 });
    expect(adm.admissible({ account: A, marketId: 1 })).toBe(true);
    expect(adm.admissible({ account: A, marketId: 0 })).toBe(true);
  });
});

describe("defect 7: the backoffs map is pruned", () => {
  it("expired backoffs are dropped when a new one is added, so the map holds only what backs off now", () => {
    let clock = 0;
    const adm = new Admission(() => clock);
    for (let i = 0; i < 1_000; i++) adm.backOff(`m:${i}`, 1_000);
    expect(adm.backoffCount()).toBe(1_000);
    expect(adm.admissible({ account: A, marketId: 7 })).toBe(false);
    clock += 1_001;
    expect(adm.admissible({ account: A, marketId: 7 })).toBe(true);
    adm.backOff(`t:${B.toLowerCase()}:0`, 1_000);
    expect(adm.backoffCount()).toBe(1);
  });

  it("a shorter backoff never cuts a longer one short", () => {
    let clock = 0;
    const adm = new Admission(() => clock);
    adm.backOff(`a:${A.toLowerCase()}`, 60_000);
    adm.backOff(`a:${A.toLowerCase()}`, 1_000);
    clock += 30_000;
    expect(adm.refusal({ account: A, marketId: 0 })).toEqual({ reason: "backoff", key: `a:${A.toLowerCase()}` });
  });
});
