/**
 * New heads over a WebSocket: `eth_subscribe("newHeads")` on one endpoint. viem's socket client is
 * used with `reconnect: false`: its own reconnect gives up after 5 attempts and says nothing when
 * it reconnects, so the head follower owns the lifecycle instead (src/keeper/subscribeHeads.ts):
 * a lost subscription is reported once through `onLost`, and the next `subscribe` opens a new
 * socket. Heads missed while the socket was down are not lost: the follower asks for `latest`
 * after every (re)subscription, and the index reads logs by block range from its last block to
 * whatever head it is handed.
 */
import { hexToBigInt, type Hex, type Transport } from "viem";
import { socketClientCache } from "viem/utils";
import { bloomOf, type BlockHead } from "../heads.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { dropClosedSocket, type Endpoint } from "./endpoints.ts";

export type NewHeadsHandlers = {
  onHead(head: BlockHead): void;
  /** The subscription is gone (the socket closed or failed); called at most once per subscription. */
  onLost(error: unknown): void;
};

/** A live subscription; `close` unsubscribes (best effort) and closes the socket. */
export type HeadSubscription = { close(): Promise<void> };

export type NewHeadsSource = {
  endpoint: Endpoint;
  /** Open a socket if need be and subscribe; rejects when that fails. */
  subscribe(handlers: NewHeadsHandlers): Promise<HeadSubscription>;
};

type RpcHeader = { number: Hex | null; hash: Hex | null; parentHash: Hex; timestamp: Hex; baseFeePerGas?: Hex | null; logsBloom?: Hex | null };

type SocketValue = {
  subscribe(args: { params: ["newHeads"]; onData: (data: { result?: RpcHeader }) => void; onError: (e: unknown) => void }): Promise<{ unsubscribe(): Promise<unknown> }>;
  getRpcClient(): Promise<{ socket: { readyState: number }; close(): void }>;
};

/** The header of a newHeads notification as a head, or undefined for a pending one. */
export function headOfNotification(h: RpcHeader): BlockHead | undefined {
  if (h.number === null || h.hash === null) return undefined;
  return {
    number: hexToBigInt(h.number),
    hash: h.hash,
    parentHash: h.parentHash,
    timestamp: hexToBigInt(h.timestamp),
    baseFeePerGas: h.baseFeePerGas === null || h.baseFeePerGas === undefined ? null : hexToBigInt(h.baseFeePerGas),
    ...bloomOf(h),
  };
}

/** newHeads on `endpoint`, through its transport (see endpointTransport: a `webSocket` one). */
export function newHeadsOf(endpoint: Endpoint, transport: Transport, metrics?: Pick<Metrics, "rpcRequests" | "rpcEndpointRequests">): NewHeadsSource {
  return {
    endpoint,
    async subscribe(handlers) {
      const t = transport({ retryCount: 0 });
      await dropClosedSocket(t);
      const value = t.value as SocketValue | undefined;
      if (!value?.subscribe) throw new Error(`${endpoint.id} is not a WebSocket endpoint`);
      let lost = false;
      const lose = (e: unknown) => {
        if (lost) return;
        lost = true;
        handlers.onLost(e);
      };
      metrics?.rpcRequests.inc({ method: "eth_subscribe" });
      metrics?.rpcEndpointRequests.inc({ endpoint: endpoint.id, method: "eth_subscribe" });
      const sub = await value.subscribe({
        params: ["newHeads"],
        onData: (data) => {
          const head = data.result ? headOfNotification(data.result) : undefined;
          if (head && !lost) handlers.onHead(head);
        },
        onError: lose,
      });
      return {
        async close() {
          lost = true;
          await Promise.race([sub.unsubscribe().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000).unref())]);
          (await value.getRpcClient().catch(() => undefined))?.close();
        },
      };
    },
  };
}

/** Close viem's cached sockets to these URLs (so a finished command can exit). */
export function closeSockets(urls: readonly string[]): void {
  for (const client of [...socketClientCache.values()]) if (urls.includes(client.url)) client.close();
}
