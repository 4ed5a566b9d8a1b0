/**
 * Follow the chain head over a WebSocket subscription (newHeads) instead of polling.
 *
 * Nothing is missed across a drop: the index reads logs by block range from its last block to
 * the head it is handed, so a head after a gap backfills the gap; and after every (re)subscription
 * `latest` is read at once, so a gap on a quiet chain (no new block to notify) is closed too.
 * A subscription that dies without closing the socket is caught by the quiet check: with no
 * notification for `quietMs`, `latest` is read, and a head the subscription did not deliver means
 * it is dead (resubscribe). A lost subscription is an outage (HeadOutage: logged, counted) until a
 * new one is open; reconnects back off from `intervalMs` to 5 s.
 */
import type { Chain, PublicClient, Transport } from "viem";
import { bloomOf, type BlockHead } from "../chain/heads.ts";
import type { NewHeadsSource } from "../chain/transports/ws.ts";
import { AbortedError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { abortable, sleep } from "../lib/sleep.ts";
import { HeadOutage } from "./headOutage.ts";
import type { Keeper } from "./keeper.ts";

const MAX_BACKOFF_MS = 5_000;

export type SubscribeHeadsInputs = {
  client: PublicClient<Transport, Chain>;
  source: NewHeadsSource;
  keeper: Pick<Keeper, "onHead">;
  intervalMs: number;
  signal: AbortSignal;
  logger: Logger;
  metrics?: Metrics | undefined;
  now?: (() => number) | undefined;
  /** No notification for this long: read `latest` (default: 20 intervals, at least 5 s). */
  quietMs?: number;
};

type Event = { kind: "head" } | { kind: "lost"; error: unknown } | { kind: "quiet" };

/** Resolves when `signal` aborts (never rejects). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((r) => (signal.aborted ? r() : signal.addEventListener("abort", () => r(), { once: true })));
}

export async function subscribeHeads(inputs: SubscribeHeadsInputs): Promise<void> {
  const { client, source, keeper, intervalMs, signal, logger, metrics } = inputs;
  const quietMs = inputs.quietMs ?? Math.max(5_000, 20 * intervalMs);
  const outage = new HeadOutage({ logger, metrics, now: inputs.now });
  const stopped = aborted(signal);
  let last: BlockHead | undefined;
  let backoff = intervalMs;
  const latest = async (): Promise<BlockHead | undefined> => {
    const b = await abortable(client.getBlock({ blockTag: "latest" }), signal);
    return b.number === null || b.hash === null ? undefined : { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp, baseFeePerGas: b.baseFeePerGas ?? null, ...bloomOf(b) };
  };
  const deliver = async (head: BlockHead | undefined): Promise<void> => {
    if (!head || head.hash === last?.hash) return;
    last = head;
    await abortable(keeper.onHead({ ...head, baseFeePerGas: head.baseFeePerGas ?? 0n }), signal);
  };

  while (!signal.aborted) {
    // Heads notified while a tick runs: only the newest matters (the index reads the range).
    let pending: BlockHead | undefined;
    let wake: () => void = () => {};
    let lostWith: { error: unknown } | undefined;
    const woken = () => new Promise<Event>((r) => (wake = () => r(lostWith ? { kind: "lost", error: lostWith.error } : { kind: "head" })));
    let next = woken();
    let sub;
    try {
      sub = await abortable(
        source.subscribe({
          onHead: (h) => {
            pending = h;
            wake();
          },
          onLost: (error) => {
            lostWith = { error };
            wake();
          },
        }),
        signal,
      );
      metrics?.headSubscriptions.inc();
      logger.debug({ msg: "subscribed to new heads", endpoint: source.endpoint.id });
      // A gap while the socket was down, on a chain that has not moved since, is closed now.
      await deliver(await latest());
      outage.succeeded();
      backoff = intervalMs;
    } catch (e) {
      if (e instanceof AbortedError || signal.aborted) return;
      outage.failed(e);
      await sub?.close();
      await sleep(backoff, signal).catch(() => undefined);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      continue;
    }
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const quiet = new Promise<Event>((r) => (timer = setTimeout(() => r({ kind: "quiet" }), quietMs)));
        const event = await Promise.race([next, quiet, stopped.then((): Event => ({ kind: "lost", error: new AbortedError() }))]);
        clearTimeout(timer);
        if (signal.aborted) return;
        if (event.kind === "lost") {
          outage.failed(event.error);
          break;
        }
        if (event.kind === "quiet") {
          const head = await latest().catch((e: unknown) => {
            if (e instanceof AbortedError) throw e;
            outage.failed(e);
            return null;
          });
          if (head === null) break;
          if (head && last && head.number > last.number) {
            logger.warn({ msg: "the head subscription went quiet while the chain moved: resubscribing", endpoint: source.endpoint.id, head: head.number, lastNotified: last.number });
            await deliver(head);
            break;
          }
          continue;
        }
        next = woken();
        const head = pending;
        pending = undefined;
        await deliver(head);
      }
    } catch (e) {
      if (e instanceof AbortedError || signal.aborted) return;
      throw e;
    } finally {
      await sub.close();
    }
    await sleep(backoff, signal).catch(() => undefined);
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
}
