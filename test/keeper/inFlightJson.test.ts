/** The checkpoint's in-flight transactions keep what restore() needs to rebroadcast exactly (no chain). */
import { describe, expect, it } from "vitest";
import type { InFlightTx } from "../../src/execute/types.ts";
import { inFlightFromJson } from "../../src/keeper/checkpointFile.ts";
import { stringifyWithBigints } from "../../src/lib/json.ts";

describe("defect 7: restore() keeps the call that was sent and its profit", () => {
  it("an isolated lone item (liquidateBatch) and its expected profit survive the checkpoint", () => {
    const tx: InFlightTx = {
      hash: `0x${"ab".repeat(32)}`,
      nonce: 7,
      items: [{ account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", marketId: 2, size: 10n ** 21n, expectedRewardTokens: 4_758_750n }],
      sentAtBlock: 12n,
      maxFeePerGas: 3n * 10n ** 9n,
      maxPriorityFeePerGas: 10n ** 9n,
      replacements: 0,
      gas: 610_000n,
      functionName: "liquidateBatch",
      expectedProfitWei: 10n ** 16n,
    };
    const json = JSON.parse(stringifyWithBigints(tx, 0)) as Record<string, unknown>;
    expect(inFlightFromJson(json)).toEqual(tx);
  });
});
