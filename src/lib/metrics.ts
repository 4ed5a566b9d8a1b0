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
    engineDistrusted: new Counter({
      name: "keeper_engine_distrusted_total",
      help: "Times the executor switched from engine preflight to node simulation (a revert or an unpredicted failed item)",
      ...r,
    }),
    walletInsufficientFunds: new Gauge({
      name: "keeper_wallet_insufficient_funds",
      help: "1 while the keeper's wallet cannot pay for its transactions (the node answered insufficient funds), else 0",
      ...r,
    }),
    sendFailures: new Counter({
      name: "keeper_send_failures_total",
      help: "eth_sendRawTransaction refusals by kind (nonce_too_low, insufficient_funds, …)",
      labelNames: ["kind"] as const,
      ...r,
    }),
    candidatesSkipped: new Counter({
      name: "keeper_candidates_skipped_total",
      help: "Liquidatable accounts the keeper did not send for, by reason (logged once per account and reason)",
      labelNames: ["reason"] as const,
      ...r,
    }),
    headBlock: new Gauge({ name: "keeper_head_block", help: "Latest block processed", ...r }),
    headOutages: new Counter({ name: "keeper_head_outages_total", help: "Times reading the chain head started failing (one per outage, not per attempt)", ...r }),
    headOutageSeconds: new Counter({ name: "keeper_head_outage_seconds_total", help: "Seconds spent unable to read the chain head", ...r }),
    loopDuration: new Histogram({
      name: "keeper_tick_duration_seconds",
      help: "Time to process one new head (index, scan, plan, submit)",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ...r,
    }),
    // Transports: endpoints, subscriptions, send relays.
    // Health, readiness and the wallet.
    // Costs and profit: native price, L1 fee, the ledger.
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
