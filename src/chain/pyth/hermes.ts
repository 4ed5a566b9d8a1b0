/**
 * The latest Pyth update data for a set of price ids, from a Hermes endpoint (`--pyth-url`), with
 * Pyth's own client. The keeper attaches `updateData` to its own liquidation transaction (the
 * market calls `updatePriceFeeds` with it), so a liquidation never waits for someone else's push.
 *
 * Retries are not the client's: it gets `httpRetries: 0`, and every failure leaves here as a
 * RetryableError (network, timeout, 429, 5xx) or a NonRetryableError (a refused request, a
 * malformed answer), for the one retry loop (lib/retry.ts) to decide on.
 */
import { HermesClient } from "@pythnetwork/hermes-client";
import type { Hex } from "viem";
import { AbortedError, NonRetryableError, RetryableError } from "../../lib/errors.ts";
import type { PythPrice } from "./updateData.ts";

/** One feed as Hermes parsed it from the update data it serves. */
export type PythFeedUpdate = {
  /** 0x-prefixed, lower case. */
  id: Hex;
  price: PythPrice;
  emaPrice: PythPrice;
  /** Hermes' metadata; undefined when it sends none. */
  prevPublishTime: bigint | undefined;
};

/** What to attach to a transaction (`updateData`) and what it says (`feeds`, one per id asked). */
export type PythUpdate = { updateData: Hex[]; feeds: PythFeedUpdate[] };

export type HermesSourceOptions = {
  /** One request's bound (the client's default is 5 s). */
  timeoutMs?: number;
  /** Sent with every request (a provider's API key header). */
  headers?: Record<string, string>;
};

/** Fetches the latest update for `ids`; `signal` is shutdown's. */
export type PythUpdateSource = (ids: readonly Hex[], signal?: AbortSignal) => Promise<PythUpdate>;

/** Hermes answered with a status that asking again will not change (a bad or unknown price id: 400, 404). */
export class HermesRequestError extends NonRetryableError {
  override name = "HermesRequestError";
  constructor(readonly status: number, cause: unknown) {
    super(`Hermes refused the request (HTTP ${status})`, { cause, userError: true });
  }
}

/** Hermes is unreachable, slow or overloaded for now (network, timeout, 429, 5xx). */
export class HermesUnavailableError extends RetryableError {
  override name = "HermesUnavailableError";
  constructor(readonly status: number | undefined, cause: unknown) {
    super(status === undefined ? "Hermes is unreachable" : `Hermes is unavailable (HTTP ${status})`, { cause });
  }
}

/** Hermes answered 200 with something that is not an update for the ids asked. */
export class HermesResponseError extends NonRetryableError {
  override name = "HermesResponseError";
}

/** A Hermes source for `endpoint` (e.g. https://hermes.pyth.network). */
export function hermesUpdateSource(endpoint: string, options: HermesSourceOptions = {}): PythUpdateSource {
  const client = new HermesClient(endpoint, {
    httpRetries: 0,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  return (ids, signal) => fetchLatestUpdate(client, ids, signal);
}

/** GET /v2/updates/price/latest for `ids`, hex-encoded and parsed, checked against the ids asked. */
export async function fetchLatestUpdate(client: HermesClient, ids: readonly Hex[], signal?: AbortSignal): Promise<PythUpdate> {
  if (ids.length === 0) return { updateData: [], feeds: [] };
  let answer: Awaited<ReturnType<HermesClient["getLatestPriceUpdates"]>>;
  try {
    answer = await client.getLatestPriceUpdates([...ids], { encoding: "hex", parsed: true }, signal ? { signal } : undefined);
  } catch (e) {
    if (signal?.aborted) throw new AbortedError(signal.reason, { cause: e });
    throw classify(e);
  }
  if (answer.binary.encoding !== "hex") throw new HermesResponseError(`Hermes sent ${answer.binary.encoding}, not hex`);
  const byId = new Map((answer.parsed ?? []).map((f) => [normalizeId(f.id), f]));
  const feeds = ids.map((id): PythFeedUpdate => {
    const f = byId.get(normalizeId(id));
    if (!f) throw new HermesResponseError(`Hermes sent no update for price id ${id}`);
    const prev = f.metadata.prev_publish_time;
    return { id: normalizeId(id), price: pythPrice(f.price), emaPrice: pythPrice(f.ema_price), prevPublishTime: prev == null ? undefined : BigInt(prev) };
  });
  return { updateData: answer.binary.data.map(hexOf), feeds };
}

/** Hermes writes ids and data without 0x; the chain side wants 0x-prefixed lower-case hex. */
function normalizeId(id: string): Hex {
  const bare = id.startsWith("0x") || id.startsWith("0X") ? id.slice(2) : id;
  return `0x${bare.toLowerCase()}`;
}

function hexOf(data: string): Hex {
  const bare = data.startsWith("0x") ? data.slice(2) : data;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(bare)) throw new HermesResponseError("Hermes sent update data that is not hex");
  return `0x${bare}`;
}

function pythPrice(p: { price: string; conf: string; expo: number; publish_time: number }): PythPrice {
  try {
    return { price: BigInt(p.price), conf: BigInt(p.conf), expo: p.expo, publishTime: BigInt(p.publish_time) };
  } catch (e) {
    throw new HermesResponseError("Hermes sent a price that is not an integer", { cause: e });
  }
}

/**
 * The client reports a refused request only as `Error("HTTP error! status: NNN, body: ...")`
 * (HermesClient.httpRequest) and carries no status field, so its status is read from that message
 * here, and nowhere else. A body that fails the client's schema is a ZodError.
 */
function classify(e: unknown): Error {
  if (e instanceof Error && e.name === "ZodError") return new HermesResponseError("Hermes sent an answer of an unknown shape", { cause: e });
  const status = e instanceof Error ? /^HTTP error! status: (\d{3})\b/.exec(e.message)?.[1] : undefined;
  if (status === undefined) return new HermesUnavailableError(undefined, e);
  const code = Number(status);
  return code === 429 || code >= 500 ? new HermesUnavailableError(code, e) : new HermesRequestError(code, e);
}
