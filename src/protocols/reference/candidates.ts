/**
 * The reference market's liquidation candidates: for each liquidatable account, the engine's best
 * slice to take now and the keeper's reward for it.
 */
import { TOKEN_SCALE, accountHealth, marketOf, maxSliceOf, quoteSlice, type Account, type Health, type Valuation } from "../../engine/index.ts";
import { gasCostUsd, type Candidate, type GasModel } from "../../plan/planLiquidations.ts";

/**
 * For each liquidatable account, the best position to liquidate now: the engine's max slice
 * (cooldowns, caps, backstop and dust rules included), the keeper's reward for it, gas and profit.
 * One item per account per round: after a step the account's health changes, so the next step
 * is sized on the next state. `admit` (the executor's `admissible`) leaves out positions the
 * executor cannot take now (in flight, busy account, backing off), before the best is chosen;
 * `leave` accounts another action settles (a deleverage).
 */
export function findCandidates<K extends string>(
  accounts: Iterable<[K, Account]>,
  v: Valuation,
  g: GasModel,
  admit?: (account: K, marketId: number) => boolean,
  leave?: (account: K, h: Health) => boolean,
): Candidate<K>[] {
  const out: Candidate<K>[] = [];
  const single = gasCostUsd(g.singleGas, g);
  for (const [key, account] of accounts) {
    const h = accountHealth(account, v);
    if (!h.liquidatable || leave?.(key, h)) continue;
    let best: Candidate<K> | undefined;
    for (const value of h.positions) {
      if (admit && !admit(key, value.marketId)) continue;
      const rules = marketOf(v, value.marketId);
      const size = maxSliceOf(h, value, rules, v.timestamp);
      if (size === 0n) continue;
      const { keeperTokens } = quoteSlice(size, value.price, rules.liquidation.penaltyPpm, h.equity, v.global.keeperSharePpm);
      const rewardUsd = keeperTokens * TOKEN_SCALE;
      const abs = value.size < 0n ? -value.size : value.size;
      const c: Candidate<K> = {
        account: key,
        marketId: value.marketId,
        size,
        full: size === abs,
        backstop: h.backstop,
        rewardTokens: keeperTokens,
        rewardUsd,
        gasUsd: single,
        profitUsd: rewardUsd - single,
      };
      // Prefer the larger reward; on a tie, the larger slice (more risk off per transaction).
      if (!best || c.rewardUsd > best.rewardUsd || (c.rewardUsd === best.rewardUsd && c.size > best.size)) best = c;
    }
    if (best) out.push(best);
  }
  return out;
}

