/**
 * Endpoints for the transport cells and tests: a JSON-RPC HTTP proxy that records every method it
 * forwards (a read endpoint or a send relay; it can be taken down), and a WebSocket proxy in front
 * of Anvil's WebSocket whose connections can be dropped and refused for a while. Loopback, port 0;
 * only this process's servers and sockets are ever closed.
 */
import { createServer, type Server } from "node:http";
import { connect as connectTcp, createServer as createTcpServer, type Socket } from "node:net";

export type RecordingProxy = {
  readonly url: string;
  /** Methods forwarded, in order (a batch: each call). */
  readonly methods: string[];
  /** Requests refused while down. */
  readonly refused: number;
  /** While down, every request's connection is destroyed (a dead endpoint). */
  setDown(down: boolean): void;
  close(): Promise<void>;
};

/** An HTTP JSON-RPC proxy in front of `target` (http) that records methods. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const methods: string[] = [];
  const sockets = new Set<Socket>();
  let down = false;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (down) {
      refused++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const parsed = JSON.parse(body) as { method?: string } | { method?: string }[];
        for (const call of Array.isArray(parsed) ? parsed : [parsed]) methods.push(call.method ?? "?");
      } catch {
        methods.push("?");
      }
      fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then(async (r) => {
          res.writeHead(r.status, { "content-type": "application/json" });
          res.end(await r.text());
        })
        .catch(() => req.socket.destroy());
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    methods,
    get refused() {
      return refused;
    },
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export type WsProxy = {
  /** ws:// URL of the proxy (it carries HTTP too: it is a TCP proxy). */
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Close every open connection at once (as a load balancer or a node restart does). */
  dropAll(): void;
  /** While refusing, a new connection is closed as soon as it opens. */
  setRefusing(refusing: boolean): void;
  close(): Promise<void>;
};

/**
 * A TCP proxy in front of `target`'s host and port: a WebSocket (an HTTP upgrade, then frames)
 * passes through it unchanged, and dropping its connections drops the WebSocket.
 */
export async function startWsProxy(target: string): Promise<WsProxy> {
  const t = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  let connections = 0;
  const server = createTcpServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = connectTcp(Number(t.port), t.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of pair) {
      s.on("close", end);
      s.on("error", end);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const dropAll = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
  };
  return {
    url: `ws://127.0.0.1:${port}/`,
    get connections() {
      return connections;
    },
    dropAll,
    setRefusing(r) {
      refusing = r;
    },
    async close() {
      dropAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
