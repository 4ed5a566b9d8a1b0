/**
 * One ADL case: set up (adlCases.ts), the views compared (adlViews.ts), the operator's list built
 * from the engine's ranking (or made wrong), deleverage sent, and the engine's applyDeleverage
 * compared with the chain to the wei: the custom error and its arguments, or the returned size,
 * every account's collateral and positions, pool, insurance fund, bad debt, the Deleveraged and
 * BadDebt events, and value conservation before and after.
 */
import { receiptOf } from "../support/blocks.ts";
import { encodeFunctionData, getAddress, parseEventLogs, type Address } from "viem";
import { expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { readAccount } from "../../src/chain/reads.ts";
import { applyDeleverage, rankAdlCounterparties, type Account, type AdlParty, type AdlRefusal, type DeleverageOutcome } from "../../src/engine/index.ts";
import { setUpAdlCase, type AdlCase } from "./adlCases.ts";
import { compareAdlViews, type ViewStats } from "./adlViews.ts";
import { BANKRUPT, OPERATOR, OTHERS, OUTSIDER, TX_FEES, contractError, engineValuation, inCase, totals, type CaseWorld, type ContractError, type Totals } from "./caseWorld.ts";

export type AdlStats = {
  cases: number;
  executed: number;
  fullyClosed: number;
  partlyClosed: number;
  counterpartiesClosed: number;
  badDebt: number;
  scoreTies: number;
  refused: Record<string, number>;
  views: ViewStats;
};

export function newAdlStats(): AdlStats {
  return { cases: 0, executed: 0, fullyClosed: 0, partlyClosed: 0, counterpartiesClosed: 0, badDebt: 0, scoreTies: 0, refused: {}, views: {} };
}

const HUGE = 2n ** 200n;

/** The contract's custom error for an engine refusal. */
function refusalError(r: AdlRefusal): ContractError {
  switch (r.error) {
    case "AdlDisabled":
      return { name: r.error, args: [BigInt(r.marketId)] };
    case "NoPosition":
    case "NoBankruptcyPrice":
      return { name: r.error, args: [getAddress(r.account), BigInt(r.marketId)] };
    case "AdlNotDue":
      return { name: r.error, args: [getAddress(r.account), r.equity, r.insuranceFund] };
    case "AdlNotEligible":
      return { name: r.error, args: [getAddress(r.counterparty)] };
    case "AdlRankOrder":
      return { name: r.error, args: [BigInt(r.index)] };
    case "AdlNoCounterparty":
      return { name: r.error, args: [] };
  }
}

/** The call the case makes: who calls, for which account, with which list. */
type Call = { caller: number; target: AdlParty; list: AdlParty[] };

function buildCall(c: AdlCase, parties: { bankrupt: AdlParty; others: AdlParty[]; outsider: AdlParty }, ranked: AdlParty[], eligible: AdlParty[]): Call {
  const { bankrupt, others, outsider } = parties;
  const call: Call = { caller: OPERATOR, target: bankrupt, list: [...ranked] };
  const key = (p: AdlParty) => BigInt(p.address);
  const ineligible = [bankrupt, outsider, ...others.filter((o) => !eligible.some((e) => key(e) === key(o)))];
  const at = (n: number) => c.pick % (n + 1);
  switch (c.mutation) {
    case "swap": {
      const l = ranked.length >= 2 ? call.list : eligible.slice(0, ranked.length + 1);
      if (l.length >= 2) {
        const k = c.pick % (l.length - 1);
        [l[k], l[k + 1]] = [l[k + 1]!, l[k]!];
      }
      call.list = l;
      break;
    }
    case "reverse":
      call.list = [...eligible].reverse();
      break;
    case "insertIneligible":
      call.list.splice(at(call.list.length), 0, ineligible[c.pick % ineligible.length]!);
      break;
    case "appendIneligible":
      call.list.push(ineligible[c.pick % ineligible.length]!);
      break;
    case "duplicate":
      if (call.list.length > 0) {
        const k = c.pick % call.list.length;
        call.list.splice(k + 1, 0, call.list[k]!);
      }
      break;
    case "empty":
      call.list = [];
      break;
    case "nonOperator":
      call.caller = OUTSIDER;
      break;
    case "notBankrupt":
      call.target = others[c.pick % others.length]!;
      break;
    case "noPosition":
      call.target = outsider;
      break;
  }
  return call;
}

const byMarket = (a: Account) => [...a.positions].sort((x, y) => x.marketId - y.marketId);

/** Σ collateral of the case's accounts is the contract's total; tokens held × 1e12 are everything it owes. */
function expectConserved(t: Totals, collaterals: readonly bigint[]): void {
  expect(collaterals.reduce((a, b) => a + b, 0n)).toBe(t.totalCollateral);
  expect(t.tokensHeld * 10n ** 12n).toBe(t.totalCollateral + t.poolBalance + t.insuranceFund - t.badDebt);
}

export async function runAdlCase(w: CaseWorld, c: AdlCase, stats: AdlStats): Promise<void> {
  stats.cases++;
  await inCase(w, async () => {
    const chain = w.chain;
    const setup = await setUpAdlCase(w, c);
    const block = await chain.publicClient.getBlock();
    const at = { blockNumber: block.number };
    const index = new Map(setup.feeds.map((f, id) => [id, { feeds: [f], rules: { minSources: 1, maxDeviationPpm: 0n } }] as const));
    const vNow = await engineValuation(w, index, block.number, block.timestamp);
    const wallets = [BANKRUPT, ...OTHERS.slice(0, c.others.length), OUTSIDER];
    const parties: AdlParty[] = await Promise.all(wallets.map(async (i) => ({ address: w.address(i), account: await readAccount(chain, w.market, w.address(i), at) })));
    const before = await totals(w, block.number);
    expectConserved(before, parties.map((p) => p.account.collateral));
    await compareAdlViews(w, parties, [...index.keys()], vNow, before.insuranceFund, block.number, stats.views);

    // The operator's call, one warp later: ranked, and valued, at that time.
    const ts = block.timestamp + c.warp;
    const v = { ...vNow, timestamp: ts };
    const [bankrupt, ...rest] = parties;
    const others = rest.slice(0, -1);
    const outsider = rest.at(-1)!;
    const sizeA = bankrupt!.account.positions.find((p) => p.marketId === 0)?.size ?? 0n;
    const byAddress = new Map(parties.map((p) => [BigInt(p.address), p]));
    const party = (a: Address) => byAddress.get(BigInt(a))!;
    const ranked = rankAdlCounterparties(sizeA, 0, others, v);
    const eligible = rankAdlCounterparties(sizeA > 0n ? HUGE : -HUGE, 0, others, v);
    if (ranked.some((r, i) => i > 0 && r.score === ranked[i - 1]!.score)) stats.scoreTies++;
    const call = buildCall(c, { bankrupt: bankrupt!, others, outsider }, ranked.map((r) => party(r.address)), eligible.map((r) => party(r.address)));
    const predicted: { ok: false; error: ContractError } | { ok: true; outcome: DeleverageOutcome } = (() => {
      if (call.caller !== OPERATOR) return { ok: false, error: { name: "NotAdlOperator", args: [w.address(call.caller)] } };
      const r = applyDeleverage({ bankrupt: call.target, marketId: 0, counterparties: call.list, v, insuranceFund: before.insuranceFund });
      return r.ok ? r : { ok: false, error: refusalError(r.refusal) };
    })();

    const caller = chain.wallet(call.caller);
    const args = [call.target.address, 0n, call.list.map((p) => p.address)] as const;
    await chain.testClient.setNextBlockTimestamp({ timestamp: ts });
    let closed: bigint;
    try {
      closed = (await chain.publicClient.simulateContract({ address: w.market, abi: PerpMarket.abi, functionName: "deleverage", args, account: caller.account, blockOverrides: { time: ts } })).result;
    } catch (e) {
      const error = contractError(e);
      if (error === undefined) throw e;
      stats.refused[error.name] = (stats.refused[error.name] ?? 0) + 1;
      expect({ ok: false, error }, `mutation ${c.mutation}`).toEqual(predicted.ok ? { ok: true } : predicted);
      return;
    }
    expect(predicted.ok, `the chain deleverages; the engine predicted ${predicted.ok ? "" : JSON.stringify(predicted.error, (_, x) => (typeof x === "bigint" ? `${x}` : x))}`).toBe(true);
    if (!predicted.ok) return;
    const o = predicted.outcome;
    expect(closed).toBe(o.closed);
    const hash = await caller.sendTransaction({ to: w.market, data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "deleverage", args }), ...TX_FEES });
    const receipt = await receiptOf(chain, hash);
    expect(receipt.status).toBe("success");
    expect((await chain.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp, "the call ran at the time it was valued at").toBe(ts);
    stats.executed++;
    if (o.closed === (sizeA < 0n ? -sizeA : sizeA)) stats.fullyClosed++;
    else stats.partlyClosed++;
    stats.counterpartiesClosed += o.events.length;

    // Events, to the wei.
    const events = parseEventLogs({ abi: PerpMarket.abi, logs: receipt.logs, eventName: "Deleveraged" }).map((l) => ({ ...l.args, marketId: Number(l.args.marketId) }));
    expect(events).toEqual(o.events.map((e) => ({ ...e, account: getAddress(e.account), counterparty: getAddress(e.counterparty) })));
    const changes = [o.bankrupt, ...o.counterparties];
    const badDebts = parseEventLogs({ abi: PerpMarket.abi, logs: receipt.logs, eventName: "BadDebt" }).map((l) => l.args);
    expect(badDebts).toEqual(
      changes
        .filter((x) => x.badDebt.covered + x.badDebt.uncovered > 0n)
        .map((x) => ({ account: getAddress(x.address), coveredByInsurance: x.badDebt.covered, uncovered: x.badDebt.uncovered }))
        // The contract settles each counterparty as it closes it, the bankrupt account last.
        .sort((a, b) => (a.account === getAddress(o.bankrupt.address) ? 1 : b.account === getAddress(o.bankrupt.address) ? -1 : 0)),
    );
    if (badDebts.length > 0) stats.badDebt++;

    // Every account, and the totals, to the wei; accounts the call did not reach are unchanged.
    const afterAt = { blockNumber: receipt.blockNumber };
    const after = await totals(w, receipt.blockNumber);
    const accountsAfter = await Promise.all(parties.map((p) => readAccount(chain, w.market, p.address, afterAt)));
    for (const [i, p] of parties.entries()) {
      const ch = changes.find((x) => BigInt(x.address) === BigInt(p.address));
      const expected = ch ? ch.account : p.account;
      expect({ collateral: accountsAfter[i]!.collateral, positions: byMarket(accountsAfter[i]!) }, `account ${p.address}`).toEqual({ collateral: expected.collateral, positions: byMarket(expected) });
    }
    expect(after.poolBalance).toBe(before.poolBalance + o.poolDelta);
    expect(after.insuranceFund).toBe(before.insuranceFund + o.insuranceDelta);
    expect(after.badDebt).toBe(before.badDebt + o.badDebtDelta);
    expect(changes.reduce((a, x) => a + x.collateralDelta, 0n) + o.poolDelta + o.insuranceDelta - o.badDebtDelta).toBe(0n);
    expectConserved(after, accountsAfter.map((a) => a.collateral));
  });
}
