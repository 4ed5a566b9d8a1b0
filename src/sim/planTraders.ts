import { getAddress, keccak256, slice, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  PPM,
  TOKEN_SCALE,
  WAD,
  accountHealth,
  ceilDiv,
  notional,
  tierIndex,
  type Account,
  type MarketRules,
  type Position,
  type Valuation,
  NEUTRAL_LIQUIDATION,
} from "../engine/index.ts";
import { BaseError } from "../lib/errors.ts";
import { SeedRandom, traderPrivateKey } from "./seedRandom.ts";

/**
 * Planning a deterministic population of traders (pure): the same seed gives the same keys, the
 * same deposits and the same positions, each plan checked with the engine against initial margin.
 * {@link seedTraders} sends the transactions.
 */

/** A market as the planner sees it: its rules and its current mark price. */
export type SeedMarket = Pick<MarketRules, "id" | "lotSize" | "tradingFeePpm" | "tiers" | "cums"> & {
  symbol: string;
  price: bigint;
};

export type PlannedPosition = {
  marketId: number;
  symbol: string;
  /** Signed size (long > 0), a lot multiple. */
  size: bigint;
  /** Mark price the plan assumes (the trade executes at the mark). */
  price: bigint;
  notional: bigint;
  /** Tier of the notional (0-based). */
  tier: number;
  /** Notional ÷ the collateral set aside for this position, in ppm of 1x (2x = 2_000_000). */
  leveragePpm: bigint;
  /** Collateral set aside for this position (WAD). */
  margin: bigint;
  /** Trading fee the contract charges to open it (WAD). */
  fee: bigint;
};

export type TraderPlan = {
  index: number;
  address: Address;
  /** Dev-only key derived from the seed. Never log it. Absent when planned without keys (bulk seeding). */
  privateKey?: Hex;
  /** Collateral deposited, in token units (6 decimals). */
  depositTokens: bigint;
  positions: PlannedPosition[];
};

export type PlanTradersParameters = {
  count: number;
  seed: string;
  markets: readonly SeedMarket[];
  /** Largest leverage used, as a share of the tier's max (ppm). Default 90%: IM is kept with a 10% margin. */
  maxLeverageShare?: bigint;
  /** Derive each trader's key and address from it (default). `false`: addresses only (see TraderPlan.privateKey). */
  keys?: boolean;
};

export class SeedPlanError extends BaseError {
  override name = "SeedPlanError";
}

/** Extra collateral on top of margins and fees (WAD): one dollar. */
export const SEED_SAFETY = WAD;
const MIN_LEVERAGE_TENTHS = 20n; // 2.0x
/** Lowest notional a planned position aims for (the size is still at least one lot). */
const MIN_NOTIONAL = 100n * WAD;

/** Weighted tier pick: 45% tier 0, 30% tier 1, 20% tier 2, 5% tier 3 (clamped to the table). */
function pickTier(rng: SeedRandom, tierCount: number): number {
  const r = rng.below(100n);
  const t = r < 45n ? 0 : r < 75n ? 1 : r < 95n ? 2 : 3;
  return Math.min(t, tierCount - 1);
}

function planPosition(rng: SeedRandom, m: SeedMarket, tierWanted: number, maxShare: bigint): PlannedPosition {
  const tiers = m.tiers;
  const t = Math.min(tierWanted, tiers.length - 1);
  const lo = tiers[t]!.floor > MIN_NOTIONAL ? tiers[t]!.floor : MIN_NOTIONAL;
  const next = tiers[t + 1]?.floor;
  // Open-ended last tier: up to twice its floor. Leave a lot's notional of room below the next floor.
  const hi = next !== undefined ? next - notional(m.lotSize, m.price) - WAD : lo * 2n;
  const sized = sizeForNotional(m, rng.between(lo / WAD + 1n, hi > lo ? hi / WAD : lo / WAD + 1n));
  // Leverage in tenths of x, from 2x to maxShare × the tier's max.
  const maxTenths = (tiers[sized.tier]!.maxLeverage * 10n * maxShare) / PPM;
  const tenths = maxTenths <= MIN_LEVERAGE_TENTHS ? maxTenths : rng.between(MIN_LEVERAGE_TENTHS, maxTenths);
  if (tenths <= 0n) throw new SeedPlanError(`market ${m.symbol}: tier ${sized.tier} allows no leverage to plan with`);
  return plannedPosition(m, sized, tenths * 100_000n, rng.below(2n) === 0n);
}

/** A position of whole lots (at least one) worth about `dollars` at the market's price, and its tier. */
export type SizedPosition = { absSize: bigint; notional: bigint; tier: number };

export function sizeForNotional(m: SeedMarket, dollars: bigint): SizedPosition {
  const lots = (dollars * WAD * WAD) / m.price / m.lotSize;
  const absSize = (lots > 0n ? lots : 1n) * m.lotSize;
  const n = notional(absSize, m.price);
  return { absSize, notional: n, tier: tierIndex(m.tiers, n) };
}

/** The planned trade, its initial margin at `leveragePpm` and its trading fee. */
export function plannedPosition(m: SeedMarket, sized: SizedPosition, leveragePpm: bigint, long: boolean): PlannedPosition {
  const n = sized.notional;
  return {
    marketId: m.id,
    symbol: m.symbol,
    size: long ? sized.absSize : -sized.absSize,
    price: m.price,
    notional: n,
    tier: sized.tier,
    leveragePpm,
    margin: ceilDiv(n * PPM, leveragePpm),
    fee: ceilDiv(n * m.tradingFeePpm, PPM),
  };
}

/**
 * Check with the engine that every trade of the plan, in order, keeps E ≥ ΣIM (the contract's
 * check on an increase), at the planned prices, with no funding.
 */
export function checkTraderPlan(plan: TraderPlan, markets: readonly SeedMarket[]): void {
  const v: Valuation = {
    markets: new Map(
      markets.map((m) => [
        m.id,
        {
          ...m,
          liquidation: NEUTRAL_LIQUIDATION,
          funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n },
        },
      ]),
    ),
    prices: new Map(markets.map((m) => [m.id, m.price])),
    timestamp: 0n,
    global: { cooldown: 0n, backstopPpm: 0n, keeperSharePpm: 0n },
  };
  let collateral = plan.depositTokens * TOKEN_SCALE;
  const positions: Position[] = [];
  for (const p of plan.positions) {
    collateral -= p.fee;
    positions.push({ marketId: p.marketId, size: p.size, entryPrice: p.price, entryFundingIndex: 0n });
    const account: Account = { collateral, lastPartialAt: 0n, positions };
    const h = accountHealth(account, v);
    if (h.equity < h.initial) {
      throw new SeedPlanError(`trader ${plan.index}: plan breaks initial margin (equity ${h.equity} < ${h.initial})`);
    }
  }
}

/**
 * Plan `count` traders from `seed`: each opens 1–3 positions in distinct markets, long or short, at a
 * leverage from 2x to 90% of its tier's max, sized in lots; every fourth trader (0, 4, 8, …) opens
 * its first position in tier 2 or above. Deposits cover every position's margin at its leverage,
 * the trading fees and one dollar, rounded up to whole tokens.
 */
export function planTraders(p: PlanTradersParameters): TraderPlan[] {
  if (!Number.isSafeInteger(p.count) || p.count < 0) throw new SeedPlanError(`trader count must be a whole number ≥ 0`);
  if (p.markets.length === 0) throw new SeedPlanError("no markets to trade");
  const maxShare = p.maxLeverageShare ?? 900_000n;
  const plans: TraderPlan[] = [];
  for (let index = 0; index < p.count; index++) {
    const rng = SeedRandom.from(p.seed, "trader", index);
    const k = 1 + Number(rng.below(BigInt(Math.min(3, p.markets.length))));
    const chosen = rng.shuffle(p.markets).slice(0, k);
    const positions = chosen.map((m, j) => {
      const tier = j === 0 && index % 4 === 0 ? 2 + Number(rng.below(2n)) : pickTier(rng, m.tiers.length);
      return planPosition(rng, m, tier, maxShare);
    });
    plans.push(traderPlan(p.seed, index, positions, p.markets, p.keys !== false));
  }
  return plans;
}

/**
 * Trader `index` of `seed` with these positions: its address (and key), a deposit of whole dollars
 * covering their margins and fees with SEED_SAFETY to spare, checked with the engine.
 */
export function traderPlan(seed: string, index: number, positions: PlannedPosition[], markets: readonly SeedMarket[], keys: boolean): TraderPlan {
  const need = positions.reduce((s, x) => s + x.margin + x.fee, 0n) + SEED_SAFETY;
  const depositTokens = ceilDiv(need, WAD) * 10n ** 6n; // whole dollars
  const privateKey = traderPrivateKey(seed, index);
  // Without keys, the address is a hash of the key: no secp256k1 work (~0.5 ms a trader), and
  // nobody can sign for it — the bulk seeder opens its positions for it.
  const plan: TraderPlan = keys
    ? { index, address: privateKeyToAccount(privateKey).address, privateKey, depositTokens, positions }
    : { index, address: getAddress(slice(keccak256(privateKey), 12)), depositTokens, positions };
  checkTraderPlan(plan, markets);
  return plan;
}
