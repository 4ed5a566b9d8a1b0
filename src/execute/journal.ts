/**
 * The send journal: an append-only file of what the executor broadcast, written and fsynced
 * before each `eth_sendRawTransaction`, so that a keeper killed between a broadcast and its next
 * checkpoint finds every transaction it may have left in the pool on restart.
 *
 * One JSON line per record:
 *   {"op":"sent","nonce":7,"tx":{…}}   a broadcast at `nonce` (a new transaction, a fee bump or a
 *                                     cancel): `tx` is whatever the executor needs to follow it
 *   {"op":"settled","nonce":7}        the nonce is done with (mined, or known dropped)
 * The latest `sent` of a nonce wins; a `settled` one is forgotten. A line torn by a crash can only
 * be the last one, unterminated (appends are sequential): reading ignores it, and the next append
 * cuts it off first.
 * `rewrite` replaces the file atomically with what is still in flight (at each checkpoint), so it
 * stays as small as the number of transactions in flight.
 */
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../lib/atomicFile.ts";
import { stringifyWithBigints, toJsonRecord } from "../lib/json.ts";
import { BaseError } from "../lib/errors.ts";
import type { InFlightTx } from "./types.ts";

export type JournalTx = Record<string, unknown>;

/** An InFlightTx as the journal and the checkpoint store it (bigints as decimal strings). */
export function journalEntry(tx: InFlightTx): Record<string, unknown> {
  return toJsonRecord(tx);
}

type Line = { op: "sent"; nonce: number; tx: JournalTx } | { op: "settled"; nonce: number };

export class JournalFormatError extends BaseError {
  override name = "JournalFormatError";
}

export class SendJournal {
  private fd: number | undefined;

  constructor(readonly path: string) {}

  /** Transactions the journal says may be in flight, by nonce (the latest broadcast of each). */
  read(): Map<number, JournalTx> {
    const open = new Map<number, JournalTx>();
    if (!existsSync(this.path)) return open;
    const lines = readFileSync(this.path, "utf8").split("\n");
    lines.forEach((text, i) => {
      if (text.trim() === "") return;
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch (e) {
        if (i === lines.length - 1) return; // unterminated: torn by a crash mid-write
        throw new JournalFormatError(`send journal ${this.path}: line ${i + 1} is not JSON; move the file away to start without it`, { cause: e, userError: true });
      }
      if (!Number.isSafeInteger(line.nonce) || (line.op !== "sent" && line.op !== "settled")) {
        throw new JournalFormatError(`send journal ${this.path}: line ${i + 1} is not a journal record`, { userError: true });
      }
      if (line.op === "sent") open.set(line.nonce, line.tx);
      else open.delete(line.nonce);
    });
    return open;
  }

  /** Record a broadcast, durably (fsync), before it is sent. */
  sent(nonce: number, tx: JournalTx): void {
    this.append({ op: "sent", nonce, tx }, true);
  }

  /**
   * The nonce is done with. Not fsynced: if the record is lost in a crash, the restart adopts a
   * transaction that is already mined, and its receipt settles it again.
   */
  settled(nonce: number): void {
    this.append({ op: "settled", nonce }, false);
  }

  /** Replace the journal, atomically, with exactly `inFlight` (by nonce). */
  rewrite(inFlight: ReadonlyMap<number, JournalTx>): void {
    this.close();
    const text = [...inFlight].map(([nonce, tx]) => `${stringifyWithBigints({ op: "sent", nonce, tx }, 0)}\n`).join("");
    writeFileAtomic(this.path, text);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(line: Line, durable: boolean): void {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, "a+", 0o600);
      cutTornTail(this.fd);
    }
    writeSync(this.fd, `${stringifyWithBigints(line, 0)}\n`);
    if (durable) fdatasyncSync(this.fd);
  }
}

/** Cut an unterminated last line (a write torn by a crash) off the end of the file. */
function cutTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  readSync(fd, chunk, 0, chunk.length, size - chunk.length);
  if (chunk[chunk.length - 1] === 0x0a) return;
  const nl = chunk.lastIndexOf(0x0a);
  if (nl === -1 && size > chunk.length) throw new JournalFormatError("send journal: its last line is longer than 64 KiB", { userError: true });
  ftruncateSync(fd, nl === -1 ? 0 : size - chunk.length + nl + 1);
}
