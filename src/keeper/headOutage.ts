import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";

export type HeadOutageInputs = {
  logger: Logger;
  metrics?: Pick<Metrics, "headOutages" | "headOutageSeconds">;
  /** Wall clock, ms. Default Date.now. */
  now?: () => number;
  /** During an outage, at most one "still failing" line per this many ms. Default 30 000. */
  logEveryMs?: number;
};

/**
 * An outage of the head follower: the first failure is logged with its error, then one line per
 * `logEveryMs` while it lasts, and one when it ends, instead of a full error every poll. The
 * outage is counted in `keeper_head_outages_total` and its length in
 * `keeper_head_outage_seconds_total` (which grows while it lasts, so an alert sees it at once).
 */
export class HeadOutage {
  private readonly logger: Logger;
  private readonly metrics: HeadOutageInputs["metrics"];
  private readonly now: () => number;
  private readonly logEveryMs: number;
  private since: number | undefined;
  private counted = 0;
  private lastLogAt = 0;
  private failures = 0;

  constructor(inputs: HeadOutageInputs) {
    this.logger = inputs.logger;
    this.metrics = inputs.metrics;
    this.now = inputs.now ?? Date.now;
    this.logEveryMs = inputs.logEveryMs ?? 30_000;
  }

  get active(): boolean {
    return this.since !== undefined;
  }

  failed(err: unknown): void {
    const now = this.now();
    this.failures++;
    if (this.since === undefined) {
      this.since = this.counted = this.lastLogAt = now;
      this.metrics?.headOutages.inc();
      this.logger.warn({ msg: "reading the chain head failed; retrying", err });
      return;
    }
    this.count(now);
    if (now - this.lastLogAt >= this.logEveryMs) {
      this.lastLogAt = now;
      this.logger.warn({ msg: "still cannot read the chain head", failures: this.failures, seconds: Math.round((now - this.since) / 1000), error: errorLine(err) });
    }
  }

  succeeded(): void {
    if (this.since === undefined) return;
    const now = this.now();
    this.count(now);
    this.logger.info({ msg: "reading the chain head works again", failures: this.failures, seconds: Math.round((now - this.since) / 1000) });
    this.since = undefined;
    this.failures = 0;
  }

  private count(now: number): void {
    if (now > this.counted) this.metrics?.headOutageSeconds.inc((now - this.counted) / 1000);
    this.counted = now;
  }
}

function errorLine(e: unknown): string {
  const m = e instanceof Error ? ((e as { shortMessage?: string }).shortMessage ?? e.message) : String(e);
  return m.split("\n")[0]!.slice(0, 300);
}
