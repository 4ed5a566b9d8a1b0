/**
 * A counting JSON-RPC proxy for the keeper bench: one per keeper, in front of Anvil, over HTTP and
 * WebSocket on one port (as Anvil serves them). Every request the keeper makes is counted by
 * method and timed (forwarded → answered), every newHeads notification (WebSocket) or new latest
 * block in an eth_getBlockByNumber answer (HTTP polling) is stamped when it reaches the keeper, and
 * every eth_sendRawTransaction answer is stamped with the transaction's hash and raw bytes. All
 * stamps are `performance.now()` of the bench process, the clock the bench stamps mined blocks on.
 * Loopback only; `close()` ends only this proxy's sockets.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { keccak256, type Hex } from "viem";
import { WebSocket, WebSocketServer, type RawData } from "ws";

type JsonRpcCall = { id?: number | string | null; method?: string; params?: unknown[] };
type JsonRpcAnswer = { id?: number | string | null; result?: unknown; error?: unknown; method?: string; params?: { result?: { number?: Hex } } };

/** One request: when it was forwarded and answered (undefined while pending). */
export type RpcSpan = { method: string; start: number; end?: number };
/** A head as the keeper received it. */
export type HeadSeen = { number: bigint; at: number };
/** An eth_sendRawTransaction answered: its hash (keccak of the raw bytes) and whether the node took it. */
export type SendSeen = { hash: Hex; raw: Hex; at: number; start: number; ok: boolean };

export type CountingProxy = {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Requests by method since start. */
  counts(): Record<string, number>;
  total(): number;
  readonly spans: RpcSpan[];
  readonly heads: HeadSeen[];
  readonly sends: SendSeen[];
  close(): Promise<void>;
};

const methodsOf = (body: JsonRpcCall | JsonRpcCall[]): JsonRpcCall[] => (Array.isArray(body) ? body : [body]);

export async function startCountingProxy(upstreamHttp: string): Promise<CountingProxy> {
  const upstreamWs = upstreamHttp.replace(/^http/, "ws");
  const counts: Record<string, number> = {};
  const spans: RpcSpan[] = [];
  const heads: HeadSeen[] = [];
  const sends: SendSeen[] = [];
  let latestSeen = -1n;
  const sockets = new Set<Socket>();

  const begin = (calls: JsonRpcCall[]) => {
    const now = performance.now();
    return calls.map((c) => {
      const method = c.method ?? "?";
      counts[method] = (counts[method] ?? 0) + 1;
      const span: RpcSpan = { method, start: now };
      spans.push(span);
      return { call: c, span };
    });
  };
  const finish = (req: { call: JsonRpcCall; span: RpcSpan }, answer: JsonRpcAnswer | undefined) => {
    const at = performance.now();
    req.span.end = at;
    const { call } = req;
    if (call.method === "eth_sendRawTransaction") {
      const raw = call.params?.[0] as Hex;
      sends.push({ hash: keccak256(raw), raw, at, start: req.span.start, ok: answer !== undefined && answer.error === undefined });
    } else if (call.method === "eth_getBlockByNumber" && call.params?.[0] === "latest") {
      const n = (answer?.result as { number?: Hex } | null | undefined)?.number;
      if (n !== undefined && BigInt(n) > latestSeen) {
        latestSeen = BigInt(n);
        heads.push({ number: latestSeen, at });
      }
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let pending: { call: JsonRpcCall; span: RpcSpan }[] = [];
      try {
        pending = begin(methodsOf(JSON.parse(body) as JsonRpcCall | JsonRpcCall[]));
      } catch {
        counts["?"] = (counts["?"] ?? 0) + 1;
      }
      fetch(upstreamHttp, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then(async (r) => {
          const text = await r.text();
          let answers: JsonRpcAnswer[] = [];
          try {
            const parsed = JSON.parse(text) as JsonRpcAnswer | JsonRpcAnswer[];
            answers = Array.isArray(parsed) ? parsed : [parsed];
          } catch {
            // Not JSON: every call of the request ends unanswered.
          }
          for (const p of pending) finish(p, answers.find((a) => a.id === p.call.id));
          res.writeHead(r.status, { "content-type": "application/json" });
          res.end(text);
        })
        .catch(() => {
          for (const p of pending) finish(p, undefined);
          req.socket.destroy();
        });
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  // WebSocket: one upstream socket per client socket; messages relayed both ways, in order.
  const wss = new WebSocketServer({ server });
  wss.on("connection", (client: WebSocket) => {
    const upstream = new WebSocket(upstreamWs);
    const queued: RawData[] = [];
    const inflight = new Map<string, { call: JsonRpcCall; span: RpcSpan }>();
    upstream.on("open", () => {
      for (const m of queued.splice(0)) upstream.send(m);
    });
    client.on("message", (data: RawData) => {
      try {
        for (const p of begin(methodsOf(JSON.parse(data.toString()) as JsonRpcCall | JsonRpcCall[]))) inflight.set(String(p.call.id), p);
      } catch {
        counts["?"] = (counts["?"] ?? 0) + 1;
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
      else queued.push(data);
    });
    upstream.on("message", (data: RawData) => {
      // Forward first: the stamp is when the keeper gets it, not when the proxy has parsed it.
      client.send(data);
      try {
        const parsed = JSON.parse(data.toString()) as JsonRpcAnswer | JsonRpcAnswer[];
        for (const a of Array.isArray(parsed) ? parsed : [parsed]) {
          if (a.method === "eth_subscription") {
            const n = a.params?.result?.number;
            if (n !== undefined) heads.push({ number: BigInt(n), at: performance.now() });
            continue;
          }
          const p = inflight.get(String(a.id));
          if (p) {
            inflight.delete(String(a.id));
            finish(p, a);
          }
        }
      } catch {
        // A frame that is not JSON-RPC: relayed as is.
      }
    });
    const closeBoth = () => {
      client.close();
      upstream.close();
    };
    client.on("close", closeBoth);
    upstream.on("close", closeBoth);
    client.on("error", closeBoth);
    upstream.on("error", closeBoth);
  });

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    spans,
    heads,
    sends,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
