import { numberToHex, type Address, type Hex, type PublicClient, type RpcBlock, type RpcLog } from "viem";
import { countsRpcRequests, requestOnce, type RequestOnce } from "../chain/clients.ts";
import { bloomOf, type BlockHead } from "../chain/heads.ts";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { DEFAULT_RETRY, retryDelayMs as backoffMs, withRetry, type RetryPolicy } from "../lib/retry.ts";
import { CallRevertedError, LogRangeTooLargeError, nodeErrorOf, rpcErrorOf, UnknownBlockError } from "../lib/rpcErrors.ts";

/**
 * The indexer's JSON-RPC calls: each attempt is one request counted in
 * `keeper_rpc_requests_total{method}` (one attempt per request below this layer: no transport
 * retries it again, see `requestOnce`), every failure is classified once into its class
 * (lib/rpcErrors.ts), and retryable ones are retried by the one retry loop (lib/retry.ts) with
 * exponential backoff; shutdown's signal ends a request, a backoff and the loop at once.
 */

export { classifyRpcError, LogRangeTooLargeError, rangeLimitOf, suggestedRangeSize, type RangeLimit, type RpcErrorKind } from "../lib/rpcErrors.ts";
export { DEFAULT_RETRY, type RetryPolicy } from "../lib/retry.ts";

/** The chain changed while it was being read: a block vanished, or data of two forks met. */
export class ChainMovedError extends BaseError {
  override name = "ChainMovedError";
}

/**
 * How long to wait before retry number `attempt + 1` after the failed request `e`: what the
 * provider's `Retry-After` asks, or exponential backoff with jitter; never more than
 * `policy.maxDelayMs`, so a provider cannot stall a tick for as long as it likes.
 */
export function retryDelayMs(e: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  return backoffMs(rpcErrorOf(e), attempt, policy, random);
}

/** The subset of a block header the indexer needs. */

export type LogFilter = ({ fromBlock: bigint; toBlock: bigint } | { blockHash: Hex }) & {
  address: readonly Address[];
  topics?: readonly (Hex | readonly Hex[] | null)[];
};

export type IndexRpcInputs = {
  client: PublicClient;
  metrics: Metrics;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
  /** Shutdown: no request is started after it fires, and a retry's backoff ends at once. */
  signal?: AbortSignal;
};

export function toBlockHead(b: RpcBlock): BlockHead {
  if (b.number === null || b.hash === null) throw new BaseError("the node returned a pending block");
  return {
    number: BigInt(b.number),
    hash: b.hash,
    parentHash: b.parentHash,
    timestamp: BigInt(b.timestamp),
    baseFeePerGas: b.baseFeePerGas === null || b.baseFeePerGas === undefined ? null : BigInt(b.baseFeePerGas),
    ...bloomOf(b),
  };
}

export class IndexRpc {
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  readonly retry: RetryPolicy;
  /** One attempt of a request: nothing below retries it (this class is the one retry loop). */
  private readonly request: RequestOnce;
  /** Count requests here, unless the client's transport already does (connect() with metrics). */
  private readonly countRequests: boolean;
  private readonly signal: AbortSignal | undefined;

  constructor(inputs: IndexRpcInputs) {
    this.signal = inputs.signal;
    this.request = requestOnce(inputs.client);
    this.metrics = inputs.metrics;
    this.logger = inputs.logger;
    this.retry = { ...DEFAULT_RETRY, ...inputs.retry };
    this.countRequests = !countsRpcRequests(inputs.client);
  }

  /**
   * One counted request at a time, retried while it fails with a retryable class. Throws the
   * failure's class (lib/rpcErrors.ts), or AbortedError once shutdown has begun.
   */
  private send<T>(method: string, params: unknown, range?: { fromBlock: bigint; toBlock: bigint }): Promise<T> {
    return withRetry(
      async () => {
        if (this.countRequests) this.metrics.rpcRequests.inc({ method });
        try {
          return (await this.request({ method, params }, this.signal)) as T;
        } catch (e) {
          this.metrics.rpcErrors.inc({ method });
          throw rpcErrorOf(e, range);
        }
      },
      {
        policy: this.retry,
        signal: this.signal,
        onRetry: ({ error, attempt, delayMs }) => this.logger.warn({ msg: "rpc request failed, retrying", method, attempt, delayMs, err: nodeErrorOf(error) }),
      },
    );
  }

  /** eth_getLogs; a refusal for size becomes {@link LogRangeTooLargeError}. */
  async getLogs(filter: LogFilter): Promise<RpcLog[]> {
    const params =
      "blockHash" in filter
        ? { blockHash: filter.blockHash }
        : { fromBlock: numberToHex(filter.fromBlock), toBlock: numberToHex(filter.toBlock) };
    const address = [...filter.address];
    const topics = filter.topics?.map((t) => (t === null || typeof t === "string" ? t : [...t]));
    const range = "fromBlock" in filter ? { fromBlock: filter.fromBlock, toBlock: filter.toBlock } : undefined;
    try {
      return await this.send<RpcLog[]>("eth_getLogs", [{ ...params, address, ...(topics ? { topics } : {}) }], range);
    } catch (e) {
      if (e instanceof LogRangeTooLargeError) throw e;
      if ("blockHash" in filter && e instanceof UnknownBlockError) {
        throw new ChainMovedError(`block ${filter.blockHash} is unknown to the node`, { cause: e.cause });
      }
      throw nodeErrorOf(e);
    }
  }

  /** The header at `number`, or undefined when the chain is shorter. */
  async headerByNumber(number: bigint): Promise<BlockHead | undefined> {
    const b = await this.header("eth_getBlockByNumber", [numberToHex(number), false]);
    return b ? toBlockHead(b) : undefined;
  }

  /** The header with `hash`, or undefined when the node does not know it (reorged out). */
  async headerByHash(hash: Hex): Promise<BlockHead | undefined> {
    const b = await this.header("eth_getBlockByHash", [hash, false]);
    return b ? toBlockHead(b) : undefined;
  }

  async latestHeader(): Promise<BlockHead> {
    const b = await this.header("eth_getBlockByNumber", ["latest", false]);
    if (!b) throw new BaseError("the node returned no latest block");
    return toBlockHead(b);
  }

  private async header(method: "eth_getBlockByNumber" | "eth_getBlockByHash", params: unknown[]): Promise<RpcBlock | null> {
    try {
      return await this.send<RpcBlock | null>(method, params);
    } catch (e) {
      throw nodeErrorOf(e);
    }
  }

  /**
   * eth_call at the block with `blockHash` (EIP-1898), so the answer belongs to exactly that block
   * even if the chain reorganises meanwhile. Returns undefined when the call reverts.
   */
  async callAt(to: Address, data: Hex, blockHash: Hex): Promise<Hex | undefined> {
    try {
      return await this.send<Hex>("eth_call", [{ to, data }, { blockHash }]);
    } catch (e) {
      if (e instanceof CallRevertedError) return undefined;
      if (e instanceof UnknownBlockError) throw new ChainMovedError(`block ${blockHash} is unknown to the node`, { cause: e.cause });
      throw nodeErrorOf(e);
    }
  }
}
