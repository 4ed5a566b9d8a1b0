/**
 * ADL cases: what fast-check draws, and how a case is set up on Anvil.
 *
 * An ADL-enabled market (sometimes disabled), a bankrupt account (dev 1) long or short at high
 * leverage, sometimes with a losing position in a second market, and 1–6 other accounts (devs
 * 2–7) that opened on either side at other prices with more or less margin: some profitable on the
 * opposite side (eligible), some losing or on the same side (not), twins that tie on score. Then
 * funding runs, the price moves against the bankrupt account, and the insurance fund is small
 * (or, to see AdlNotDue, large). The operator's list is the engine's ranking, or a wrong list.
 */
import fc from "fast-check";
import { encodeFunctionData } from "viem";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { feedAnswer } from "../../src/chain/prices.ts";
import { PPM, initialMargin, notional } from "../../src/engine/index.ts";
import { OWNER } from "../support/market.ts";
import { marketArgs, simpleMarketArb, type SimpleMarket } from "./caseMarkets.ts";
import { BANKRUPT, OTHERS, send, type CaseWorld, type Feed } from "./caseWorld.ts";

/**
 * How the operator's call goes wrong (or not): a list out of rank order, with an ineligible
 * account inserted or appended, a duplicate, empty; a market with ADL off; an insurance fund that
 * covers the deficit; the wrong caller; an account that is not bankrupt or has no position.
 */
export const MUTATIONS = ["swap", "reverse", "insertIneligible", "appendIneligible", "duplicate", "empty", "disabled", "covered", "nonOperator", "notBankrupt", "noPosition"] as const;
export type Mutation = "none" | (typeof MUTATIONS)[number];

/** Another account. `favourPermille`: how far from the bankrupt's entry it opened, in its favour (> −move: in profit). */
export type OtherCase = { opposite: boolean; lots: bigint; favourPermille: number; marginPermille: number; twin: boolean };

export type AdlCase = {
  market: SimpleMarket;
  /** Funding per second as parts per billion of the entry price. */
  fundingPpb: bigint;
  entry: bigint;
  bankrupt: { side: 1n | -1n; lots: bigint; extraPermille: number };
  /** Adverse move of the mark for the bankrupt account, in percent of the move that takes its initial margin (1 / leverage). */
  movePct: number;
  /** A second position of the bankrupt account (market 1), moved against it by `movePermille`. */
  second: { side: 1n | -1n; lots: bigint; movePermille: number } | null;
  others: OtherCase[];
  /** The insurance fund, per mille of the bankrupt position's notional (small: the deficit should exceed it). */
  insurancePermille: number;
  elapsed: bigint;
  warp: bigint;
  mutation: Mutation;
  pick: number;
};

const lotsArb = fc.oneof(fc.bigInt({ min: 1n, max: 20n }), fc.bigInt({ min: 1n, max: 1_000_000n }));

const otherArb: fc.Arbitrary<OtherCase> = fc.record({
  opposite: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  lots: lotsArb,
  favourPermille: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -20, max: 300 }) }, { weight: 1, arbitrary: fc.integer({ min: -600, max: 300 }) }),
  marginPermille: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 5_000 })),
  twin: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

export const adlCaseArb: fc.Arbitrary<AdlCase> = fc.record({
  market: simpleMarketArb,
  fundingPpb: fc.oneof(fc.constant(0n), fc.bigInt({ min: -100n, max: 100n })),
  entry: fc.bigInt({ min: 10_000n, max: 10_000_000_000n }).map((micro) => micro * 10n ** 12n),
  bankrupt: fc.record({ side: fc.constantFrom(1n as const, -1n as const), lots: lotsArb, extraPermille: fc.integer({ min: 0, max: 50 }) }),
  movePct: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 130, max: 500 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3_000 }) }),
  second: fc.option(fc.record({ side: fc.constantFrom(1n as const, -1n as const), lots: lotsArb, movePermille: fc.integer({ min: 0, max: 900 }) }), { freq: 3 }),
  others: fc.oneof(fc.array(otherArb, { minLength: 1, maxLength: OTHERS.length }), fc.array(otherArb, { minLength: 4, maxLength: OTHERS.length })),
  insurancePermille: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 })),
  elapsed: fc.oneof(fc.constant(1n), fc.bigInt({ min: 1n, max: 86_400n })),
  warp: fc.bigInt({ min: 1n, max: 120n }),
  mutation: fc.oneof({ weight: 12, arbitrary: fc.constant<Mutation>("none") }, { weight: 11, arbitrary: fc.constantFrom(...MUTATIONS) }),
  pick: fc.nat(),
});

/** The bankrupt account's adverse move in permille (at most 900: a long's mark stays positive). */
export function movePermille(c: AdlCase): number {
  const perLeverage = 1000 / Number(c.market.tiers[0]!.maxLeverage);
  return Math.min(900, Math.ceil((perLeverage * c.movePct) / 100));
}

/** A price `permille` away from `p`, on a whole micro-dollar (so a 6-decimals feed carries it). */
export function moved(p: bigint, permille: number): bigint {
  const micro = 10n ** 12n;
  const x = ((p * BigInt(1000 + permille)) / 1000n / micro) * micro;
  return x > micro ? x : micro;
}

/** What a case's set-up leaves for the comparison: the feeds of its markets. */
export type AdlSetup = { feeds: Feed[] };

/** Tokens that open `lots` at `price` with `permille` margin above the initial margin and the fee. */
function tokensFor(m: SimpleMarket, size: bigint, price: bigint, permille: number): bigint {
  const n = notional(size, price);
  const need = initialMargin(m.tiers, n) + (n * m.tradingFeePpm) / PPM + 1n;
  return (need + (need * BigInt(permille)) / 1000n) / 10n ** 12n + 1n;
}

/** Build the case on chain, up to the block before the operator's call. */
export async function setUpAdlCase(w: CaseWorld, c: AdlCase): Promise<AdlSetup> {
  const feeds = [w.feeds[8][0]!, w.feeds[18][0]!];
  const owner = (to: `0x${string}`, data: `0x${string}`) => send(w, OWNER, to, data);
  const price = (i: number, p: bigint) =>
    owner(feeds[i]!.aggregator, encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(p, feeds[i]!.decimals)] }));
  const market = { ...c.market, adlEnabled: c.mutation !== "disabled" };
  const call = (i: number, data: `0x${string}`) => send(w, i, w.market, data);
  const deposit = (i: number, tokens: bigint) => call(i, encodeFunctionData({ abi: PerpMarket.abi, functionName: "deposit", args: [w.address(i), tokens] }));
  const trade = (i: number, id: number, size: bigint) => call(i, encodeFunctionData({ abi: PerpMarket.abi, functionName: "trade", args: [BigInt(id), size] }));

  await owner(w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "addMarket", args: marketArgs(market, feeds[0]!.proxy, 200_000n) }));
  if (c.second) await owner(w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "addMarket", args: marketArgs(c.market, feeds[1]!.proxy, 200_000n) }));
  const sizeA = c.bankrupt.lots * c.market.lotSize;
  const insurance = c.mutation === "covered" ? 10n ** 18n : (notional(sizeA, c.entry) * BigInt(c.insurancePermille)) / 1000n / 10n ** 12n;
  if (insurance > 0n) await owner(w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "fundInsurance", args: [insurance] }));

  // The others open first, each at its own price; a twin copies the one before it.
  const side = c.bankrupt.side;
  let prev: OtherCase | undefined;
  for (const [k, drawn] of c.others.entries()) {
    const o = drawn.twin && prev ? prev : drawn;
    prev = o;
    const p = moved(c.entry, side > 0n ? o.favourPermille : -o.favourPermille);
    const oSide = o.opposite ? -side : side;
    const size = o.lots * c.market.lotSize;
    await price(0, p);
    await deposit(OTHERS[k]!, tokensFor(c.market, size, p, o.marginPermille));
    await trade(OTHERS[k]!, 0, oSide * size);
  }

  // The bankrupt account: near the maximum leverage, in one market or two.
  let tokens = tokensFor(c.market, sizeA, c.entry, c.bankrupt.extraPermille);
  const sizeB = c.second ? c.second.lots * c.market.lotSize : 0n;
  if (c.second) {
    await price(1, c.entry);
    tokens += tokensFor(c.market, sizeB, c.entry, c.bankrupt.extraPermille);
  }
  await price(0, c.entry);
  await deposit(BANKRUPT, tokens);
  await trade(BANKRUPT, 0, side * sizeA);
  if (c.second) await trade(BANKRUPT, 1, c.second.side * sizeB);

  // Funding from now on; time passes; the prices move against the bankrupt account.
  const rate = (c.entry * c.fundingPpb) / 1_000_000_000n;
  if (rate !== 0n) {
    for (const id of c.second ? [0n, 1n] : [0n]) await owner(w.market, encodeFunctionData({ abi: PerpMarket.abi, functionName: "setFundingRate", args: [id, rate] }));
  }
  const t = (await w.chain.publicClient.getBlock()).timestamp;
  await w.chain.testClient.setNextBlockTimestamp({ timestamp: t + c.elapsed });
  await price(0, moved(c.entry, side > 0n ? -movePermille(c) : movePermille(c)));
  if (c.second) await price(1, moved(c.entry, c.second.side > 0n ? -c.second.movePermille : c.second.movePermille));
  return { feeds: c.second ? feeds : [feeds[0]!] };
}
