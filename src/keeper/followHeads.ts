/** Follow the chain head and hand each new head to the keeper. */
import type { Chain, Hex, PublicClient, Transport } from "viem";
import type { NewHeadsSource } from "../chain/transports/ws.ts";
import { bloomOf } from "../chain/heads.ts";
import { AbortedError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { abortable, sleep } from "../lib/sleep.ts";
import { HeadOutage } from "./headOutage.ts";
import type { Keeper } from "./keeper.ts";
import { subscribeHeads } from "./subscribeHeads.ts";

export type FollowHeadsOptions = {
  metrics?: Metrics;
  /** Wall clock, ms (outage logging). Default Date.now. */
  now?: () => number;
  /** A WebSocket endpoint's newHeads: subscribe instead of polling (see subscribeHeads.ts). */
  newHeads?: NewHeadsSource | undefined;
};

/**
 * Follow the chain head by polling `latest` every `intervalMs` (one request per poll) and hand
 * each new head to the keeper. Resolves as soon as `signal` aborts: a poll or a tick still waiting
 * on the node is no longer waited for (the keeper's stop waits for its tick, up to its deadline).
 * Retrying a failed poll is the client's (connect()'s transport retries once); a poll that still
 * fails is an outage: logged when it starts, every 30 s while it lasts and when it ends (see
 * HeadOutage), and the next poll tries again. With `opts.newHeads` (a ws:// endpoint) heads come
 * from a subscription instead (subscribeHeads.ts), `intervalMs` then paces its reconnects.
 */
export async function followHeads(
  client: PublicClient<Transport, Chain>,
  keeper: Pick<Keeper, "onHead">,
  intervalMs: number,
  signal: AbortSignal,
  logger: Logger,
  opts: FollowHeadsOptions = {},
): Promise<void> {
  if (opts.newHeads) return subscribeHeads({ client, source: opts.newHeads, keeper, intervalMs, signal, logger, metrics: opts.metrics, now: opts.now });
  const outage = new HeadOutage({ logger, metrics: opts.metrics, now: opts.now });
  let last: Hex | undefined;
  while (!signal.aborted) {
    let b;
    try {
      b = await abortable(client.getBlock({ blockTag: "latest" }), signal);
      outage.succeeded();
    } catch (e) {
      if (e instanceof AbortedError || signal.aborted) return;
      outage.failed(e);
    }
    if (b?.hash && b.hash !== last && b.number !== null) {
      last = b.hash;
      const tick = keeper.onHead({
        number: b.number,
        hash: b.hash,
        parentHash: b.parentHash,
        timestamp: b.timestamp,
        baseFeePerGas: b.baseFeePerGas ?? 0n,
        ...bloomOf(b),
      });
      try {
        await abortable(tick, signal);
      } catch (e) {
        if (e instanceof AbortedError) return;
        throw e;
      }
    }
    await sleep(intervalMs, signal);
  }
}
