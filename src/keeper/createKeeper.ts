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
import { Keeper } from "./keeper.ts";
import type { Protocol } from "./protocol.ts";

export type CreateKeeperInputs<S extends ReducerState<L>, L extends LogPosition> = {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, ViemAccount>;
  deployment: { chainId: number; deployBlock: bigint; contracts: { market: Address } };
  settings: KeeperSettings;
  logger: Logger;
  metrics: Metrics;
  protocol: Protocol<S, L>;
  dryRun?: boolean;
  /** Write and resume from a checkpoint file (settings.checkpointPath). Default true. */
  checkpoint?: boolean;
  /** Wall clock in ms (watchdog). */
  now?: () => number;
  /** Monotonic clock in ms (latency). */
  perfNow?: () => number;
  /** Shutdown: start() and the indexer's requests and retries (the backfill) stop when it fires. */
  signal?: AbortSignal;
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
    ...(journal ? { journal } : {}),
    isStillValid: (item) => item.size <= sizeNow(item) && item.size > 0n,
    sizeNow,
    now: perfNow,
  });
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
  });
}
