import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The keeper's Prometheus metrics (prom-client), one registry per keeper so tests and several
 * keepers in one process never share counters. Names carry the `keeper_` prefix.
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "keeper_process_" });
  const r = { registers: [registry] };
  return {
    registry,
    accountsTracked: new Gauge({ name: "keeper_accounts_tracked", help: "Accounts with open positions in the index", ...r }),
    liquidatableNow: new Gauge({ name: "keeper_liquidatable_accounts", help: "Accounts liquidatable at the latest prices", ...r }),
    liquidations: new Counter({
      name: "keeper_liquidations_total",
      help: "Liquidation items by result (success, reverted, skipped, dropped, dry_run)",
      labelNames: ["result", "kind"] as const,
      ...r,
    }),
    transactions: new Counter({
      name: "keeper_transactions_total",
      help: "Transactions by outcome (sent, mined, reverted, replaced, dropped)",
      labelNames: ["outcome"] as const,
      ...r,
    }),
    priceToBroadcast: new Histogram({
      name: "keeper_price_to_broadcast_seconds",
      help: "From receiving the block with a price update to the eth_sendRawTransaction answer",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ...r,
    }),
    gasSpentWei: new Counter({ name: "keeper_gas_spent_wei_total", help: "Native token spent on gas", ...r }),
    rewardEarnedTokens: new Counter({ name: "keeper_reward_earned_tokens_total", help: "Keeper rewards received, in collateral tokens (6 decimals)", ...r }),
    rpcRequests: new Counter({ name: "keeper_rpc_requests_total", help: "JSON-RPC requests by method", labelNames: ["method"] as const, ...r }),
    rpcErrors: new Counter({ name: "keeper_rpc_errors_total", help: "Failed JSON-RPC requests by method", labelNames: ["method"] as const, ...r }),
    reorgs: new Counter({ name: "keeper_reorgs_total", help: "Chain reorganisations handled", ...r }),
    headBlock: new Gauge({ name: "keeper_head_block", help: "Latest block processed", ...r }),
    loopDuration: new Histogram({
      name: "keeper_tick_duration_seconds",
      help: "Time to process one new head (index, scan, plan, submit)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ...r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
