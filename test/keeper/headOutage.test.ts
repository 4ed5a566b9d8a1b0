import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { HeadOutage } from "../../src/keeper/headOutage.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ destination }), lines };
}

async function metric(m: ReturnType<typeof createMetrics>, name: string): Promise<number> {
  const got = await m.registry.getSingleMetric(name)!.get();
  return got.values[0]?.value ?? 0;
}

describe("defect 7: a head-reading outage is logged at a bounded rate and counted in metrics", () => {
  it("a 5-minute outage polled every 250 ms writes a dozen lines, not 1,200 errors", async () => {
    const { logger, lines } = capture();
    const metrics = createMetrics();
    let t = 1_000_000;
    const outage = new HeadOutage({ logger, metrics, now: () => t });
    const err = new Error("fetch failed\n    at a stack line that must not repeat");
    for (let i = 0; i < 1_200; i++) {
      outage.failed(err);
      t += 250;
    }
    expect(outage.active).toBe(true);
    expect(await metric(metrics, "keeper_head_outages_total")).toBe(1);
    // The seconds counter grows during the outage, so an alert sees it before it ends.
    expect(await metric(metrics, "keeper_head_outage_seconds_total")).toBeCloseTo(299.75, 2);
    outage.succeeded();
    expect(outage.active).toBe(false);
    expect(await metric(metrics, "keeper_head_outage_seconds_total")).toBeCloseTo(300, 2);

    const msgs = lines.map((l) => l.msg);
    expect(msgs[0]).toBe("reading the chain head failed; retrying");
    expect(lines[0]!.err).toBeDefined(); // the first one carries the whole error
    expect(msgs.filter((m) => m === "still cannot read the chain head")).toHaveLength(9); // every 30 s
    expect(msgs.at(-1)).toBe("reading the chain head works again");
    expect(lines.at(-1)).toMatchObject({ failures: 1_200, seconds: 300 });
    expect(lines.length).toBe(11);
    for (const l of lines.slice(1)) expect(JSON.stringify(l)).not.toContain("stack line");

    // A second outage is a second count.
    outage.failed(err);
    expect(await metric(metrics, "keeper_head_outages_total")).toBe(2);
  });

  it("no outage, no lines", () => {
    const { logger, lines } = capture();
    const outage = new HeadOutage({ logger });
    outage.succeeded();
    expect(lines).toEqual([]);
  });
});
