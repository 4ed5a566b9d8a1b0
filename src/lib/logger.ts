import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/**
 * Field paths whose whole value is a secret; pino replaces them with "[redacted]". Only names that
 * mean a secret: a common name such as `key` holds targets and cache keys in our own lines, and a
 * secret under any name is masked by value anyway (see `createLogger`).
 */
export const REDACT_PATHS = [
  "privateKey",
  "*.privateKey",
  "account.privateKey",
  "KEEPER_PRIVATE_KEY",
  "DEPLOYER_PRIVATE_KEY",
  "*.KEEPER_PRIVATE_KEY",
  "*.DEPLOYER_PRIVATE_KEY",
  "env",
];

const HEX_32 = /(?:0[xX])?[0-9a-fA-F]{64}(?![0-9a-fA-F])/g;
/** A private key as a person may write it: 64 hex digits behind any number of 0x / 0X prefixes. */
const IS_KEY = /^(?:0[xX])*[0-9a-fA-F]{64}$/;

/**
 * Replace every listed secret in `text` with [redacted]. A 32-byte hex secret (a private key) is
 * matched by value, with or without 0x and in any case; transaction and block hashes are 32-byte
 * hex too, so only the listed ones are masked. Any other secret (an RPC password or API key) is
 * replaced wherever it appears literally.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return secretScrubber(secrets)(text);
}

/** {@link scrubSecrets} for a fixed list, sorted once (the logger runs it on every line). */
function secretScrubber(secrets: readonly string[]): (text: string) => string {
  const keys = new Set(secrets.filter((s) => IS_KEY.test(s)).map((s) => s.slice(-64).toLowerCase()));
  const others = secrets.filter((s) => s.length > 0 && !IS_KEY.test(s));
  if (keys.size === 0 && others.length === 0) return (text) => text;
  return (text) => {
    let out = keys.size === 0 ? text : text.replace(HEX_32, (m) => (keys.has(m.slice(-64).toLowerCase()) ? "[redacted]" : m));
    for (const s of others) if (out.includes(s)) out = out.split(s).join("[redacted]");
    return out;
  };
}

export type LoggerInputs = {
  level?: string;
  /** Pretty, human lines (for a terminal) instead of JSON. */
  pretty?: boolean;
  /**
   * Secrets to mask wherever they appear in a line, even inside an error message: private keys,
   * and the secret parts of the RPC URL (see `urlSecrets` in src/chain/clients.ts), which viem's
   * errors quote.
   */
  secrets?: readonly string[];
  destination?: NodeJS.WritableStream;
};

/**
 * pino, JSON by default. Secrets are removed twice: by field (redact paths) and by value (any
 * line containing a listed key is scrubbed before it is written), so a key inside an error
 * message or a nested object never reaches the output.
 */
export function createLogger(inputs: LoggerInputs = {}): Logger {
  const scrub = secretScrubber(inputs.secrets ?? []);
  const dest = inputs.destination ?? process.stderr;
  const stream = {
    write(line: string) {
      dest.write(scrub(line));
    },
  };
  const options: LoggerOptions = {
    level: inputs.level ?? "info",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err },
    // Bigints (wei, WAD sizes) as decimal strings: a JSON number loses precision above 2^53.
    formatters: { level: (label) => ({ level: label }), log: (obj) => bigintsToStrings(obj) as Record<string, unknown> },
  };
  if (inputs.pretty) {
    return pino(options, { write: (line: string) => stream.write(prettyLine(line)) });
  }
  return pino(options, stream);
}

/** A copy of `value` with every bigint (at any depth) replaced by its decimal string. */
export function bigintsToStrings(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (depth > 8 || value === null || typeof value !== "object" || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => bigintsToStrings(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bigintsToStrings(v, depth + 1);
  return out;
}

/** A compact human rendering of one pino JSON line: "12:00:01 INFO msg key=value …". */
function prettyLine(json: string): string {
  try {
    const { time, level, msg, ...rest } = JSON.parse(json) as Record<string, unknown>;
    const t = typeof time === "string" ? time.slice(11, 19) : "";
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
      .join(" ");
    return `${t} ${String(level).toUpperCase().padEnd(5)} ${String(msg ?? "")}${fields ? `  ${fields}` : ""}\n`;
  } catch {
    return json;
  }
}

/** A logger that drops everything (tests, library defaults). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
