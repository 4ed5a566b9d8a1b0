/**
 * Batch items that failed inside a mined transaction (LiquidationFailed events): what the chain
 * says about them, and whether the engine should have known.
 *
 * A transaction sent on the engine's word goes out as liquidateBatch, so a wrong engine shows up
 * as failed items in a successful receipt, not as a reverted transaction. To tell "the engine was
 * wrong" from "someone got there first", the same call is executed again on the state the plan
 * was made on (the end of its `priceBlock`): an item that fails there too failed on the very state
 * the engine valued, so the engine and the contract disagree.
 */
import { decodeFunctionResult, isAddressEqual, type Address, type Hex, type PublicClient } from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import type { DecodedRevert, FailedItem, LiquidationCall } from "../../execute/calls.ts";

/**
 * `d` with the cooldown's end filled in from the chain when a CooldownActive outcome lacks it:
 * the account's `cooldownEndsAt` (lastPartialAt + cooldown) read from `accountHealth`.
 */
export async function withCooldownEnd(
  client: Pick<PublicClient, "readContract">,
  market: Address,
  d: DecodedRevert,
  account: Address,
): Promise<DecodedRevert> {
  if (d.errorName !== "CooldownActive") return d;
  if (typeof d.args[1] === "bigint" && d.args[1] > 0n) return d;
  const h = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountHealth", args: [account] });
  return { errorName: d.errorName, args: [account, h.cooldownEndsAt] };
}

/**
 * Whether any of the `failed` items of the liquidateBatch `call` also fails on the state at the end
 * of `priceBlock` (the engine's state). `undefined` when that cannot be told (the call could not be
 * executed there: pruned state, an RPC failure). A call that is not a batch tells nothing (false).
 */
export async function failedOnPlanState(
  client: Pick<PublicClient, "call">,
  p: { market: Address; keeper: Address; call: LiquidationCall; priceBlock: bigint; failed: readonly FailedItem[] },
): Promise<boolean | undefined> {
  if (!p.call.batch) return false;
  const requests = p.call.args[0] as readonly { account: Address; marketId: bigint }[];
  const indices = p.failed
    .map((f) => requests.findIndex((r) => isAddressEqual(r.account, f.account) && Number(r.marketId) === f.marketId))
    .filter((i) => i >= 0);
  let returned: Hex | undefined;
  try {
    const r = await client.call({ account: p.keeper, to: p.market, data: p.call.data, blockNumber: p.priceBlock });
    returned = r.data;
  } catch {
    return undefined;
  }
  if (returned === undefined) return undefined;
  try {
    const outcomes = decodeFunctionResult({ abi: PerpMarket.abi, functionName: "liquidateBatch", data: returned });
    return indices.some((i) => outcomes[i]?.ok !== true);
  } catch {
    return undefined;
  }
}
