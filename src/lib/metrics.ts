import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The keeper's Prometheus metrics (prom-client), one registry per keeper so tests and several
 * keepers in one process never share counters. Names carry the `keeper_` prefix.
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  // prom-client's process metrics under their standard names (process_cpu_seconds_total, nodejs_*).
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const r = { registers: [registry] };
  return {
    registry,
    accountsTracked: new Gauge({ name: "keeper_accounts_tracked", help: "Accounts with open positions in the index", ...r }),
    stateEntries: new Gauge({ name: "keeper_state_entries", help: "Entries of each long-lived map or array the keeper holds (index tables, book, executor, dedupe and backoff maps), set at every head", labelNames: ["map"] as const, ...r }),
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
    rpcEndpointRequests: new Counter({
      name: "keeper_rpc_endpoint_requests_total",
      help: "JSON-RPC requests by endpoint (rpc0, rpc1, … read; send0, … relays: ids, never URLs) and method",
      labelNames: ["endpoint", "method"] as const,
      ...r,
    }),
    rpcEndpointHeadLag: new Gauge({
      name: "keeper_rpc_endpoint_head_lag_blocks",
      help: "Blocks a read endpoint's head is behind the best read endpoint's (last sample)",
      labelNames: ["endpoint"] as const,
      ...r,
    }),
    rpcEndpointDemoted: new Gauge({
      name: "keeper_rpc_endpoint_demoted",
      help: "1 while a read endpoint lags more than --max-head-lag blocks and takes no reads, else 0",
      labelNames: ["endpoint"] as const,
      ...r,
    }),
    headSubscriptions: new Counter({
      name: "keeper_head_subscriptions_total",
      help: "newHeads subscriptions opened over WebSocket (the first, then one per reconnect)",
      ...r,
    }),
    sendRelayFailures: new Counter({
      name: "keeper_send_relay_failures_total",
      help: "eth_sendRawTransaction attempts a send relay could not take (unreachable, timeout, 5xx), by relay",
      labelNames: ["endpoint"] as const,
      ...r,
    }),
    sendPublicFallbacks: new Counter({
      name: "keeper_send_public_fallbacks_total",
      help: "Transactions sent to the public read endpoints because every send relay was down (--send-fallback-public)",
      ...r,
    }),
    // Health, readiness and the wallet.
    ready: new Gauge({ name: "keeper_ready", help: "1 while /readyz answers 200 (started, head fresh, markets priced, wallet funded), else 0", ...r }),
    notReady: new Gauge({
      name: "keeper_not_ready_reason",
      help: "1 while the reason holds and keeps /readyz from answering 200, else 0 (starting, stale_head, unpriced_market, low_balance, insufficient_funds, stopped)",
      labelNames: ["reason"] as const,
      ...r,
    }),
    unpricedAccounts: new Gauge({ name: "keeper_unpriced_accounts", help: "Accounts that cannot be valued now: a position in a market without a usable price (stale, invalid or missing)", ...r }),
    unpricedMarkets: new Gauge({
      name: "keeper_unpriced_markets",
      help: "1 while the market has no usable price (stale, invalid or missing) at the latest head, else 0",
      labelNames: ["market"] as const,
      ...r,
    }),
    walletBalanceWei: new Gauge({ name: "keeper_wallet_balance_wei", help: "The keeper's native-token balance (wei) at its latest read (every few heads)", ...r }),
    sweptTokens: new Counter({ name: "keeper_swept_tokens_total", help: "Reward tokens (collateral token base units) moved from the keeper's wallet to --sweep-to", ...r }),
    // Duties: transactions a protocol asks of the keeper's role (the reference market's ADL).
    duties: new Counter({
      name: "keeper_duties_total",
      help: "Protocol duties (kind: deleverage) by outcome: sent, mined, reverted (on chain), refused (the node's simulation said it would fail, or sending was refused), gone (nonce taken)",
      labelNames: ["kind", "outcome"] as const,
      ...r,
    }),
    gasBudgetExhausted: new Gauge({ name: "keeper_gas_budget_exhausted", help: "1 while the hourly gas budget has no room for a new transaction (sends are refused), else 0", ...r }),
    // Costs and profit: native price, L1 fee, the ledger.
    nativePriceUsd: new Gauge({ name: "keeper_native_price_usd", help: "The native token's price in USD the keeper values gas at (its feed's latest good answer, or the fixed override)", ...r }),
    nativePriceStale: new Gauge({ name: "keeper_native_price_stale", help: "1 while the native-token feed's answer is older than its staleness limit (or invalid) and the last good price is kept, else 0", ...r }),
    l1FeeWei: new Counter({ name: "keeper_l1_fee_wei_total", help: "OP-stack L1 data fees of mined liquidation transactions (the receipt's l1Fee, else the keeper's estimate), wei", ...r }),
    // A gauge: a transaction's net may be negative (a reverted one, a loss in backstop mode), and a counter cannot fall.
    profitUsd: new Gauge({ name: "keeper_profit_usd", help: "Net profit of mined liquidations in USD (rewards − L2 gas − L1 fee), summed over the profit ledger (restored from it at start)", ...r }),
    rewardsUsd: new Counter({ name: "keeper_rewards_usd_total", help: "Keeper rewards of mined liquidations in USD, from the profit ledger", ...r }),
    gasUsd: new Counter({ name: "keeper_gas_usd_total", help: "L2 gas plus L1 fee of mined liquidation transactions in USD at the native price of the time, from the profit ledger", ...r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
