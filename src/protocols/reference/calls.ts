/**
 * The reference market's liquidation calls: one item → liquidate(), more → liquidateBatch().
 * `isolate`: liquidateBatch() even for one item, so that an item another keeper took first fails
 * alone (a LiquidationFailed event) instead of reverting the transaction.
 */
import { decodeFunctionResult, encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import type { ItemOutcome, LiquidationCall, LiquidationCalls } from "../../execute/calls.ts";
import type { LiquidationItem } from "../../execute/types.ts";
import { failedOnPlanState, withCooldownEnd } from "./failedItems.ts";
import { decodeLiquidationLogs } from "./receipt.ts";
import { decodeRevertData, revertAction } from "./reverts.ts";

const abi = PerpMarket.abi;

type Request = { account: Address; marketId: bigint; size: bigint };
type Client = Pick<PublicClient, "call" | "readContract" | "simulateContract" | "estimateContractGas">;

export function liquidationCall(items: readonly LiquidationItem[], opts: { isolate?: boolean } = {}): LiquidationCall {
  if (items.length === 0) throw new RangeError("a liquidation call needs at least one item");
  if (items.length === 1 && !opts.isolate) {
    const i = items[0]!;
    const args = [i.account, BigInt(i.marketId), i.size] as const;
    return { functionName: "liquidate", batch: false, args, data: encodeFunctionData({ abi, functionName: "liquidate", args }) };
  }
  const requests: Request[] = items.map((i) => ({ account: i.account, marketId: BigInt(i.marketId), size: i.size }));
  const args = [requests] as const;
  return { functionName: "liquidateBatch", batch: true, args, data: encodeFunctionData({ abi, functionName: "liquidateBatch", args }) };
}

/** liquidate() returns the keeper's reward; liquidateBatch() one outcome per item. */
function outcomes(call: LiquidationCall, result: unknown): ItemOutcome[] {
  if (!call.batch) return [{ ok: true, keeperReward: result as bigint, revertData: "0x" }];
  return (result as readonly ItemOutcome[]).map((o) => ({ ok: o.ok, keeperReward: o.keeperReward, revertData: o.revertData }));
}

function decodeOutcomes(call: LiquidationCall, returnData: Hex): ItemOutcome[] {
  return call.batch
    ? outcomes(call, decodeFunctionResult({ abi, functionName: "liquidateBatch", data: returnData }))
    : outcomes(call, decodeFunctionResult({ abi, functionName: "liquidate", data: returnData }));
}

/** The reference market's calls, sent to `market`. */
export function referenceCalls(market: Address): LiquidationCalls {
  const base = { address: market, abi } as const;
  return {
    target: market,
    encode: liquidationCall,
    restore: (items, functionName) => liquidationCall(items, { isolate: functionName === "liquidateBatch" }),
    decodeOutcomes,
    async simulate(client: Client, call, from) {
      const r = call.batch
        ? await client.simulateContract({ ...base, account: from, functionName: "liquidateBatch", args: call.args as readonly [readonly Request[]] })
        : await client.simulateContract({ ...base, account: from, functionName: "liquidate", args: call.args as readonly [Address, bigint, bigint] });
      return outcomes(call, r.result);
    },
    // `prepare: false` avoids fee and nonce look-ups.
    estimateGas: (client: Client, call, from) =>
      call.batch
        ? client.estimateContractGas({ ...base, account: from, prepare: false, functionName: "liquidateBatch", args: call.args as readonly [readonly Request[]] })
        : client.estimateContractGas({ ...base, account: from, prepare: false, functionName: "liquidate", args: call.args as readonly [Address, bigint, bigint] }),
    decodeRevert: decodeRevertData,
    revertAction,
    completeRevert: (client, d, account) => withCooldownEnd(client, market, d, account),
    decodeReceipt: (logs, keeper) => decodeLiquidationLogs(logs, { market, keeper }),
    failsAt: (client, p) => failedOnPlanState(client, { market, keeper: p.keeper, call: p.call, priceBlock: p.block, failed: p.failed }),
  };
}
