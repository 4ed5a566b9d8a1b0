import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JournalFormatError, SendJournal } from "../../src/execute/journal.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "journal-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tx = (hash: string, extra: Record<string, unknown> = {}) => ({ hash, maxFeePerGas: 10n ** 12n, ...extra });

describe("defect 3: the send journal", () => {
  it("keeps the latest broadcast of each nonce until it is settled", () => {
    const j = new SendJournal(join(dir, "sends.jsonl"));
    j.sent(7, tx("0xa"));
    j.sent(8, tx("0xb"));
    j.sent(7, tx("0xc", { replacements: 1 })); // a fee bump at nonce 7
    j.settled(8);
    j.close();
    const open = new SendJournal(j.path).read();
    expect([...open.keys()]).toEqual([7]);
    expect(open.get(7)).toEqual({ hash: "0xc", maxFeePerGas: "1000000000000", replacements: 1 });
  });

  it("a missing journal is empty", () => {
    expect(new SendJournal(join(dir, "none.jsonl")).read().size).toBe(0);
  });

  it("a line torn by a crash at the end is ignored, and the next append starts a new line", () => {
    const path = join(dir, "sends.jsonl");
    const j = new SendJournal(path);
    j.sent(1, tx("0xa"));
    j.close();
    appendFileSync(path, '{"op":"sent","nonce":2,"tx":{"ha'); // killed mid-write
    expect([...new SendJournal(path).read().keys()]).toEqual([1]);
    const again = new SendJournal(path);
    again.sent(3, tx("0xd"));
    again.close();
    expect([...new SendJournal(path).read().keys()]).toEqual([1, 3]);
  });

  it("garbage before the last line is refused with one line naming the file", () => {
    const path = join(dir, "sends.jsonl");
    writeFileSync(path, 'not json\n{"op":"sent","nonce":1,"tx":{}}\n');
    expect(() => new SendJournal(path).read()).toThrow(JournalFormatError);
    expect(() => new SendJournal(path).read()).toThrow(/sends\.jsonl: line 1 is not JSON/);
  });

  it("rewrite keeps exactly what is in flight", () => {
    const path = join(dir, "sends.jsonl");
    const j = new SendJournal(path);
    for (let n = 0; n < 100; n++) j.sent(n, tx(`0x${n}`));
    j.rewrite(new Map([[99, tx("0x99")]]));
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(1);
    j.sent(100, tx("0x100"));
    j.close();
    expect([...new SendJournal(path).read().keys()]).toEqual([99, 100]);
  });
});
