import { PPM, WAD, tierIndex, type Tier } from "../engine/index.ts";
import { FloatRandom } from "./random.ts";
import {
  SeedPlanError,
  plannedPosition,
  sizeForNotional,
  traderPlan,
  type PlannedPosition,
  type SeedMarket,
  type TraderPlan,
} from "./seedTraders.ts";

/**
 * A trader population described by distributions (the parameter lab's `traders` section), planned
 * deterministically from a seed into the same {@link TraderPlan}s the seeder sends. Pure.
 */

export type Distribution = "uniform" | "log-uniform";

export type PopulationSpec = {
  count: number;
  /** Symbols of the markets traders pick from (each trader: distinct markets). */
  markets: readonly string[];
  /** Positions per trader, inclusive; capped at the number of markets. */
  positions: { min: number; max: number };
  /** Leverage of each position, in ppm of 1x (2x = 2_000_000); clamped to the position's tier. */
  leverage: { min: bigint; max: bigint; distribution: Distribution };
  /** Notional of each position at the start price (WAD USD); at least one lot. */
  size: { min: bigint; max: bigint; distribution: Distribution };
  /** Share of positions that are long (ppm). */
  longShare: bigint;
};

export type PlanPopulationParameters = {
  spec: PopulationSpec;
  /** The markets, with their rules and the price positions open at. */
  markets: readonly SeedMarket[];
  seed: string;
  /** Derive each trader's key (default true); see {@link TraderPlan.privateKey}. */
  keys?: boolean;
  /**
   * Other tier tables each market is run with (a comparison's variants): a position's leverage is
   * capped to the lowest maximum of them all at its notional, so one population fits every run.
   */
  leverageCaps?: ReadonlyMap<string, readonly (readonly Tier[])[]>;
};

/** The positions whose drawn leverage was above their tier's maximum, and was capped to it. */
export type LeverageCapped = {
  traders: number;
  positions: number;
  /** Capped positions per market symbol. */
  markets: Record<string, number>;
};

/** Leverages are drawn to a tenth of an x. */
const LEVERAGE_STEP = 100_000n;

/**
 * Plan the population: trader i draws from its own stream (seed, i), so adding traders never
 * changes the first ones. Each position: a market, a notional (whole dollars, rounded down to a lot,
 * at least one), a leverage (a tenth of an x, at most the tier's max for that notional), a side.
 * The deposit covers every position's margin at its leverage, the trading fees and one dollar,
 * rounded up to whole tokens; the engine checks every trade keeps initial margin.
 */
export function planPopulation(p: PlanPopulationParameters): TraderPlan[] {
  return planPopulationCapped(p).plans;
}

/** {@link planPopulation}, and how many traders and positions had their leverage capped to a tier's maximum. */
export function planPopulationCapped(p: PlanPopulationParameters): { plans: TraderPlan[]; capped: LeverageCapped } {
  const s = p.spec;
  if (!Number.isSafeInteger(s.count) || s.count < 0) throw new SeedPlanError("trader count must be a whole number ≥ 0");
  const markets = s.markets.map((sym) => {
    const m = p.markets.find((x) => x.symbol === sym);
    if (!m) throw new SeedPlanError(`unknown market "${sym}"; markets: ${p.markets.map((x) => x.symbol).join(", ")}`);
    return m;
  });
  if (markets.length === 0) throw new SeedPlanError("no markets to trade");
  const plans: TraderPlan[] = [];
  const capped: LeverageCapped = { traders: 0, positions: 0, markets: {} };
  for (let index = 0; index < s.count; index++) {
    const rng = FloatRandom.from("population", p.seed, index);
    const most = Math.min(s.positions.max, markets.length);
    const least = Math.min(s.positions.min, most);
    const k = least + Number(rng.ints.below(BigInt(most - least + 1)));
    const chosen = rng.ints.shuffle(markets).slice(0, k);
    const drawn = chosen.map((m) => planPosition(rng, m, s, p.leverageCaps?.get(m.symbol) ?? []));
    const cut = drawn.filter((d) => d.capped);
    if (cut.length > 0) capped.traders++;
    for (const d of cut) {
      capped.positions++;
      capped.markets[d.position.symbol] = (capped.markets[d.position.symbol] ?? 0) + 1;
    }
    plans.push(traderPlan(p.seed, index, drawn.map((d) => d.position), p.markets, p.keys !== false));
  }
  return { plans, capped };
}

function planPosition(rng: FloatRandom, m: SeedMarket, s: PopulationSpec, caps: readonly (readonly Tier[])[]): { position: PlannedPosition; capped: boolean } {
  const log = (d: Distribution) => d === "log-uniform";
  const dollars = Math.floor(rng.between(Number(s.size.min / WAD), Number(s.size.max / WAD), log(s.size.distribution)));
  const sized = sizeForNotional(m, BigInt(dollars));
  const drawn = rng.between(Number(s.leverage.min) / 1e6, Number(s.leverage.max) / 1e6, log(s.leverage.distribution));
  let leveragePpm = BigInt(Math.round(drawn * 10)) * LEVERAGE_STEP;
  const tierMax = [m.tiers, ...caps].reduce((low, tiers) => {
    const max = tiers[tierIndex(tiers, sized.notional)]!.maxLeverage * PPM;
    return max < low ? max : low;
  }, m.tiers[sized.tier]!.maxLeverage * PPM);
  const capped = leveragePpm > tierMax;
  if (capped) leveragePpm = tierMax;
  if (leveragePpm < PPM) leveragePpm = PPM;
  return { position: plannedPosition(m, sized, leveragePpm, rng.ints.below(PPM) < s.longShare), capped };
}
