/**
 * PerpMarket.deleverage(account, marketId, counterparties) as the engine applies it: the error the
 * contract would revert with, or every change it makes, to the wei, in the same order (the
 * bankrupt account's funding first, then each counterparty in turn, then the bankrupt account).
 */
import {
  addressKey,
  adlDue,
  adlScoreOf,
  bankruptcyPriceOf,
  profitGivenUp,
  type AdlParty,
  type AdlRefusal,
} from "./adl.ts";
import { accountHealth, marketOf } from "./health.ts";
import { abs } from "./math.ts";
import { fundingIndexAt, fundingOwed, pnl } from "./position.ts";
import type { Account, Position, Valuation } from "./types.ts";

export type DeleverageInput = {
  bankrupt: AdlParty;
  marketId: number;
  /** In the order the operator sends them (rankAdlCounterparties gives the right one). */
  counterparties: readonly AdlParty[];
  v: Valuation;
  /** The insurance fund before (WAD). */
  insuranceFund: bigint;
};

/** One `Deleveraged` event. */
export type DeleveragedEvent = {
  account: `0x${string}`;
  counterparty: `0x${string}`;
  marketId: number;
  size: bigint;
  bankruptcyPrice: bigint;
  markPrice: bigint;
  score: bigint;
  profitGivenUp: bigint;
};

/** What ADL did to one account. */
export type AdlAccountChange = {
  address: `0x${string}`;
  /** The account afterwards: collateral (after any bad-debt settlement), sizes, entries, funding indices. */
  account: Account;
  /** account.collateral − the collateral before. */
  collateralDelta: bigint;
  /** Funding settled in the market (into the pool). */
  fundingPaid: bigint;
  /** PnL realised at the bankruptcy price (out of the pool). */
  realizedPnl: bigint;
  /** Settled when the account's last position closed with negative collateral (BadDebt event). */
  badDebt: { covered: bigint; uncovered: bigint };
};

/**
 * Everything a deleverage changes. Value conservation, to the wei:
 * Σ collateralDelta + poolDelta + insuranceDelta − badDebtDelta = 0.
 */
export type DeleverageOutcome = {
  /** Size of the bankrupt position closed (|size| when the counterparties cover it). */
  closed: bigint;
  bankruptcyPrice: bigint;
  markPrice: bigint;
  bankrupt: AdlAccountChange;
  /** One per counterparty the contract reached, in order. */
  counterparties: AdlAccountChange[];
  events: DeleveragedEvent[];
  poolDelta: bigint;
  /** Change of the insurance fund (≤ 0: bad debt it covered). */
  insuranceDelta: bigint;
  /** Bad debt newly recorded (≥ 0: what the fund could not cover). */
  badDebtDelta: bigint;
};

type Working = {
  address: `0x${string}`;
  before: Account;
  collateral: bigint;
  positions: Position[];
  fundingPaid: bigint;
  realizedPnl: bigint;
  badDebt: { covered: bigint; uncovered: bigint };
};

const working = (p: AdlParty): Working => ({
  address: p.address,
  before: p.account,
  collateral: p.account.collateral,
  positions: p.account.positions.filter((x) => x.size !== 0n).map((x) => ({ ...x })),
  fundingPaid: 0n,
  realizedPnl: 0n,
  badDebt: { covered: 0n, uncovered: 0n },
});

const accountOf = (w: Working): Account => ({ collateral: w.collateral, lastPartialAt: w.before.lastPartialAt, positions: w.positions.map((p) => ({ ...p })) });

const change = (w: Working): AdlAccountChange => ({
  address: w.address,
  account: accountOf(w),
  collateralDelta: w.collateral - w.before.collateral,
  fundingPaid: w.fundingPaid,
  realizedPnl: w.realizedPnl,
  badDebt: { ...w.badDebt },
});

/**
 * Apply `deleverage(bankrupt, marketId, counterparties)`: the refusal the contract would revert
 * with (AdlDisabled, NoPosition, AdlNotDue, NoBankruptcyPrice, AdlNotEligible, AdlRankOrder,
 * AdlNoCounterparty, in the contract's order), or the outcome. The caller's role (NotAdlOperator)
 * is not the engine's to check. Throws MissingMarketDataError as every valuation does.
 */
export function applyDeleverage(
  input: DeleverageInput,
): { ok: false; refusal: AdlRefusal } | { ok: true; outcome: DeleverageOutcome } {
  const { bankrupt, marketId, v } = input;
  const m = marketOf(v, marketId);
  if (!m.liquidation.adlEnabled) return { ok: false, refusal: { error: "AdlDisabled", marketId } };
  const a = working(bankrupt);
  const posA = a.positions.find((p) => p.marketId === marketId);
  if (!posA) return { ok: false, refusal: { error: "NoPosition", account: bankrupt.address, marketId } };
  const h = accountHealth(bankrupt.account, v);
  if (!adlDue(h, input.insuranceFund, true)) {
    return { ok: false, refusal: { error: "AdlNotDue", account: bankrupt.address, equity: h.equity, insuranceFund: input.insuranceFund } };
  }
  const value = h.positions.find((p) => p.marketId === marketId)!;
  const mark = value.price;
  const absA = abs(value.size);
  const pb = bankruptcyPriceOf(value.size, mark, -h.equity);
  if (pb === undefined) return { ok: false, refusal: { error: "NoBankruptcyPrice", account: bankrupt.address, marketId } };

  const indexNow = fundingIndexAt(m.funding, v.timestamp);
  let pool = 0n;
  let insurance = input.insuranceFund;
  let badDebtDelta = 0n;
  /** PerpMarket._settleFunding: owed moves from collateral to the pool; the index restarts. */
  const settleFunding = (w: Working, pos: Position) => {
    const owed = fundingOwed(pos.size, indexNow, pos.entryFundingIndex);
    pos.entryFundingIndex = indexNow;
    w.collateral -= owed;
    w.fundingPaid += owed;
    pool += owed;
  };
  /** Realise `closed` at pb (entry kept), remove an emptied position, then _settleBadDebt if none is left. */
  const close = (w: Working, pos: Position, closed: bigint) => {
    const realized = pnl(closed, pb, pos.entryPrice);
    w.collateral += realized;
    w.realizedPnl += realized;
    pool -= realized;
    pos.size -= closed;
    if (pos.size === 0n) w.positions = w.positions.filter((p) => p !== pos);
    if (w.positions.length === 0 && w.collateral < 0n) {
      const deficit = -w.collateral;
      const covered = deficit < insurance ? deficit : insurance;
      insurance -= covered;
      badDebtDelta += deficit - covered;
      w.badDebt.covered += covered;
      w.badDebt.uncovered += deficit - covered;
      w.collateral = 0n;
    }
  };

  settleFunding(a, posA);
  const keyA = addressKey(bankrupt.address);
  const reached = new Map<bigint, Working>();
  const events: DeleveragedEvent[] = [];
  let remaining = absA;
  let prev: { score: bigint; key: bigint } | undefined;
  for (const [i, c] of input.counterparties.entries()) {
    if (remaining === 0n) break;
    const key = addressKey(c.address);
    const notEligible = { ok: false as const, refusal: { error: "AdlNotEligible" as const, counterparty: c.address } };
    if (key === keyA) return notEligible;
    const w = reached.get(key) ?? working(c);
    const hc = accountHealth(accountOf(w), v);
    const vc = hc.positions.find((p) => p.marketId === marketId);
    if (!vc || vc.size > 0n === value.size > 0n || vc.pnl <= 0n || hc.equity <= 0n) return notEligible;
    const score = adlScoreOf(vc.pnl, abs(vc.size), vc.entryPrice, vc.notional, hc.equity);
    if (prev && !(score < prev.score || (score === prev.score && key > prev.key))) {
      return { ok: false, refusal: { error: "AdlRankOrder", index: i } };
    }
    reached.set(key, w);
    const delta = abs(vc.size) < remaining ? abs(vc.size) : remaining;
    const posC = w.positions.find((p) => p.marketId === marketId)!;
    settleFunding(w, posC);
    close(w, posC, vc.size > 0n ? delta : -delta);
    events.push({
      account: bankrupt.address,
      counterparty: c.address,
      marketId,
      size: delta,
      bankruptcyPrice: pb,
      markPrice: mark,
      score,
      profitGivenUp: profitGivenUp(delta, mark, pb),
    });
    remaining -= delta;
    prev = { score, key };
  }
  const closed = absA - remaining;
  if (closed === 0n) return { ok: false, refusal: { error: "AdlNoCounterparty" } };
  close(a, posA, value.size > 0n ? closed : -closed);

  const counterparties = [...reached.values()].map(change);
  return {
    ok: true,
    outcome: {
      closed,
      bankruptcyPrice: pb,
      markPrice: mark,
      bankrupt: change(a),
      counterparties,
      events,
      poolDelta: pool,
      insuranceDelta: insurance - input.insuranceFund,
      badDebtDelta,
    },
  };
}
