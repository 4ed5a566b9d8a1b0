import { getAddress, parseEventLogs, type Address, type Chain, type PublicClient, type Transport } from "viem";
import { getBlockReceipts } from "viem/actions";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import type { Deployment } from "../../chain/deploy.ts";
import { accountHealth, type Account, type Valuation } from "../../engine/index.ts";
import { Indexer } from "../../index/index.ts";
import { referenceOf } from "../../protocols/index.ts";
import { valuationAt } from "../../protocols/reference/index.ts";
import { silentLogger, type Logger } from "../../lib/logger.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { tiersSpanned, type TierGroup } from "./tiersSpanned.ts";

/**
 * What the chain says about a run, block by block (the I/O half of report.json's run section;
 * build.ts assembles it): the market's own events (Liquidated, BadDebt) and receipts of every
 * block, the contract's state at each block (insurance fund, bad debt, pool), and the account state
 * rebuilt from events by the keeper's indexer, valued with the shared engine (accounts below
 * maintenance, open interest, and, with an impact model, the accounts the path's prices would not
 * have made liquidatable). Nothing comes from the simulator's plan.
 */

/** One Liquidated event. */
export type LiquidationEvent = {
  block: bigint;
  txHash: string;
  logIndex: number;
  account: Address;
  marketId: number;
  /** The market's symbol in the deployment. */
  market: string;
  keeper: Address;
  size: bigint;
  price: bigint;
  penalty: bigint;
  keeperReward: bigint;
  insuranceShare: bigint;
  remainingSize: bigint;
  full: boolean;
};

/** One Deleveraged event: `size` of `account`'s position closed against `counterparty` at the bankruptcy price. */
export type DeleverageEvent = {
  block: bigint;
  txHash: string;
  logIndex: number;
  account: Address;
  counterparty: Address;
  marketId: number;
  market: string;
  size: bigint;
  bankruptcyPrice: bigint;
  markPrice: bigint;
  score: bigint;
  profitGivenUp: bigint;
};

/**
 * What the opposite side could have given up against this block's deficits (src/sim/report/adl.ts):
 * Σ unrealised profit (PnL > 0, of accounts with equity > 0) at the block's end on the sides
 * opposite to the positions that the accounts held at the previous block's end, over the accounts
 * whose bad debt was recorded in the block (`recorded`) and those left with negative equity (`open`).
 */
export type OppositeProfit = { recorded: bigint; open: bigint };

/** One BadDebt event. */
export type BadDebtEvent = { block: bigint; logIndex: number; account: Address; covered: bigint; uncovered: bigint };

/** One keeper's transactions in one block: gas paid, count, reverted, and batch items that failed inside them. */
export type GasSpent = { wei: bigint; transactions: number; reverted: number; failedItems: number };

/** What the chain says about one block of the run. */
export type BlockObservation = {
  block: bigint;
  timestamp: bigint;
  /** `pathPrice`: the scenario path's price, for a market given as a baseline (one with an impact model). */
  markets: { symbol: string; price: bigint; pathPrice?: bigint; long: bigint; short: bigint }[];
  /** Accounts with equity below total maintenance margin, and with equity ≤ 0, at the end of the block. */
  belowMaintenance: Address[];
  /**
   * Accounts made liquidatable in this block (below at its end, not at the previous block's end)
   * that would not be at the baseline: the same state valued with the baseline markets at their
   * path's price. Empty without a baseline.
   */
  impactDriven: Address[];
  underwater: number;
  /** Σ −equity over accounts with negative equity. */
  openDeficit: bigint;
  /** Equity of every account with a position, and of every account liquidated in the block (its collateral once closed). */
  equity: Map<Address, bigint>;
  /** Accounts with at least one position at the end of the block. */
  openAccounts: number;
  /** Accounts liquidated in this block that hold no position at its end (closed out). */
  closedOut: Address[];
  liquidations: LiquidationEvent[];
  badDebts: BadDebtEvent[];
  deleverages: DeleverageEvent[];
  oppositeProfit: OppositeProfit;
  /** Gas of the keepers' transactions in this block, by keeper address. */
  gas: Map<Address, GasSpent>;
  insuranceFund: bigint;
  badDebt: bigint;
  pool: bigint;
};

export type RunKeeper = { name: string; address: Address; latencyMs: number; minProfitUsd: bigint; backstopMode: boolean };

export type ObserveRunParameters = {
  client: PublicClient<Transport, Chain>;
  deployment: Deployment;
  /** First and last block of the run (inclusive). */
  startBlock: bigint;
  endBlock: bigint;
  /** Symbols of the markets to report, in order. */
  markets: readonly string[];
  keepers: readonly Pick<RunKeeper, "address">[];
  logger?: Logger;
  /** Called after each block is read. */
  onBlock?: (done: number, total: number) => void;
  /** Markets with an impact model: the path's price per block, index 0 at `startBlock`. */
  baseline?: ReadonlyMap<string, readonly bigint[]>;
};

export type RunObservations = {
  blocks: BlockObservation[];
  /** Each account with a position when the run starts: the tiers its largest position spans (tiersSpanned.ts). */
  tiersSpanned: Map<Address, TierGroup>;
};

/** Read every block of the run from the chain. */
export async function observeRun(p: ObserveRunParameters): Promise<RunObservations> {
  const market = p.deployment.contracts.market;
  const logger = p.logger ?? silentLogger();
  const indexer = new Indexer({ client: p.client, source: referenceOf(p.deployment).index, deployBlock: p.deployment.deployBlock, logger, metrics: createMetrics(), maxReorgDepth: 8 });
  await indexer.backfill(p.startBlock - 1n);
  const opening = new Map<Address, TierGroup>();
  for (const [address, account] of indexer.state.accounts) {
    const g = tiersSpanned(account, (id) => indexer.state.markets.get(id)?.tiers);
    if (g !== undefined) opening.set(address, g);
  }
  const ids = p.markets.map((s) => {
    const m = p.deployment.markets.find((x) => x.symbol === s);
    if (!m) throw new Error(`market ${s} is not in the deployment`);
    return { symbol: s, id: m.id };
  });
  const keepers = new Set(p.keepers.map((k) => getAddress(k.address)));
  const out: BlockObservation[] = [];
  // Each account's position sides ("marketId:long") at the previous block's end.
  let sidesBefore = new Map<Address, string[]>();
  const total = Number(p.endBlock - p.startBlock + 1n);
  for (let b = p.startBlock; b <= p.endBlock; b++) {
    const header = await p.client.getBlock({ blockNumber: b });
    await indexer.syncTo({ number: header.number, hash: header.hash, parentHash: header.parentHash, timestamp: header.timestamp });
    const at = { blockNumber: b };
    const read = (functionName: "insuranceFund" | "badDebt" | "poolBalance") => p.client.readContract({ address: market, abi: PerpMarket.abi, functionName, ...at });
    const [receipts, insuranceFund, badDebt, pool] = await Promise.all([getBlockReceipts(p.client, at), read("insuranceFund"), read("badDebt"), read("poolBalance")]);

    const gas = new Map<Address, GasSpent>();
    for (const r of receipts) {
      const from = getAddress(r.from);
      if (!keepers.has(from)) continue;
      const g = gas.get(from) ?? { wei: 0n, transactions: 0, reverted: 0, failedItems: 0 };
      g.wei += r.gasUsed * r.effectiveGasPrice;
      g.transactions++;
      if (r.status !== "success") g.reverted++;
      g.failedItems += parseEventLogs({ abi: PerpMarket.abi, logs: r.logs, eventName: "LiquidationFailed" }).length;
      gas.set(from, g);
    }
    const logs = receipts.flatMap((r) => r.logs).filter((l) => getAddress(l.address) === getAddress(market));
    const liquidations: LiquidationEvent[] = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" }).map((l) => ({
      block: b,
      txHash: l.transactionHash,
      logIndex: l.logIndex,
      account: getAddress(l.args.account),
      marketId: Number(l.args.marketId),
      market: p.deployment.markets.find((m) => m.id === Number(l.args.marketId))?.symbol ?? String(l.args.marketId),
      keeper: getAddress(l.args.keeper),
      size: l.args.size,
      price: l.args.price,
      penalty: l.args.penalty,
      keeperReward: l.args.keeperReward,
      insuranceShare: l.args.insuranceShare,
      remainingSize: l.args.remainingSize,
      full: l.args.full,
    }));
    const deleverages: DeleverageEvent[] = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Deleveraged" }).map((l) => ({
      block: b,
      txHash: l.transactionHash,
      logIndex: l.logIndex,
      account: getAddress(l.args.account),
      counterparty: getAddress(l.args.counterparty),
      marketId: Number(l.args.marketId),
      market: p.deployment.markets.find((m) => m.id === Number(l.args.marketId))?.symbol ?? String(l.args.marketId),
      size: l.args.size,
      bankruptcyPrice: l.args.bankruptcyPrice,
      markPrice: l.args.markPrice,
      score: l.args.score,
      profitGivenUp: l.args.profitGivenUp,
    }));
    const badDebts: BadDebtEvent[] = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "BadDebt" }).map((l) => ({
      block: b,
      logIndex: l.logIndex,
      account: getAddress(l.args.account),
      covered: l.args.coveredByInsurance,
      uncovered: l.args.uncovered,
    }));

    // State rebuilt from events, valued by the engine at the block's time.
    const v = valuationAt(indexer.state, header.timestamp);
    const below: Address[] = [];
    let underwater = 0;
    let openDeficit = 0n;
    let openAccounts = 0;
    const equity = new Map<Address, bigint>();
    const sides = new Map<Address, string[]>();
    const profitBySide = new Map<string, bigint>();
    const negative: Address[] = [];
    const oi = new Map<number, { long: bigint; short: bigint }>(ids.map(({ id }) => [id, { long: 0n, short: 0n }]));
    for (const [address, account] of indexer.state.accounts) {
      if (account.positions.length === 0) continue;
      openAccounts++;
      for (const pos of account.positions) {
        const o = oi.get(pos.marketId);
        if (!o) continue;
        if (pos.size > 0n) o.long += pos.size;
        else o.short -= pos.size;
      }
      try {
        const h = accountHealth(account, v);
        equity.set(address, h.equity);
        sides.set(address, h.positions.map((x) => side(x.marketId, x.size > 0n)));
        if (h.equity < 0n) negative.push(address);
        for (const x of h.positions) {
          const key = side(x.marketId, x.size > 0n);
          if (x.pnl > 0n && h.equity > 0n) profitBySide.set(key, (profitBySide.get(key) ?? 0n) + x.pnl);
        }
        if (h.liquidatable) below.push(address);
        if (h.equity <= 0n) underwater++;
        if (h.equity < 0n) openDeficit -= h.equity;
      } catch (e) {
        logger.warn({ err: e, account: address, block: b }, "cannot value account (stale price?)");
      }
    }
    const impactDriven = p.baseline ? madeLiquidatableByImpact(p.baseline, Number(b - p.startBlock), ids, v, below, out[out.length - 1]?.belowMaintenance ?? [], indexer.state.accounts) : [];
    const closedOut = [...new Set(liquidations.map((l) => l.account))].filter((a) => (indexer.state.accounts.get(a)?.positions.length ?? 0) === 0);
    for (const a of closedOut) equity.set(a, indexer.state.accounts.get(a)?.collateral ?? 0n);
    out.push({
      block: b,
      timestamp: header.timestamp,
      markets: ids.map(({ symbol, id }) => {
        const path = p.baseline?.get(symbol)?.[Number(b - p.startBlock)];
        // The mark as the contract computes it (an index's median); when it refuses, the first feed's last answer.
        return { symbol, price: v.prices.get(id) ?? indexer.state.price(id)?.price ?? 0n, ...(path !== undefined ? { pathPrice: path } : {}), ...oi.get(id)! };
      }),
      belowMaintenance: below,
      impactDriven,
      underwater,
      openDeficit,
      equity,
      openAccounts,
      closedOut,
      liquidations,
      badDebts,
      deleverages,
      oppositeProfit: {
        recorded: oppositeOf(badDebts.filter((d) => d.uncovered > 0n).map((d) => d.account), sidesBefore, profitBySide),
        open: oppositeOf(negative, sides, profitBySide),
      },
      gas,
      insuranceFund,
      badDebt,
      pool,
    });
    sidesBefore = sides;
    p.onBlock?.(out.length, total);
  }
  return { blocks: out, tiersSpanned: opening };
}

const side = (marketId: number, long: boolean) => `${marketId}:${long ? "long" : "short"}`;

/** Σ profit on the sides opposite to the positions of `accounts` (each side once). */
function oppositeOf(accounts: readonly Address[], sides: ReadonlyMap<Address, string[]>, profitBySide: ReadonlyMap<string, bigint>): bigint {
  const opposite = new Set(accounts.flatMap((a) => (sides.get(a) ?? []).map((k) => (k.endsWith(":long") ? k.replace(/:long$/, ":short") : k.replace(/:short$/, ":long")))));
  return [...opposite].reduce((s, k) => s + (profitBySide.get(k) ?? 0n), 0n);
}

/** Accounts below at this block's end, not at the previous one's, that the baseline prices would leave above. */
function madeLiquidatableByImpact(
  baseline: ReadonlyMap<string, readonly bigint[]>,
  step: number,
  ids: readonly { symbol: string; id: number }[],
  v: Valuation,
  below: readonly Address[],
  previous: readonly Address[],
  accounts: ReadonlyMap<Address, Account>,
): Address[] {
  const prices = new Map(v.prices);
  for (const { symbol, id } of ids) {
    const path = baseline.get(symbol)?.[step];
    if (path !== undefined && prices.has(id)) prices.set(id, path);
  }
  const atBaseline: Valuation = { ...v, prices };
  const before = new Set(previous);
  return below.filter((a) => !before.has(a) && !accountHealth(accounts.get(a)!, atBaseline).liquidatable);
}
