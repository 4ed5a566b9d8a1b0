import {
  HttpRequestError,
  InvalidInputRpcError,
  NonceTooLowError,
  RpcRequestError,
  TransactionRejectedRpcError,
  encodeErrorResult,
  getAddress,
  type Hex,
} from "viem";
import { describe, expect, it } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { decodeRevertData, revertAction } from "../../src/protocols/reference/reverts.ts";
import { ReplacementUnderpricedError, classifySendError } from "../../src/execute/sendError.ts";

/** The error viem's http transport throws for a JSON-RPC error answer. */
function nodeError(code: -32000 | -32003, message: string) {
  const cause = new RpcRequestError({ body: {}, error: { code, message }, url: "http://node" });
  return code === -32003 ? new TransactionRejectedRpcError(cause) : new InvalidInputRpcError(cause);
}

describe("classifySendError", () => {
  it.each([
    [-32003, "nonce too low", "nonce_too_low"], // Anvil
    [-32000, "nonce too low: next nonce 5, tx nonce 4", "nonce_too_low"], // geth
    [-32003, "transaction already imported", "nonce_too_low"], // Anvil's "already known"
    [-32000, "already known", "nonce_too_low"], // geth
    [-32000, "nonce too high", "nonce_too_high"],
    [-32003, "max fee per gas less than block base fee", "fee_too_low"],
    [-32000, "insufficient funds for gas * price + value", "insufficient_funds"],
    [-32000, "replacement transaction underpriced", "underpriced"], // geth
    [-32000, "ReplacementFeeTooLow", "underpriced"], // Nethermind
    [-32000, "transaction underpriced", "unknown"], // below the pool's minimum: not a nonce matter
    [-32000, "something else entirely", "unknown"],
  ] as const)("code %i %j → %s", (code, message, kind) => {
    expect(classifySendError(nodeError(code, message), 4).kind).toBe(kind);
  });

  it("keeps viem's class for the caller and wraps underpriced in its own", () => {
    expect(classifySendError(nodeError(-32003, "nonce too low")).error).toBeInstanceOf(NonceTooLowError);
    expect(classifySendError(nodeError(-32000, "replacement transaction underpriced")).error).toBeInstanceOf(ReplacementUnderpricedError);
  });

  it("a transport failure or a foreign error is unknown", () => {
    expect(classifySendError(new HttpRequestError({ url: "http://node", details: "timeout" })).kind).toBe("unknown");
    expect(classifySendError(new Error("boom")).kind).toBe("unknown");
  });
});

describe("revert decoding", () => {
  const account = "0x00000000000000000000000000000000000000aa" as const;
  const encode = (errorName: string, args: readonly unknown[]): Hex =>
    encodeErrorResult({ abi: PerpMarket.abi, errorName, args } as Parameters<typeof encodeErrorResult>[0]);

  it("maps each liquidation error to its action", () => {
    const item = { account, marketId: 2 };
    const notLiquidatable = decodeRevertData(encode("NotLiquidatable", [account, 1n, 2n]));
    expect(revertAction(notLiquidatable, item)).toEqual({ kind: "skip", errorName: "NotLiquidatable" });
    expect(revertAction(decodeRevertData(encode("SliceTooLarge", [5n, 4n])), item)).toMatchObject({ kind: "skip" });
    expect(revertAction(decodeRevertData(encode("SizeNotLotMultiple", [5n, 4n])), item)).toMatchObject({ kind: "skip" });
    expect(revertAction(decodeRevertData(encode("NoPosition", [account, 2n])), item)).toMatchObject({ kind: "skip" });
    expect(revertAction(decodeRevertData(encode("CooldownActive", [account, 1_700_000_000n])), item)).toEqual({
      kind: "cooldown",
      errorName: "CooldownActive",
      account: getAddress(account),
      endsAt: 1_700_000_000n,
    });
    expect(revertAction(decodeRevertData(encode("StalePrice", [1n, 10n, 3600n])), item)).toEqual({
      kind: "market_backoff",
      errorName: "StalePrice",
      marketId: 1,
    });
    expect(revertAction(decodeRevertData(encode("InvalidPrice", [2n, 0n])), item)).toMatchObject({ kind: "market_backoff", marketId: 2 });
  });

  it("undecodable revert data is unknown, not a throw", () => {
    expect(decodeRevertData("0x")).toEqual({ errorName: "unknown", args: [] });
    expect(decodeRevertData("0xdeadbeef")).toEqual({ errorName: "unknown", args: [] });
    expect(revertAction({ errorName: "unknown", args: [] }, { account, marketId: 0 })).toEqual({ kind: "unknown", errorName: "unknown" });
  });
});
