import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export type HealthProbe = () => { ok: boolean; details: Record<string, unknown> };

/**
 * GET /healthz → 200 when the probe is ok, 503 otherwise (Drift's watchdog), with JSON details.
 * GET /metrics → Prometheus text from the keeper's registry. Binds to 127.0.0.1 unless told.
 */
export async function startHealthServer(inputs: {
  port: number;
  host?: string;
  registry: Registry;
  probe: HealthProbe;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    try {
      if (req.url === "/healthz" || req.url === "/health") {
        const p = inputs.probe();
        res.writeHead(p.ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: p.ok, ...p.details }));
      } else if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": inputs.registry.contentType });
        res.end(await inputs.registry.metrics());
      } else {
        res.writeHead(404).end();
      }
    } catch {
      res.writeHead(500).end();
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
