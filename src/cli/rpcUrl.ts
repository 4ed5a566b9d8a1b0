import { ConfigError } from "../lib/errors.ts";
import { UsageError, rpcUrlFlag, type CliIO } from "./command.ts";
import { envOrFile } from "./envSecret.ts";

/**
 * The RPC URL of a command: `--rpc`, or else KEEPER_RPC_URLS (or KEEPER_RPC_URLS_FILE) from the
 * environment, so that a URL with an API key in it need not be in argv. The variable's name is
 * plural for what comes next (several URLs behind viem's fallback transport); today it takes one.
 */

export const RPC_URLS_VARIABLE = "KEEPER_RPC_URLS";

export function rpcUrl(command: string, flag: string | undefined, io: Pick<CliIO, "env" | "cwd">): string {
  if (flag !== undefined) return rpcUrlFlag(command, flag);
  const fromEnv = envOrFile(io.env, RPC_URLS_VARIABLE, io.cwd);
  if (fromEnv === undefined || fromEnv.value.trim() === "") {
    throw new UsageError(`${command}: --rpc is required (or set ${RPC_URLS_VARIABLE} in the environment; see perp-keeper ${command} --help)`);
  }
  const urls = fromEnv.value.split(/[\s,]+/).filter((s) => s !== "");
  if (urls.length > 1) {
    throw new ConfigError(fromEnv.from, [`lists ${urls.length} URLs; this version uses one (several, with fallback between them, are not supported yet)`]);
  }
  const url = urls[0]!;
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  // The value is not echoed: it may carry an API key.
  if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) throw new ConfigError(fromEnv.from, ["not an http(s) URL"]);
  return url;
}
