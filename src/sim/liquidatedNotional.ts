import type { Address, Chain, PublicClient, Transport } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { notional } from "../engine/index.ts";

/**
 * L of the impact model (src/sim/impact.ts) for one mined block: per market id, the signed notional
 * its `Liquidated` events closed, USD (WAD) at the fill price; closing a long counts positive (a
 * sale), closing a short negative. The side comes from the event's remaining size, or, for a full
 * close, from the position as it stood before the block (traders do not trade during a run, so a
 * position keeps its side until it is closed).
 */
export async function liquidatedNotionalIn(client: PublicClient<Transport, Chain>, market: Address, block: bigint): Promise<Map<number, bigint>> {
  const events = await client.getContractEvents({ address: market, abi: PerpMarket.abi, eventName: "Liquidated", fromBlock: block, toBlock: block, strict: true });
  const out = new Map<number, bigint>();
  for (const e of events) {
    const id = Number(e.args.marketId);
    let long: boolean;
    if (e.args.remainingSize !== 0n) long = e.args.remainingSize > 0n;
    else {
      const before = await client.readContract({ address: market, abi: PerpMarket.abi, functionName: "getPosition", args: [e.args.account, e.args.marketId], blockNumber: block - 1n });
      long = before.size > 0n;
    }
    const n = notional(e.args.size, e.args.price);
    out.set(id, (out.get(id) ?? 0n) + (long ? n : -n));
  }
  return out;
}
