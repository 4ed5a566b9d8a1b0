/**
 * Auto-deleveraging (src/engine/adl.ts, deleverage.ts) on hand-computed examples: the worked
 * example of docs/reference-market.md, the rounding wei, funding settlement, and every refusal the
 * contract reverts with. Properties: test/engine/adl.properties.test.ts.
 */
import { describe, expect, test } from "vitest";
import {
  WAD,
  adlBankruptcyPrice,
  adlDue,
  adlScore,
  accountHealth,
  applyDeleverage,
  applyLiquidation,
  rankAdlCounterparties,
  type AdlParty,
  type MarketState,
} from "../../src/engine/index.ts";
import { account, market, valuation, w } from "./fixtures.ts";

const addr = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as const;
const party = (n: number, collateral: bigint, positions: [number, bigint, bigint][]): AdlParty => ({
  address: addr(n),
  account: account(collateral, positions),
});

/** One market, maintenance 1% (max leverage 50), ADL on; a second one for cross-margin cases. */
const btc = (extra: Partial<MarketState> = {}) => ({ ...market(0, [[0, 10_000, 50]], { liquidation: { adlEnabled: true } }), ...extra });
const eth = market(1, [[0, 10_000, 50]], { liquidation: { adlEnabled: true } });

/*
 * Worked example: auto-deleveraging (docs/reference-market.md, "Auto-deleveraging").
 *
 * One market at mark 80 (maintenance 1%), insurance fund 20.
 *   A: long 10 at entry 100, collateral 150.  PnL 10 × (80 − 100) = −200, equity E = −50.
 *      Liquidatable (E < MM = 8), E < 0, and the deficit 50 > insurance fund 20: ADL is due.
 *      (Liquidating A at the mark would leave collateral −50: the fund pays 20, 30 is bad debt.)
 *      Bankruptcy price: gap = 50 / 10 = 5, long → pb = 80 + 5 = 85 (at 85, A's equity is 0).
 *   Counterparties (shorts, opposite to A), score = PnL / |size × entry| × notional / equity:
 *   B: short 5 at entry 100, collateral 100.  PnL 5 × 20 = 100, equity 200, notional 400.
 *      score = 100/500 × 400/200 = 0.20 × 2 = 0.40
 *   C: short 8 at entry 100, collateral 480.  PnL 8 × 20 = 160, equity 640, notional 640.
 *      score = 160/800 × 640/640 = 0.20 × 1 = 0.20
 *   D: long 4 at entry 70 (same side as A, though in profit) and E: short 3 at entry 75
 *      (PnL −15): not eligible.
 *   Rank: B (0.40), then C (0.20). B takes 5 of A's 10, C the other 5 of its 8.
 * Settlement at pb = 85 (no funding in this market):
 *   B closes −5: realised −5 × (85 − 100) = +75  → collateral 175, no position.
 *   C closes −5: realised +75                     → collateral 555, short 3 at entry 100 left.
 *   A closes +10: realised 10 × (85 − 100) = −150 → collateral 0, no position, no bad debt.
 *   Each counterparty gives up 5 × |80 − 85| = 25 (B realises 75 instead of 100 at the mark).
 *   Pool: −(75 + 75 − 150) = 0; insurance fund and bad debt unchanged.
 *   Events: Deleveraged(A, B, 0, 5, 85, 80, 0.40, 25), Deleveraged(A, C, 0, 5, 85, 80, 0.20, 25).
 */
describe("the worked example: A long 10 at 100, mark 80, collateral 150", () => {
  const v = valuation([btc()], { 0: w(80) });
  const A = party(0xa, w(150), [[0, w(10), w(100)]]);
  const B = party(0xb, w(100), [[0, -w(5), w(100)]]);
  const C = party(0xc, w(480), [[0, -w(8), w(100)]]);
  const D = party(0xd, w(100), [[0, w(4), w(70)]]);
  const E = party(0xe, w(100), [[0, -w(3), w(75)]]);

  test("E = −50, due beyond a fund of 20, bankruptcy price 85, scores 0.40 and 0.20", () => {
    const h = accountHealth(A.account, v);
    expect(h.equity).toBe(-w(50));
    expect(adlDue(h, w(20), true)).toBe(true);
    expect(adlDue(h, w(50), true)).toBe(false);
    expect(adlDue(h, w(20), false)).toBe(false);
    expect(adlBankruptcyPrice(A.account, 0, v)).toEqual({ ok: true, price: w(85) });
    // The view scores any profitable position, whatever its side: D's 40/280 × 320/140 = 0.3265…;
    // E at a loss scores 0.
    expect([B, C, D, E].map((p) => adlScore(p.account, 0, v))).toEqual([w("0.4"), w("0.2"), 326530612244897958n, 0n]);
  });

  test("liquidating A at the mark instead is refused (AdlRequired) while an operator and shorts exist; allowed otherwise", () => {
    expect(applyLiquidation(A.account, 0, w(10), v, w(20), { operated: true, oppositeOpenInterest: w(16) })).toEqual({ ok: false, refusal: { error: "AdlRequired", marketId: 0 } });
    // Nobody short, no operator, or a fund that covers the 50: the close goes through and the fund pays.
    for (const [fund, adl] of [[w(20), { operated: true, oppositeOpenInterest: 0n }], [w(20), { operated: false, oppositeOpenInterest: w(16) }], [w(50), { operated: true, oppositeOpenInterest: w(16) }]] as const) {
      const r = applyLiquidation(A.account, 0, w(10), v, fund, adl);
      expect(r.ok && r.outcome.badDebt).toEqual({ covered: w(20) < fund ? w(50) : w(20), uncovered: fund >= w(50) ? 0n : w(30) });
    }
    // Without ADL in the market the guard never applies.
    const off = valuation([market(0, [[0, 10_000, 50]])], { 0: w(80) });
    expect(applyLiquidation(A.account, 0, w(10), off, w(20), { operated: true, oppositeOpenInterest: w(16) }).ok).toBe(true);
  });

  test("ranking: B then C, taking 5 and 5; D (same side) and E (at a loss) left out", () => {
    const ranked = rankAdlCounterparties(w(10), 0, [E, D, C, B], v);
    expect(ranked.map((r) => [r.address, r.score, r.take])).toEqual([
      [B.address, w("0.4"), w(5)],
      [C.address, w("0.2"), w(5)],
    ]);
  });

  test("settlement at 85: collateral 175 / 555 / 0, C keeps short 3, pool and fund unchanged", () => {
    const r = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B, C], v, insuranceFund: w(20) });
    if (!r.ok) throw new Error(r.refusal.error);
    const o = r.outcome;
    expect([o.closed, o.bankruptcyPrice, o.markPrice]).toEqual([w(10), w(85), w(80)]);
    expect(o.counterparties.map((c) => [c.address, c.account.collateral, c.realizedPnl])).toEqual([
      [B.address, w(175), w(75)],
      [C.address, w(555), w(75)],
    ]);
    expect(o.counterparties[0]!.account.positions).toEqual([]);
    expect(o.counterparties[1]!.account.positions).toEqual([{ marketId: 0, size: -w(3), entryPrice: w(100), entryFundingIndex: 0n }]);
    expect(o.bankrupt.account).toEqual({ collateral: 0n, lastPartialAt: 0n, positions: [] });
    expect([o.bankrupt.realizedPnl, o.bankrupt.badDebt]).toEqual([-w(150), { covered: 0n, uncovered: 0n }]);
    expect([o.poolDelta, o.insuranceDelta, o.badDebtDelta]).toEqual([0n, 0n, 0n]);
    expect(o.events).toEqual([
      { account: A.address, counterparty: B.address, marketId: 0, size: w(5), bankruptcyPrice: w(85), markPrice: w(80), score: w("0.4"), profitGivenUp: w(25) },
      { account: A.address, counterparty: C.address, marketId: 0, size: w(5), bankruptcyPrice: w(85), markPrice: w(80), score: w("0.2"), profitGivenUp: w(25) },
    ]);
  });

  test("entries after the position is covered are not checked; a short list closes part of A", () => {
    const r = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B, C, D, A], v, insuranceFund: w(20) });
    expect(r.ok && r.outcome.counterparties.length).toBe(2);
    const part = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B], v, insuranceFund: w(20) });
    if (!part.ok) throw new Error(part.refusal.error);
    // A closes 5 at 85: −75 → collateral 75, long 5 at entry 100 left (equity 75 − 100 = −25).
    expect(part.outcome.closed).toBe(w(5));
    expect(part.outcome.bankrupt.account).toEqual(account(w(75), [[0, w(5), w(100)]]));
    expect(part.outcome.poolDelta).toBe(0n);
  });

  test("refusals, named as the contract's errors", () => {
    const run = (p: Partial<Parameters<typeof applyDeleverage>[0]>) =>
      applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B, C], v, insuranceFund: w(20), ...p });
    const refusal = (p: Partial<Parameters<typeof applyDeleverage>[0]>) => {
      const r = run(p);
      return r.ok ? undefined : r.refusal;
    };
    const off = valuation([market(0, [[0, 10_000, 50]])], { 0: w(80) });
    expect(refusal({ v: off })).toEqual({ error: "AdlDisabled", marketId: 0 });
    expect(refusal({ bankrupt: B, counterparties: [C] })).toMatchObject({ error: "AdlNotDue", account: B.address, equity: w(200) });
    expect(refusal({ insuranceFund: w(50) })).toEqual({ error: "AdlNotDue", account: A.address, equity: -w(50), insuranceFund: w(50) });
    expect(refusal({ bankrupt: party(0xa, 0n, [[1, w(1), w(1)]]), v: valuation([btc(), eth], { 0: w(80), 1: w(1) }) })).toEqual({
      error: "NoPosition",
      account: A.address,
      marketId: 0,
    });
    expect(refusal({ counterparties: [] })).toEqual({ error: "AdlNoCounterparty" });
    expect(refusal({ counterparties: [D, B] })).toEqual({ error: "AdlNotEligible", counterparty: D.address });
    expect(refusal({ counterparties: [E] })).toEqual({ error: "AdlNotEligible", counterparty: E.address });
    expect(refusal({ counterparties: [A] })).toEqual({ error: "AdlNotEligible", counterparty: A.address });
    // B twice: the first use closed B's whole short, so the second finds no position.
    expect(refusal({ counterparties: [B, B, C] })).toEqual({ error: "AdlNotEligible", counterparty: B.address });
    expect(refusal({ counterparties: [C, B] })).toEqual({ error: "AdlRankOrder", index: 1 });
    // Equal scores (short 1 at 100, collateral 100: 0.2 × 80/120 each): ascending address only.
    const B2 = { ...B, address: addr(0xb2) };
    const bankrupt = party(0xa, w(30), [[0, w(2), w(100)]]); // long 2: E = 30 − 40 = −10, pb = 85
    const half = (p: AdlParty) => ({ ...p, account: account(w(100), [[0, -w(1), w(100)]]) });
    expect(refusal({ bankrupt, counterparties: [half(B2), half(B)], insuranceFund: 0n })).toEqual({ error: "AdlRankOrder", index: 1 });
    expect(run({ bankrupt, counterparties: [half(B), half(B2)], insuranceFund: 0n }).ok).toBe(true);
  });
});

describe("rounding and funding", () => {
  test("A long 3 at 100, mark 80, collateral 10: pb = 96.666…666 and 2 wei of bad debt go to the fund", () => {
    const v = valuation([btc()], { 0: w(80) });
    const A = party(0xa, w(10), [[0, w(3), w(100)]]);
    const B = party(0xb, w(100), [[0, -w(3), w(100)]]);
    // E = 10 − 60 = −50; gap = ⌊50e18 × 1e18 / 3e18⌋ = 16.666…666 (18 sixes).
    const pb = w(80) + (w(50) * WAD) / w(3);
    expect(pb).toBe(w("96.666666666666666666"));
    const r = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B], v, insuranceFund: w(1) });
    if (!r.ok) throw new Error(r.refusal.error);
    // A realises ⌊3 × (pb − 100)⌋ = ⌊−10.000…002⌋ → collateral −2 wei (≥ −⌈3⌉ wei), paid by the fund.
    expect(r.outcome.bankrupt.realizedPnl).toBe(-w(10) - 2n);
    expect(r.outcome.bankrupt.badDebt).toEqual({ covered: 2n, uncovered: 0n });
    expect([r.outcome.insuranceDelta, r.outcome.badDebtDelta]).toEqual([-2n, 0n]);
    // B realises ⌊−3 × (pb − 100)⌋ = 10.000…002 and gives up ⌊3 × 16.666…666⌋ = 49.999…998.
    expect(r.outcome.counterparties[0]!.realizedPnl).toBe(w(10) + 2n);
    expect(r.outcome.events[0]!.profitGivenUp).toBe(w(50) - 2n);
  });

  test("a short A whose deficit exceeds mark × size has no bankruptcy price", () => {
    // Short 1 at 100 (PnL 0) plus a long 1 in ETH at 300 now worth 100 (PnL −200): E = 50 − 200 = −150 ≥ 100 × 1.
    const v = valuation([btc(), eth], { 0: w(100), 1: w(100) });
    const A = party(0xa, w(50), [[0, -w(1), w(100)], [1, w(1), w(300)]]);
    const B = party(0xb, w(100), [[0, w(1), w(50)]]);
    expect(adlBankruptcyPrice(A.account, 0, v)).toEqual({ ok: false, error: "NoBankruptcyPrice" });
    expect(applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B], v, insuranceFund: 0n })).toEqual({
      ok: false,
      refusal: { error: "NoBankruptcyPrice", account: A.address, marketId: 0 },
    });
  });

  test("funding is settled first: collateral −fundingOwed, the index restarts at the index now", () => {
    // Longs pay 0.01 per unit per second from index 0 at t = 0; at t = 1,000 the index is 10.
    const m = btc({ funding: { index: 0n, ratePerSecond: w("0.01"), lastUpdate: 0n } });
    const v = valuation([m], { 0: w(80) }, 1_000n);
    // A owes 10 × 10 = 100: E = 250 − 200 − 100 = −50, pb = 85 as in the worked example.
    const A = party(0xa, w(250), [[0, w(10), w(100)]]);
    // B (short 20 at 100) receives 20 × 10 = 200: equity 100 + 400 + 200 = 700; it closes 10 and keeps 10.
    const B = party(0xb, w(100), [[0, -w(20), w(100)]]);
    const r = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: [B], v, insuranceFund: 0n });
    if (!r.ok) throw new Error(r.refusal.error);
    const [b] = r.outcome.counterparties;
    expect([r.outcome.bankruptcyPrice, r.outcome.bankrupt.fundingPaid, b!.fundingPaid]).toEqual([w(85), w(100), -w(200)]);
    expect(b!.account).toEqual({ collateral: w(100) + w(200) + w(150), lastPartialAt: 0n, positions: [{ marketId: 0, size: -w(10), entryPrice: w(100), entryFundingIndex: w(10) }] });
    expect(r.outcome.bankrupt.account.collateral).toBe(0n);
    // Pool: funding +100 − 200, PnL −(150 − 150).
    expect(r.outcome.poolDelta).toBe(-w(100));
  });
});
