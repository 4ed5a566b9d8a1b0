import { PPM, WAD } from "../engine/index.ts";
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
  const s = p.spec;
  if (!Number.isSafeInteger(s.count) || s.count < 0) throw new SeedPlanError("trader count must be a whole number ≥ 0");
  const markets = s.markets.map((sym) => {
    const m = p.markets.find((x) => x.symbol === sym);
    if (!m) throw new SeedPlanError(`unknown market "${sym}"; markets: ${p.markets.map((x) => x.symbol).join(", ")}`);
    return m;
  });
  if (markets.length === 0) throw new SeedPlanError("no markets to trade");
  const plans: TraderPlan[] = [];
  for (let index = 0; index < s.count; index++) {
    const rng = FloatRandom.from("population", p.seed, index);
    const most = Math.min(s.positions.max, markets.length);
    const least = Math.min(s.positions.min, most);
    const k = least + Number(rng.ints.below(BigInt(most - least + 1)));
    const chosen = rng.ints.shuffle(markets).slice(0, k);
    const positions = chosen.map((m) => planPosition(rng, m, s));
    plans.push(traderPlan(p.seed, index, positions, p.markets, p.keys !== false));
  }
  return plans;
}

function planPosition(rng: FloatRandom, m: SeedMarket, s: PopulationSpec): PlannedPosition {
  const log = (d: Distribution) => d === "log-uniform";
  const dollars = Math.floor(rng.between(Number(s.size.min / WAD), Number(s.size.max / WAD), log(s.size.distribution)));
  const sized = sizeForNotional(m, BigInt(dollars));
  const drawn = rng.between(Number(s.leverage.min) / 1e6, Number(s.leverage.max) / 1e6, log(s.leverage.distribution));
  let leveragePpm = BigInt(Math.round(drawn * 10)) * LEVERAGE_STEP;
  const tierMax = m.tiers[sized.tier]!.maxLeverage * PPM;
  if (leveragePpm > tierMax) leveragePpm = tierMax;
  if (leveragePpm < PPM) leveragePpm = PPM;
  return plannedPosition(m, sized, leveragePpm, rng.ints.below(PPM) < s.longShare);
}
