import type { Address } from "viem";

/**
 * Sizing answers of one run: the insurance fund that would have covered every deficit, and what a
 * backstop keeper had to spend (definitions and their justification: RunSizing in types.ts). Pure:
 * the run's events and gas in chain order in, WAD USD out.
 */

/** One event of the insurance fund, in chain order: a penalty share in, or a deficit out. */
export type FundEvent = { kind: "share"; amount: bigint } | { kind: "deficit"; amount: bigint };

export type FundNeed = {
  /** Σ deficits realised + the open deficit at the end. */
  deficits: bigint;
  shares: bigint;
  /** max(0, maxᵢ (D(i) − S(i)), D + open − S at the end). */
  needed: bigint;
};

/** The smallest starting fund that pays every deficit as it comes and the open deficit at the end. */
export function insuranceFundNeeded(events: readonly FundEvent[], openDeficitAtEnd: bigint): FundNeed {
  let shares = 0n;
  let deficits = 0n;
  let needed = 0n;
  for (const e of events) {
    if (e.kind === "share") shares += e.amount;
    else {
      deficits += e.amount;
      if (deficits - shares > needed) needed = deficits - shares;
    }
  }
  if (deficits + openDeficitAtEnd - shares > needed) needed = deficits + openDeficitAtEnd - shares;
  return { deficits: deficits + openDeficitAtEnd, shares, needed };
}

/** A backstop keeper's block: its gas (USD, WAD) and the rewards of its liquidations in the block. */
export type KeeperBlock = { gasUsd: bigint; rewards: bigint; rewardless: number };

export type BackstopSpend = { gasCost: bigint; rewards: bigint; rewardlessCloses: number; budget: bigint };

/** Gas, rewards, reward-less closes and the largest running shortfall maxₜ (gas(t) − rewards(t)), ≥ 0. */
export function backstopSpend(blocks: readonly KeeperBlock[]): BackstopSpend {
  let gasCost = 0n;
  let rewards = 0n;
  let rewardlessCloses = 0;
  let budget = 0n;
  for (const b of blocks) {
    gasCost += b.gasUsd;
    rewards += b.rewards;
    rewardlessCloses += b.rewardless;
    if (gasCost - rewards > budget) budget = gasCost - rewards;
  }
  return { gasCost, rewards, rewardlessCloses, budget };
}

/** The fund's events of one block in chain order, from its Liquidated and BadDebt events (by log index). */
export function fundEvents(
  liquidations: readonly { logIndex: number; insuranceShare: bigint }[],
  badDebts: readonly { logIndex: number; covered: bigint; uncovered: bigint }[],
): FundEvent[] {
  const all = [
    ...liquidations.map((l) => ({ i: l.logIndex, e: { kind: "share", amount: l.insuranceShare } as FundEvent })),
    ...badDebts.map((d) => ({ i: d.logIndex, e: { kind: "deficit", amount: d.covered + d.uncovered } as FundEvent })),
  ];
  return all.sort((a, b) => a.i - b.i).map((x) => x.e);
}

/** Per block, the backstop keepers' gas (priced per keeper, as the keeper rows are) and rewards. */
export function backstopBlocks(
  blocks: readonly { gas: ReadonlyMap<Address, { wei: bigint }>; liquidations: readonly { keeper: Address; keeperReward: bigint }[] }[],
  keepers: readonly Address[],
  gasUsd: (wei: bigint) => bigint,
): KeeperBlock[] {
  const mine = new Set(keepers);
  // Gas is summed in wei per keeper and priced on the running sum, so the total equals the keeper rows'.
  const wei = new Map<Address, bigint>(keepers.map((k) => [k, 0n]));
  let priced = 0n;
  return blocks.map((b) => {
    for (const k of keepers) wei.set(k, wei.get(k)! + (b.gas.get(k)?.wei ?? 0n));
    const now = [...wei.values()].reduce((s, w) => s + gasUsd(w), 0n);
    const gas = now - priced;
    priced = now;
    const ls = b.liquidations.filter((l) => mine.has(l.keeper));
    return { gasUsd: gas, rewards: ls.reduce((s, l) => s + l.keeperReward, 0n), rewardless: ls.filter((l) => l.keeperReward === 0n).length };
  });
}
