/**
 * The engine against worked examples published by exchanges and protocols. Each test cites its
 * source; figures are asserted to the precision the source publishes.
 */
import { describe, expect, test } from "vitest";
import { loadMarkets } from "../../src/config/presets.ts";
import { PPM, WAD, accountHealth, liquidationPrice, maintenanceMargin, restoringSlice } from "../../src/engine/index.ts";
import { formatWad } from "../../src/lib/units.ts";
import { account, market, valuation, w } from "./fixtures.ts";

const usd = (x: bigint | undefined, dp = 2) => (x === undefined ? "none" : formatWad(x, dp).replace(/,/g, ""));

describe("the reference market's worked example", () => {
  test("maintenance amounts 0 / 50 / 1,300 and the 110/19 BTC slice", () => {
    const btc = market(0, [[0, 4_000, 125], [50_000, 5_000, 100], [250_000, 10_000, 50]], {
      liquidation: { penaltyPpm: 5_000n, targetBufferPpm: 5_000n },
    });
    expect(btc.cums.map((c) => c / PPM)).toEqual([0n, w(50), w(1_300)]);
    const v = valuation([btc], { 0: w(57_000) });
    const a = account(w(34_000), [[0, w(10), w(60_000)]]);
    const h = accountHealth(a, v);
    expect([h.equity, h.maintenance, h.positions[0]!.notional]).toEqual([w(4_000), w(4_400), w(570_000)]);
    const slice = restoringSlice(
      { size: w(10), price: w(57_000), lotSize: btc.lotSize, equity: h.equity, otherTarget: 0n, penaltyPpm: 5_000n, bufferPpm: 5_000n },
      btc,
    );
    // 110/19 = 5.78947… rounded up to a 0.001 lot.
    expect(slice).toBe(w("5.790"));
  });
});

describe("Binance USDⓈ-M", () => {
  // Source: Binance, "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
  // https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93 — the maintenance
  // amount rule ("Level 3 = 250,000 × (1% − 0.5%) + 50 = 1,300") and the calculator example whose
  // figures are transcribed in freqtrade's test_liquidation_price_binance ("From calc example").
  // Bracket tables: the 2021 BTCUSDT/ETHUSDT snapshot, which config/markets.json follows.
  const [btcSpec, ethSpec] = loadMarkets().filter((m) => m.symbol === "BTC" || m.symbol === "ETH");

  test("maintenance amounts of the BTCUSDT and ETHUSDT bracket tables", () => {
    expect(btcSpec!.cums.map((c) => c / PPM / WAD)).toEqual([
      0n, 50n, 1_300n, 16_300n, 266_300n, 1_266_300n, 2_516_300n, 5_016_300n, 25_016_300n, 100_016_300n,
    ]);
    expect(ethSpec!.cums.map((c) => c / PPM / WAD)).toEqual([
      0n, 15n, 365n, 5_365n, 35_365n, 135_365n, 260_365n, 510_365n, 2_510_365n,
    ]);
    // "if the position size … is 264,000 USDT, then the maintenance margin rate would be 1%".
    expect(maintenanceMargin(btcSpec!.tiers, btcSpec!.cums, w(264_000))).toBe(w(1_340));
    expect(maintenanceMargin(btcSpec!.tiers, btcSpec!.cums, w(500_000))).toBe(w(3_700));
  });

  test("calculator example: two longs in cross margin → ETH 1,153.26 and BTC 26,316.89", () => {
    const btc = { ...market(0, [[0, 1, 1]]), tiers: btcSpec!.tiers, cums: btcSpec!.cums };
    const eth = { ...market(1, [[0, 1, 1]]), tiers: ethSpec!.tiers, cums: ethSpec!.cums };
    const v = valuation([btc, eth], { 0: w("31967.27"), 1: w("1335.18") });
    const a = account(w("1535443.01"), [
      [0, w("109.488"), w("32481.98")],
      [1, w("3683.979"), w("1456.84")],
    ]);
    const h = accountHealth(a, v);
    const [pb, pe] = h.positions;
    expect(usd(pb!.maintenance, 6)).toBe("71200.811444");
    expect(usd(pb!.pnl, 6)).toBe("-56354.568480");
    expect(usd(pe!.maintenance, 6)).toBe("356512.508122");
    expect(usd(pe!.pnl, 6)).toBe("-448192.885140");
    expect(h.liquidatable).toBe(false);
    expect(usd(liquidationPrice(a, 1, v))).toBe("1153.26");
    expect(usd(liquidationPrice(a, 0, v))).toBe("26316.89");
  });

  test("calculator example, isolated: ETH 1,114.78 and BTC 18,778.73", () => {
    const btc = { ...market(0, [[0, 1, 1]]), tiers: btcSpec!.tiers, cums: btcSpec!.cums };
    const eth = { ...market(1, [[0, 1, 1]]), tiers: ethSpec!.tiers, cums: ethSpec!.cums };
    const v = valuation([btc, eth], { 0: w("31967.27"), 1: w("1335.18") });
    expect(usd(liquidationPrice(account(w("1535443.01"), [[1, w("3683.979"), w("1456.84")]]), 1, v))).toBe("1114.78");
    expect(usd(liquidationPrice(account(w("1535443.01"), [[0, w("109.488"), w("32481.98")]]), 0, v))).toBe("18778.73");
  });

  test("wallet 500 USDT, long 1,000 USDT of BTC at 50,000 → liquidation at 25,100.40", () => {
    // Source: Binance Support FAQ https://www.binance.com/en/support/faq/25edcd7fe0e544839d0847b8cbb2e400
    // ("your liquidation price will be $25,100.40"). The same page's second figure (35,857.67
    // after adding to the position) is not reproducible from its own inputs and is not used.
    const btc = { ...market(0, [[0, 1, 1]]), tiers: btcSpec!.tiers, cums: btcSpec!.cums };
    const v = valuation([btc], { 0: w(50_000) });
    expect(usd(liquidationPrice(account(w(500), [[0, w("0.02"), w(50_000)]]), 0, v))).toBe("25100.40");
  });

  test("Cross Margin Pro: required maintenance margin 31,330 from two tier tables", () => {
    // Source: https://www.binance.com/en/margin-fee — "(390,000*8% - 2,000) + (39,000*7% - 600) = 31,330 USDT".
    const btc = market(0, [[0, 50_000, 19], [50_000, 70_000, 14], [100_000, 80_000, 12]]);
    const eth = market(1, [[0, 50_000, 19], [30_000, 70_000, 14]]);
    expect(btc.cums[2]! / PPM).toBe(w(2_000));
    expect(eth.cums[1]! / PPM).toBe(w(600));
    const total = maintenanceMargin(btc.tiers, btc.cums, w(390_000)) + maintenanceMargin(eth.tiers, eth.cums, w(39_000));
    expect(total).toBe(w(31_330));
  });
});

describe("Other venues", () => {
  test("Pionex BTCUSDT: 10 BTC at 20,000 → maintenance 200,000 × 1% − 750 = 1,250", () => {
    // Source: Pionex, "Maintenance Margin", https://www.pionex.com/blog/maintenance-margin/
    const m = market(0, [[0, 5_000, 100], [150_000, 10_000, 25], [500_000, 25_000, 15], [2_000_000, 50_000, 10]]);
    expect(m.cums.map((c) => c / PPM / WAD)).toEqual([0n, 750n, 8_250n, 58_250n]);
    expect(maintenanceMargin(m.tiers, m.cums, w(200_000))).toBe(w(1_250));
  });

  test("Bybit tier-wise maintenance: a 3,500 USDT position → 92.5", () => {
    // Source: Bybit Help Center, "Maintenance Margin (USDT Contract)": tiers 0–1,000 at 2%, then
    // 2.5%, 3%, 3.5%, 4% per 1,000; "any excess beyond a particular tier is subject to … the new
    // tier". The tier-wise sum is 1,000·2% + 1,000·2.5% + 1,000·3% + 500·3.5% = 92.5 (derived).
    const m = market(0, [[0, 20_000, 25], [1_000, 25_000, 20], [2_000, 30_000, 20], [3_000, 35_000, 20], [4_000, 40_000, 20]]);
    expect(maintenanceMargin(m.tiers, m.cums, w(3_500))).toBe(w("92.5"));
  });

  test("dYdX v4 isolated short: 3 ETH at 3,000 with 1,000 equity, MMF 5% → 3,174.60", () => {
    // Source: dYdX v4 docs, "Liquidations", https://docs.dydx.exchange/concepts/trading/liquidations
    // "p' = (1000 + 9000) / (0.15 + 3) = 10000 / 3.15 ≈ 3174.60".
    const eth = market(0, [[0, 50_000, 19]]);
    const v = valuation([eth], { 0: w(3_000) });
    expect(usd(liquidationPrice(account(w(1_000), [[0, w(-3), w(3_000)]]), 0, v))).toBe("3174.60");
  });

  test("dYdX v4 cross: ETH short beside a STRK long → 3,380.95", () => {
    // Same source: e = 1,000; short 1.5 ETH at 3,000 (MMF 5%); long 1,000 STRK at 1.75 (MMF 10%).
    const eth = market(0, [[0, 50_000, 19]]);
    const strk = market(1, [[0, 100_000, 9]]);
    const v = valuation([eth, strk], { 0: w(3_000), 1: w("1.75") });
    const a = account(w(1_000), [[0, w("-1.5"), w(3_000)], [1, w(1_000), w("1.75")]]);
    expect(usd(liquidationPrice(a, 0, v))).toBe("3380.95");
  });

  test("Drift v2 partial size: a $10 shortage at 10% maintenance and $100 → 1, 10/9, 1.25 base", () => {
    // Source: drift-labs/protocol-v2, programs/drift/src/math/liquidation/tests.rs
    // (calculate_base_asset_amount_to_cover_margin_shortage): 1.0 with no fee, 10/9 with a 1%
    // liquidator fee, 1.25 with 1% + 1% insurance fee. Drift truncates; this engine rounds the
    // slice up to a lot (protocol-favouring), so 10/9 comes out one 1e-9 lot above Drift's.
    const m = market(0, [[0, 100_000, 9]], { lotSize: 10n ** 9n });
    const slice = (penaltyPpm: bigint) =>
      restoringSlice(
        // Position 100 base at $100: MM = 1,000; equity 990 → a $10 shortage.
        { size: w(100), price: w(100), lotSize: m.lotSize, equity: w(990), otherTarget: 0n, penaltyPpm, bufferPpm: 0n },
        m,
      );
    expect(slice(0n)).toBe(w(1) + m.lotSize); // exactly 1 base leaves E' = MM': one more lot keeps the 1-wei margin
    expect(slice(10_000n)).toBe(w("1.111111112"));
    expect(slice(20_000n)).toBe(w("1.25") + m.lotSize);
  });
});
