/** Follow the chain head and hand each new head to the keeper. */
import { setTimeout as setTimeoutPromise } from "node:timers/promises";
import type { Chain, Hex, PublicClient, Transport } from "viem";
import type { Logger } from "../lib/logger.ts";
import type { Keeper } from "./keeper.ts";

/**
 * Follow the chain head by polling `latest` every `intervalMs` (one request per poll) and hand
 * each new head to the keeper. Resolves when `signal` aborts.
 */
export async function followHeads(
  client: PublicClient<Transport, Chain>,
  keeper: Keeper,
  intervalMs: number,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  let last: Hex | undefined;
  while (!signal.aborted) {
    try {
      const b = await client.getBlock({ blockTag: "latest" });
      if (b.hash && b.hash !== last && b.number !== null) {
        last = b.hash;
        await keeper.onHead({
          number: b.number,
          hash: b.hash,
          parentHash: b.parentHash,
          timestamp: b.timestamp,
          baseFeePerGas: b.baseFeePerGas ?? 0n,
        });
      }
    } catch (e) {
      logger.warn({ err: e }, "reading the chain head failed; retrying");
    }
    await sleepUnlessAborted(intervalMs, signal);
  }
}

/** Wait `ms`, or less if `signal` aborts; leaves no listener behind either way. */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await setTimeoutPromise(ms, undefined, { signal });
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}
