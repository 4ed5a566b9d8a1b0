import {
  BaseError as ViemBaseError,
  HttpRequestError,
  ResponseBodyTooLargeError,
  SocketClosedError,
  TimeoutError,
  numberToHex,
  type Address,
  type Hex,
  type PublicClient,
  type RpcBlock,
  type RpcLog,
} from "viem";
import { countsRpcRequests } from "../chain/clients.ts";
import type { BlockHead } from "../chain/heads.ts";
import { BaseError, throwIfAborted } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { sleep } from "../lib/sleep.ts";

/**
 * The indexer's JSON-RPC calls: each attempt is one request counted in
 * `keeper_rpc_requests_total{method}` (viem's own transport retries are switched off per request,
 * so the count is exact), transient failures are retried here with exponential backoff, and every
 * failure is classified once, by {@link classifyRpcError}, so callers decide from error classes.
 */

/** How a failed request should be handled. */
export type RpcErrorKind =
  /** eth_getLogs asked for too much (too many blocks, results or bytes): ask for less. */
  | "range"
  /** Try again later: timeouts, dropped sockets, 5xx, 429 and rate-limit codes. */
  | "transient"
  /** An eth_call reverted. */
  | "revert"
  /** Anything else: retrying will not help. */
  | "fatal";

/**
 * Message patterns of providers that refuse a large eth_getLogs (no standard code exists), in two
 * kinds. Too many results or bytes, which depends on how dense the logs are: Infura/geth "query
 * returned more than 10000 results", reth/Anvil "query exceeds max results 20000", Alchemy "Log
 * response size exceeded", geth "query timeout exceeded". Too many blocks, a fixed limit of the
 * provider: QuickNode "eth_getLogs is limited to a 10,000 range", Ankr "block range is too wide",
 * Chainstack "Block range limit exceeded", BlastAPI "exceed maximum block range: 5000", Erigon
 * "requested too many blocks", Cloudflare "block range too large".
 */
const RESULT_LIMIT_PATTERNS = [
  /query returned more than [\d,]+ results/i,
  /query exceeds max results/i,
  /response size (exceeded|is too (large|big)|should not)/i,
  /response (is )?too (large|big)/i,
  /too many (results|logs)/i,
  /more than [\d,]+ (results|logs)/i,
  /query timeout exceeded/i,
];
const BLOCK_LIMIT_PATTERNS = [
  /block range/i,
  /blocks? range (is )?too/i,
  /range (is )?too (large|wide|big)/i,
  /range limit/i,
  /limited to (a )?[\d,]+\s*(blocks?\s*)?range/i,
  /exceeds? (the )?(max|maximum)[a-z ]* range/i,
  /too many blocks/i,
  /requested too many blocks/i,
];

/** Which limit a 'range' refusal hit: the number of results (varies with density) or of blocks (fixed). */
export type RangeLimit = "results" | "blocks";

export function rangeLimitOf(e: unknown): RangeLimit | undefined {
  if (chain(e).some((c) => c instanceof ResponseBodyTooLargeError)) return "results";
  const message = text(e);
  if (RESULT_LIMIT_PATTERNS.some((p) => p.test(message))) return "results";
  if (BLOCK_LIMIT_PATTERNS.some((p) => p.test(message))) return "blocks";
  return undefined;
}

/** Non-standard rate-limit codes: Alchemy's JSON 429, QuickNode's -32007. */
const TRANSIENT_CODES = new Set([-1, -32005, -32603, -32002, 429, -32007]);
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
/** A block the node does not know (yet, behind a load balancer; or any more, after a reorg). */
const UNKNOWN_BLOCK = /header not found|header for hash not found|unknown block|block not found/i;
const TRANSIENT_PATTERNS = [UNKNOWN_BLOCK, /rate limit/i, /try again/i];

/** The error and its causes, outermost first. */
function chain(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c: unknown = e; c !== undefined && c !== null && out.length < 16; c = c instanceof Error ? c.cause : undefined) {
    out.push(c);
  }
  return out;
}

function text(e: unknown): string {
  return chain(e)
    .map((c) => {
      if (c instanceof ViemBaseError) return `${c.details} ${c.shortMessage}`;
      if (c instanceof Error) return c.message;
      return typeof c === "object" && c !== null && "message" in c ? String(c.message) : String(c);
    })
    .join(" | ");
}

function codeOf(e: unknown): number | undefined {
  for (const c of chain(e)) {
    if (typeof c === "object" && c !== null && "code" in c && typeof c.code === "number") return c.code;
  }
  return undefined;
}

/** Classify a failed request: from viem's error classes and JSON-RPC codes first, messages last. */
export function classifyRpcError(e: unknown): RpcErrorKind {
  if (rangeLimitOf(e)) return "range";
  const causes = chain(e);
  const message = text(e);
  const code = codeOf(e);
  if (code === 3 || /execution reverted/i.test(message)) return "revert";
  if (causes.some((c) => c instanceof TimeoutError || c instanceof SocketClosedError)) return "transient";
  const http = causes.find((c): c is HttpRequestError => c instanceof HttpRequestError);
  if (http && (http.status === undefined || TRANSIENT_STATUS.has(http.status))) return "transient";
  if (code !== undefined && TRANSIENT_CODES.has(code)) return "transient";
  if (TRANSIENT_PATTERNS.some((p) => p.test(message))) return "transient";
  return "fatal";
}

/**
 * The size of range a provider says would work, when it says: Alchemy "this block range should
 * work: [0x1, 0x2]", reth "retry with the range 100-200", BlastAPI/Erigon "maximum block range:
 * 5000" / "maximum is 1000", QuickNode "limited to a 10,000 range".
 */
export function suggestedRangeSize(e: unknown): bigint | undefined {
  const message = text(e);
  const pair = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i.exec(message) ?? /retry with the range (\d+)\s*-\s*(\d+)/i.exec(message);
  if (pair) {
    const size = BigInt(pair[2]!) - BigInt(pair[1]!) + 1n;
    return size > 0n ? size : undefined;
  }
  const max = /(?:maximum(?: block range)?(?: is)?:?|limited to(?: a)?)\s*([\d,]+)\s*(?:blocks?)?/i.exec(message);
  if (max) {
    const size = BigInt(max[1]!.replace(/,/g, ""));
    return size > 0n ? size : undefined;
  }
  return undefined;
}

/** The chain changed while it was being read: a block vanished, or data of two forks met. */
export class ChainMovedError extends BaseError {
  override name = "ChainMovedError";
}

/** eth_getLogs was refused as too large; the caller asks for a smaller range. */
export class LogRangeTooLargeError extends BaseError {
  override name = "LogRangeTooLargeError";
  constructor(
    readonly fromBlock: bigint,
    readonly toBlock: bigint,
    readonly limit: RangeLimit,
    readonly suggestedSize: bigint | undefined,
    cause: unknown,
  ) {
    super(`eth_getLogs over blocks ${fromBlock}–${toBlock} was refused as too large`, { cause });
  }
}

export type RetryPolicy = {
  /** Attempts after the first, for transient errors. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

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

/** The wait a 429/503 `Retry-After` asks for (seconds or an HTTP date), in ms. */
function retryAfterMs(e: unknown, now = Date.now()): number | undefined {
  const http = chain(e).find((c): c is HttpRequestError => c instanceof HttpRequestError);
  const value = http?.headers?.get("Retry-After")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long to wait before retry number `attempt + 1`: what the provider's `Retry-After` asks, or
 * exponential backoff with jitter; never more than `policy.maxDelayMs`, so a provider cannot stall
 * a tick for as long as it likes.
 */
export function retryDelayMs(e: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const asked = retryAfterMs(e);
  return Math.min(policy.maxDelayMs, asked ?? Math.round(backoff * (0.5 + random() / 2)));
}

export function toBlockHead(b: RpcBlock): BlockHead {
  if (b.number === null || b.hash === null) throw new BaseError("the node returned a pending block");
  return {
    number: BigInt(b.number),
    hash: b.hash,
    parentHash: b.parentHash,
    timestamp: BigInt(b.timestamp),
    baseFeePerGas: b.baseFeePerGas === null || b.baseFeePerGas === undefined ? null : BigInt(b.baseFeePerGas),
  };
}

export class IndexRpc {
  private readonly client: PublicClient;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  readonly retry: RetryPolicy;
  /** Count requests here, unless the client's transport already does (connect() with metrics). */
  private readonly countRequests: boolean;
  private readonly signal: AbortSignal | undefined;

  constructor(inputs: IndexRpcInputs) {
    this.signal = inputs.signal;
    this.client = inputs.client;
    this.metrics = inputs.metrics;
    this.logger = inputs.logger;
    this.retry = { ...DEFAULT_RETRY, ...inputs.retry };
    this.countRequests = !countsRpcRequests(inputs.client);
  }

  /** One counted request with retries on transient errors; other errors are thrown as they are. */
  private async send<T>(method: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(this.signal);
      if (this.countRequests) this.metrics.rpcRequests.inc({ method });
      try {
        return await request();
      } catch (e) {
        this.metrics.rpcErrors.inc({ method });
        const kind = classifyRpcError(e);
        if (kind !== "transient" || attempt >= this.retry.retries) throw e;
        const delay = retryDelayMs(e, attempt, this.retry);
        this.logger.warn({ msg: "rpc request failed, retrying", method, attempt: attempt + 1, delayMs: delay, err: e });
        await sleep(delay, this.signal);
      }
    }
  }

  /** eth_getLogs; a refusal for size becomes {@link LogRangeTooLargeError}. */
  async getLogs(filter: LogFilter): Promise<RpcLog[]> {
    const params =
      "blockHash" in filter
        ? { blockHash: filter.blockHash }
        : { fromBlock: numberToHex(filter.fromBlock), toBlock: numberToHex(filter.toBlock) };
    const address = [...filter.address];
    const topics = filter.topics?.map((t) => (t === null || typeof t === "string" ? t : [...t]));
    try {
      return await this.send("eth_getLogs", () =>
        this.client.request({ method: "eth_getLogs", params: [{ ...params, address, ...(topics ? { topics } : {}) }] }, { retryCount: 0 }),
      );
    } catch (e) {
      if ("fromBlock" in filter && classifyRpcError(e) === "range") {
        throw new LogRangeTooLargeError(filter.fromBlock, filter.toBlock, rangeLimitOf(e)!, suggestedRangeSize(e), e);
      }
      if ("blockHash" in filter && UNKNOWN_BLOCK.test(text(e))) {
        throw new ChainMovedError(`block ${filter.blockHash} is unknown to the node`, { cause: e });
      }
      throw e;
    }
  }

  /** The header at `number`, or undefined when the chain is shorter. */
  async headerByNumber(number: bigint): Promise<BlockHead | undefined> {
    const b = await this.send("eth_getBlockByNumber", () =>
      this.client.request({ method: "eth_getBlockByNumber", params: [numberToHex(number), false] }, { retryCount: 0 }),
    );
    return b ? toBlockHead(b) : undefined;
  }

  /** The header with `hash`, or undefined when the node does not know it (reorged out). */
  async headerByHash(hash: Hex): Promise<BlockHead | undefined> {
    const b = await this.send("eth_getBlockByHash", () =>
      this.client.request({ method: "eth_getBlockByHash", params: [hash, false] }, { retryCount: 0 }),
    );
    return b ? toBlockHead(b) : undefined;
  }

  async latestHeader(): Promise<BlockHead> {
    const b = await this.send("eth_getBlockByNumber", () =>
      this.client.request({ method: "eth_getBlockByNumber", params: ["latest", false] }, { retryCount: 0 }),
    );
    if (!b) throw new BaseError("the node returned no latest block");
    return toBlockHead(b);
  }

  /**
   * eth_call at the block with `blockHash` (EIP-1898), so the answer belongs to exactly that block
   * even if the chain reorganises meanwhile. Returns undefined when the call reverts.
   */
  async callAt(to: Address, data: Hex, blockHash: Hex): Promise<Hex | undefined> {
    try {
      return await this.send("eth_call", () =>
        this.client.request({ method: "eth_call", params: [{ to, data }, { blockHash }] }, { retryCount: 0 }),
      );
    } catch (e) {
      if (classifyRpcError(e) === "revert") return undefined;
      if (UNKNOWN_BLOCK.test(text(e))) throw new ChainMovedError(`block ${blockHash} is unknown to the node`, { cause: e });
      throw e;
    }
  }
}
