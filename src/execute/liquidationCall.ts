/**
 * The market call for a list of liquidation items: one → liquidate(), more → liquidateBatch().
 * `isolate`: liquidateBatch() even for one item, so that an item another keeper took first fails
 * alone (a LiquidationFailed event) instead of reverting the transaction.
 */
import { encodeFunctionData, type Address, type Hex } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { LiquidationItem } from "./types.ts";

export type LiquidationCall =
  | { functionName: "liquidate"; args: readonly [Address, bigint, bigint]; data: Hex }
  | {
      functionName: "liquidateBatch";
      args: readonly [readonly { account: Address; marketId: bigint; size: bigint }[]];
      data: Hex;
    };

export function liquidationCall(items: readonly LiquidationItem[], opts: { isolate?: boolean } = {}): LiquidationCall {
  if (items.length === 0) throw new RangeError("a liquidation call needs at least one item");
  if (items.length === 1 && !opts.isolate) {
    const i = items[0]!;
    const args = [i.account, BigInt(i.marketId), i.size] as const;
    return { functionName: "liquidate", args, data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "liquidate", args }) };
  }
  const requests = items.map((i) => ({ account: i.account, marketId: BigInt(i.marketId), size: i.size }));
  const args = [requests] as const;
  return { functionName: "liquidateBatch", args, data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "liquidateBatch", args }) };
}
