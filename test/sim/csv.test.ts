/**
 * CSV price paths: the common forms of a price file (seconds since the start, ISO 8601, Unix
 * seconds, milliseconds and microseconds; a header naming the price column, or none) are read as
 * written, each block taking the price in force at its time; anything else is refused with one
 * line naming the file, the line and the problem.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WAD } from "../../src/engine/index.ts";
import { parseWad } from "../../src/lib/units.ts";
import { oneLine } from "../../src/lib/errors.ts";
import { CsvPricesError, parseCsvPrices } from "../../src/sim/csvPrices.ts";
import { pricePath } from "../../src/sim/pricePath.ts";
import { ScenarioError, loadScenario } from "../../src/sim/scenario.ts";
import { REPO_ROOT, tempDir } from "../cli/cli.ts";

const tmp = tempDir("perp-keeper-csv-");
afterAll(tmp.cleanup);
const write = (name: string, text: string) => {
  writeFileSync(path.join(tmp.dir, name), text);
  return name;
};
const parsePrice = (s: string) => parseWad(s, "price");
const usd = (n: number) => BigInt(Math.round(n * 100)) * (WAD / 100n);

/** Binance's kline layout (data.binance.vision): open time and close time in Unix milliseconds. */
const KLINE_HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore";
const kline = (openMs: number, open: string, close: string) => `${openMs},${open},${open},${close},${close},12.5,${openMs + 59_999},750000,100,6,360000,0`;
const T0 = 1_722_816_000_000; // 2024-08-05T00:00:00Z
const KLINES = [kline(T0, "58000.10", "57000.00"), kline(T0 + 60_000, "57000.00", "54000.50"), kline(T0 + 120_000, "54000.50", "55000.00")];

/** The scenario error line, or fails. */
function problem(name: string): string {
  try {
    loadScenario(name, tmp.dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return oneLine(e);
  }
  throw new Error(`${name} loaded without error`);
}

function csvError(text: string, column?: string): string {
  try {
    parseCsvPrices(text, { parsePrice, ...(column ? { column } : {}) });
  } catch (e) {
    expect(e).toBeInstanceOf(CsvPricesError);
    return (e as CsvPricesError).shortMessage;
  }
  throw new Error("parsed without error");
}

describe("csv paths", () => {
  it("parse time,price with a header and comments; each block takes the last point at or before it", () => {
    const csv = parseCsvPrices("time,price\n# a comment\n0,100\n7,90.5\n\n20s,80\n1m,120\n", { parsePrice });
    expect(csv.form).toBe("seconds");
    expect(csv.points).toEqual([
      { t: 0, price: 100n * WAD },
      { t: 7, price: 90_500_000_000_000_000_000n },
      { t: 20, price: 80n * WAD },
      { t: 60, price: 120n * WAD },
    ]);
    const p = pricePath({ spec: { kind: "csv", points: csv.points }, startPrice: 1n, steps: 13, blockTimeSeconds: 5, seed: "s", market: "BTC" });
    expect(p.map((x) => Number(x) / 1e18)).toEqual([100, 100, 90.5, 90.5, 80, 80, 80, 80, 80, 80, 80, 80, 120, 120]);
  });

  it("names the line of the first problem", () => {
    expect(csvError("t,price\n0,100\n5,abc\n0,90\n9\nten,1\n12,-4\n")).toBe('line 3: price "abc" is not a number');
    expect(csvError("t,price\n0,100\n0,90\n")).toBe("line 3: times must increase");
    expect(csvError("t,price\n0,100\n9\n")).toBe("line 3: expected 2 columns, found 1");
    expect(csvError("t,price\n0,100\n12,-4\n")).toBe("line 3: price must be above 0");
  });
});

describe("defect 10: a CSV price path with real timestamps runs as written", () => {
  it("reads a Binance kline file (Unix ms, header): the first row is t = 0, the price is the open at the row's open time", () => {
    const csv = parseCsvPrices([KLINE_HEADER, ...KLINES].join("\n"), { parsePrice });
    expect(csv.form).toBe("unix-ms");
    expect(csv.column).toBe("open");
    expect(csv.points).toEqual([
      { t: 0, price: usd(58_000.1) },
      { t: 60, price: usd(57_000) },
      { t: 120, price: usd(54_000.5) },
    ]);
    // Blocks every 20 s: each takes the price in force at its time (a step, no interpolation).
    const prices = pricePath({ spec: { kind: "csv", points: csv.points }, startPrice: 1n, steps: 8, blockTimeSeconds: 20, seed: "s", market: "BTC" });
    expect(prices).toEqual([58_000.1, 58_000.1, 58_000.1, 57_000, 57_000, 57_000, 54_000.5, 54_000.5, 54_000.5].map(usd));
  });

  it("reads the same file without its header (the second column is the price), and a named column", () => {
    expect(parseCsvPrices(KLINES.join("\n"), { parsePrice }).points.map((p) => p.price)).toEqual([usd(58_000.1), usd(57_000), usd(54_000.5)]);
    // Closes are timed by close_time, when the file has it.
    const close = parseCsvPrices([KLINE_HEADER, ...KLINES].join("\n"), { parsePrice, column: "close" });
    expect(close.column).toBe("close");
    expect(close.points).toEqual([
      { t: 0, price: usd(57_000) },
      { t: 60, price: usd(54_000.5) },
      { t: 120, price: usd(55_000) },
    ]);
    const named = parseCsvPrices("timestamp,volume,price\n1722816000,5,60000\n1722816030,7,59000\n", { parsePrice });
    expect([named.form, named.column, named.points]).toEqual(["unix-s", "price", [{ t: 0, price: usd(60_000) }, { t: 30, price: usd(59_000) }]]);
  });

  it("reads ISO 8601 (UTC when no offset is given), Unix seconds and microseconds", () => {
    const iso = parseCsvPrices("time,price\n2024-08-05T00:00:00Z,60000\n2024-08-05 00:01:30,58000\n2024-08-05T02:05:00+02:00,57000\n", { parsePrice });
    expect(iso.form).toBe("iso");
    expect(iso.points.map((p) => p.t)).toEqual([0, 90, 300]);
    expect(parseCsvPrices('"date","close"\n"2024-08-05","60000"\n"2024-08-06","50000"\n', { parsePrice }).points.map((p) => p.t)).toEqual([0, 86_400]);
    expect(parseCsvPrices("1722816000,60000\n1722816060.5,58000\n", { parsePrice }).points.map((p) => p.t)).toEqual([0, 60.5]);
    const us = parseCsvPrices("1722816000000000,60000\n1722816001000000,58000\n", { parsePrice });
    expect([us.form, us.points.map((p) => p.t)]).toEqual(["unix-us", [0, 1]]);
    // Seconds since the start stay as written.
    expect(parseCsvPrices("time,price\n0,100\n90s,90\n2m,80\n", { parsePrice }).points.map((p) => p.t)).toEqual([0, 90, 120]);
  });

  it("refuses anything else with one problem, naming the line", () => {
    const bad = ["time,price", ...Array.from({ length: 19 }, (_, i) => `05/08/2024 00:${String(i).padStart(2, "0")},60000`)].join("\n");
    expect(csvError(bad)).toBe('line 2: time "05/08/2024 00:00" is not ISO 8601 (2024-08-05T00:00:00Z), Unix seconds or milliseconds, or seconds since the start; 18 more lines like it');
    expect(csvError("time,price\n1722816000,60000\n1722816060000,58000\n")).toBe('line 3: time "1722816060000" is Unix milliseconds, but line 2 is Unix seconds');
    expect(csvError("time,price\n2024-08-05T00:01:00Z,60000\n2024-08-05T00:00:00Z,58000\n")).toBe("line 3: times must increase");
    expect(csvError("time,price\n2024-08-05T00:00:00Z,60000\n2024-08-05T00:01:00Z,abc\n")).toBe('line 3: price "abc" is not a number');
    expect(csvError("time,price\n2024-02-30T00:00:00Z,60000\n")).toBe('line 2: time "2024-02-30T00:00:00Z" is not a date');
    expect(csvError([KLINE_HEADER, ...KLINES].join("\n"), "last")).toBe(`line 1: no column "last" (columns: ${KLINE_HEADER.split(",").join(", ")})`);
    expect(csvError("time,bid,ask\n0,1,2\n")).toBe("line 1: no price column (columns: time, bid, ask): name one with the path's column field");
    expect(csvError(KLINES.join("\n"), "close")).toBe('line 1: column "close" needs a header line naming the columns');
    expect(csvError("# nothing\n")).toBe("no prices in the file");
  });

  it("the scenario takes a column, and a bad file is one line naming the file, the line and the problem", () => {
    write("klines.csv", [KLINE_HEADER, ...KLINES].join("\n"));
    const traders = { count: 0, leverage: { min: "2x", max: "3x" }, size: { min: 100, max: 200 } };
    const scenario = (name: string, p: Record<string, unknown>) => write(name, JSON.stringify({ blockTime: "20s", blocks: 8, markets: { BTC: { path: { kind: "csv", ...p } } }, traders }));
    const s = loadScenario(scenario("klines.json", { file: "klines.csv", column: "close" }), tmp.dir);
    expect(s.markets[0]!.path).toEqual({ kind: "csv", points: [{ t: 0, price: usd(57_000) }, { t: 60, price: usd(54_000.5) }, { t: 120, price: usd(55_000) }] });
    expect(s.markets[0]!.pathText).toBe("csv file=klines.csv column=close (3 rows over 2m, Unix milliseconds from 2024-08-05T00:00:59.999Z)");
    write("dates.csv", ["time,price", ...Array.from({ length: 19 }, (_, i) => `05/08/2024 00:${String(i).padStart(2, "0")},60000`)].join("\n"));
    expect(problem(scenario("dates.json", { file: "dates.csv" }))).toBe(
      'dates.json: markets.BTC.path.file: dates.csv: line 2: time "05/08/2024 00:00" is not ISO 8601 (2024-08-05T00:00:00Z), Unix seconds or milliseconds, or seconds since the start; 18 more lines like it',
    );
  });

  it("the example scenario's CSV loads and moves the price", () => {
    const s = loadScenario(path.join(REPO_ROOT, "config", "scenarios", "csv-btc-klines.json"));
    const m = s.markets[0]!;
    expect(m.path.kind).toBe("csv");
    const prices = pricePath({ spec: m.path, startPrice: 1n, steps: s.blocks, blockTimeSeconds: s.blockTimeSeconds, seed: s.seed, market: m.symbol });
    expect(new Set(prices).size).toBeGreaterThan(10);
    expect(prices.at(-1)! * 100n).toBeLessThan(prices[0]! * 90n);
  });
});
