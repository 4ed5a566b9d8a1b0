/** Follow the chain head and hand each new head to the keeper. */
import type { Chain, Hex, PublicClient, Transport } from "viem";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { sleep } from "../lib/sleep.ts";
import { HeadOutage } from "./headOutage.ts";
import type { Keeper } from "./keeper.ts";

export type FollowHeadsOptions = {
  metrics?: Metrics;
  /** Wall clock, ms (outage logging). Default Date.now. */
  now?: () => number;
};

/**
 * Follow the chain head by polling `latest` every `intervalMs` (one request per poll) and hand
 * each new head to the keeper. Resolves when `signal` aborts. A node that cannot be read is an
 * outage: logged when it starts, every 30 s while it lasts and when it ends (see HeadOutage).
 */
export async function followHeads(
  client: PublicClient<Transport, Chain>,
  keeper: Pick<Keeper, "onHead">,
  intervalMs: number,
  signal: AbortSignal,
  logger: Logger,
  opts: FollowHeadsOptions = {},
): Promise<void> {
  const outage = new HeadOutage({ logger, metrics: opts.metrics, now: opts.now });
  let last: Hex | undefined;
  while (!signal.aborted) {
    let b;
    try {
      b = await client.getBlock({ blockTag: "latest" });
      outage.succeeded();
    } catch (e) {
      if (!signal.aborted) outage.failed(e);
    }
    if (b?.hash && b.hash !== last && b.number !== null) {
      last = b.hash;
      await keeper.onHead({
        number: b.number,
        hash: b.hash,
        parentHash: b.parentHash,
        timestamp: b.timestamp,
        baseFeePerGas: b.baseFeePerGas ?? 0n,
      });
    }
    await sleep(intervalMs, signal);
  }
}
