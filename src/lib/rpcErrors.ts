/**
 * A failed JSON-RPC request, as a class. Every failure is classified once, here, from viem's error
 * classes and JSON-RPC codes first and provider messages last, into:
 *
 * - {@link TransientRpcError} (retryable): timeouts, dropped sockets, 5xx, 429 and rate-limit codes,
 *   with the wait a `Retry-After` asks for; {@link UnknownBlockError} is one of them.
 * - {@link LogRangeTooLargeError}: eth_getLogs asked for too much; the caller asks for less.
 * - {@link CallRevertedError}: an eth_call reverted.
 * - {@link FatalRpcError}: anything else; trying again will not help.
 *
 * The retry loop (lib/retry.ts) and the callers decide from these classes. Each keeps the node's
 * error, as viem raised it, as its cause ({@link nodeErrorOf}).
 */
import { BaseError as ViemBaseError, HttpRequestError, ResponseBodyTooLargeError, SocketClosedError, TimeoutError } from "viem";
import { NonRetryableError, RetryableError } from "./errors.ts";

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

/** Which limit a range refusal hit: the number of results (varies with density) or of blocks (fixed). */
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

/**
 * The kind of a failed request, as a label (logs, tests). What a loop decides from is the class
 * {@link rpcErrorOf} returns, which this names: "range" {@link LogRangeTooLargeError}, "transient"
 * {@link TransientRpcError}, "revert" {@link CallRevertedError}, "fatal" {@link FatalRpcError}.
 */
export type RpcErrorKind = "range" | "transient" | "revert" | "fatal";

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

/** The wait a 429/503 `Retry-After` asks for (seconds or an HTTP date), in ms. */
function retryAfterMs(e: unknown, now = Date.now()): number | undefined {
  const http = chain(e).find((c): c is HttpRequestError => c instanceof HttpRequestError);
  const value = http?.headers?.get("Retry-After")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The node's own words for a failure, one line (viem's shortMessage when it has one). */
function shortOf(e: unknown): string {
  const m = e instanceof ViemBaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return m.split("\n")[0] ?? m;
}

/** Try again later: a timeout, a dropped socket, a 5xx, a 429 or a rate-limit code. */
export class TransientRpcError extends RetryableError {
  override name = "TransientRpcError";
  constructor(cause: unknown) {
    super(shortOf(cause), { cause, retryAfterMs: retryAfterMs(cause) });
  }
}

/** The node does not know the block asked for: yet (behind a load balancer), or any more (a reorg). */
export class UnknownBlockError extends TransientRpcError {
  override name = "UnknownBlockError";
}

/** An eth_call (or gas estimate) reverted. */
export class CallRevertedError extends NonRetryableError {
  override name = "CallRevertedError";
  constructor(cause: unknown) {
    super(shortOf(cause), { cause });
  }
}

/** A failure that trying again will not cure (a bad request, a missing method, a 401, …). */
export class FatalRpcError extends NonRetryableError {
  override name = "FatalRpcError";
  constructor(cause: unknown) {
    super(shortOf(cause), { cause });
  }
}

/** eth_getLogs was refused as too large; the caller asks for a smaller range. */
export class LogRangeTooLargeError extends NonRetryableError {
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

/**
 * The class of a failed request. `range` is the block range of an eth_getLogs request: a refusal
 * for size is then {@link LogRangeTooLargeError}; any other request refused for size is fatal.
 * An error that already has a class (retryable or not) is returned as it is.
 */
export function rpcErrorOf(e: unknown, range?: { fromBlock: bigint; toBlock: bigint }): RetryableError | NonRetryableError {
  if (e instanceof RetryableError || e instanceof NonRetryableError) return e;
  switch (classifyRpcError(e)) {
    case "range": {
      const limit = rangeLimitOf(e);
      return range && limit ? new LogRangeTooLargeError(range.fromBlock, range.toBlock, limit, suggestedRangeSize(e), e) : new FatalRpcError(e);
    }
    case "revert":
      return new CallRevertedError(e);
    case "transient":
      return UNKNOWN_BLOCK.test(text(e)) ? new UnknownBlockError(e) : new TransientRpcError(e);
    default:
      return new FatalRpcError(e);
  }
}

/**
 * The node's error behind a class of this module, as viem raised it (a caller names viem's classes:
 * MethodNotFoundRpcError, HttpRequestError, …); any other error as it is.
 */
export function nodeErrorOf(e: unknown): unknown {
  return e instanceof TransientRpcError || e instanceof CallRevertedError || e instanceof FatalRpcError ? e.cause : e;
}
