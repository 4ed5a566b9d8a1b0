import { readFileSync } from "node:fs";
import { ConfigError } from "../lib/errors.ts";

/**
 * Config files in layers: the built-in file, then the user's, each over the ones before. An entry
 * `{ "extend": "NAME", ...changes }` starts from another entry and changes a few fields. Used by
 * presets.ts for presets and markets alike.
 */

/** A JSON file, or one ConfigError naming it. */
export function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(path, [`cannot read the file (${(e as NodeJS.ErrnoException).code ?? "error"})`]);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, [`not valid JSON (${(e as Error).message})`]);
  }
}

export function withoutComment(raw: unknown): unknown {
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    const { $comment: _ignored, ...rest } = raw as Record<string, unknown>;
    return rest;
  }
  return raw;
}

/** One entry of a layered file: its merged fields, the file that defined it, and what it extends. */
export type Resolved = { raw: Record<string, unknown>; source: string; extends?: string };

/**
 * Entries of several files, each layer over the ones before it: a later file adds names and may
 * override earlier ones. An entry `{ "extend": "NAME", ...changes }` starts from NAME (its own name:
 * the entry it overrides, in an earlier layer) and merges the changes in: objects key by key, any
 * other value (a tier table, a number) replaced whole. Every problem is collected.
 */
export function layered(files: readonly string[], what: string): { entries: Map<string, Resolved>; broken: Set<string>; problems: { source: string; text: string }[] } {
  const layers = files.map((source) => {
    const raw = withoutComment(readJson(source));
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(source, [`expected a map of ${what} name to its ${what}`]);
    return { source, raw: raw as Record<string, unknown> };
  });
  const problems: { source: string; text: string }[] = [];
  // undefined: no such entry below `top`; null: the entry is broken (its problem is already said).
  const memo = new Map<string, Resolved | null>();
  const resolveAt = (name: string, top: number, chain: readonly string[]): Resolved | null | undefined => {
    let i = top;
    while (i >= 0 && !Object.hasOwn(layers[i]!.raw, name)) i--;
    if (i < 0) return undefined;
    const key = `${i}:${name}`;
    if (memo.has(key)) return memo.get(key);
    const { source, raw } = layers[i]!;
    if (chain.includes(key)) {
      problems.push({ source, text: `${name}.extend: a cycle (${[...chain, key].map((k) => k.replace(/^\d+:/, "")).join(" → ")})` });
      memo.set(key, null);
      return null;
    }
    const entry = raw[name];
    let out: Resolved | null = { raw: entry as Record<string, unknown>, source };
    if (entry && typeof entry === "object" && !Array.isArray(entry) && Object.hasOwn(entry, "extend")) {
      const { extend, ...changes } = entry as Record<string, unknown>;
      const base = typeof extend === "string" && extend !== "" ? resolveAt(extend, extend === name ? i - 1 : layers.length - 1, [...chain, key]) : null;
      if (typeof extend !== "string" || extend === "") problems.push({ source, text: `${name}.extend: expected the name of a ${what}` });
      else if (base === undefined) {
        const known = [...new Set(layers.flatMap((l) => Object.keys(l.raw)))].filter((n) => n !== name);
        problems.push({ source, text: `${name}.extend: unknown ${what} "${extend}"; known ${what}s: ${known.join(", ")}` });
      }
      out = base ? { raw: merge(base.raw, changes), source, extends: extend as string } : null;
    }
    memo.set(key, out);
    return out;
  };
  const entries = new Map<string, Resolved>();
  const broken = new Set<string>();
  for (const name of new Set(layers.flatMap((l) => Object.keys(l.raw)))) {
    const r = resolveAt(name, layers.length - 1, []);
    if (r) entries.set(name, r);
    else broken.add(name);
  }
  return { entries, broken, problems };
}

/** `over` merged into `base`: plain objects key by key, anything else replaced. */
function merge(base: unknown, over: unknown): Record<string, unknown> {
  const isMap = (x: unknown): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x);
  const out: Record<string, unknown> = isMap(base) ? { ...base } : {};
  if (!isMap(over)) return out;
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k], v) : v;
  return out;
}

/** The files to layer: the built-in first, each user file once, the built-in never twice. */
export function layerFiles(builtin: string, files: string | readonly string[] | undefined): string[] {
  const user = (typeof files === "string" ? [files] : (files ?? [])).filter((f) => f !== builtin);
  return [builtin, ...new Set(user)];
}

export function throwProblems(problems: readonly { source: string; text: string }[]): void {
  const first = problems[0];
  if (first) throw new ConfigError(first.source, problems.map((p) => (p.source === first.source ? p.text : `${p.source}: ${p.text}`)));
}

