import { parseArgs } from "node:util";
import { BaseError } from "../lib/errors.ts";

/**
 * What every command file exports, and the flag parsing they share: node's util.parseArgs, with
 * every problem (unknown option, missing value, stray argument) turned into a {@link UsageError}.
 */

/** A mistake in the command line itself: one line on stderr, exit code 2. */
export class UsageError extends BaseError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, { userError: true });
  }
}

export type OptionSpec = {
  type: "string" | "boolean";
  short?: string;
  /** Placeholder shown in help, e.g. "URL". */
  value?: string;
  description: string;
  /** Default shown in help and applied when the flag is absent. */
  default?: string;
  /** A string flag that may be given more than once: its values joined with commas. */
  multiple?: boolean;
};

export type OptionSpecs = Record<string, OptionSpec>;

export type Flags<O extends OptionSpecs> = {
  [K in keyof O]: O[K]["type"] extends "boolean" ? boolean : O[K]["default"] extends string ? string : string | undefined;
};

/** Where a command reads and writes: the process's streams and environment, or a test's. */
export type CliIO = {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM (only for commands that declare `handlesSignals`). */
  signal: AbortSignal;
  /** stderr is a terminal, and raw writes to it (no newline added): for progress bars. */
  stderrIsTTY?: boolean;
  writeStderr?: (chunk: string) => void;
};

export type Command<O extends OptionSpecs = OptionSpecs> = {
  name: string;
  summary: string;
  /** Synopsis after "perp-keeper <name> ". */
  synopsis: string;
  description?: string;
  options: O;
  examples?: string[];
  /** The command runs until SIGINT/SIGTERM and wants the signal instead of dying. */
  handlesSignals?: boolean;
  run(flags: Flags<O>, io: CliIO): Promise<number>;
};

/** Declare a command with its option types inferred. */
export function defineCommand<const O extends OptionSpecs>(c: Command<O>): Command<O> {
  return c;
}

/** Flags every command accepts. */
export const COMMON_OPTIONS = {
  debug: { type: "boolean", description: "on error, print the stack and causes" },
  help: { type: "boolean", short: "h", description: "show this help" },
} as const satisfies OptionSpecs;

/** A value that looks like a number ("-5", "-.5") is a value, not a forgotten option. */
function looksLikeOption(value: string): boolean {
  return value.startsWith("-") && !/^-\.?\d/.test(value);
}

/**
 * Parse `argv` for `command`: strict on unknown options, missing values and stray arguments, each
 * refused with a UsageError naming the flag. Defaults are applied.
 */
export function parseFlags<O extends OptionSpecs>(
  command: string,
  argv: readonly string[],
  options: O,
): Flags<O> & { debug: boolean; help: boolean } {
  const all: OptionSpecs = { ...options, ...COMMON_OPTIONS };
  const config = Object.fromEntries(
    Object.entries(all).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  const { values, tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const help = `see perp-keeper ${command} --help`;
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind === "positional") throw new UsageError(`${command}: unexpected argument "${t.value}" (${help})`);
    if (t.kind !== "option") continue;
    const spec = Object.hasOwn(all, t.name) ? all[t.name] : undefined;
    if (!spec) throw new UsageError(`${command}: unknown option ${t.rawName}${didYouMean(command, t.name, Object.keys(all))} (${help})`);
    // parseArgs keeps the last of two values silently: `--rpc A --rpc B` is refused instead.
    if (seen.has(t.name) && !spec.multiple) throw new UsageError(`${command}: --${t.name} is given more than once`);
    seen.add(t.name);
    if (spec.type === "string") {
      if (t.value === undefined || (!t.inlineValue && looksLikeOption(t.value))) {
        throw new UsageError(`${command}: ${t.rawName} needs a value${spec.value ? ` (${t.rawName} ${spec.value})` : ""}`);
      }
    } else if (t.inlineValue) {
      throw new UsageError(`${command}: ${t.rawName} takes no value`);
    }
  }
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(all)) {
    const v = values[name];
    if (spec.type === "boolean") out[name] = v === true;
    else out[name] = typeof v === "string" ? v : Array.isArray(v) ? v.join(",") : spec.default;
  }
  return out as Flags<O> & { debug: boolean; help: boolean };
}

/** Flags of other tools that users bring with them, and this CLI's name for each. */
const KNOWN_ALIASES: Readonly<Record<string, string>> = {
  "rpc-url": "rpc", // Foundry's cast and forge
  "fork-url": "rpc",
  "eth-rpc-url": "rpc",
  verbose: "log-level",
};

/** Flags that would carry a key: keys come from the environment only (never in shell history or `ps`). */
const KEY_FLAGS = new Set(["private-key", "key", "keeper-key", "deployer-key", "mnemonic"]);

/** Levenshtein distance, for suggestions among a command's few option names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * What to say after "unknown option --name": where a key goes instead (a key flag), a known alias
 * from another tool that this command has (`--rpc-url` → `--rpc`), else the closest of `options`
 * within a small edit distance (a third of the name, 1 to 3), else a unique prefix match, else "".
 */
export function didYouMean(command: string, name: string, options: readonly string[]): string {
  if (name.length > 64) return ""; // not a typo; and the distance is quadratic
  const lower = name.toLowerCase();
  if (KEY_FLAGS.has(lower)) {
    const variable = command === "run" ? "KEEPER_PRIVATE_KEY" : "DEPLOYER_PRIVATE_KEY";
    const keystore = options.includes("keystore") ? ", or pass --keystore FILE (an encrypted keystore)" : "";
    return `; keys are never flags: set ${variable} in the environment or in .env${keystore}`;
  }
  const alias = Object.hasOwn(KNOWN_ALIASES, lower) ? KNOWN_ALIASES[lower]! : undefined;
  if (alias !== undefined && options.includes(alias)) return `; did you mean --${alias}?`;
  const limit = Math.min(3, Math.max(1, Math.floor(lower.length / 3)));
  let best: { name: string; d: number } | undefined;
  for (const o of options) {
    const d = editDistance(lower, o);
    if (d <= limit && (best === undefined || d < best.d)) best = { name: o, d };
  }
  // A prefix of one option only ("--dep" for "--deployment") is a suggestion too.
  if (!best && lower.length >= 3) {
    const prefixed = options.filter((o) => o.startsWith(lower));
    if (prefixed.length === 1) best = { name: prefixed[0]!, d: 0 };
  }
  return best ? `; did you mean --${best.name}?` : "";
}

/** The value of a required string flag, or a UsageError naming it. */
export function required(command: string, flags: Record<string, unknown>, name: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v.trim() === "") throw new UsageError(`${command}: --${name} is required (see perp-keeper ${command} --help)`);
  return v;
}

/** A whole number in [min, max] from flag `name`. */
export function integerFlag(command: string, name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${command}: --${name} must be a whole number, got "${value}"`);
  const n = Number(value.trim());
  if (n < min || n > max) throw new UsageError(`${command}: --${name} must be between ${min} and ${max}, got ${value}`);
  return n;
}

/** An http(s) URL from flag `name` (the URL itself is not echoed: it may carry an API key). */
export function rpcUrlFlag(command: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${command}: --rpc must be an http(s) URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`${command}: --rpc must be an http(s) URL`);
  return value;
}

/** Help text generated from the command's spec. */
export function helpText(c: Command): string {
  const all: OptionSpecs = { ...c.options, ...COMMON_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` ${o.value}` : ""}`;
    const desc = o.default !== undefined ? `${o.description} (default: ${o.default})` : o.description;
    return [flag, desc] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  const lines = [`Usage: perp-keeper ${c.name} ${c.synopsis}`, "", c.summary];
  if (c.description) lines.push("", c.description);
  lines.push("", "Options:", ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`));
  if (c.examples?.length) lines.push("", "Examples:", ...c.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}
