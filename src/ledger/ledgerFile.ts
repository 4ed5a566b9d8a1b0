/**
 * The profit ledger file: append-only JSON lines beside the checkpoint (`<checkpoint>.ledger.jsonl`),
 * one per mined liquidation transaction. Each line is written with one write() of the whole line
 * and fsynced before the next, so a crash can leave at most the last line torn: reading ignores
 * a torn last line (a warning, never fatal), and opening for append cuts it off first, so the next
 * line starts clean. A bad line elsewhere is corruption: `readLedger` reports it, and `pnl` refuses
 * the file.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Address } from "viem";
import type { MinedTx } from "../execute/spend.ts";
import type { Logger } from "../lib/logger.ts";
import type { Metrics } from "../lib/metrics.ts";
import { entryFromLine, entryOf, entryToLine, LedgerLineError, type LedgerEntry } from "./entry.ts";

/** The ledger of the keeper whose checkpoint is `checkpointPath`: in the same directory. */
export function ledgerPathOf(checkpointPath: string): string {
  return `${checkpointPath}.ledger.jsonl`;
}

export type LedgerRead = {
  entries: LedgerEntry[];
  /** The last line was cut short by a crash (ignored); its byte offset, where the file should end. */
  torn: { offset: number; line: number } | undefined;
  /** Lines before the last that are not entries: corruption. */
  bad: { line: number; why: string }[];
};

/** Parse a ledger's text. */
export function parseLedger(text: string): LedgerRead {
  const entries: LedgerEntry[] = [];
  const bad: LedgerRead["bad"] = [];
  let torn: LedgerRead["torn"];
  let offset = 0;
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    const last = i === lines.length - 1; // the text after the final newline: "" when the file ends cleanly
    if (line.trim() !== "") {
      try {
        entries.push(entryFromLine(line));
      } catch (e) {
        if (!(e instanceof LedgerLineError)) throw e;
        if (last) torn = { offset, line: i + 1 };
        else bad.push({ line: i + 1, why: e.message });
      }
    }
    offset += Buffer.byteLength(line) + 1;
  }
  return { entries, torn, bad };
}

/** Read the ledger at `path`; a missing file is an empty ledger. */
export function readLedger(path: string): LedgerRead {
  if (!existsSync(path)) return { entries: [], torn: undefined, bad: [] };
  return parseLedger(readFileSync(path, "utf8"));
}

export type USDTotals = { rewardsUsd: bigint; gasUsd: bigint; l1FeeUsd: bigint; netUsd: bigint; transactions: number };

/** Sums of `entries`. */
export function totalsOf(entries: readonly LedgerEntry[]): USDTotals {
  const t: USDTotals = { rewardsUsd: 0n, gasUsd: 0n, l1FeeUsd: 0n, netUsd: 0n, transactions: entries.length };
  for (const e of entries) {
    t.rewardsUsd += e.rewardUsd;
    t.gasUsd += e.gasUsd;
    t.l1FeeUsd += e.l1FeeUsd;
    t.netUsd += e.netUsd;
  }
  return t;
}

export type ProfitLedgerInputs = {
  path: string;
  /** Whose ledger: entries carry it, and only this keeper's feed the counters. */
  identity: { chainId: number; market: Address };
  logger: Logger;
  metrics: Metrics;
};

/** The keeper's ledger: restored into the USD counters at open, appended to as receipts settle. */
export class ProfitLedger {
  private constructor(private readonly inputs: ProfitLedgerInputs) {}

  /** Open (creating nothing yet): read what is there, cut a torn last line off, feed the counters. */
  static open(inputs: ProfitLedgerInputs): ProfitLedger {
    const { path, logger, identity } = inputs;
    const r = readLedger(path);
    if (r.torn) {
      logger.warn({ path, line: r.torn.line }, "profit ledger: the last line was cut short (a crash while writing it); ignored");
      truncateSync(path, r.torn.offset);
    } else if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      if (text.length > 0 && !text.endsWith("\n")) writeLine(path, ""); // a whole last line without its newline
    }
    if (r.bad.length > 0) logger.warn({ path, lines: r.bad.slice(0, 5), count: r.bad.length }, "profit ledger: lines that are not entries are skipped (see perp-keeper pnl)");
    const mine = r.entries.filter((e) => e.chainId === identity.chainId && e.market === identity.market);
    const ledger = new ProfitLedger(inputs);
    ledger.count(totalsOf(mine));
    if (mine.length > 0) logger.info({ path, transactions: mine.length }, "profit ledger restored into the USD counters");
    return ledger;
  }

  /** Append the entry of `m` (settled at `nativeUsd`) and count it. Never throws: a write that fails is logged. */
  record(m: MinedTx, nativeUsd: bigint): void {
    const e = entryOf(m, nativeUsd, this.inputs.identity);
    try {
      writeLine(this.inputs.path, entryToLine(e));
    } catch (err) {
      this.inputs.logger.error({ err, path: this.inputs.path, hash: m.hash }, "profit ledger: could not append the transaction");
    }
    this.count(totalsOf([e]));
  }

  private count(t: USDTotals): void {
    const m = this.inputs.metrics;
    const n = (wad: bigint) => Number(wad) / 1e18;
    if (t.rewardsUsd > 0n) m.rewardsUsd.inc(n(t.rewardsUsd));
    if (t.gasUsd + t.l1FeeUsd > 0n) m.gasUsd.inc(n(t.gasUsd + t.l1FeeUsd));
    m.profitUsd.inc(n(t.netUsd));
  }
}

/** Append `line` and a newline in one write, fsynced. */
function writeLine(path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "a", 0o600);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
