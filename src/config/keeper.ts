import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";
import { HumanNumberError, parsePpm, parseWad } from "../lib/units.ts";
import { ConfigError } from "../lib/errors.ts";
import { issuePath } from "../lib/zodIssues.ts";
import { CONFIG_DIR } from "./dir.ts";

/** A decimal amount ("0.10", "500", "10%"); a long string is a mistake, not a number to parse. */
const decimalString = z.union([z.string().max(64), z.number()]).transform(String);

/** Staleness limit of the native-token feed by default: an hour's heartbeat (Chainlink's ETH / USD on Ethereum) and five minutes. */
export const DEFAULT_NATIVE_PRICE_MAX_AGE_SECONDS = 3_900;

const KeeperFileSchema = z
  .object({
    $comment: z.string().optional(),
    pollingIntervalMs: z.number().int().min(10).max(60_000),
    minProfitUsd: decimalString,
    backstopMode: z.boolean(),
    maxBatch: z.number().int().min(1).max(50),
    concurrency: z.number().int().min(1).max(64),
    preflight: z.enum(["engine", "node"]),
    feeCapGwei: decimalString,
    priorityFeeGwei: decimalString,
    profitPriorityShare: decimalString,
    replaceAfterBlocks: z.number().int().min(1).max(1_000),
    gasBudgetPerHourEth: decimalString,
    nativeTokenPriceUsd: decimalString.optional(),
    nativeTokenPriceFeed: z.string().refine((v) => isAddress(v, { strict: false }), { message: "not an address" }).nullable().optional(),
    nativePriceMaxAgeSeconds: z.number().int().min(1).max(604_800).optional(),
    gas: z
      .object({
        single: z.number().int().min(21_000).max(30_000_000),
        batchBase: z.number().int().min(21_000).max(30_000_000),
        batchItem: z.number().int().min(1).max(30_000_000),
      })
      .strict()
      .optional(),
    checkpointPath: z.string().min(1).max(4_096),
    checkpointEveryBlocks: z.number().int().min(1).max(100_000),
    healthPort: z.number().int().min(0).max(65_535),
    healthHost: z.union([z.ipv4(), z.ipv6(), z.literal("localhost")], { error: "not an IP address (e.g. 127.0.0.1, 0.0.0.0 in a container, ::)" }).optional(),
    staleHeadSeconds: z.number().int().min(1).max(86_400),
    stallSeconds: z.number().int().min(1).max(86_400),
    maxReorgDepth: z.number().int().min(1).max(10_000),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  })
  .strict();

export type KeeperFileConfig = z.output<typeof KeeperFileSchema>;

/** The keeper's settings with every human value parsed to the unit the code uses. */
export type KeeperSettings = {
  pollingIntervalMs: number;
  minProfitUsd: bigint;
  backstopMode: boolean;
  maxBatch: number;
  concurrency: number;
  /**
   * How a transaction is checked before it is sent. "engine": a plan computed on the index at the
   * current head is already the contract's outcome to the wei (the shared engine), so it is sent at
   * once with the gas model's bound as its limit; anything older goes through the node. "node":
   * every transaction is simulated by the node first (eth_simulateV1, or eth_call + eth_estimateGas).
   */
  preflight: "engine" | "node";
  feeCapWei: bigint;
  priorityFeeWei: bigint;
  profitPriorityPpm: bigint;
  replaceAfterBlocks: number;
  gasBudgetWeiPerHour: bigint;
  /**
   * A fixed native-token price (USD WAD), only when set explicitly (`nativeTokenPriceUsd`,
   * `--native-price-usd`): it overrides every feed. Absent: the price is read from a Chainlink
   * feed (see src/keeper/nativePrice.ts for the order).
   */
  nativeUsd?: bigint;
  /** The native token's USD Chainlink feed (proxy) the settings name; absent: the deployment file's. */
  nativeTokenPriceFeed?: Address;
  /** A feed answer older than this (chain time) is stale: the last good price is kept. */
  nativePriceMaxAgeSeconds: number;
  /** Overrides the protocol's measured gas model (see src/protocols/<name>/gas.ts); absent: the protocol's. */
  gas?: { single: bigint; batchBase: bigint; batchItem: bigint };
  checkpointPath: string;
  checkpointEveryBlocks: number;
  healthPort: number;
  /** Address the health server binds: 127.0.0.1 by default; 0.0.0.0 in a container, so that Prometheus can scrape it. */
  healthHost: string;
  staleHeadSeconds: number;
  stallSeconds: number;
  maxReorgDepth: number;
  logLevel: KeeperFileConfig["logLevel"];
};

/** A problem with a setting given on the command line: the message names the flag, not the field. */
export class SettingsFlagError extends ConfigError {
  override name = "SettingsFlagError";
}

/** Where overrides came from, to name them in errors: `flags.minProfitUsd = "--min-profit"`, under `source` ("run"). */
export type OverrideNames = { source: string; flags: Partial<Record<keyof KeeperFileConfig, string>> };

/**
 * Parse keeper settings: defaults from config/keeper.json, then `overrides` (flags). Every problem
 * is collected and reported in one ConfigError. A problem with an override that `names` knows is
 * told by its flag's name; when every problem is such, the error is a {@link SettingsFlagError}.
 */
export function parseKeeperSettings(
  raw: unknown,
  overrides: Record<string, unknown> = {},
  source = "keeper config",
  names?: OverrideNames,
): KeeperSettings {
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const merged = { ...(raw as object), ...given };
  const flagOf = (field: string): string | undefined =>
    Object.hasOwn(given, field) ? names?.flags[field as keyof KeeperFileConfig] : undefined;
  /** Throw every problem: "field: why" from the file, "--flag: why" from the command line. */
  const fail = (problems: { field: string; why: string }[]): never => {
    const fromFlags = problems.filter((p) => flagOf(p.field) !== undefined);
    const text = problems.map((p) => `${flagOf(p.field) ?? p.field}: ${p.why}`);
    if (names && fromFlags.length === problems.length) throw new SettingsFlagError(names.source, text);
    throw new ConfigError(source, text);
  };
  const parsed = KeeperFileSchema.safeParse(merged);
  if (!parsed.success) return fail(parsed.error.issues.map((i) => ({ field: issuePath(i.path) || "(root)", why: i.message })));
  const c = parsed.data;
  const problems: { field: string; why: string }[] = [];
  const num = <T>(field: string, fn: () => T, check?: (v: T) => string | undefined): T | undefined => {
    try {
      const v = fn();
      const bad = check?.(v);
      if (bad) problems.push({ field, why: bad });
      return v;
    } catch (e) {
      if (e instanceof HumanNumberError) problems.push({ field, why: e.message.replace(/^[^:]*: /, "") });
      else throw e;
      return undefined;
    }
  };
  const nonNegative = (v: bigint) => (v < 0n ? "must not be negative" : undefined);
  const minProfitUsd = num("minProfitUsd", () => parseWad(c.minProfitUsd, "USD"), nonNegative);
  const feeCapWei = num("feeCapGwei", () => parseWad(c.feeCapGwei, "gwei") / 10n ** 9n, (v) => (v <= 0n ? "must be above 0" : undefined));
  const priorityFeeWei = num("priorityFeeGwei", () => parseWad(c.priorityFeeGwei, "gwei") / 10n ** 9n, nonNegative);
  const profitPriorityPpm = num("profitPriorityShare", () => parsePpm(c.profitPriorityShare, "share"), (v) => (v > 1_000_000n ? "at most 100%" : undefined));
  const gasBudgetWeiPerHour = num("gasBudgetPerHourEth", () => parseWad(c.gasBudgetPerHourEth, "ETH"), (v) => (v <= 0n ? "must be above 0" : undefined));
  const nativeUsd = c.nativeTokenPriceUsd === undefined ? undefined : num("nativeTokenPriceUsd", () => parseWad(c.nativeTokenPriceUsd!, "USD"), (v) => (v <= 0n ? "must be above 0" : undefined));
  const feeCapOk = !problems.some((p) => p.field === "feeCapGwei");
  if (feeCapOk && feeCapWei !== undefined && priorityFeeWei !== undefined && priorityFeeWei > feeCapWei) {
    problems.push({ field: "priorityFeeGwei", why: `must not exceed ${flagOf("feeCapGwei") ?? "feeCapGwei"}` });
  }
  if (problems.length > 0) fail(problems);
  return {
    pollingIntervalMs: c.pollingIntervalMs,
    minProfitUsd: minProfitUsd!,
    backstopMode: c.backstopMode,
    maxBatch: c.maxBatch,
    concurrency: c.concurrency,
    preflight: c.preflight,
    feeCapWei: feeCapWei!,
    priorityFeeWei: priorityFeeWei!,
    profitPriorityPpm: profitPriorityPpm!,
    replaceAfterBlocks: c.replaceAfterBlocks,
    gasBudgetWeiPerHour: gasBudgetWeiPerHour!,
    ...(nativeUsd === undefined ? {} : { nativeUsd }),
    ...(c.nativeTokenPriceFeed ? { nativeTokenPriceFeed: getAddress(c.nativeTokenPriceFeed) } : {}),
    nativePriceMaxAgeSeconds: c.nativePriceMaxAgeSeconds ?? DEFAULT_NATIVE_PRICE_MAX_AGE_SECONDS,
    ...(c.gas ? { gas: { single: BigInt(c.gas.single), batchBase: BigInt(c.gas.batchBase), batchItem: BigInt(c.gas.batchItem) } } : {}),
    checkpointPath: c.checkpointPath,
    checkpointEveryBlocks: c.checkpointEveryBlocks,
    healthPort: c.healthPort,
    healthHost: c.healthHost ?? "127.0.0.1",
    staleHeadSeconds: c.staleHeadSeconds,
    stallSeconds: c.stallSeconds,
    maxReorgDepth: c.maxReorgDepth,
    logLevel: c.logLevel,
  };
}

export function loadKeeperSettings(
  overrides: Record<string, unknown> = {},
  path = join(CONFIG_DIR, "keeper.json"),
  names?: OverrideNames,
): KeeperSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(path, [(e as Error).message.split("\n")[0]!]);
  }
  return parseKeeperSettings(raw, overrides, path, names);
}

