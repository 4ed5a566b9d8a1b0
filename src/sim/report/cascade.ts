import { Decimal } from "decimal.js";
import type { Address } from "viem";
import { notional } from "../../engine/index.ts";
import { wadToDecimal } from "../../lib/units.ts";
import type { ImpactSpec } from "../impact.ts";
import type { CascadeMarket, CascadeReport, GenerationRow } from "./types.ts";

/**
 * Cascade accounting (issue 16), from a run's block observations. Pure.
 *
 * With an impact model (src/sim/impact.ts) the liquidations of block t − 1 move the price of block
 * t, which can make more accounts liquidatable, whose liquidations move the next price, and so on.
 * Definitions (also in report types, {@link CascadeReport}, and the report's help text):
 *  - an account is made liquidatable in block t when it is liquidatable at the end of block t and
 *    was not at the end of block t − 1 (the first block observed compares with nothing);
 *  - it is impact-driven when, with the same on-chain state valued by the engine, it would not be
 *    liquidatable at the path's prices (the baseline P_path_t): observeRun decides that;
 *  - its generation is 0 unless impact-driven; then 1 + the highest generation among the
 *    liquidations of block t − 1, whose notional moved P_t (when block t − 1 had none, those of the
 *    most recent block that had some: the impact left is theirs, decayed);
 *  - a liquidation has the generation of its account's current stretch below maintenance (0 when
 *    the account was never seen below at a block's end, such as one liquidated in the first block);
 *  - the longest cascade: the most consecutive blocks with at least one impact-driven account made liquidatable.
 */

export type CascadeLiquidation = { account: Address; size: bigint; price: bigint; full: boolean };

export type CascadeBlock = {
  block: bigint;
  /** Accounts liquidatable at the end of the block. */
  belowMaintenance: readonly Address[];
  /** Those made liquidatable in this block that would not be at the baseline prices. */
  impactDriven: readonly Address[];
  /** Liquidations included in the block, in chain order. */
  liquidations: readonly CascadeLiquidation[];
  /** Chain price and, for a market with impact, the path's price. */
  markets: readonly { symbol: string; price: bigint; pathPrice?: bigint }[];
};

/** Generation of each liquidation (in the blocks' and events' order) and the report's figures. */
export function cascadeReport(blocks: readonly CascadeBlock[], impact: ReadonlyMap<string, ImpactSpec>): CascadeReport {
  const stretch = new Map<Address, number>();
  const rows = new Map<number, { liquidations: number; partial: number; notional: bigint; accounts: Set<Address> }>();
  let previous = new Set<Address>();
  let lastCause: number | undefined;
  let run = 0;
  let longest = 0;
  let longestFrom: bigint | undefined;
  let runFrom = 0n;
  let impactDriven = 0;
  for (const b of blocks) {
    let blockMax: number | undefined;
    for (const l of b.liquidations) {
      const g = stretch.get(l.account) ?? 0;
      const row = rows.get(g) ?? { liquidations: 0, partial: 0, notional: 0n, accounts: new Set<Address>() };
      row.liquidations++;
      if (!l.full) row.partial++;
      row.notional += notional(l.size, l.price);
      row.accounts.add(l.account);
      rows.set(g, row);
      blockMax = Math.max(blockMax ?? 0, g);
    }
    const below = new Set(b.belowMaintenance);
    for (const a of [...stretch.keys()]) if (!below.has(a)) stretch.delete(a);
    const driven = new Set(b.impactDriven);
    let drivenNew = 0;
    for (const a of below) {
      if (previous.has(a)) continue;
      if (driven.has(a)) {
        drivenNew++;
        stretch.set(a, 1 + (lastCause ?? 0));
      } else stretch.set(a, 0);
    }
    impactDriven += drivenNew;
    if (drivenNew > 0) {
      if (run === 0) runFrom = b.block;
      run++;
      if (run > longest) {
        longest = run;
        longestFrom = runFrom;
      }
    } else run = 0;
    // This block's liquidations are the cause of the next block's price.
    if (blockMax !== undefined) lastCause = blockMax;
    previous = below;
  }
  const byGeneration: GenerationRow[] = [...rows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([generation, r]) => ({ generation, liquidations: r.liquidations, partialLiquidations: r.partial, notionalUsd: wadToDecimal(r.notional).toFixed(), accounts: r.accounts.size }));
  return {
    markets: [...impact.entries()].map(([market, spec]) => extraMove(blocks, market, spec)),
    longestCascadeBlocks: longest,
    ...(longestFrom !== undefined ? { longestCascadeFrom: Number(longestFrom) } : {}),
    impactDrivenAccounts: impactDriven,
    byGeneration,
  };
}

/** P_t / P_path_t − 1, exact to 18 decimal places (the ratio rounded down). */
export function extraMoveOf(price: bigint, pathPrice: bigint): Decimal {
  return wadToDecimal((price * 10n ** 18n) / pathPrice).minus(1);
}

function extraMove(blocks: readonly CascadeBlock[], market: string, spec: ImpactSpec): CascadeMarket {
  let worst = new Decimal(0);
  let worstBlock = blocks[0]?.block ?? 0n;
  let end = new Decimal(0);
  for (const b of blocks) {
    const m = b.markets.find((x) => x.symbol === market);
    if (!m || m.pathPrice === undefined || m.pathPrice === 0n) continue;
    end = extraMoveOf(m.price, m.pathPrice);
    if (end.abs().gt(worst.abs())) {
      worst = end;
      worstBlock = b.block;
    }
  }
  return {
    market,
    depthUsd: wadToDecimal(spec.depthUsd).toFixed(),
    halfLifeSeconds: spec.halfLifeSeconds,
    worstExtraMove: worst.toFixed(),
    worstExtraMoveBlock: Number(worstBlock),
    extraMoveAtEnd: end.toFixed(),
  };
}
