/**
 * Several read endpoints behind viem's `fallback` transport, with head-lag demotion.
 *
 * - Order: viem's `rank` samples every endpoint each `sampleIntervalMs` and orders them by
 *   stability and latency (a dead endpoint sinks to the end, so requests stop waiting on it first).
 *   Its ping is `eth_blockNumber`, which also feeds {@link HeadLag}.
 * - Demotion: an endpoint whose head is more than `maxHeadLag` blocks behind the best endpoint's
 *   takes no reads until it catches up: its requests fail at once with {@link EndpointDemotedError}
 *   and the fallback moves on to the next endpoint. A failed sample forgets the endpoint's head, so
 *   a dead leader cannot demote the live ones behind it. Sends are not demoted.
 * - Retries: the endpoints and the fallback are at `retryCount: 0`; the one retry loop is above
 *   (clients.ts `retrying`, or the index's RPC layer, which takes one pass through the fallback as
 *   one attempt).
 * - Lifetime: viem's ranking loop cannot be stopped; once `signal` fires its ping never settles, so
 *   the loop waits forever on a promise that holds no timer and the process can exit.
 */
import { fallback, hexToBigInt, type EIP1193RequestFn, type Hex, type Transport } from "viem";
import { RetryableError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Metrics } from "../../lib/metrics.ts";
import type { Endpoint } from "./endpoints.ts";

export class EndpointDemotedError extends RetryableError {
  override name = "EndpointDemotedError";
  constructor(id: string, lag: bigint) {
    super(`${id} is ${lag} blocks behind the best read endpoint; reading elsewhere`);
  }
}

export type HeadLagInputs = {
  ids: readonly string[];
  maxHeadLag: number;
  metrics?: Pick<Metrics, "rpcEndpointHeadLag" | "rpcEndpointDemoted"> | undefined;
  logger?: Logger | undefined;
};

/** The last sampled head of each read endpoint, and which ones lag too far to read from. */
export class HeadLag {
  private readonly heads = new Map<string, bigint>();
  private readonly demotedIds = new Set<string>();

  constructor(private readonly inputs: HeadLagInputs) {
    for (const id of inputs.ids) inputs.metrics?.rpcEndpointDemoted.set({ endpoint: id }, 0);
  }

  /** `id` answered `head`. */
  record(id: string, head: bigint): void {
    this.heads.set(id, head);
    this.update();
  }

  /** `id` did not answer: its head is unknown (it neither leads nor is demoted for lag). */
  forget(id: string): void {
    this.heads.delete(id);
    this.update();
  }

  /** Blocks `id` is behind the best known head, or undefined when its head is unknown. */
  lagOf(id: string): bigint | undefined {
    const head = this.heads.get(id);
    return head === undefined ? undefined : this.best() - head;
  }

  demoted(id: string): boolean {
    return this.demotedIds.has(id);
  }

  private best(): bigint {
    let best = 0n;
    for (const h of this.heads.values()) if (h > best) best = h;
    return best;
  }

  private update(): void {
    const { metrics, logger, maxHeadLag } = this.inputs;
    for (const id of this.inputs.ids) {
      const lag = this.lagOf(id);
      if (lag !== undefined) metrics?.rpcEndpointHeadLag.set({ endpoint: id }, Number(lag));
      const demote = lag !== undefined && lag > BigInt(maxHeadLag);
      if (demote === this.demotedIds.has(id)) continue;
      if (demote) {
        this.demotedIds.add(id);
        logger?.warn({ msg: "read endpoint lags behind: no reads from it until it catches up", endpoint: id, lagBlocks: Number(lag), maxHeadLag });
      } else {
        this.demotedIds.delete(id);
        logger?.info({ msg: "read endpoint caught up: reading from it again", endpoint: id, lagBlocks: lag === undefined ? null : Number(lag) });
      }
      metrics?.rpcEndpointDemoted.set({ endpoint: id }, demote ? 1 : 0);
    }
  }
}

/** `inner`, refusing reads at once while `lag` demotes `id` (sends pass). */
export function gated(inner: Transport, id: string, lag: HeadLag): Transport {
  return (config) => {
    const t = inner(config);
    const request: EIP1193RequestFn = async (args, options) => {
      if (args.method !== "eth_sendRawTransaction" && lag.demoted(id)) throw new EndpointDemotedError(id, lag.lagOf(id) ?? 0n);
      return t.request(args, options);
    };
    return { ...t, request };
  };
}

export type ReadTransportOptions = {
  /** Blocks an endpoint may lag the best one and still take reads. */
  maxHeadLag: number;
  /** How often every endpoint is sampled (head and latency); 0 = no sampling, list order only. */
  sampleIntervalMs: number;
  metrics?: Pick<Metrics, "rpcEndpointHeadLag" | "rpcEndpointDemoted"> | undefined;
  logger?: Logger | undefined;
  /** Ends the sampling. */
  signal?: AbortSignal | undefined;
};

export type ReadTransport = { transport: Transport; lag: HeadLag };

/**
 * One transport over `endpoints` (each one's own transport in `transports`, same order): viem's
 * fallback with rank and demotion, instantiated once (each instantiation would start a ranking
 * loop of its own), whatever number of clients share it.
 */
export function readTransport(endpoints: readonly Endpoint[], transports: readonly Transport[], opts: ReadTransportOptions): ReadTransport {
  const lag = new HeadLag({ ids: endpoints.map((e) => e.id), maxHeadLag: opts.maxHeadLag, metrics: opts.metrics, logger: opts.logger });
  const byId = new Map(endpoints.map((e, i) => [e.id, transports[i]!]));
  const never = new Promise<never>(() => {});
  const ping = async ({ transport }: { transport: { config: { key: string } } }): Promise<void> => {
    if (opts.signal?.aborted) return never;
    const id = transport.config.key;
    const own = byId.get(id);
    if (!own) return;
    let head: bigint;
    try {
      head = hexToBigInt((await own({ retryCount: 0 }).request({ method: "eth_blockNumber" })) as Hex);
    } catch (e) {
      lag.forget(id);
      throw e;
    }
    lag.record(id, head);
    // A demoted endpoint counts as an unstable one in viem's ranking.
    if (lag.demoted(id)) throw new EndpointDemotedError(id, lag.lagOf(id) ?? 0n);
  };
  const sampling = opts.sampleIntervalMs > 0 && !opts.signal?.aborted;
  const fb = fallback(
    endpoints.map((e, i) => gated(transports[i]!, e.id, lag)),
    {
      retryCount: 0,
      rank: sampling ? { interval: opts.sampleIntervalMs, ping, sampleCount: 10, timeout: 2_000 } : false,
    },
  );
  let instance: ReturnType<Transport> | undefined;
  const transport: Transport = (config) => (instance ??= fb({ ...config, retryCount: 0 }));
  return { transport, lag };
}
