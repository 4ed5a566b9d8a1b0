/**
 * Properties of auto-deleveraging (fast-check) over arbitrary bankrupt accounts, funding and
 * counterparties, cross margin included:
 * - after a full ADL, the bankrupt account's equity (before bad-debt settlement) is in [−k, 0] wei
 *   with k = ⌈|size| / 1e18⌉. Why: pb = mark ± ⌊D·1e18/|s|⌋, so |s|·gap/1e18 lies in
 *   (D − |s|/1e18, D]; the realised PnL at pb exceeds the floored PnL at the mark by ⌊x + y⌋ − ⌊x⌋
 *   ∈ [⌊y⌋, ⌊y⌋ + 1], which is ≤ D and ≥ D − ⌈|s|/1e18⌉; funding settlement leaves equity unchanged;
 * - conservation: Σ collateral deltas + pool delta + insurance delta − bad-debt delta = 0;
 * - the ranking is sorted (score desc, address asc), independent of the candidates' order, and
 *   the contract's checks accept it;
 * - each counterparty gives up Δ × |mark − pb| to within 1 wei.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  WAD,
  abs,
  accountHealth,
  applyDeleverage,
  pnl,
  rankAdlCounterparties,
  type AdlParty,
  type MarketState,
  type Position,
  type Valuation,
} from "../../src/engine/index.ts";
import { market, valuation } from "./fixtures.ts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);
const T = 1_000n;
const addr = (n: bigint) => `0x${n.toString(16).padStart(40, "0")}` as const;

const positionArb = fc.record({
  size: fc.bigInt({ min: 1n, max: 1_000n * WAD }),
  /** Entry as a share of the mark, in ppm (0.3× .. 3×). */
  entryPpm: fc.bigInt({ min: 300_000n, max: 3_000_000n }),
  efi: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
});

const scenarioArb = fc.record({
  mark: fc.bigInt({ min: WAD / 100n, max: 100_000n * WAD }),
  otherMark: fc.bigInt({ min: WAD / 100n, max: 100_000n * WAD }),
  funding: fc.record({ index: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), rate: fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }) }),
  long: fc.boolean(),
  a: positionArb,
  aOther: fc.option(positionArb, { freq: 3 }),
  /** The deficit D, and the insurance fund as a share of it in per mille (< D). */
  deficit: fc.bigInt({ min: 1n, max: 10n ** 25n }),
  fundPermille: fc.bigInt({ min: 0n, max: 999n }),
  counterparties: fc.array(
    fc.record({ p: positionArb, opposite: fc.nat(9), collateral: fc.bigInt({ min: -(10n ** 22n), max: 10n ** 25n }) }),
    { maxLength: 6 },
  ),
  addresses: fc.uniqueArray(fc.bigInt({ min: 1n, max: 2n ** 160n - 1n }), { minLength: 7, maxLength: 7 }),
});

type ScenarioInput = typeof scenarioArb extends fc.Arbitrary<infer X> ? X : never;
type Scenario = { v: Valuation; A: AdlParty; others: AdlParty[]; insuranceFund: bigint; size: bigint };

function build(s: ScenarioInput): Scenario {
  const funding = { index: s.funding.index, ratePerSecond: s.funding.rate, lastUpdate: 0n };
  const m0: MarketState = { ...market(0, [[0, 10_000, 50]], { liquidation: { adlEnabled: true } }), funding };
  const m1: MarketState = { ...market(1, [[0, 20_000, 25]]), funding };
  const v = valuation([m0, m1], { 0: s.mark, 1: s.otherMark }, T);
  const pos = (marketId: number, mark: bigint, p: typeof s.a, sign: bigint): Position => ({
    marketId,
    size: sign * p.size,
    entryPrice: (mark * p.entryPpm) / 1_000_000n || 1n,
    entryFundingIndex: p.efi,
  });
  const side = s.long ? 1n : -1n;
  const positions = [pos(0, s.mark, s.a, side), ...(s.aOther ? [pos(1, s.otherMark, s.aOther, 1n)] : [])];
  const probe = { collateral: 0n, lastPartialAt: 0n, positions };
  // Collateral so that the equity is exactly −D.
  const collateral = -s.deficit - accountHealth(probe, v).equity;
  const A: AdlParty = { address: addr(s.addresses[0]!), account: { ...probe, collateral } };
  const others = s.counterparties.map((c, i): AdlParty => ({
    address: addr(s.addresses[i + 1]!),
    account: { collateral: c.collateral, lastPartialAt: 0n, positions: [pos(0, s.mark, c.p, c.opposite < 8 ? -side : side)] },
  }));
  return { v, A, others, insuranceFund: (s.deficit * s.fundPermille) / 1000n, size: positions[0]!.size };
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

describe("auto-deleveraging: properties", () => {
  test("full ADL leaves the bankrupt at [−⌈|size|/1e18⌉, 0] wei; value is conserved; the ranking is accepted", () => {
    let full = 0;
    let partial = 0;
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { v, A, others, insuranceFund, size } = build(s);
        const ranked = rankAdlCounterparties(size, 0, others, v);
        const byAddress = new Map(others.map((o) => [o.address, o]));
        const r = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: ranked.map((x) => byAddress.get(x.address)!), v, insuranceFund });
        if (!r.ok) {
          // The only refusals a ranked list may meet: no bankruptcy price (a short too deep), or no one to close against.
          const gapTooLarge = size < 0n && (s.deficit * WAD) / abs(size) >= s.mark;
          expect(r.refusal.error).toBe(gapTooLarge ? "NoBankruptcyPrice" : "AdlNoCounterparty");
          if (!gapTooLarge) expect(ranked).toEqual([]);
          return;
        }
        const o = r.outcome;
        const changes = [o.bankrupt, ...o.counterparties];
        expect(sum(changes.map((c) => c.collateralDelta)) + o.poolDelta + o.insuranceDelta - o.badDebtDelta).toBe(0n);
        expect(o.insuranceDelta).toBe(-sum(changes.map((c) => c.badDebt.covered)));
        expect(o.badDebtDelta).toBe(sum(changes.map((c) => c.badDebt.uncovered)));
        expect(sum(o.events.map((e) => e.size))).toBe(o.closed);
        expect(o.closed).toBe(sum(ranked.map((x) => x.take)));
        expect(o.events.map((e) => [e.counterparty, e.score, e.size])).toEqual(ranked.map((x) => [x.address, x.score, x.take]));
        for (const [i, e] of o.events.entries()) {
          const c = others.find((x) => x.address === e.counterparty)!.account.positions[0]!;
          const closed = c.size > 0n ? e.size : -e.size;
          const givenUp = pnl(closed, o.markPrice, c.entryPrice) - pnl(closed, o.bankruptcyPrice, c.entryPrice);
          expect(abs(givenUp - e.profitGivenUp) <= 1n).toBe(true);
          expect(o.counterparties[i]!.realizedPnl).toBe(pnl(closed, o.bankruptcyPrice, c.entryPrice));
        }
        const after = o.bankrupt;
        const equityBeforeBadDebt = accountHealth(after.account, v).equity - after.badDebt.covered - after.badDebt.uncovered;
        if (o.closed === abs(size)) {
          full++;
          const k = (abs(size) + WAD - 1n) / WAD;
          expect(equityBeforeBadDebt <= 0n && equityBeforeBadDebt >= -k).toBe(true);
          expect(after.account.positions.some((p) => p.marketId === 0)).toBe(false);
        } else {
          partial++;
          expect(after.account.positions.find((p) => p.marketId === 0)!.size).toBe(size - (size > 0n ? o.closed : -o.closed));
        }
      }),
      { numRuns: RUNS },
    );
    // The generator reaches both full and partial ADLs.
    expect(full > 0 && partial > 0).toBe(true);
  });

  test("the ranking is sorted by score desc then address asc, and stable under any order of the candidates", () => {
    fc.assert(
      fc.property(scenarioArb, fc.func(fc.integer()), (s, key) => {
        const { v, others, size } = build(s);
        const ranked = rankAdlCounterparties(size, 0, others, v);
        for (let i = 1; i < ranked.length; i++) {
          const [a, b] = [ranked[i - 1]!, ranked[i]!];
          expect(a.score > b.score || (a.score === b.score && BigInt(a.address) < BigInt(b.address))).toBe(true);
        }
        const shuffled = [...others].sort((x, y) => key(x.address) - key(y.address));
        expect(rankAdlCounterparties(size, 0, shuffled, v)).toEqual(ranked);
        // Covering: every counterparty but the last is taken whole.
        ranked.slice(0, -1).forEach((x) => expect(x.take).toBe(abs(x.size)));
      }),
      { numRuns: RUNS },
    );
  });

  test("two counterparties sent out of rank order are refused with AdlRankOrder(1)", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { v, A, others, insuranceFund, size } = build(s);
        const ranked = rankAdlCounterparties(size, 0, others, v);
        if (ranked.length < 2 || (size < 0n && (s.deficit * WAD) / abs(size) >= s.mark)) return;
        const byAddress = new Map(others.map((o) => [o.address, o]));
        const swapped = [ranked[1]!, ranked[0]!].map((x) => byAddress.get(x.address)!);
        const r = applyDeleverage({ bankrupt: A, marketId: 0, counterparties: swapped, v, insuranceFund });
        // The first one alone may already cover A, in which case the second is never checked.
        if (abs(ranked[1]!.size) >= abs(size)) expect(r.ok).toBe(true);
        else expect(r).toEqual({ ok: false, refusal: { error: "AdlRankOrder", index: 1 } });
      }),
      { numRuns: RUNS },
    );
  });
});
