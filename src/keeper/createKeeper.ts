/**
 * Wiring: a Keeper for one protocol's deployment, with its indexer, book, executor and send journal
 * built from the keeper settings. The CLI, the lab, the benches and the tests start keepers here;
 * a test that needs a different part builds the Keeper's inputs itself.
 */
import type { Account as ViemAccount, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import type { KeeperSettings } from "../config/keeper.ts";
import { Executor } from "../execute/executor.ts";
import { SendJournal } from "../execute/journal.ts";
import type { LiquidationItem } from "../execute/types.ts";
import { Indexer } from "../index/indexer.ts";
import type { LogPosition, ReducerState } from "../index/source.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { MinedTx } from "../execute/spend.ts";
import { ledgerPathOf, ProfitLedger } from "../ledger/ledgerFile.ts";
import { ethCallAt } from "../chain/ethCall.ts";
import { HeadCosts } from "./headCosts.ts";
import { Keeper } from "./keeper.ts";
import { NativePrice, nativePriceSourceOf } from "./nativePrice.ts";
import type { Protocol } from "./protocol.ts";
import { DutyRunner } from "./duties.ts";
import { Sweeper, type SweepSettings } from "./sweep.ts";
import { WalletWatch } from "./walletWatch.ts";

export type CreateKeeperInputs<S extends ReducerState<L>, L extends LogPosition> = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, ViemAccount>;
  deployment: { chainId: number; deployBlock: bigint; contracts: { market: Address }; nativeUsdFeed?: Address };
  settings: KeeperSettings;
  logger: Logger;
  metrics: Metrics;
  protocol: Protocol<S, L>;
  dryRun?: boolean;
  /** Sends go to private relays only: see ExecutorInputs.privateSends. */
  privateSends?: boolean;
  /** Write and resume from a checkpoint file (settings.checkpointPath). Default true. */
  checkpoint?: boolean;
  /** Wall clock in ms (watchdog). */
  now?: () => number;
  /** Monotonic clock in ms (latency). */
  perfNow?: () => number;
  /** Shutdown: start() and the indexer's requests and retries (the backfill) stop when it fires. */
  signal?: AbortSignal;
  /**
   * Watch the wallet after each tick: `keeper_wallet_balance_wei` every `balanceEveryBlocks` heads,
   * not ready under `minBalanceWei`, and the reward sweep when `sweep` is given. Absent: not watched.
   */
  wallet?: { minBalanceWei?: bigint; sweep?: SweepSettings; balanceEveryBlocks?: number };
  /**
   * The native price and L1 fee source; default: the settings' fixed price, else the settings' or
   * the deployment's feed (nativePrice.ts), and the L1 fee when the chain has the GasPriceOracle.
   */
  costs?: HeadCosts;
  /** Each mined liquidation transaction of ours, with the native price then (a profit ledger). */
  onMined?: (m: MinedTx, nativeUsd: bigint) => void;
};

export function createKeeper<S extends ReducerState<L>, L extends LogPosition>(inputs: CreateKeeperInputs<S, L>): Keeper<S, L> {
  const { settings: s, logger, deployment, protocol } = inputs;
  const journal = inputs.checkpoint === false ? undefined : new SendJournal(`${s.checkpointPath}.sends`);
  const perfNow = inputs.perfNow ?? (() => performance.now());
  const indexer = new Indexer<S, L>({
    client: inputs.publicClient,
    source: protocol.index,
    deployBlock: deployment.deployBlock,
    logger: logger.child({ part: "indexer" }),
    metrics: inputs.metrics,
    maxReorgDepth: s.maxReorgDepth,
    ...(inputs.signal ? { signal: inputs.signal } : {}),
  });
  const book = protocol.createBook(() => indexer.state);
  const costs =
    inputs.costs ??
    new HeadCosts({
      nativePrice: new NativePrice({ source: nativePriceSourceOf(s, deployment), call: ethCallAt(inputs.publicClient), logger, metrics: inputs.metrics }),
      publicClient: inputs.publicClient,
      calls: protocol.calls,
      logger,
    });
  // The profit ledger, beside the checkpoint (src/ledger): every mined transaction, in USD.
  const ledger = inputs.checkpoint === false ? undefined : ProfitLedger.open({ path: ledgerPathOf(s.checkpointPath), identity: { chainId: deployment.chainId, market: deployment.contracts.market }, logger, metrics: inputs.metrics });
  const hook = inputs.onMined;
  const onMined =
    ledger || hook
      ? (m: MinedTx, usd: bigint) => {
          ledger?.record(m, usd);
          hook?.(m, usd);
        }
      : undefined;
  // The book's answer at the index's head (the wall clock's second before anything is indexed).
  const sizeNow = (item: LiquidationItem) => book.sizeNow(item, indexer.head?.timestamp ?? BigInt(Math.floor((inputs.now ?? Date.now)() / 1000)));
  const executor = new Executor({
    publicClient: inputs.publicClient,
    walletClient: inputs.walletClient,
    calls: protocol.calls,
    logger: logger.child({ part: "executor" }),
    metrics: inputs.metrics,
    concurrency: s.concurrency,
    preflight: s.preflight,
    feeCapWei: s.feeCapWei,
    priorityFeeWei: s.priorityFeeWei,
    profitPriorityShare: Number(s.profitPriorityPpm) / 1e6,
    replaceAfterBlocks: s.replaceAfterBlocks,
    reorgMemoryBlocks: s.maxReorgDepth,
    gasBudgetWeiPerHour: s.gasBudgetWeiPerHour,
    dryRun: inputs.dryRun ?? false,
    privateSends: inputs.privateSends ?? false,
    costs: { l1FeeWei: (n) => costs.l1FeeWei(n), ...(onMined ? { onMined: (m: MinedTx) => onMined(m, costs.nativeUsd) } : {}) },
    ...(journal ? { journal } : {}),
    isStillValid: (item) => item.size <= sizeNow(item) && item.size > 0n,
    sizeNow,
    now: perfNow,
  });
  const w = inputs.wallet;
  const address = inputs.walletClient.account.address;
  const sweeper = w?.sweep
    ? new Sweeper({ client: inputs.publicClient, executor, address, settings: w.sweep, logger: logger.child({ part: "sweep" }), metrics: inputs.metrics, replaceAfterBlocks: s.replaceAfterBlocks })
    : undefined;
  const wallet = w
    ? new WalletWatch({
        client: inputs.publicClient,
        address,
        logger: logger.child({ part: "wallet" }),
        metrics: inputs.metrics,
        ...(w.minBalanceWei === undefined ? {} : { minBalanceWei: w.minBalanceWei }),
        ...(w.balanceEveryBlocks === undefined ? {} : { everyBlocks: w.balanceEveryBlocks }),
        ...(sweeper ? { sweeper } : {}),
      })
    : undefined;
  // The protocol's duties for this keeper's role (the reference market's ADL, for its ADL operator).
  const duties = book.duties
    ? new DutyRunner({ book, executor, client: inputs.publicClient, address, logger: logger.child({ part: "duties" }), metrics: inputs.metrics, replaceAfterBlocks: s.replaceAfterBlocks })
    : undefined;
  return new Keeper<S, L>({
    publicClient: inputs.publicClient,
    walletClient: inputs.walletClient,
    deployment,
    settings: s,
    logger,
    metrics: inputs.metrics,
    protocol,
    indexer,
    book,
    executor,
    ...(journal ? { journal } : {}),
    ...(inputs.checkpoint === undefined ? {} : { checkpoint: inputs.checkpoint }),
    ...(inputs.now ? { now: inputs.now } : {}),
    perfNow,
    ...(inputs.signal ? { signal: inputs.signal } : {}),
    ...(wallet ? { wallet } : {}),
    ...(duties ? { duties } : {}),
    costs,
  });
}
