import { createServer, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { ProbeAnswer } from "./readiness.ts";

/** The daemon's two probes (see readiness.ts). */
export type HealthProbes = {
  /** The process loop is alive (/livez). */
  live(): ProbeAnswer;
  /** The keeper is doing its job (/readyz, /healthz); also updates `keeper_ready` before each scrape. */
  ready(): ProbeAnswer;
};

/**
 * GET /livez  → 200 while the process loop is alive, else 503 (with its reasons).
 * GET /readyz → 200 when ready, else 503 with `reasons: [{ code, message }]`; /healthz is an alias.
 * GET /metrics → Prometheus text from the keeper's registry (readiness is evaluated first, so
 * `keeper_ready` and `keeper_not_ready_reason` are current at every scrape).
 * Anything else → 404. Binds to 127.0.0.1 unless told.
 */
export async function startHealthServer(inputs: {
  port: number;
  host?: string;
  registry: Registry;
  probes: HealthProbes;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const answer = (res: ServerResponse, a: ProbeAnswer) => {
    res.writeHead(a.ok ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify(a.body));
  };
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/livez") answer(res, inputs.probes.live());
      else if (path === "/readyz" || path === "/healthz" || path === "/health") answer(res, inputs.probes.ready());
      else if (path === "/metrics") {
        inputs.probes.ready();
        res.writeHead(200, { "content-type": inputs.registry.contentType });
        res.end(await inputs.registry.metrics());
      } else {
        res.writeHead(404).end();
      }
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(inputs.port, inputs.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : inputs.port;
  return {
    server,
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
