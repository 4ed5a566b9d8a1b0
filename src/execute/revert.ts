/**
 * Liquidation reverts, decoded from the market's ABI custom errors (never from revert text), and
 * what the executor does about each.
 */
import { BaseError as ViemBaseError, ContractFunctionRevertedError, decodeErrorResult, type Address, type Hex } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";

export type DecodedRevert = { errorName: string; args: readonly unknown[] };

/**
 * The custom error inside a viem contract error (simulateContract, estimateContractGas):
 * `undefined` when `e` is not a revert (an RPC failure, a timeout), `{ errorName: "unknown" }`
 * when it is a revert the ABI does not decode (no data, a panic, a foreign error).
 */
export function decodeContractRevert(e: unknown): DecodedRevert | undefined {
  if (!(e instanceof ViemBaseError)) return undefined;
  const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined;
  const name = reverted.data?.errorName;
  if (name === undefined) return { errorName: "unknown", args: [] };
  return { errorName: name, args: reverted.data?.args ?? [] };
}

/** A batch item's `revertData`, decoded with the market's ABI; "unknown" when it does not decode. */
export function decodeRevertData(data: Hex): DecodedRevert {
  try {
    const d = decodeErrorResult({ abi: PerpMarket.abi, data });
    return { errorName: d.errorName, args: d.args ?? [] };
  } catch {
    return { errorName: "unknown", args: [] };
  }
}

/** What a decoded revert means for the executor. */
export type RevertAction =
  /** The state moved or the plan was wrong for it: drop the item, no backoff. */
  | { kind: "skip"; errorName: string }
  /** The account is in its partial-liquidation cooldown until `endsAt` (chain time, seconds). */
  | { kind: "cooldown"; errorName: string; account: Address; endsAt: bigint }
  /** The market's price feed is stale or invalid: back off the market for a few seconds. */
  | { kind: "market_backoff"; errorName: string; marketId: number }
  /** A revert the executor does not know: drop the item and log it. */
  | { kind: "unknown"; errorName: string };

const SKIP = new Set(["NotLiquidatable", "NoPosition", "SliceTooLarge", "SizeNotLotMultiple", "ZeroSize", "UnknownMarket"]);

/** Map a decoded liquidation revert to its action (see {@link RevertAction}). */
export function revertAction(d: DecodedRevert, item: { account: Address; marketId: number }): RevertAction {
  const { errorName, args } = d;
  if (SKIP.has(errorName)) return { kind: "skip", errorName };
  if (errorName === "CooldownActive") {
    const endsAt = typeof args[1] === "bigint" ? args[1] : 0n;
    const account = typeof args[0] === "string" ? (args[0] as Address) : item.account;
    return { kind: "cooldown", errorName, account, endsAt };
  }
  if (errorName === "StalePrice" || errorName === "InvalidPrice") {
    const marketId = typeof args[0] === "bigint" ? Number(args[0]) : item.marketId;
    return { kind: "market_backoff", errorName, marketId };
  }
  return { kind: "unknown", errorName };
}
