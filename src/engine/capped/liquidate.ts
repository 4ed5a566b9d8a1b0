/**
 * CappedPerpsMarket.liquidate(accountId) as the engine applies it (docs/capped-market.md,
 * "Flagging and liquidation"; Synthetix's LiquidationModule.liquidate / _liquidateAccount and
 * PerpsAccount.flagForLiquidation / liquidatePosition): the error the contract would revert with,
 * or every change it makes, to the wei, with its events in order.
 */
import { abs } from "../math.ts";
import { takeCapacity, type TakeRule } from "./capacity.ts";
import { mulDecimal } from "./decimal.ts";
import { accountMargins, cappedMarketOf, cappedPriceOf } from "./margin.ts";
import { keeperReward } from "./reward.ts";
import { ZERO_ADDRESS, type CappedAccount, type CappedMarket, type CappedPosition, type CappedValuation } from "./types.ts";

/** The contract's events, as viem's parseEventLogs names them. */
export type CappedLiquidationEvent =
  | {
      eventName: "AccountFlaggedForLiquidation";
      args: { accountId: bigint; availableMargin: bigint; requiredMaintenanceMargin: bigint; liquidationReward: bigint; flagReward: bigint };
    }
  | {
      eventName: "MarketUpdated";
      args: { marketId: bigint; price: bigint; skew: bigint; size: bigint; sizeDelta: bigint; currentFundingRate: bigint; currentFundingVelocity: bigint; interestRate: bigint };
    }
  | { eventName: "PositionLiquidated"; args: { accountId: bigint; marketId: bigint; amountLiquidated: bigint; currentPositionSize: bigint } }
  | { eventName: "AccountLiquidationAttempt"; args: { accountId: bigint; reward: bigint; fullLiquidation: boolean } };

export type CappedRefusal =
  | { error: "NotEligibleForLiquidation"; accountId: bigint }
  | { error: "InsufficientPoolBalance"; required: bigint; available: bigint };

/** What the market holds besides the account and its markets. */
export type CappedBook = {
  /** flaggedAccounts(), in the set's order. */
  flaggedAccounts: readonly bigint[];
  poolBalance: bigint;
};

export type LiquidateInput = {
  account: CappedAccount;
  /** msg.sender: the keeper (the endorsed liquidator's calls bypass the window and earn no flag reward). */
  sender: `0x${string}`;
  v: CappedValuation;
  book: CappedBook;
};

/** One position the call reached. */
export type PositionLiquidation = { marketId: bigint; price: bigint; sizeBefore: bigint; amount: bigint; rule: TakeRule };

export type LiquidationOutcome = {
  /** The account afterwards (flagged, collateral 0 once flagged, positions reduced; emptied ones removed). */
  account: CappedAccount;
  /** The valuation afterwards: its markets' skew, size and window changed. */
  v: CappedValuation;
  book: CappedBook;
  /** The account was flagged by this call (its collateral seized). */
  flaggedNow: boolean;
  seized: bigint;
  /** Paid from the pool to the sender. */
  reward: bigint;
  fullLiquidation: boolean;
  positions: PositionLiquidation[];
  events: CappedLiquidationEvent[];
};

/**
 * Apply `liquidate(accountId)` sent by `sender` at `v.timestamp`: NotEligibleForLiquidation for an
 * unflagged account that is not eligible, InsufficientPoolBalance when the pool (with what was
 * seized) cannot pay the reward; else the outcome. Prices, ERC-7412 and msg.value are the
 * caller's to have checked.
 */
export function applyLiquidation(input: LiquidateInput): { ok: false; refusal: CappedRefusal } | { ok: true; outcome: LiquidationOutcome } {
  const { account: a, sender, v, book } = input;
  const events: CappedLiquidationEvent[] = [];
  let seized = 0n;
  let costFlag = 0n;
  const flaggedNow = !a.flagged;
  let flagged = [...book.flaggedAccounts];
  if (flaggedNow) {
    const m = accountMargins(a, v);
    if (!m.eligible) return { ok: false, refusal: { error: "NotEligibleForLiquidation", accountId: a.id } };
    costFlag = v.costs.flag;
    seized = a.collateral;
    flagged.push(a.id);
    events.push({
      eventName: "AccountFlaggedForLiquidation",
      args: { accountId: a.id, availableMargin: m.availableMargin, requiredMaintenanceMargin: m.requiredMaintenanceMargin, liquidationReward: m.liquidationReward, flagReward: costFlag },
    });
  }

  const markets = new Map(v.markets);
  let positions: CappedPosition[] = a.positions.filter((p) => p.size !== 0n).map((p) => ({ ...p }));
  const reached: PositionLiquidation[] = [];
  let totalFlagRewards = 0n;
  let totalAmount = 0n;
  for (const p of [...positions]) {
    const market = cappedMarketOf({ markets }, p.marketId);
    const price = cappedPriceOf(v, p.marketId);
    const requested = abs(p.size);
    const take = takeCapacity(market, requested, sender, market.skew, v.timestamp);
    if (!isEndorsed(market, sender)) totalFlagRewards += mulDecimal(mulDecimal(requested, price), market.config.flagRewardRatio);
    reached.push({ marketId: p.marketId, price, sizeBefore: p.size, amount: take.amount, rule: take.rule });
    if (take.amount === 0n) continue;
    totalAmount += take.amount;
    const delta = p.size > 0n ? -take.amount : take.amount;
    const newSize = p.size + delta;
    const after: CappedMarket = { ...market, skew: market.skew + delta, size: market.size - take.amount, window: take.window };
    markets.set(p.marketId, after);
    positions = newSize === 0n ? removeSwapPop(positions, p.marketId) : positions.map((x) => (x.marketId === p.marketId ? { ...x, size: newSize, latestInteractionPrice: price } : x));
    events.push(
      {
        eventName: "MarketUpdated",
        args: { marketId: p.marketId, price, skew: after.skew, size: after.size, sizeDelta: delta, currentFundingRate: 0n, currentFundingVelocity: 0n, interestRate: 0n },
      },
      { eventName: "PositionLiquidated", args: { accountId: a.id, marketId: p.marketId, amountLiquidated: take.amount, currentPositionSize: newSize } },
    );
  }

  let reward = 0n;
  let fullLiquidation = false;
  if (flaggedNow || totalAmount > 0n) {
    const rewards = flaggedNow ? totalFlagRewards : 0n;
    const cost = v.costs.liquidate + costFlag;
    reward = rewards + cost === 0n ? 0n : keeperReward(v.guards, rewards, cost, seized);
    fullLiquidation = positions.length === 0;
  }
  if (fullLiquidation) flagged = removeIdSwapPop(flagged, a.id);
  const pool = book.poolBalance + seized;
  if (reward > pool) return { ok: false, refusal: { error: "InsufficientPoolBalance", required: reward, available: pool } };
  events.push({ eventName: "AccountLiquidationAttempt", args: { accountId: a.id, reward, fullLiquidation } });

  return {
    ok: true,
    outcome: {
      account: { id: a.id, collateral: flaggedNow ? 0n : a.collateral, flagged: !fullLiquidation, positions },
      v: { ...v, markets },
      book: { flaggedAccounts: flagged, poolBalance: pool - reward },
      flaggedNow,
      seized,
      reward,
      fullLiquidation,
      positions: reached,
      events,
    },
  };
}

function isEndorsed(m: CappedMarket, sender: `0x${string}`): boolean {
  return m.config.endorsedLiquidator !== ZERO_ADDRESS && BigInt(m.config.endorsedLiquidator) === BigInt(sender);
}

/** An enumerable set's removal: the last element takes the removed one's place. */
function removeSwapPop<T extends { marketId: bigint }>(xs: readonly T[], marketId: bigint): T[] {
  const i = xs.findIndex((x) => x.marketId === marketId);
  const out = [...xs];
  const last = out.pop()!;
  if (i < out.length) out[i] = last;
  return out;
}

function removeIdSwapPop(ids: readonly bigint[], id: bigint): bigint[] {
  const i = ids.indexOf(id);
  if (i < 0) return [...ids];
  const out = [...ids];
  const last = out.pop()!;
  if (i < out.length) out[i] = last;
  return out;
}
