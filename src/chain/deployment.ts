import { readFileSync } from "node:fs";
import { ContractFunctionRevertedError, ContractFunctionZeroDataError, BaseError as ViemBaseError, getAddress, isAddress, type Address } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { z } from "zod";
import { nearestExisting, writeFileAtomic } from "../lib/atomicFile.ts";
import { BaseError, ConfigError } from "../lib/errors.ts";
import { zodProblems } from "../lib/zodIssues.ts";
import type { ChainClients } from "./clients.ts";
import type { Deployment } from "./deploy.ts";

/**
 * The deployment file (`perp-keeper deploy --out`, `perp-keeper devnet --out`): pretty JSON, chain id
 * as a number, block numbers as decimal strings, addresses checksummed. With the ABIs in abi/, it is
 * all a client needs to find and read the market.
 */

const address = z.string().refine((s) => isAddress(s, { strict: false }), { message: "not an address" });
const blockNumber = z.union([
  z.string().regex(/^\d+$/, { message: "not a block number (decimal string)" }),
  z.number().int().nonnegative(),
]);

const DeploymentSchema = z.object({
  /** Which protocol module keeps this market (src/protocols/<name>); absent: the reference market. */
  protocol: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, { error: "not a protocol name (lowercase letters, digits, dashes)" }).optional(),
  chainId: z.number().int().positive(),
  deployBlock: blockNumber,
  deployer: address,
  preset: z.string().min(1).max(64),
  contracts: z.object({ market: address, token: address }),
  markets: z
    .array(
      z.object({
        id: z.number().int().nonnegative(),
        symbol: z.string().min(1).max(32),
        feed: address,
        feedDecimals: z.number().int().min(0).max(18),
        feeds: z.array(address).min(2).max(7).optional(),
      }),
    )
    .min(1, { error: "must list at least one market" }),
  /** The native token's USD Chainlink feed (devnet and demo deploy one); optional. */
  nativeUsdFeed: address.optional(),
});

/** The deployment as JSON: bigint → decimal string, addresses checksummed. */
export function deploymentToJson(d: Deployment): string {
  const out = {
    ...(d.protocol === undefined ? {} : { protocol: d.protocol }),
    chainId: d.chainId,
    deployBlock: d.deployBlock.toString(),
    deployer: getAddress(d.deployer),
    preset: d.preset,
    contracts: { market: getAddress(d.contracts.market), token: getAddress(d.contracts.token) },
    markets: d.markets.map((m) => ({ id: m.id, symbol: m.symbol, feed: getAddress(m.feed), feedDecimals: m.feedDecimals, ...(m.feeds ? { feeds: m.feeds.map((f) => getAddress(f)) } : {}) })),
    ...(d.nativeUsdFeed === undefined ? {} : { nativeUsdFeed: getAddress(d.nativeUsdFeed) }),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Parse and validate a deployment file's content; every problem is collected into one ConfigError. */
export function parseDeployment(raw: unknown, source = "deployment"): Deployment {
  const parsed = DeploymentSchema.safeParse(raw, {
    error: (issue) => (issue.input === undefined ? "missing" : undefined),
  });
  if (!parsed.success) {
    throw new ConfigError(source, zodProblems(parsed.error));
  }
  const d = parsed.data;
  const ids = d.markets.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new ConfigError(source, ["markets: duplicate market ids"]);
  return {
    ...(d.protocol === undefined ? {} : { protocol: d.protocol }),
    chainId: d.chainId,
    deployBlock: BigInt(d.deployBlock),
    deployer: getAddress(d.deployer),
    preset: d.preset,
    contracts: { market: getAddress(d.contracts.market), token: getAddress(d.contracts.token) },
    markets: d.markets.map((m) => ({ ...m, feed: getAddress(m.feed), ...(m.feeds ? { feeds: m.feeds.map((f) => getAddress(f)) } : {}) })),
    ...(d.nativeUsdFeed === undefined ? {} : { nativeUsdFeed: getAddress(d.nativeUsdFeed) }),
  };
}

/** Read and validate a deployment file: missing file, bad JSON or bad fields → one ConfigError line. */
export function readDeployment(path: string): Deployment {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot read the file (${code ?? "error"})`;
    throw new ConfigError(path, [why]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(path, [`not valid JSON (${(e as Error).message})`]);
  }
  return parseDeployment(raw, path);
}

/**
 * Refuse an output path that cannot be written (a directory, or under a file), before any
 * transaction is sent. Missing parent directories are fine: {@link writeDeployment} creates them.
 */
export function checkOutputPath(path: string): void {
  const found = nearestExisting(path, (at, code) => new ConfigError(at, [code === "ENAMETOOLONG" ? "the path is too long" : `cannot use this path (${code ?? "error"})`]));
  if (!found) return;
  if (found.at === path) {
    if (found.stat.isDirectory()) throw new ConfigError(path, ["is a directory, expected a file path"]);
    return;
  }
  if (!found.stat.isDirectory()) throw new ConfigError(path, [`${found.at} is not a directory`]);
}

/**
 * Write the deployment atomically: a temp file in the same directory, then rename over `path`, so a
 * reader never sees half a file and a failure leaves nothing behind. Creates missing directories.
 */
export function writeDeployment(path: string, d: Deployment): void {
  writeFileAtomic(path, deploymentToJson(d));
}

export class DeploymentChainMismatchError extends BaseError {
  override name = "DeploymentChainMismatchError";
  constructor(
    readonly source: string,
    readonly deploymentChainId: number,
    readonly rpcChainId: number,
  ) {
    super(`${source} is for chain ${deploymentChainId} but the RPC is chain ${rpcChainId}`, { userError: true });
  }
}

/** The deployment must describe the chain the RPC serves. */
export function checkDeploymentChain(d: Pick<Deployment, "chainId">, chainId: number, source = "deployment.json"): void {
  if (d.chainId !== chainId) throw new DeploymentChainMismatchError(source, d.chainId, chainId);
}

export class DeploymentNotFoundError extends BaseError {
  override name = "DeploymentNotFoundError";
  constructor(source: string, what: string, addr: Address, chainId: number) {
    super(`${source}: no contract at ${what} ${addr} on chain ${chainId} (was the chain restarted since it was deployed?)`, {
      userError: true,
    });
  }
}

/** The deployment's contracts must have code on the RPC's chain (a restarted Anvil has none). */
export async function checkDeploymentCode(
  c: Pick<ChainClients, "publicClient">,
  d: Deployment,
  source = "deployment.json",
): Promise<void> {
  const targets: [string, Address][] = [
    ["market", d.contracts.market],
    ["token", d.contracts.token],
  ];
  const codes = await Promise.all(targets.map(([, a]) => c.publicClient.getCode({ address: a })));
  codes.forEach((code, i) => {
    if (code === undefined || code === "0x") {
      const [what, addr] = targets[i]!;
      throw new DeploymentNotFoundError(source, what, addr, d.chainId);
    }
  });
}

export class NotAPerpMarketError extends BaseError {
  override name = "NotAPerpMarketError";
  constructor(source: string, addr: Address, why: string) {
    super(`${source}: contracts.market ${addr} is not a PerpMarket (${why})`, { userError: true });
  }
}

export class DeploymentMismatchError extends BaseError {
  override name = "DeploymentMismatchError";
}

/** A call the contract does not answer (no such function, or a revert), as opposed to a failed request. */
function notAnswered(e: unknown): boolean {
  return e instanceof ViemBaseError && e.walk((x) => x instanceof ContractFunctionRevertedError || x instanceof ContractFunctionZeroDataError) !== null;
}

/**
 * The deployment file must describe the market on chain, not just any contract: the market address
 * answers PerpMarket's views, holds the file's collateral token, and lists every market of the file
 * with the same feed. (A hand-edited file otherwise fails late and far away, or indexes prices from a
 * feed the market never reads.) Run after {@link checkDeploymentCode}.
 */
export async function checkDeploymentMatchesChain(
  c: Pick<ChainClients, "publicClient">,
  d: Deployment,
  source = "deployment.json",
): Promise<void> {
  const read = c.publicClient;
  const market = d.contracts.market;
  let count: bigint;
  let token: Address;
  try {
    const [n, t] = await Promise.all([
      read.readContract({ address: market, abi: PerpMarket.abi, functionName: "marketCount" }),
      read.readContract({ address: market, abi: PerpMarket.abi, functionName: "token" }),
      read.readContract({ address: market, abi: PerpMarket.abi, functionName: "globalLiquidation" }),
    ]);
    count = n;
    token = t;
  } catch (e) {
    if (notAnswered(e)) throw new NotAPerpMarketError(source, market, "it does not answer marketCount(), token() and globalLiquidation()");
    throw e;
  }
  if (getAddress(token) !== getAddress(d.contracts.token)) {
    throw new DeploymentMismatchError(
      `${source}: contracts.token is ${getAddress(d.contracts.token)} but the market at ${market} holds ${getAddress(token)}`,
      { userError: true },
    );
  }
  for (const m of d.markets) {
    if (BigInt(m.id) >= count) {
      throw new DeploymentMismatchError(`${source}: market ${m.symbol} (id ${m.id}) is not on the market at ${market}, which has ${count} market${count === 1n ? "" : "s"}`, {
        userError: true,
      });
    }
  }
  const onChain = await Promise.all(
    d.markets.map((m) => read.readContract({ address: market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(m.id)] })),
  );
  d.markets.forEach((m, i) => {
    const feed = getAddress(onChain[i]!.params.feed);
    if (feed !== getAddress(m.feed)) {
      throw new DeploymentMismatchError(`${source}: market ${m.symbol} (id ${m.id}) lists feed ${getAddress(m.feed)} but the market reads its price from ${feed}`, {
        userError: true,
      });
    }
  });
}
