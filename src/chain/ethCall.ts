/**
 * One eth_call that tells a revert from a failure: a call that reverted answers `undefined` (the
 * contract has no such function, or refused), anything else (a timeout, a node error) is thrown,
 * never taken for an answer. The Chainlink feed reads, the price publisher's proxy check and the
 * OP-stack GasPriceOracle reads all go through it.
 */
import { toHex, type Address, type Hex, type PublicClient } from "viem";
import { classifyRpcError } from "../lib/rpcErrors.ts";

/** eth_call at a block number (the latest block when undefined). */
export type CallAtNumber = (to: Address, data: Hex, block: bigint | undefined) => Promise<Hex | undefined>;

export function ethCallAt(client: Pick<PublicClient, "request">): CallAtNumber {
  return async (to, data, block) => {
    try {
      return await client.request({ method: "eth_call", params: [{ to, data }, block === undefined ? "latest" : toHex(block)] });
    } catch (e) {
      if (classifyRpcError(e) === "revert") return undefined;
      throw e;
    }
  };
}
