/**
 * The keeper bench's figures, computed after the race from what the chain and the counting proxies
 * recorded: each round's targets (read at the price block), which keeper caught each target and in
 * which block, each keeper's reaction (price block mined → its eth_sendRawTransaction answered, for
 * the first target and the slowest one), and our daemon's own time against its waits on the node.
 */
import { decodeFunctionData, getAddress, parseEventLogs, parseTransaction, type Address, type Hex, type Log, type PublicClient } from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import type { CountingProxy, RpcSpan, SendSeen } from "./countingProxy.ts";
import { MULTICALL3 } from "./setup.ts";

export type Round = { round: number; phase: string; market: string; direction: string; priceBlock: bigint; minedAt: number; endAt: number; targets: Set<Address> };

export const pct = (xs: readonly number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!.toFixed(2);
};

/** Accounts liquidatable with a slice > 0 at `block`, read at that block through Multicall3. */
export async function roundTargets(pub: PublicClient, market: Address, traders: readonly Address[], block: bigint): Promise<Set<Address>> {
  const at = { blockNumber: block, multicallAddress: MULTICALL3, allowFailure: false } as const;
  const liquidatable = (await pub.multicall({ contracts: traders.map((a) => ({ address: market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [a] }) as const), batchSize: 40_000, ...at })) as boolean[];
  const found = traders.filter((_, i) => liquidatable[i]);
  const mkts = (await pub.multicall({ contracts: found.map((a) => ({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [a] }) as const), ...at })) as (readonly bigint[])[];
  const pairs = found.flatMap((a, i) => mkts[i]!.map((id) => ({ a, id })));
  const sizes = (await pub.multicall({ contracts: pairs.map((p) => ({ address: market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [p.a, p.id] }) as const), ...at })) as bigint[];
  return new Set(pairs.filter((_, i) => sizes[i]! > 0n).map((p) => getAddress(p.a)));
}

/** Liquidated events from `from` to `to`, a few blocks at a time (a node caps answer sizes). */
export async function liquidatedEvents(pub: PublicClient, market: Address, from: bigint, to: bigint) {
  const event = PerpMarket.abi.find((x) => x.type === "event" && x.name === "Liquidated")!;
  const logs: Log[] = [];
  for (let f = from; f <= to; f += 8n) logs.push(...(await pub.getLogs({ address: market, event: event as never, fromBlock: f, toBlock: f + 7n < to ? f + 7n : to })));
  return parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" });
}

/** The accounts a raw liquidation transaction names (liquidate or liquidateBatch). */
export function accountsOfRaw(raw: Hex): Address[] {
  try {
    const tx = parseTransaction(raw);
    const call = decodeFunctionData({ abi: PerpMarket.abi, data: tx.data ?? "0x" });
    if (call.functionName === "liquidate") return [getAddress(call.args[0])];
    if (call.functionName === "liquidateBatch") return call.args[0].map((r) => getAddress(r.account));
  } catch {
    // Not a liquidation (a duty, a sweep): no target.
  }
  return [];
}

/** Per round: ms from the price block mined to a keeper's first answered send naming a target, and to the send that covered its slowest target. */
export function reactions(sends: readonly SendSeen[], rounds: readonly Round[]) {
  return rounds.map((r) => {
    const firstFor = new Map<Address, number>();
    for (const s of sends) {
      if (!s.ok || s.at < r.minedAt || s.at > r.endAt) continue;
      for (const a of accountsOfRaw(s.raw)) if (r.targets.has(a) && !firstFor.has(a)) firstFor.set(a, s.at - r.minedAt);
    }
    const ms = [...firstFor.values()];
    return { round: r.round, covered: ms.length, firstMs: ms.length ? Math.min(...ms) : null, lastMs: ms.length ? Math.max(...ms) : null };
  });
}

/** Length of the union of [start, end] intervals clipped to [from, to]. */
function unionWithin(spans: readonly { start: number; end: number }[], from: number, to: number): number {
  const xs = spans.map((s) => [Math.max(from, s.start), Math.min(to, s.end)] as const).filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [a, b] of xs) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/**
 * Our daemon's reaction to one price block, split at the proxy: from the block mined to the head
 * reaching the daemon (the node's newHeads, or the poll that saw it), then until its first send was
 * answered, the time with at least one of its requests outstanding (waits on the node, by method)
 * and the rest (the keeper's own: indexing, valuation, planning, signing, its event loop).
 */
export function ownTimeOf(proxy: CountingProxy, r: Round) {
  const head = proxy.heads.find((h) => h.number === r.priceBlock);
  if (!head) return undefined;
  const first = proxy.sends.filter((s) => s.ok && s.at >= head.at && s.at <= r.endAt && accountsOfRaw(s.raw).some((a) => r.targets.has(a))).sort((a, b) => a.at - b.at)[0];
  if (!first) return undefined;
  const done = proxy.spans.filter((s): s is RpcSpan & { end: number } => s.end !== undefined && s.end > head.at && s.start < first.at);
  const nodeMs = unionWithin(done, head.at, first.at);
  const byMethod: Record<string, number> = {};
  for (const s of done) byMethod[s.method] = +((byMethod[s.method] ?? 0) + Math.min(first.at, s.end) - Math.max(head.at, s.start)).toFixed(2);
  const total = first.at - head.at;
  return { headDeliveredMs: +(head.at - r.minedAt).toFixed(2), headToBroadcastMs: +total.toFixed(2), nodeWaitMs: +nodeMs.toFixed(2), ownMs: +(total - nodeMs).toFixed(2), waitByMethodMs: byMethod };
}
