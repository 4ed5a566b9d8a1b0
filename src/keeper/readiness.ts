/**
 * The daemon's two probes, decided from what the keeper knows (pure: facts in, answer out).
 *
 * - **Liveness** (`/livez`): the process loop is alive. Not alive only when a tick has run longer
 *   than `stallSeconds` (wedged) or the keeper has stopped. A quiet chain is alive: the loop ticks on
 *   new heads, and no head is not a stall.
 * - **Readiness** (`/readyz`, alias `/healthz`): the keeper is doing its job. Not ready, each with a
 *   machine-readable code and a human message: before its start (the backfill) is done; when no new
 *   head came for `staleHeadSeconds`; while a market without a usable price holds positions (nobody
 *   can value or liquidate them); while the wallet is under `--min-balance`; while the node refuses
 *   sends for lack of funds; once stopped.
 *
 * `keeper_ready` and `keeper_not_ready_reason{reason}` follow every readiness answer.
 */
import type { Metrics } from "../lib/metrics.ts";
import type { Unpriced } from "./protocol.ts";

export const NOT_READY_CODES = ["starting", "stale_head", "unpriced_market", "low_balance", "insufficient_funds", "stopped"] as const;
export type NotReadyCode = (typeof NOT_READY_CODES)[number];

export type NotReadyReason = { code: NotReadyCode; message: string; markets?: number[] };

/** A probe's answer: ok → 200, else 503; `body` is the JSON sent. */
export type ProbeAnswer = { ok: boolean; body: Record<string, unknown> };

/** What the keeper knows now, in the units it keeps them. */
export type HealthFacts = {
  /** Wall clock, ms. */
  now: number;
  settings: { stallSeconds: number; staleHeadSeconds: number };
  /** start() has finished (backfill, executor, the start state acted on). */
  started: boolean;
  stopped: boolean;
  /** When the tick running now began (ms), if one runs. */
  tickStartedAt: number | undefined;
  /** When the last new head was processed, or the start finished (ms); 0: never. */
  lastNewHeadAt: number;
  /** The head the keeper has processed (after start: the start's head). */
  head: bigint | undefined;
  /** While starting: the block the index has reached. */
  indexedBlock: bigint | undefined;
  accounts: number;
  liquidatable: number;
  inFlight: number;
  /** At the processed head (undefined before the start). */
  unpriced: Unpriced | undefined;
  wallet: {
    /** Latest read (undefined: not read yet). */
    balanceWei: bigint | undefined;
    /** `--min-balance` (undefined: no floor). */
    minBalanceWei: bigint | undefined;
    /** The node refused a send for lack of funds and the balance does not cover it yet. */
    insufficientFunds: { neededWei: bigint } | undefined;
  };
};

const seconds = (ms: number) => Math.round(ms / 1000);

/** /livez: the loop is not wedged in a tick, and the keeper has not stopped. */
export function liveness(f: HealthFacts): ProbeAnswer {
  const tickSeconds = f.tickStartedAt === undefined ? 0 : (f.now - f.tickStartedAt) / 1000;
  const reasons: { code: "tick_stalled" | "stopped"; message: string }[] = [];
  if (f.stopped) reasons.push({ code: "stopped", message: "the keeper has stopped" });
  if (tickSeconds > f.settings.stallSeconds) {
    reasons.push({ code: "tick_stalled", message: `a tick has been running for ${Math.round(tickSeconds)} s (limit ${f.settings.stallSeconds} s)` });
  }
  const ok = reasons.length === 0;
  return { ok, body: { ok, live: ok, ...(ok ? {} : { reasons }), tickRunningSeconds: Math.round(tickSeconds) } };
}

/** Why the keeper is not ready now (empty: ready). */
export function notReadyReasons(f: HealthFacts): NotReadyReason[] {
  const reasons: NotReadyReason[] = [];
  if (f.stopped) reasons.push({ code: "stopped", message: "the keeper has stopped" });
  if (!f.started) {
    const at = f.indexedBlock === undefined ? "" : ` (indexed up to block ${f.indexedBlock})`;
    reasons.push({ code: "starting", message: `the keeper is starting: backfilling the index${at}` });
    return reasons;
  }
  const sinceHead = (f.now - f.lastNewHeadAt) / 1000;
  if (sinceHead > f.settings.staleHeadSeconds) {
    reasons.push({ code: "stale_head", message: `no new head for ${Math.round(sinceHead)} s (limit ${f.settings.staleHeadSeconds} s)` });
  }
  const held = (f.unpriced?.markets ?? []).filter((m) => m.accounts > 0);
  if (held.length > 0) {
    const list = held.map((m) => `market ${m.marketId} (${m.why}, ${m.accounts} account${m.accounts === 1 ? "" : "s"})`).join(", ");
    reasons.push({ code: "unpriced_market", message: `no usable price for ${list}: those accounts cannot be valued or liquidated`, markets: held.map((m) => m.marketId) });
  }
  const { balanceWei, minBalanceWei, insufficientFunds } = f.wallet;
  if (minBalanceWei !== undefined && balanceWei !== undefined && balanceWei < minBalanceWei) {
    reasons.push({ code: "low_balance", message: `the wallet holds ${balanceWei} wei, under --min-balance (${minBalanceWei} wei)` });
  }
  if (insufficientFunds) {
    reasons.push({ code: "insufficient_funds", message: `the node refused a send for lack of funds (it needed ${insufficientFunds.neededWei} wei): sending is paused` });
  }
  return reasons;
}

/** /readyz: ready, or not with its reasons; the gauges follow. */
export function readiness(f: HealthFacts, metrics?: Pick<Metrics, "ready" | "notReady">): ProbeAnswer {
  const reasons = notReadyReasons(f);
  const ok = reasons.length === 0;
  if (metrics) setReadinessGauges(metrics, reasons);
  const u = f.unpriced;
  return {
    ok,
    body: {
      ok,
      ready: ok,
      ...(ok ? {} : { reasons }),
      head: f.head?.toString() ?? null,
      ...(f.started ? {} : { backfill: { indexedBlock: f.indexedBlock?.toString() ?? null } }),
      secondsSinceNewHead: f.lastNewHeadAt === 0 ? null : seconds(f.now - f.lastNewHeadAt),
      accounts: f.accounts,
      liquidatable: f.liquidatable,
      inFlight: f.inFlight,
      unpricedAccounts: u?.accounts ?? 0,
      unpricedMarkets: (u?.markets ?? []).map((m) => ({ market: m.marketId, why: m.why, accounts: m.accounts })),
      ...(f.wallet.balanceWei === undefined ? {} : { walletBalanceWei: f.wallet.balanceWei.toString() }),
      ...(f.wallet.insufficientFunds ? { walletNeededWei: f.wallet.insufficientFunds.neededWei.toString() } : {}),
    },
  };
}

/** keeper_ready and one keeper_not_ready_reason{reason} per code (0 or 1; every code always present). */
export function setReadinessGauges(metrics: Pick<Metrics, "ready" | "notReady">, reasons: readonly NotReadyReason[]): void {
  metrics.ready.set(reasons.length === 0 ? 1 : 0);
  const on = new Set(reasons.map((r) => r.code));
  for (const code of NOT_READY_CODES) metrics.notReady.set({ reason: code }, on.has(code) ? 1 : 0);
}

/**
 * keeper_unpriced_accounts, and keeper_unpriced_markets{market}: 1 while the market is unpriced, 0
 * once it is priced again (`seen` remembers which markets have a series).
 */
export function recordUnpriced(metrics: Pick<Metrics, "unpricedAccounts" | "unpricedMarkets">, u: Unpriced, seen: Set<number>): void {
  metrics.unpricedAccounts.set(u.accounts);
  const now = new Set(u.markets.map((m) => m.marketId));
  for (const id of now) seen.add(id);
  for (const id of seen) metrics.unpricedMarkets.set({ market: String(id) }, now.has(id) ? 1 : 0);
}

/** Before there is a keeper (connecting, checking the deployment): alive, not ready. */
export function beforeStart(metrics?: Pick<Metrics, "ready" | "notReady">): { live: ProbeAnswer; ready: ProbeAnswer } {
  const reasons: NotReadyReason[] = [{ code: "starting", message: "the keeper is starting: connecting to the node" }];
  if (metrics) setReadinessGauges(metrics, reasons);
  return {
    live: { ok: true, body: { ok: true, live: true, tickRunningSeconds: 0 } },
    ready: { ok: false, body: { ok: false, ready: false, reasons, head: null } },
  };
}
