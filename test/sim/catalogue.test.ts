/**
 * Issue 15: a user's presets and markets files add to the built-ins, may override them, and an
 * entry may `extend` another and change a few fields; mistakes in `extend` are one line each.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadMarketCatalogue, loadMarkets, loadPreset, presetNames } from "../../src/config/presets.ts";
import { ConfigError } from "../../src/lib/errors.ts";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-catalogue-");
afterAll(tmp.cleanup);
const write = (name: string, body: unknown) => {
  const f = path.join(tmp.dir, name);
  writeFileSync(f, JSON.stringify(body));
  return f;
};
const problem = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).shortMessage;
  }
  throw new Error("expected a ConfigError");
};

describe("issue 15: a presets file adds to the built-in presets", () => {
  const mine = write("mine.json", {
    mine: { extend: "hyperliquid", global: { cooldown: "0s" }, market: { penalty: "0.35%" } },
    binance: { extend: "binance", market: { penalty: "0.3%" } },
  });

  it("keeps every built-in preset beside the user's (compare mine,hyperliquid works)", () => {
    expect(presetNames(mine)).toEqual([...presetNames(), "mine"]);
    expect(loadPreset("hyperliquid", mine)).toEqual({ ...loadPreset("hyperliquid"), source: path.join(REPO_ROOT, "config", "presets.json") });
  });

  it("a preset that extends another changes only the fields it names", () => {
    const hl = loadPreset("hyperliquid");
    const p = loadPreset("mine", mine);
    expect(p).toMatchObject({ name: "mine", description: hl.description, source: mine, extends: "hyperliquid" });
    expect(p.global).toEqual({ ...hl.global, cooldown: 0n });
    expect(p.liquidation).toEqual({ ...hl.liquidation, penaltyPpm: 3_500n });
  });

  it("a preset of a built-in's name overrides it; extending its own name starts from the built-in", () => {
    const b = loadPreset("binance", mine);
    expect(b.liquidation).toEqual({ ...loadPreset("binance").liquidation, penaltyPpm: 3_000n });
    expect(b.extends).toBe("binance");
  });

  it("an unknown base, a cycle and a bad value are each said at the entry", () => {
    expect(problem(() => loadPreset("x", write("unknown.json", { x: { extend: "nasdaq" } })))).toMatch(/unknown\.json: x\.extend: unknown preset "nasdaq"; known presets: reference, hyperliquid, /);
    expect(problem(() => loadPreset("a", write("cycle.json", { a: { extend: "b" }, b: { extend: "a" } })))).toMatch(/cycle\.json: .*a cycle \((a → b → a|b → a → b)\)/);
    expect(problem(() => loadPreset("x", write("bad.json", { x: { extend: "okx", market: { penalty: "-1%" } } })))).toMatch(/bad\.json: x\.market\.penalty: "-1%" must not be negative$/);
    expect(problem(() => loadPreset("x", write("notname.json", { x: { extend: 5 } })))).toMatch(/notname\.json: x\.extend: expected the name of a preset$/);
  });
});

describe("issue 15: a markets file adds to the built-in markets, and a market may extend another", () => {
  const steep = path.join(REPO_ROOT, "config", "scenarios", "markets-btc-steeper.json");

  it("the catalogue has the built-ins and the user's markets; a variant keeps its base's fields but the tiers", () => {
    const all = loadMarketCatalogue(steep);
    expect(all.map((m) => m.symbol)).toEqual(["BTC", "ETH", "SMALLCAP", "BTC-steep"]);
    const btc = all.find((m) => m.symbol === "BTC")!;
    const v = all.find((m) => m.symbol === "BTC-steep")!;
    expect(v).toMatchObject({ extends: "BTC", source: steep, lotSize: btc.lotSize, initialPrice: btc.initialPrice, feedDecimals: btc.feedDecimals });
    expect(v.tiers).toHaveLength(6);
    expect(v.tiers[0]).toEqual({ floor: 0n, mmrPpm: 10_000n, maxLeverage: 50n });
  });

  it("loadMarkets of a user file is that file's markets only (what deploy and devnet deploy)", () => {
    expect(loadMarkets(steep).map((m) => m.symbol)).toEqual(["BTC-steep"]);
    expect(loadMarkets().map((m) => m.symbol)).toEqual(["BTC", "ETH", "SMALLCAP"]);
  });

  it("a variant's broken tier table is said at its field, in its file", () => {
    const f = write("bad-markets.json", { "BTC-x": { extend: "BTC", tiers: [{ floor: "0", mmr: "5%", maxLeverage: "50x" }] } });
    expect(problem(() => loadMarketCatalogue(f))).toMatch(/^.*bad-markets\.json: BTC-x\.tiers: /);
  });
});
