/**
 * The one way a zod failure becomes problems for a user: one line per issue, "where: why", where
 * is the path in the input (`markets[0].tiers[2].floor`), an unknown key is named, and an issue
 * at the root has no "where".
 */
import type { z } from "zod";

/** `["markets", 0, "symbol"]` → `markets[0].symbol`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out;
}

/** Every issue of `error` as "where: why" (`prefix` is prepended to each path). */
export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.flatMap((i) => {
    const at = issuePath([...prefix, ...i.path]);
    const where = (s: string) => (at ? `${at}: ${s}` : s);
    if (i.code === "unrecognized_keys") return i.keys.map((k) => where(`unknown key "${k}"`));
    return [where(i.message)];
  });
}
