/** Re-validation of a stuck transaction's items before a fee bump (no chain). */
import { describe, expect, it } from "vitest";
import { revalidate } from "../../src/execute/revalidate.ts";

describe("defect 5: a stuck transaction's items are re-validated", () => {
  it("keep, re-plan smaller or fewer, or cancel", () => {
    const i = (account: `0x${string}`, size: bigint) => ({ account, marketId: 0, size, expectedRewardTokens: size * 10n });
    const [x, y] = [i("0x0000000000000000000000000000000000000001", 100n), i("0x0000000000000000000000000000000000000002", 100n)];
    const max = new Map<string, bigint>([[x.account, 100n], [y.account, 100n]]);
    const check = { isStillValid: (it: typeof x) => it.size <= (max.get(it.account) ?? 0n), sizeNow: (it: typeof x) => max.get(it.account) ?? 0n };
    expect(revalidate([x, y], check)).toEqual({ kind: "keep" });
    max.set(y.account, 40n); // a competitor's step shrank y: a smaller slice is still allowed
    expect(revalidate([x, y], check)).toEqual({ kind: "replan", items: [x, { ...y, size: 40n, expectedRewardTokens: 400n }], dropped: [] });
    max.set(y.account, 0n); // y is gone
    expect(revalidate([x, y], check)).toEqual({ kind: "replan", items: [x], dropped: [y] });
    max.set(x.account, 0n);
    expect(revalidate([x, y], check)).toEqual({ kind: "cancel" });
  });
});
