/**
 * The executor on a test chain: one for the keeper account with generous defaults, the items and
 * plans it takes, and the heads it is handed (as the daemon's block watcher hands them).
 */
import { parseEther, parseGwei, type Address } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { readAccount, readValuation } from "../../src/chain/reads.ts";
import { maxLiquidatable } from "../../src/engine/index.ts";
import { Executor, type ExecutorInputs } from "../../src/execute/executor.ts";
import type { JobResult, LiquidationItem, TxPlan } from "../../src/execute/types.ts";
import { createMetrics, type Metrics } from "../../src/lib/metrics.ts";
import { referenceCalls } from "../../src/protocols/reference/calls.ts";
import { waitFor } from "./anvil.ts";
import { headOf, type Head } from "./blocks.ts";
import { captureLogs, type LogSink } from "./logs.ts";
import { KEEPER, SMALLCAP, trader, type Deployed } from "./market.ts";

export type TestExecutor = { executor: Executor; metrics: Metrics; logs: LogSink };

/** An executor for the keeper account with generous defaults, logging at debug into `logs`. */
export function makeExecutor(m: Deployed, overrides: Partial<ExecutorInputs> = {}): TestExecutor {
  const metrics = createMetrics();
  const { logger, sink } = captureLogs({ level: "debug" });
  const executor = new Executor({
    publicClient: m.chain.publicClient,
    walletClient: m.chain.wallet(KEEPER),
    calls: referenceCalls(m.deployment.contracts.market),
    logger,
    metrics,
    concurrency: 2,
    feeCapWei: parseGwei("1000"),
    priorityFeeWei: parseGwei("1"),
    gasBudgetWeiPerHour: parseEther("10"),
    dryRun: false,
    isStillValid: () => true,
    ...overrides,
  });
  return { executor, metrics, logs: sink };
}

export function keeperNonce(m: Deployed, blockTag: "latest" | "pending" = "pending"): Promise<number> {
  return m.chain.publicClient.getTransactionCount({ address: trader(KEEPER), blockTag });
}

/**
 * Feeds the executor the latest head, as the daemon's block watcher does. With automine on, first
 * waits (bounded) until every transaction of the keeper's that the node took is in a block: Anvil
 * can answer eth_sendRawTransaction before the block carrying it is "latest", so reading the head
 * at once would depend on how busy the machine is.
 */
export async function tick(m: Deployed, executor: Executor): Promise<Head> {
  if (await m.chain.testClient.getAutomine()) {
    await waitFor(async () => (await keeperNonce(m, "latest")) === (await keeperNonce(m, "pending")), {
      timeoutMs: 10_000,
      message: "the keeper's transactions mined (automine)",
    });
  }
  const head = await headOf(m.chain);
  await executor.onBlock(head);
  return head;
}

/** Warps the chain's clock by `seconds`, mines a block, and hands the executor the new head. */
export async function advanceChainTime(m: Deployed, executor: Executor, seconds: number): Promise<Head> {
  await m.chain.testClient.increaseTime({ seconds });
  await m.chain.testClient.mine({ blocks: 1 });
  return tick(m, executor);
}

/** The slice the engine says may be liquidated now (read from the chain, valued by src/engine). */
export async function sliceOf(m: Deployed, account: Address, marketId = SMALLCAP): Promise<bigint> {
  const market = m.deployment.contracts.market;
  const [acct, v] = await Promise.all([readAccount(m.chain, market, account), readValuation(m.chain, market)]);
  return maxLiquidatable(acct, marketId, v);
}

/** An item for `account`'s largest slice now, with the contract's quoted reward. */
export async function itemFor(m: Deployed, account: Address, marketId = SMALLCAP): Promise<LiquidationItem> {
  const size = await sliceOf(m, account, marketId);
  if (size === 0n) throw new Error(`${account} is not liquidatable`);
  const [, reward] = await m.chain.publicClient.readContract({
    address: m.deployment.contracts.market,
    abi: PerpMarket.abi,
    functionName: "quoteLiquidation",
    args: [account, BigInt(marketId), size],
  });
  return { account, marketId, size, expectedRewardTokens: reward };
}

export function plan(items: LiquidationItem[], extra: Partial<TxPlan> = {}): TxPlan {
  return { items, expectedProfitWei: 0n, ...extra };
}

/** Sum of a counter's values whose labels match `labels`. */
type CounterLike = { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> };

export async function counterValue(c: CounterLike, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** Submits `items` (as one plan) or a plan, insists on admission, and waits for the job's result. */
export async function submitAndWait(executor: Executor, what: LiquidationItem[] | TxPlan): Promise<JobResult> {
  const r = executor.submit(Array.isArray(what) ? plan(what) : what);
  if (!r.accepted) throw new Error(`refused: ${r.reason}`);
  return r.done;
}
