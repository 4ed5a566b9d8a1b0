/**
 * Send relays: `eth_sendRawTransaction` goes to the relays only (a private relay, Flashbots-Protect
 * style, keeps calldata out of the public mempool); every other request goes to the read
 * endpoints, and no read ever reaches a relay. The routing is a transport, so the executor
 * (src/execute/broadcast.ts) sends through its wallet client as it always did.
 *
 * With several relays a transaction is broadcast to all of them: the first acceptance wins. When
 * none accepts, a relay's own refusal (nonce too low, underpriced, …) is the send's error, which
 * src/execute/sendError.ts classifies as for any node. When every relay is down (unreachable,
 * timed out, 5xx, 429) the send fails, logged and counted per relay; only with `fallbackPublic`
 * is it then sent through the read endpoints (the public mempool sees its calldata).
 */
import { createTransport, type EIP1193RequestFn, type Transport } from "viem";
import type { Logger } from "../../lib/logger.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { TransientRpcError, rpcErrorOf } from "../../lib/rpcErrors.ts";
import type { Endpoint } from "./endpoints.ts";

export type Relay = { endpoint: Endpoint; transport: Transport };

export type SendRoutingOptions = {
  /** Send through `reads` when every relay is down. */
  fallbackPublic: boolean;
  metrics?: Pick<Metrics, "sendRelayFailures" | "sendPublicFallbacks"> | undefined;
  logger?: Logger | undefined;
};

/** A relay could not take the request at all (as opposed to refusing the transaction). */
export function relayDown(e: unknown): boolean {
  return rpcErrorOf(e) instanceof TransientRpcError;
}

/** `reads` for everything but eth_sendRawTransaction, which goes to `relays` (none: to `reads`). */
export function routeSends(reads: Transport, relays: readonly Relay[], opts: SendRoutingOptions): Transport {
  if (relays.length === 0) return reads;
  return (config) => {
    const r = reads(config);
    const sends = relays.map((relay) => ({ id: relay.endpoint.id, t: relay.transport({ ...config, retryCount: 0 }) }));
    const broadcast = async (args: Parameters<EIP1193RequestFn>[0], options: Parameters<EIP1193RequestFn>[1]): Promise<unknown> => {
      const failures: { id: string; error: unknown }[] = [];
      try {
        return await Promise.any(
          sends.map(async ({ id, t }) => {
            try {
              return await t.request(args, options);
            } catch (error) {
              failures.push({ id, error });
              throw error;
            }
          }),
        );
      } catch {
        // Every relay failed: in `failures`, in the order they answered.
      }
      const down = failures.filter((f) => relayDown(f.error));
      for (const f of down) opts.metrics?.sendRelayFailures.inc({ endpoint: f.id });
      const refused = failures.find((f) => !relayDown(f.error));
      if (refused) throw refused.error;
      const relayIds = down.map((f) => f.id);
      if (!opts.fallbackPublic) {
        opts.logger?.error({ msg: "every send relay is down: transaction not sent (--send-fallback-public would send it through the read endpoints)", relays: relayIds, err: failures[0]?.error });
        throw failures[0]!.error;
      }
      opts.metrics?.sendPublicFallbacks.inc();
      opts.logger?.warn({ msg: "every send relay is down: sending through the read endpoints (public mempool)", relays: relayIds });
      return r.request(args, options);
    };
    const request: EIP1193RequestFn = async (args, options) =>
      (args.method === "eth_sendRawTransaction" ? broadcast(args, options) : r.request(args, options)) as never;
    return createTransport({ key: "routed", name: "Reads and send relays", type: r.config.type, timeout: r.config.timeout, retryCount: 0, request }, r.value);
  };
}
