/**
 * One capped case: set up (cappedCases.ts), then each of the keeper's transactions predicted by the
 * engine and compared with the chain to the wei: the custom error and its arguments (ERC-7412's
 * OracleDataRequired and FeeRequired, UnexpectedValue, NotEligibleForLiquidation,
 * InsufficientPoolBalance), or each call's reward, the events in order, every account, every
 * market's skew, size and window, the flagged set, the pool, the keeper's tokens and the market's
 * balance. The views are compared before each transaction (cappedViews.ts). The engine carries its
 * own state from one transaction to the next; the chain is only read to check it.
 */
import { BaseError, decodeAbiParameters, decodeErrorResult, encodeFunctionData, getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { expect } from "vitest";
import { CappedPerpsMarket } from "../../abi/CappedPerpsMarket.ts";
import { MockSUSD } from "../../abi/MockSUSD.ts";
import { encodeLatestPriceQuery, encodeOfflineReport } from "../../src/chain/pyth/erc7412.ts";
import {
  applyLiquidateFlagged,
  applyLiquidateFlaggedAccounts,
  applyLiquidation,
  entriesInWindow,
  keeperCosts,
  type CappedAccount,
  type CappedBook,
  type CappedLiquidationEvent,
  type CappedValuation,
  type LiquidationOutcome,
} from "../../src/engine/capped/index.ts";
import { normalise, type ContractError } from "./caseWorld.ts";
import { feedPrices, movedPrice, setUpCappedCase, type CappedCase, type Op, type TxCase } from "./cappedCases.ts";
import { compareCappedViews, type CappedViewStats } from "./cappedViews.ts";
import {
  ENDORSED,
  FEED_OF,
  KEEPER,
  MARKET_IDS,
  PYTH_FEE,
  TX_FEES,
  enginePrices,
  inCappedCase,
  readAccount,
  readBook,
  readGuards,
  readMarket,
  tokensHeld,
  updatesAt,
  type CappedWorld,
} from "./cappedWorld.ts";

export type CappedStats = {
  cases: number;
  txs: number;
  executed: number;
  flags: number;
  liquidations: number;
  fullLiquidations: number;
  /** Positions the window cut short (capacity < |size|), or gave nothing. */
  capped: number;
  zeroCapacity: number;
  pdBypass: number;
  endorsed: number;
  unlimited: number;
  withUpdate: number;
  oracleRecovered: number;
  refused: Record<string, number>;
  views: CappedViewStats;
};

export function newCappedStats(): CappedStats {
  return { cases: 0, txs: 0, executed: 0, flags: 0, liquidations: 0, fullLiquidations: 0, capped: 0, zeroCapacity: 0, pdBypass: 0, endorsed: 0, unlimited: 0, withUpdate: 0, oracleRecovered: 0, refused: {}, views: {} };
}

/** Account id of a trader index; past the traders, an id nobody created. */
const GHOST = 99n;
const ABI = CappedPerpsMarket.abi;

type State = { accounts: Map<bigint, CappedAccount>; v: CappedValuation; book: CappedBook };
type Prediction = { ok: false; error: ContractError } | { ok: true; state: State; rewards: bigint[]; steps: LiquidationOutcome[]; events: CappedLiquidationEvent[] };

const idOf = (c: CappedCase, who: number) => (who < c.traders.length ? BigInt(who + 1) : GHOST);
const empty = (id: bigint): CappedAccount => ({ id, collateral: 0n, flagged: false, positions: [] });

function opCall(c: CappedCase, op: Op): Hex {
  if (op.kind === "liquidate") return encodeFunctionData({ abi: ABI, functionName: "liquidate", args: [idOf(c, op.who)] });
  if (op.kind === "flagged") return encodeFunctionData({ abi: ABI, functionName: "liquidateFlagged", args: [BigInt(op.max)] });
  return encodeFunctionData({ abi: ABI, functionName: "liquidateFlaggedAccounts", args: [op.who.map((x) => idOf(c, x))] });
}

/** The engine's prediction of `ops` in one transaction; `stale`: every feed older than the tolerance (no update inside). */
function predict(w: CappedWorld, c: CappedCase, s: State, ops: readonly Op[], sender: Address, stale: boolean): Prediction {
  let { accounts, v, book } = s;
  accounts = new Map(accounts);
  const rewards: bigint[] = [];
  const steps: LiquidationOutcome[] = [];
  const oracle = (a: CappedAccount): ContractError => ({
    name: "OracleDataRequired",
    args: [getAddress(w.market), encodeLatestPriceQuery({ stalenessTolerance: c.tolerance, priceIds: [FEED_OF.get(a.positions[0]!.marketId)!] })],
  });
  for (const op of ops) {
    const ids = op.kind === "liquidate" ? [idOf(c, op.who)] : op.kind === "flagged" ? book.flaggedAccounts.slice(0, op.max) : op.who.map((x) => idOf(c, x)).filter((id) => book.flaggedAccounts.includes(id));
    const first = accounts.get(ids[0] ?? -1n);
    if (stale && first && first.positions.length > 0) return { ok: false, error: oracle(first) };
    const input = { accounts, sender, v, book };
    const r =
      op.kind === "liquidate"
        ? (() => {
            const one = applyLiquidation({ account: accounts.get(ids[0]!) ?? empty(ids[0]!), sender, v, book });
            return one.ok ? { ok: true as const, outcome: { reward: one.outcome.reward, accounts: new Map([[ids[0]!, one.outcome.account]]), v: one.outcome.v, book: one.outcome.book, steps: [one.outcome] } } : one;
          })()
        : op.kind === "flagged"
          ? applyLiquidateFlagged({ ...input, maxNumberOfAccounts: BigInt(op.max) })
          : applyLiquidateFlaggedAccounts({ ...input, accountIds: op.who.map((x) => idOf(c, x)) });
    if (!r.ok) {
      const f = r.refusal;
      return { ok: false, error: f.error === "NotEligibleForLiquidation" ? { name: f.error, args: [f.accountId] } : { name: f.error, args: [f.required, f.available] } };
    }
    for (const [id, a] of r.outcome.accounts) accounts.set(id, a);
    ({ v, book } = r.outcome);
    rewards.push(r.outcome.reward);
    steps.push(...r.outcome.steps);
  }
  return { ok: true, state: { accounts, v, book }, rewards, steps, events: steps.flatMap((x) => x.events) };
}

function count(stats: CappedStats, steps: readonly LiquidationOutcome[]): void {
  for (const s of steps) {
    if (s.flaggedNow) stats.flags++;
    if (s.fullLiquidation) stats.fullLiquidations++;
    for (const p of s.positions) {
      if (p.amount > 0n) stats.liquidations++;
      const abs = p.sizeBefore < 0n ? -p.sizeBefore : p.sizeBefore;
      if (p.rule === "capacity" && p.amount < abs) stats.capped++;
      if (p.rule === "none") stats.zeroCapacity++;
      if (p.rule === "pd") stats.pdBypass++;
      if (p.rule === "endorsed") stats.endorsed++;
      if (p.rule === "unlimited") stats.unlimited++;
    }
  }
}

export async function runCappedCase(w: CappedWorld, c: CappedCase, stats: CappedStats): Promise<void> {
  stats.cases++;
  await inCappedCase(w, async () => {
    const chain = w.chain;
    const setup = await setUpCappedCase(w, c);
    let block = await chain.publicClient.getBlock();
    const ids = [...setup.accountIds, GHOST];
    const book0 = await readBook(w, block.number);
    const [markets, accounts, guards] = await Promise.all([
      Promise.all(MARKET_IDS.map((id) => readMarket(w, id, block.number))),
      Promise.all(ids.map((id) => readAccount(w, id, book0.flaggedAccounts, block.number))),
      readGuards(w, block.number),
    ]);
    let published = setup.published;
    let lastPublish = setup.lastPublish;
    let prices = setup.prices;
    const valuationAt = (timestamp: bigint, baseFee: bigint): CappedValuation => {
      const p = enginePrices(published);
      return { markets: state.v.markets, prices: p.prices, timestamp, guards, costs: keeperCosts({ flagGasUnits: c.costs.flagGas, liquidateGasUnits: c.costs.liquidateGas }, baseFee, p.native) };
    };
    let state: State = { accounts: new Map(accounts.map((a) => [a.id, a])), v: { markets: new Map(markets.map((m) => [m.id, m])), prices: new Map(), timestamp: 0n, guards, costs: { flag: 0n, liquidate: 0n } }, book: book0 };

    for (const tx of c.txs) {
      stats.txs++;
      block = await chain.publicClient.getBlock();
      if (block.timestamp - lastPublish <= c.tolerance) {
        await compareCappedViews(w, [...state.accounts.values()], valuationAt(block.timestamp, block.baseFeePerGas ?? 0n), state.book, block.number, stats.views);
      }
      const now = block.timestamp + tx.dt;
      const done = await sendTx(w, c, tx, now, tx.mode, tx.mode === "feeShort" || (tx.mode === "multicall" && tx.attach));
      if (done === "oracle") {
        // The keeper's answer to OracleDataRequired: the same calls in a multicall with the update.
        const again = await sendTx(w, c, tx, now, "multicall", true);
        if (again === "executed") stats.oracleRecovered++;
      }
    }

    /** One transaction at `now`: predicted, simulated, compared; sent when it succeeds. */
    async function sendTx(w: CappedWorld, c: CappedCase, tx: TxCase, now: bigint, mode: TxCase["mode"], attach: boolean): Promise<"executed" | "refused" | "oracle"> {
      const sender = tx.sender === "keeper" ? KEEPER : ENDORSED;
      const senderAddress = w.address(sender);
      const baseFee = BigInt(tx.baseFeeGwei) * 10n ** 9n;
      const ops = mode === "multicall" || mode === "feeShort" ? tx.ops : tx.ops.slice(0, 1);
      let update: Hex[] = [];
      let nextPrices = prices;
      if (attach) {
        nextPrices = prices.map((p, i) => movedPrice(p, tx.movePermille[i]!));
        update = updatesAt(feedPrices(c, nextPrices), now).data;
      }
      const calls = [...(attach ? [encodeFunctionData({ abi: ABI, functionName: "fulfillOracleQuery", args: [encodeOfflineReport(update)] })] : []), ...ops.map((op) => opCall(c, op))];
      const fee = PYTH_FEE * BigInt(update.length);
      const value = mode === "value" ? 1n : mode === "feeShort" ? 0n : fee;
      const data = mode === "multicall" || mode === "feeShort" ? encodeFunctionData({ abi: ABI, functionName: "multicall", args: [calls] }) : calls[0]!;

      // The engine's prediction, at the prices the transaction will see.
      const before = { published, lastPublish, prices };
      if (attach && mode === "multicall") {
        published = new Map([...published, ...updatesAt(feedPrices(c, nextPrices), now).published.map((p) => [p.feed, p.price] as const)]);
        lastPublish = now;
        prices = nextPrices;
      }
      const stale = now - lastPublish > c.tolerance;
      const v = valuationAt(now, baseFee);
      const predicted: Prediction =
        mode === "value"
          ? { ok: false, error: { name: "UnexpectedValue", args: [1n] } }
          : mode === "feeShort"
            ? { ok: false, error: { name: "FeeRequired", args: [fee] } }
            : predict(w, c, { ...state, v: { ...v, markets: state.v.markets } }, ops, senderAddress, stale);

      await chain.testClient.setNextBlockTimestamp({ timestamp: now });
      await chain.testClient.request({ method: "anvil_setNextBlockBaseFeePerGas", params: [`0x${baseFee.toString(16)}`] } as never);
      const wallet = chain.wallet(sender);
      let returned: Hex;
      try {
        returned = (await chain.publicClient.call({ account: wallet.account, to: w.market, data, value, blockOverrides: { time: now, baseFeePerGas: baseFee } })).data ?? "0x";
      } catch (e) {
        const error = revertOf(e);
        if (error === undefined) throw e;
        stats.refused[error.name] = (stats.refused[error.name] ?? 0) + 1;
        expect({ ok: false, error }, `tx ${JSON.stringify(tx, (_, x) => (typeof x === "bigint" ? `${x}` : x))}`).toEqual(predicted.ok ? { ok: true } : predicted);
        ({ published, lastPublish, prices } = before);
        return error.name === "OracleDataRequired" ? "oracle" : "refused";
      }
      expect(predicted.ok, `the chain accepts the transaction; the engine predicted ${predicted.ok ? "" : JSON.stringify(predicted.error, (_, x) => (typeof x === "bigint" ? `${x}` : x))}`).toBe(true);
      if (!predicted.ok) return "refused";

      const keeperBefore = await chain.publicClient.readContract({ address: w.token, abi: MockSUSD.abi, functionName: "balanceOf", args: [senderAddress] });
      const hash = await wallet.sendTransaction({ to: w.market, data, value, ...TX_FEES });
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe("success");
      const mined = await chain.publicClient.getBlock({ blockNumber: receipt.blockNumber });
      expect({ time: mined.timestamp, baseFee: mined.baseFeePerGas }, "the transaction ran at the time and base fee it was valued at").toEqual({ time: now, baseFee });
      stats.executed++;
      if (attach) stats.withUpdate++;
      count(stats, predicted.steps);

      // Return values, as simulated at the same time and base fee (a multicall's: the update's empty one, then one reward per call).
      const results = mode === "multicall" ? decodeAbiParameters([{ type: "bytes[]" }], returned)[0].slice(attach ? 1 : 0) : [returned];
      expect(results.map((r) => decodeAbiParameters([{ type: "uint256" }], r)[0])).toEqual(predicted.rewards);

      // Events of the market, in order.
      const events = parseEventLogs({ abi: ABI, logs: receipt.logs.filter((l) => getAddress(l.address) === getAddress(w.market)) }).map((l) => ({ eventName: l.eventName, args: l.args }));
      expect(events).toEqual(predicted.events);

      // State, to the wei.
      const after = predicted.state;
      const at = receipt.blockNumber;
      const book = await readBook(w, at);
      expect(book).toEqual({ flaggedAccounts: [...after.book.flaggedAccounts], poolBalance: after.book.poolBalance });
      for (const a of after.accounts.values()) expect(await readAccount(w, a.id, book.flaggedAccounts, at), `account ${a.id}`).toEqual(a);
      for (const m of after.v.markets.values()) {
        const chainM = await readMarket(w, m.id, at);
        expect({ skew: chainM.skew, size: chainM.size, latest: chainM.window.latestTimestamp }, `market ${m.id}`).toEqual({ skew: m.skew, size: m.size, latest: m.window.latestTimestamp });
        expect(chainM.window.entries, `window of market ${m.id}`).toEqual(entriesInWindow(m.window, m.config.maxSecondsInLiquidationWindow, now));
      }
      const paid = predicted.rewards.reduce((s, r) => s + r, 0n);
      const keeperAfter = await chain.publicClient.readContract({ address: w.token, abi: MockSUSD.abi, functionName: "balanceOf", args: [senderAddress], blockNumber: at });
      expect(keeperAfter - keeperBefore, "the keeper's reward").toBe(paid);
      const collateral = [...after.accounts.values()].reduce((s, a) => s + a.collateral, 0n);
      expect(await tokensHeld(w, at), "the market holds Σ collateral + pool").toBe(collateral + after.book.poolBalance);
      state = after;
      return "executed";
    }
  });
}

/** The market's custom error in a failed eth_call (raw revert data, decoded with the market's ABI). */
function revertOf(e: unknown): ContractError | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const withData = e.walk((x) => typeof (x as { data?: unknown }).data === "string") as { data: Hex } | null;
  if (!withData) return undefined;
  try {
    const r = decodeErrorResult({ abi: ABI, data: withData.data });
    return { name: r.errorName, args: normalise(r.args ?? []) };
  } catch {
    return undefined;
  }
}
