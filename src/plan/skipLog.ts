/**
 * Why the keeper did not send for a liquidatable account, said once per account and reason (not
 * once per head), with a counter by reason. When the account is sent for, or its reason changes,
 * the next skip is said again.
 */
import type { Logger } from "../lib/logger.ts";
import type { PlanSkipReason } from "./planLiquidations.ts";

const MESSAGES: Record<PlanSkipReason, string> = {
  below_min_profit: "not liquidating: the reward is below the minimum profit after gas",
  backstop_only: "not liquidating: only a backstop keeper would take this at a loss (backstopMode is off)",
};

export type SkipCounter = { inc(labels: { reason: PlanSkipReason }): void };

export class SkipLog {
  /** Account → the reason last said. */
  private readonly said = new Map<string, PlanSkipReason>();

  constructor(
    private readonly logger: Logger,
    private readonly counter: SkipCounter,
  ) {}

  skipped(account: string, reason: PlanSkipReason, fields: Record<string, unknown> = {}): void {
    if (this.said.get(account) === reason) return;
    this.said.set(account, reason);
    this.counter.inc({ reason });
    this.logger.info({ account, reason, ...fields }, MESSAGES[reason]);
  }

  /** The account was sent for: a later skip is news again. */
  sent(account: string): void {
    this.said.delete(account);
  }

  /** Accounts with a skip said and not since cleared. */
  size(): number {
    return this.said.size;
  }
}
