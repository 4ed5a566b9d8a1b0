/**
 * The reference market's liquidation reverts, decoded from its ABI custom errors (never from
 * revert text), and what the executor does about each.
 */
import { decodeErrorResult, type Address, type Hex } from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import type { DecodedRevert, RevertAction } from "../../execute/calls.ts";

/** A batch item's `revertData`, decoded with the market's ABI; "unknown" when it does not decode. */
export function decodeRevertData(data: Hex): DecodedRevert {
  try {
    const d = decodeErrorResult({ abi: PerpMarket.abi, data });
    return { errorName: d.errorName, args: d.args ?? [] };
  } catch {
    return { errorName: "unknown", args: [] };
  }
}

const SKIP = new Set(["NotLiquidatable", "NoPosition", "SliceTooLarge", "SizeNotLotMultiple", "ZeroSize", "UnknownMarket", "AdlRequired"]);

/** The market refuses its mark (one feed stale or invalid; an index with too few fresh feeds, or spread beyond its guard). */
const MARKET_PRICE = new Set(["StalePrice", "InvalidPrice", "TooFewFreshFeeds", "PriceDeviation"]);

/** Map a decoded liquidation revert to its action (see {@link RevertAction}). */
export function revertAction(d: DecodedRevert, item: { account: Address; marketId: number }): RevertAction {
  const { errorName, args } = d;
  if (SKIP.has(errorName)) return { kind: "skip", errorName };
  if (errorName === "CooldownActive") {
    const endsAt = typeof args[1] === "bigint" ? args[1] : 0n;
    const account = typeof args[0] === "string" ? (args[0] as Address) : item.account;
    return { kind: "cooldown", errorName, account, endsAt };
  }
  if (MARKET_PRICE.has(errorName)) {
    const marketId = typeof args[0] === "bigint" ? Number(args[0]) : item.marketId;
    return { kind: "market_backoff", errorName, marketId };
  }
  return { kind: "unknown", errorName };
}
