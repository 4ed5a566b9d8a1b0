import { BaseError } from "../lib/errors.ts";
import type { PricePoint } from "./pricePath.ts";

/**
 * Price files for the lab's `csv` paths. Pure: text in, points out.
 *
 * Columns. With a header line, the price is the column named by `column`, else `price`, else
 * `open`, else `close` (any case); the time is `time`, `timestamp`, `date`, `datetime` or
 * `open_time`, else the first column, except that a `close` price is timed by `close_time` when
 * the file has one (a kline's close happens at its close time). A header of two columns needs no
 * names. Without a header, the first column is the time and the second the price (Binance's kline
 * files as downloaded: open time, open, …).
 *
 * Times. The first data row decides the form and every row must share it:
 *  - seconds since the scenario starts: a number below 10⁹, or a duration such as 90s, 5m, 1h;
 *    used as written;
 *  - ISO 8601 (`2024-08-05T00:00:00Z`, `2024-08-05 00:00`, `2024-08-05`; UTC without an offset),
 *    Unix seconds (10 digits), milliseconds (13) or microseconds (16): the first row is t = 0.
 * Times must increase. Each block then takes the price of the last row at or before its time (a
 * step; prices are not interpolated); the first row's price before it, the last row's after.
 *
 * Anything else is refused with one problem naming the line (and how many more lines share it).
 */

export type CsvTimeForm = "seconds" | "iso" | "unix-s" | "unix-ms" | "unix-us";

export type CsvPrices = {
  points: PricePoint[];
  /** The price column's name as written in the header; "2" for the second column of a file without one. */
  column: string;
  form: CsvTimeForm;
  /** The first row's time, ISO 8601 (absolute forms only). */
  start?: string;
};

export type CsvPricesOptions = {
  /** A decimal price → WAD; throws on anything else. */
  parsePrice: (text: string) => bigint;
  /** The price column's name (needs a header line). */
  column?: string;
};

/** One problem with a price file: `line` is 1-based, absent for the file as a whole. */
export class CsvPricesError extends BaseError {
  override name = "CsvPricesError";
  constructor(
    readonly problem: string,
    readonly line?: number,
  ) {
    super(line === undefined ? problem : `line ${line}: ${problem}`, { userError: true });
  }
}

const FORM_NAMES: Record<CsvTimeForm, string> = {
  seconds: "seconds since the start",
  iso: "ISO 8601",
  "unix-s": "Unix seconds",
  "unix-ms": "Unix milliseconds",
  "unix-us": "Unix microseconds",
};

export function csvTimeFormName(form: CsvTimeForm): string {
  return FORM_NAMES[form];
}

const TIME_COLUMNS = ["time", "timestamp", "date", "datetime", "open_time"];
const PRICE_COLUMNS = ["price", "open", "close"];
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;
const DURATION_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** One time cell → its form and seconds (absolute: since 1970), or a reason it is none. */
function readTime(cell: string): { form: CsvTimeForm; seconds: number } | { error: string } {
  const iso = ISO.exec(cell);
  if (iso) {
    const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone = "Z"] = iso;
    const offset = zone.toUpperCase() === "Z" ? "Z" : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
    const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${offset}`);
    // Date.parse rolls 2024-02-30 over to March 1st: compare the calendar date back.
    const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    if (!Number.isFinite(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) return { error: "is not a date" };
    return { form: "iso", seconds: ms / 1000 };
  }
  const m = DURATION.exec(cell);
  if (m) {
    const n = Number(m[1]);
    if (m[2] !== undefined) return { form: "seconds", seconds: n * DURATION_SECONDS[m[2].toLowerCase() as keyof typeof DURATION_SECONDS] };
    if (n < 1e9) return { form: "seconds", seconds: n };
    if (n < 1e11) return { form: "unix-s", seconds: n };
    if (n < 1e14) return { form: "unix-ms", seconds: n / 1e3 };
    if (n < 1e17) return { form: "unix-us", seconds: n / 1e6 };
  }
  return { error: "is not ISO 8601 (2024-08-05T00:00:00Z), Unix seconds or milliseconds, or seconds since the start" };
}

function cellsOf(line: string): string[] {
  return line.split(/[,;\t]/).map((c) => c.trim().replace(/^"(.*)"$/, "$1").trim());
}

type Columns = { time: number; price: number; name: string };

/** The time and price columns from a header line (or the defaults without one). */
function pickColumns(header: string[] | undefined, column: string | undefined, line: number): Columns {
  if (!header) {
    if (column !== undefined) throw new CsvPricesError(`column "${column}" needs a header line naming the columns`, line);
    return { time: 0, price: 1, name: "2" };
  }
  const names = header.map((h) => h.toLowerCase());
  const list = `columns: ${header.join(", ")}`;
  let price: number;
  if (column !== undefined) {
    price = names.indexOf(column.toLowerCase());
    if (price < 0) throw new CsvPricesError(`no column "${column}" (${list})`, line);
  } else {
    price = PRICE_COLUMNS.map((n) => names.indexOf(n)).find((i) => i >= 0) ?? (header.length === 2 ? 1 : -1);
    if (price < 0) throw new CsvPricesError(`no price column (${list}): name one with the path's column field`, line);
  }
  const closeTime = names[price] === "close" ? names.indexOf("close_time") : -1;
  const time = closeTime >= 0 ? closeTime : (TIME_COLUMNS.map((n) => names.indexOf(n)).find((i) => i >= 0) ?? 0);
  return { time, price, name: header[price]! };
}

/** Parse a price file. Throws one CsvPricesError: the first problem, and how many lines share it. */
export function parseCsvPrices(text: string, opts: CsvPricesOptions): CsvPrices {
  const lines = text.split(/\r?\n/);
  const rows = lines.flatMap((raw, i) => {
    const t = raw.trim();
    return t === "" || t.startsWith("#") ? [] : [{ line: i + 1, cells: cellsOf(t) }];
  });
  const first = rows[0];
  const hasHeader = first !== undefined && !/^[\d.]/.test(first.cells[0] ?? "");
  const cols = pickColumns(hasHeader ? first!.cells : undefined, opts.column, first?.line ?? 1);
  const data = hasHeader ? rows.slice(1) : rows;

  const points: PricePoint[] = [];
  let form: CsvTimeForm | undefined;
  let formLine = 0;
  let origin = 0;
  let failure: { line: number; problem: string; like: number; key: string } | undefined;
  for (const { line, cells } of data) {
    const fail = (problem: string, key: string) => {
      if (failure === undefined) failure = { line, problem, like: 0, key };
      else if (failure.key === key) failure.like++;
    };
    const timeCell = cells[cols.time];
    const priceCell = cells[cols.price];
    if (timeCell === undefined || priceCell === undefined) {
      fail(`expected ${Math.max(cols.time, cols.price) + 1} columns, found ${cells.length}`, "columns");
      continue;
    }
    const time = readTime(timeCell);
    if ("error" in time) {
      fail(`time "${timeCell}" ${time.error}`, `time ${time.error}`);
      continue;
    }
    if (form === undefined) {
      form = time.form;
      formLine = line;
      origin = form === "seconds" ? 0 : time.seconds;
    } else if (time.form !== form) {
      fail(`time "${timeCell}" is ${FORM_NAMES[time.form]}, but line ${formLine} is ${FORM_NAMES[form]}`, "form");
      continue;
    }
    let price: bigint;
    try {
      price = opts.parsePrice(priceCell);
    } catch {
      fail(`price "${priceCell}" is not a number`, "price not a number");
      continue;
    }
    if (price <= 0n) {
      fail("price must be above 0", "price not above 0");
      continue;
    }
    // Rounded to the microsecond: 1722816060.5 − 1722816000 is not exactly 60.5 in float64.
    const t = Math.round((time.seconds - origin) * 1e6) / 1e6;
    if (points.length > 0 && t <= points[points.length - 1]!.t) {
      fail("times must increase", "order");
      continue;
    }
    points.push({ t, price });
  }
  if (failure) {
    const more = failure.like === 0 ? "" : `; ${failure.like} more line${failure.like === 1 ? "" : "s"} like it`;
    throw new CsvPricesError(`${failure.problem}${more}`, failure.line);
  }
  if (points.length === 0 || form === undefined) throw new CsvPricesError("no prices in the file");
  return {
    points,
    column: cols.name,
    form,
    ...(form === "seconds" ? {} : { start: new Date(origin * 1000).toISOString() }),
  };
}
