/**
 * Capped parity cases: what fast-check draws, and how a case is set up on Anvil.
 *
 * Three markets with drawn rules (skew scale, fees, margin ratios, the window's multiplier and
 * length, the pd bypass, an endorsed liquidator or none), keeper reward guards and costs (a native
 * feed or none), a pool from empty to deep, and one to four traders with one or two positions each,
 * sized against the window (from a tenth of it to five windows), left with a little more margin
 * than they need; then the prices move. The keeper's transactions follow: liquidate,
 * liquidateFlagged, liquidateFlaggedAccounts, alone or several in a multicall with the Pyth update
 * attached (or not, or with too little fee, or with value outside a multicall), by the keeper or
 * the endorsed liquidator, seconds or windows apart.
 */
import fc from "fast-check";
import { encodeFunctionData, type Hex } from "viem";
import { CappedPerpsMarket } from "../../abi/CappedPerpsMarket.ts";
import { maxLiquidationAmountInWindow, ZERO_ADDRESS, type CappedMarketConfig } from "../../src/engine/capped/index.ts";
import {
  ENDORSED,
  FEED_OF,
  LP,
  MARKET_IDS,
  NATIVE_FEED,
  OWNER,
  TRADERS,
  multicall,
  publish,
  updatesAt,
  type CappedWorld,
  type Published,
} from "./cappedWorld.ts";

const E18 = 10n ** 18n;
/** A D18 amount of `units` with `dp` decimals drawn. */
const d18 = (lo: number, hi: number, dp: number) => fc.bigInt({ min: BigInt(lo) * 10n ** BigInt(dp), max: BigInt(hi) * 10n ** BigInt(dp) }).map((x) => x * 10n ** BigInt(18 - dp));

export type MarketCase = {
  config: Omit<CappedMarketConfig, "endorsedLiquidator" | "maxMarketSize">;
  endorsed: boolean;
  /** The Pyth price at the traders' entry and its exponent. */
  price: bigint;
  expo: number;
};

export type PositionCase = { market: number; side: 1n | -1n; permille: number };
export type TraderCase = { positions: PositionCase[]; slackPermille: number };

/** One liquidation call: `who` indexes the traders (past them: an account that does not exist). */
export type Op = { kind: "liquidate"; who: number } | { kind: "flagged"; max: number } | { kind: "flaggedAccounts"; who: number[] };

export type TxMode = "multicall" | "direct" | "value" | "feeShort";
export type TxCase = { dt: bigint; sender: "keeper" | "endorsed"; mode: TxMode; attach: boolean; ops: Op[]; movePermille: number[]; baseFeeGwei: number };

export type CappedCase = {
  markets: MarketCase[];
  guards: { minKeeperRewardUsd: bigint; minKeeperProfitRatio: bigint; maxKeeperRewardUsd: bigint; maxKeeperScalingRatio: bigint };
  costs: { native: boolean; nativePrice: bigint; flagGas: bigint; liquidateGas: bigint };
  pool: bigint;
  tolerance: bigint;
  traders: TraderCase[];
  /** The move after the traders opened, per market: against the market's first position, or for it when negative. */
  movePermille: number[];
  txs: TxCase[];
};

const marketArb: fc.Arbitrary<MarketCase> = fc
  .record({
    skewScale: fc.oneof({ weight: 9, arbitrary: d18(100, 1_000_000, 0) }, { weight: 1, arbitrary: fc.constant(0n) }),
    makerFee: d18(0, 10, 4).map((x) => x / 10_000n),
    takerFee: d18(0, 10, 4).map((x) => x / 10_000n),
    initialMarginRatio: d18(0, 2, 3),
    minimumInitialMarginRatio: d18(5, 200, 0).map((x) => x / 1000n),
    maintenanceMarginScalar: d18(1, 1000, 0).map((x) => x / 1000n),
    flagRewardRatio: d18(0, 100, 0).map((x) => x / 100_000n),
    minimumPositionMargin: d18(0, 100, 2),
    maxLiquidationLimitAccumulationMultiplier: fc.oneof({ weight: 1, arbitrary: fc.constant(0n) }, { weight: 6, arbitrary: d18(0, 3, 3) }),
    maxSecondsInLiquidationWindow: fc.oneof({ weight: 1, arbitrary: fc.constant(0n) }, { weight: 8, arbitrary: fc.bigInt({ min: 1n, max: 60n }) }),
    maxLiquidationPd: fc.oneof({ weight: 1, arbitrary: fc.constant(0n) }, { weight: 2, arbitrary: d18(1, 900, 0).map((x) => x / 1000n) }),
    endorsed: fc.oneof({ weight: 1, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    micro: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    units: fc.integer({ min: 1, max: 100_000 }),
    expo: fc.constantFrom(-5, -8, -10, -12),
  })
  .map(({ endorsed, micro, units, expo, ...config }) =>
    // micro: a sub-dollar token at expo −19, whose D18 price floors (18 + expo < 0).
    micro
      ? { config, endorsed, price: BigInt(units) * 10n ** 13n + 7n, expo: -19 }
      : { config, endorsed, price: BigInt(units) * 10n ** BigInt(-expo) + BigInt(units % 97), expo },
  );

const positionArb: fc.Arbitrary<PositionCase> = fc.record({
  market: fc.nat({ max: MARKET_IDS.length - 1 }),
  side: fc.constantFrom(1n as const, -1n as const),
  permille: fc.oneof(fc.integer({ min: 100, max: 1_500 }), fc.integer({ min: 100, max: 5_000 })),
});

const traderArb: fc.Arbitrary<TraderCase> = fc.record({
  positions: fc.uniqueArray(positionArb, { minLength: 1, maxLength: 2, selector: (p) => p.market }),
  slackPermille: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 20 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 1_000 }) }),
});

/** A trader, now and then the account nobody created. */
const whoArb = (traders: number) => fc.oneof({ weight: 9, arbitrary: fc.nat({ max: traders - 1 }) }, { weight: 1, arbitrary: fc.constant(traders) });

const opArb = (traders: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("liquidate" as const), who: whoArb(traders) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("flagged" as const), max: fc.nat({ max: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("flaggedAccounts" as const), who: fc.array(whoArb(traders), { maxLength: 4 }) }) },
  );

const txArb = (traders: number): fc.Arbitrary<TxCase> =>
  fc.record({
    dt: fc.oneof({ weight: 2, arbitrary: fc.bigInt({ min: 1n, max: 5n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 25n, max: 70n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 400n }) }),
    sender: fc.oneof({ weight: 3, arbitrary: fc.constant("keeper" as const) }, { weight: 1, arbitrary: fc.constant("endorsed" as const) }),
    mode: fc.oneof(
      { weight: 12, arbitrary: fc.constant<TxMode>("multicall") },
      { weight: 5, arbitrary: fc.constant<TxMode>("direct") },
      { weight: 1, arbitrary: fc.constant<TxMode>("value") },
      { weight: 1, arbitrary: fc.constant<TxMode>("feeShort") },
    ),
    attach: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    ops: fc.oneof({ weight: 3, arbitrary: fc.array(opArb(traders), { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(opArb(traders), { minLength: 2, maxLength: 3 }) }),
    movePermille: fc.array(fc.integer({ min: -60, max: 60 }), { minLength: MARKET_IDS.length + 1, maxLength: MARKET_IDS.length + 1 }),
    baseFeeGwei: fc.integer({ min: 1, max: 50 }),
  });

export const cappedCaseArb: fc.Arbitrary<CappedCase> = fc
  .record({
    markets: fc.array(marketArb, { minLength: MARKET_IDS.length, maxLength: MARKET_IDS.length }),
    guards: fc.record({
      minKeeperRewardUsd: d18(0, 20, 2),
      minKeeperProfitRatio: d18(0, 1, 3),
      maxKeeperRewardUsd: fc.oneof(d18(0, 50, 2), d18(0, 5_000, 0)),
      maxKeeperScalingRatio: fc.oneof(d18(0, 1, 4).map((x) => x / 10n), d18(0, 3, 2)),
    }),
    costs: fc.record({
      native: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      nativePrice: fc.bigInt({ min: 1n, max: 10_000n }).map((x) => x * 10n ** 8n),
      flagGas: fc.bigInt({ min: 0n, max: 2_000_000n }),
      liquidateGas: fc.bigInt({ min: 0n, max: 2_000_000n }),
    }),
    pool: fc.oneof(fc.constant(0n), d18(0, 100, 2), d18(0, 10_000_000, 0)),
    tolerance: fc.constantFrom(30n, 120n, 3_600n),
    traders: fc.array(traderArb, { minLength: 1, maxLength: TRADERS.length }),
    movePermille: fc.array(fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: -60, max: 60 }) }), { minLength: MARKET_IDS.length, maxLength: MARKET_IDS.length }),
  })
  .chain((c) => fc.array(txArb(c.traders.length), { minLength: 1, maxLength: 5 }).map((txs) => ({ ...c, txs })));

/** A Pyth price moved by `permille` (never below 1). */
export function movedPrice(p: bigint, permille: number): bigint {
  const x = (p * BigInt(1000 + permille)) / 1000n;
  return x > 0n ? x : 1n;
}

/** The size a position of the case opens: against the market's window when it has one, else against its skew scale. */
export function positionSize(m: MarketCase, p: PositionCase): bigint {
  const config = { ...m.config, endorsedLiquidator: ZERO_ADDRESS, maxMarketSize: 0n };
  const maxIn = maxLiquidationAmountInWindow(config);
  const scale = m.config.skewScale === 0n ? 1_000n * E18 : m.config.skewScale;
  let size = maxIn > 0n ? (maxIn * BigInt(p.permille)) / 1000n : (scale * BigInt(p.permille)) / 100_000n;
  if (size > scale / 2n) size = scale / 2n;
  if (size === 0n) size = 1n;
  return p.side * size;
}

/** What set-up leaves for the run: account ids by trader, what was published last, and when. */
export type CappedSetup = { accountIds: bigint[]; published: Map<Hex, Published["price"]>; lastPublish: bigint };

const ABI = CappedPerpsMarket.abi;

/** The price list of the case at its current prices (markets in id order, then the native token). */
export function feedPrices(c: CappedCase, prices: readonly bigint[]): { feed: Hex; price: bigint; expo: number }[] {
  const out = MARKET_IDS.map((id, i) => ({ feed: FEED_OF.get(id)!, price: prices[i]!, expo: c.markets[i]!.expo }));
  if (c.costs.native) out.push({ feed: NATIVE_FEED, price: prices[MARKET_IDS.length]!, expo: -8 });
  return out;
}

/** Build the case on chain, up to the block before the keeper's first transaction. */
export async function setUpCappedCase(w: CappedWorld, c: CappedCase): Promise<CappedSetup & { prices: bigint[] }> {
  const chain = w.chain;
  const calls: Hex[] = [];
  for (const [i, id] of MARKET_IDS.entries()) {
    const m = c.markets[i]!;
    const k = m.config;
    calls.push(
      encodeFunctionData({ abi: ABI, functionName: "updatePriceData", args: [id, FEED_OF.get(id)!, c.tolerance] }),
      encodeFunctionData({ abi: ABI, functionName: "setOrderFees", args: [id, k.makerFee, k.takerFee] }),
      encodeFunctionData({ abi: ABI, functionName: "setFundingParameters", args: [id, k.skewScale, 0n] }),
      encodeFunctionData({ abi: ABI, functionName: "setLiquidationParameters", args: [id, k.initialMarginRatio, k.minimumInitialMarginRatio, k.maintenanceMarginScalar, k.flagRewardRatio, k.minimumPositionMargin] }),
      encodeFunctionData({
        abi: ABI,
        functionName: "setMaxLiquidationParameters",
        args: [id, k.maxLiquidationLimitAccumulationMultiplier, k.maxSecondsInLiquidationWindow, k.maxLiquidationPd, m.endorsed ? w.address(ENDORSED) : ZERO_ADDRESS],
      }),
    );
  }
  const g = c.guards;
  calls.push(
    encodeFunctionData({ abi: ABI, functionName: "setKeeperRewardGuards", args: [g.minKeeperRewardUsd, g.minKeeperProfitRatio, g.maxKeeperRewardUsd, g.maxKeeperScalingRatio] }),
    encodeFunctionData({ abi: ABI, functionName: "setKeeperCostParameters", args: [c.costs.native ? NATIVE_FEED : `0x${"00".repeat(32)}`, c.tolerance, c.costs.flagGas, c.costs.liquidateGas] }),
  );
  await multicall(w, OWNER, calls);
  if (c.pool > 0n) await multicall(w, LP, [encodeFunctionData({ abi: ABI, functionName: "depositLiquidity", args: [c.pool] })]);

  // Entry prices, published in a block of their own time.
  let prices = [...c.markets.map((m) => m.price), c.costs.nativePrice];
  let t = (await chain.publicClient.getBlock()).timestamp + 1n;
  await chain.testClient.setNextBlockTimestamp({ timestamp: t });
  let u = updatesAt(feedPrices(c, prices), t);
  await publish(w, u.data);

  // Traders: an account each, a deposit far above what they open, the orders, then a withdrawal
  // down to `slackPermille` of what they could take out.
  const accountIds: bigint[] = [];
  for (const [k, tr] of c.traders.entries()) {
    const wallet = TRADERS[k]!;
    const id = BigInt(k + 1);
    accountIds.push(id);
    const orders = tr.positions.map((p) => {
      const size = positionSize(c.markets[p.market]!, p);
      return encodeFunctionData({ abi: ABI, functionName: "commitOrder", args: [MARKET_IDS[p.market]!, id, size, size > 0n ? 2n ** 255n : 0n] });
    });
    // Far above any initial margin the generator can ask (sizes ≤ skewScale / 2, prices ≤ 1e5).
    const deposit = 10n ** 30n;
    await multicall(w, wallet, [
      encodeFunctionData({ abi: ABI, functionName: "createAccount" }),
      encodeFunctionData({ abi: ABI, functionName: "modifyCollateral", args: [id, 0n, deposit] }),
      ...orders,
    ]);
    const withdrawable = await chain.publicClient.readContract({ address: w.market, abi: ABI, functionName: "getWithdrawableMargin", args: [id] });
    const collateral = await chain.publicClient.readContract({ address: w.market, abi: ABI, functionName: "totalCollateralValue", args: [id] });
    // What must stay (initial margin and reward, less the PnL): keep `slackPermille` of it more.
    const out = withdrawable - ((collateral - withdrawable) * BigInt(tr.slackPermille)) / 1000n;
    if (out > 0n) await multicall(w, wallet, [encodeFunctionData({ abi: ABI, functionName: "modifyCollateral", args: [id, 0n, -out] })]);
  }

  // The move, a few seconds later.
  const firstSide = (i: number) => c.traders.flatMap((t) => t.positions).find((p) => p.market === i)?.side ?? 1n;
  prices = prices.map((p, i) => (i < MARKET_IDS.length ? movedPrice(p, firstSide(i) > 0n ? -c.movePermille[i]! : c.movePermille[i]!) : p));
  t = (await chain.publicClient.getBlock()).timestamp + 1n;
  await chain.testClient.setNextBlockTimestamp({ timestamp: t });
  u = updatesAt(feedPrices(c, prices), t);
  await publish(w, u.data);
  return { accountIds, published: new Map(u.published.map((p) => [p.feed, p.price])), lastPublish: t, prices };
}
