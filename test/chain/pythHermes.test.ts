/**
 * Issue 18, Pyth plumbing: hermes.ts against a local HTTP server that answers
 * GET /v2/updates/price/latest in Hermes' own JSON shape (docs.pyth.network, "Get the latest price
 * updates by price feed id": `binary.{encoding,data}` with data hex without 0x, `parsed[]` with
 * `price`/`ema_price` as strings and `metadata`), through Pyth's real client, not a mock of it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AbortedError, NonRetryableError, RetryableError } from "../../src/lib/errors.ts";
import {
  HermesRequestError,
  HermesResponseError,
  HermesUnavailableError,
  hermesUpdateSource,
} from "../../src/chain/pyth/hermes.ts";
import { createPriceFeedUpdateData, type PriceFeedUpdateParameters } from "../../src/chain/pyth/updateData.ts";

const ETH = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace" as const;
const BTC = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43" as const;

const FEEDS: Record<string, PriceFeedUpdateParameters> = {
  [ETH]: { id: ETH, price: 184136023127n, conf: 177166324n, expo: -8, emaPrice: 184100641000n, emaConf: 178704085n, publishTime: 1692110601n, prevPublishTime: 1692110600n },
  [BTC]: { id: BTC, price: 2920679499999n, conf: 509500001n, expo: -8, emaPrice: 2920679499998n, emaConf: 509500000n, publishTime: 1717632000n, prevPublishTime: 1717631999n },
};

/** Hermes' answer for `ids`: one update per feed (MockPyth's format, as a devnet Hermes serves it). */
function hermesAnswer(ids: string[]) {
  const feeds = ids.map((id) => FEEDS[`0x${id.replace(/^0x/, "").toLowerCase()}`]!);
  const rpcPrice = (price: bigint, conf: bigint, f: PriceFeedUpdateParameters) => ({ conf: conf.toString(), expo: f.expo, price: price.toString(), publish_time: Number(f.publishTime) });
  return {
    binary: { encoding: "hex", data: feeds.map((f) => createPriceFeedUpdateData(f).slice(2)) },
    parsed: feeds.map((f) => ({
      ema_price: rpcPrice(f.emaPrice, f.emaConf, f),
      id: f.id.slice(2),
      metadata: { prev_publish_time: Number(f.prevPublishTime), proof_available_time: Number(f.publishTime) + 1, slot: 85480034 },
      price: rpcPrice(f.price, f.conf, f),
    })),
  };
}

type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => void;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A local Hermes; every request it saw is kept in `seen`. */
async function hermes(handler: Handler) {
  const seen: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://hermes.local");
    seen.push(url);
    handler(req, url, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const latest: Handler = (_req, url, res) => {
  if (url.pathname !== "/v2/updates/price/latest") return json(res, 404, { error: "not found" });
  const ids = url.searchParams.getAll("ids[]");
  if (ids.some((id) => !FEEDS[`0x${id.replace(/^0x/, "").toLowerCase()}`])) {
    res.writeHead(404, { "content-type": "text/plain" });
    return res.end("Price ids not found: ...");
  }
  json(res, 200, hermesAnswer(ids));
};

describe("hermes update source", () => {
  it("asks for the ids, hex-encoded and parsed, and returns the update data 0x-prefixed with each feed's price", async () => {
    const h = await hermes(latest);
    const update = await hermesUpdateSource(h.url)([ETH, BTC]);
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]!.searchParams.getAll("ids[]")).toEqual([ETH, BTC]);
    expect(h.seen[0]!.searchParams.get("encoding")).toBe("hex");
    expect(h.seen[0]!.searchParams.get("parsed")).toBe("true");
    expect(update.updateData).toEqual([createPriceFeedUpdateData(FEEDS[ETH]!), createPriceFeedUpdateData(FEEDS[BTC]!)]);
    expect(update.feeds.map((f) => f.id)).toEqual([ETH, BTC]);
    expect(update.feeds[1]).toEqual({
      id: BTC,
      price: { price: 2920679499999n, conf: 509500001n, expo: -8, publishTime: 1717632000n },
      emaPrice: { price: 2920679499998n, conf: 509500000n, expo: -8, publishTime: 1717632000n },
      prevPublishTime: 1717631999n,
    });
  });

  it("matches ids whatever their case or prefix, in the order asked", async () => {
    const h = await hermes(latest);
    const update = await hermesUpdateSource(h.url)([BTC.toUpperCase().replace("0X", "0x") as `0x${string}`, ETH]);
    expect(update.feeds.map((f) => f.id)).toEqual([BTC, ETH]);
  });

  it("asks nothing for no ids", async () => {
    const h = await hermes(latest);
    expect(await hermesUpdateSource(h.url)([])).toEqual({ updateData: [], feeds: [] });
    expect(h.seen).toHaveLength(0);
  });

  it("an unknown price id (404) is not retryable and is the user's to fix; the client itself does not retry", async () => {
    const h = await hermes(latest);
    const err = await hermesUpdateSource(h.url)([ETH, `0x${"ab".repeat(32)}`]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HermesRequestError);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as HermesRequestError).status).toBe(404);
    expect((err as HermesRequestError).userError).toBe(true);
    expect(h.seen).toHaveLength(1);
  });

  it.each([429, 500, 503])("HTTP %i is retryable, tried once", async (status) => {
    const h = await hermes((_req, _url, res) => json(res, status, { error: "busy" }));
    const err = await hermesUpdateSource(h.url)([ETH]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HermesUnavailableError);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as HermesUnavailableError).status).toBe(status);
    expect(h.seen).toHaveLength(1);
  });

  it("no answer within the timeout is retryable", async () => {
    const h = await hermes(() => undefined);
    const err = await hermesUpdateSource(h.url, { timeoutMs: 200 })([ETH]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HermesUnavailableError);
    expect((err as HermesUnavailableError).status).toBeUndefined();
  });

  it("nobody listening is retryable", async () => {
    const h = await hermes(latest);
    await new Promise((r) => servers.pop()!.close(r));
    const err = await hermesUpdateSource(h.url)([ETH]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HermesUnavailableError);
  });

  it("shutdown's signal ends a request in flight as AbortedError", async () => {
    const h = await hermes(() => undefined);
    const shutdown = new AbortController();
    const pending = hermesUpdateSource(h.url, { timeoutMs: 10_000 })([ETH], shutdown.signal).catch((e: unknown) => e);
    await expect.poll(() => h.seen.length).toBe(1);
    shutdown.abort("SIGTERM");
    expect(await pending).toBeInstanceOf(AbortedError);
  });

  it("an answer without one of the ids, of another shape, or with data that is not hex is refused", async () => {
    const partial = await hermes((_req, url, res) => json(res, 200, hermesAnswer(url.searchParams.getAll("ids[]").slice(1))));
    await expect(hermesUpdateSource(partial.url)([ETH, BTC])).rejects.toThrow(HermesResponseError);
    const shapeless = await hermes((_req, _url, res) => json(res, 200, { binary: { data: "nope" } }));
    await expect(hermesUpdateSource(shapeless.url)([ETH])).rejects.toThrow(HermesResponseError);
    const notHex = await hermes((_req, url, res) => {
      const a = hermesAnswer(url.searchParams.getAll("ids[]"));
      json(res, 200, { ...a, binary: { encoding: "hex", data: ["zz"] } });
    });
    await expect(hermesUpdateSource(notHex.url)([ETH])).rejects.toThrow(HermesResponseError);
    const base64 = await hermes((_req, url, res) => json(res, 200, { ...hermesAnswer(url.searchParams.getAll("ids[]")), binary: { encoding: "base64", data: [] } }));
    await expect(hermesUpdateSource(base64.url)([ETH])).rejects.toThrow(HermesResponseError);
  });
});
