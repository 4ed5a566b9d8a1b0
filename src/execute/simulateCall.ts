/**
 * One execution of a call on the latest state that returns both its outcome and its gas:
 * `eth_simulateV1` (geth ≥ 1.14.9, reth, erigon, nethermind, anvil). The classic pair,
 * `eth_call` + `eth_estimateGas`, executes the call ~15–20 times (the estimate is a binary search),
 * which at a price move with dozens of batches in flight costs more than everything else on the
 * price-to-broadcast path. Nodes without the method answer "method not found"; the caller then
 * falls back to the pair for good.
 */
import { BaseError as ViemBaseError, MethodNotFoundRpcError, MethodNotSupportedRpcError, type Address, type Hex, type PublicClient } from "viem";

export type CallSimulation = {
  status: "success" | "reverted";
  /** Return data on success, revert data on revert ("0x" when the node gives none). */
  returnData: Hex;
  /** Gas the transaction would use (after refunds, as a receipt reports it). */
  gasUsed: bigint;
};

type SimulatedCall = {
  status: Hex;
  returnData?: Hex;
  gasUsed: Hex;
  error?: { code?: number; message?: string; data?: Hex };
};

/**
 * Simulate `{ from, to, data }` on the latest block. Returns `undefined` when the node does not
 * support `eth_simulateV1`; throws on any other RPC failure.
 */
export async function simulateCall(
  client: Pick<PublicClient, "request">,
  call: { from: Address; to: Address; data: Hex },
): Promise<CallSimulation | undefined> {
  let blocks: { calls: SimulatedCall[] }[];
  try {
    blocks = (await client.request({
      method: "eth_simulateV1",
      params: [{ blockStateCalls: [{ calls: [call] }], validation: false }, "latest"],
    } as never)) as { calls: SimulatedCall[] }[];
  } catch (e) {
    if (isUnsupported(e)) return undefined;
    throw e;
  }
  const c = blocks[0]?.calls[0];
  if (!c) throw new Error("eth_simulateV1 answered without a call result");
  const ok = BigInt(c.status) === 1n;
  return {
    status: ok ? "success" : "reverted",
    returnData: (ok ? c.returnData : (c.error?.data ?? c.returnData)) ?? "0x",
    gasUsed: BigInt(c.gasUsed),
  };
}

/**
 * A gas limit that covers a call measured at `gasUsed`: the refund (at most a fifth of the gas
 * before it, so ≤ ¼ of what is left) comes back on top, and a nested call (liquidateBatch's
 * self-call) only gets 63/64 of what remains. The executor adds its own margin after this.
 */
export function gasLimitFromUsed(gasUsed: bigint): bigint {
  return (gasUsed * 5n * 64n + 4n * 63n - 1n) / (4n * 63n) + 5_000n;
}

function isUnsupported(e: unknown): boolean {
  if (!(e instanceof ViemBaseError)) return false;
  return e.walk((x) => x instanceof MethodNotFoundRpcError || x instanceof MethodNotSupportedRpcError || (x as { code?: unknown }).code === -32601) !== null;
}
