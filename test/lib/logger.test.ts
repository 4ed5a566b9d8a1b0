import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, scrubSecrets } from "../../src/lib/logger.ts";

const KEY = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

function capture(secrets: string[]): { logger: ReturnType<typeof createLogger>; lines: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ secrets, destination }), lines: () => chunks.join("") };
}

describe("defect 7: a key written with a 0X prefix is scrubbed by value", () => {
  for (const form of [`0X${KEY.toUpperCase()}`, `0X${KEY}`, `0x${KEY}`, KEY, `0x0X${KEY}`]) {
    it(`the secret given as ${form.slice(0, 4)}… is masked in every form it may appear`, () => {
      const { logger, lines } = capture([form]);
      logger.info({ note: `0x${KEY}`, upper: `0X${KEY.toUpperCase()}`, bare: KEY }, `inside a message: 0X${KEY}`);
      const out = lines();
      expect(out.toLowerCase()).not.toContain(KEY);
      expect(out.match(/\[redacted\]/g)?.length).toBe(4);
    });
  }

  it("a transaction hash that is not the key stays readable", () => {
    const hash = `0x${"ab".repeat(32)}`;
    expect(scrubSecrets(`sent ${hash}`, [`0X${KEY}`])).toBe(`sent ${hash}`);
  });
});

describe("defect 7: the logger redacts by secret, not by a common field name", () => {
  it("a backoff line's `key` field (a target, not a secret) stays readable", () => {
    const { logger, lines } = capture([KEY]);
    logger.info({ msg: "backing off", key: "t:0x70997970c51812dc3a010c7d01b50e0d17dc79c8:1" });
    expect(lines()).toContain('"key":"t:0x70997970c51812dc3a010c7d01b50e0d17dc79c8:1"');
  });

  it("a private key under any field name, at any depth, is still masked", () => {
    const { logger, lines } = capture([KEY]);
    logger.info({ key: KEY, nested: { key: `0x${KEY}`, deeper: { value: KEY } }, privateKey: "whatever" });
    const out = lines();
    expect(out).not.toContain(KEY);
    expect(out).not.toContain("whatever");
  });
});
