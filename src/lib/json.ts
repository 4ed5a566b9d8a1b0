/**
 * The one bigint JSON codec: bigints are written as decimal strings (JSON has no integers past
 * 2^53), and read back by whoever knows which fields are bigints.
 */

/** The replacer: a bigint becomes its decimal string. */
export function bigintToString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** JSON with bigints as decimal strings. */
export function stringifyWithBigints(value: unknown, space = 2): string {
  return JSON.stringify(value, bigintToString, space);
}

/** `value` as plain JSON data (bigints as decimal strings), e.g. to store beside other JSON. */
export function toJsonRecord(value: object): Record<string, unknown> {
  return JSON.parse(stringifyWithBigints(value, 0)) as Record<string, unknown>;
}
