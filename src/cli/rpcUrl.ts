import { endpointKind } from "../chain/transports/endpoints.ts";
import { ConfigError } from "../lib/errors.ts";
import { UsageError, type CliIO } from "./command.ts";
import { envOrFile } from "./envSecret.ts";

/**
 * The RPC URLs of a command: `--rpc` (repeatable, and/or comma-separated), or else KEEPER_RPC_URLS
 * (or KEEPER_RPC_URLS_FILE: commas, spaces or one a line) from the environment, so that a URL with
 * an API key in it need not be in argv. http(s) URLs are polled, ws(s) URLs subscribe; several are
 * read endpoints behind a fallback, the first the primary. The send relays of `run` come the same
 * way from `--send-rpc` or KEEPER_SEND_RPC_URLS[_FILE]. A URL is never echoed (it may carry a key).
 */

export const RPC_URLS_VARIABLE = "KEEPER_RPC_URLS";
export const SEND_RPC_URLS_VARIABLE = "KEEPER_SEND_RPC_URLS";

const LIST = /[\s,]+/;

/** The problem with a list of URLs (by position, never quoting one), or undefined. */
function problemOf(urls: readonly string[]): string | undefined {
  if (urls.length === 0) return "no URL";
  const bad = urls.findIndex((u) => endpointKind(u) === undefined);
  if (bad >= 0) return urls.length === 1 ? "not an http(s) or ws(s) URL" : `URL ${bad + 1} of ${urls.length} is not an http(s) or ws(s) URL`;
  const twice = urls.findIndex((u, i) => urls.indexOf(u) !== i);
  if (twice >= 0) return `URL ${twice + 1} of ${urls.length} is listed twice`;
  return undefined;
}

/** URLs from a flag's value(s) (the flag parser joins repeats with commas), or undefined when absent. */
function fromFlag(command: string, flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const urls = value.split(LIST).filter((s) => s !== "");
  const problem = problemOf(urls);
  if (problem) throw new UsageError(urls.length > 1 ? `${command}: --${flag}: ${problem}` : `${command}: --${flag} must be an http(s) or ws(s) URL`);
  return urls;
}

/** URLs from `variable` (or its _FILE), or undefined when neither is set. */
function fromEnv(variable: string, io: Pick<CliIO, "env" | "cwd">): string[] | undefined {
  const v = envOrFile(io.env, variable, io.cwd);
  if (v === undefined || v.value.trim() === "") return undefined;
  const urls = v.value.split(LIST).filter((s) => s !== "");
  const problem = problemOf(urls);
  if (problem) throw new ConfigError(v.from, [problem]);
  return urls;
}

/** The read endpoints of `command`: `--rpc`, else KEEPER_RPC_URLS[_FILE]; required. */
export function rpcUrls(command: string, flag: string | undefined, io: Pick<CliIO, "env" | "cwd">): string[] {
  const urls = fromFlag(command, "rpc", flag) ?? fromEnv(RPC_URLS_VARIABLE, io);
  if (!urls) throw new UsageError(`${command}: --rpc is required (or set ${RPC_URLS_VARIABLE} in the environment; see perp-keeper ${command} --help)`);
  return urls;
}

/** The send relays of `run`: `--send-rpc`, else KEEPER_SEND_RPC_URLS[_FILE]; none when neither is set. */
export function sendRpcUrls(command: string, flag: string | undefined, io: Pick<CliIO, "env" | "cwd">): string[] {
  return fromFlag(command, "send-rpc", flag) ?? fromEnv(SEND_RPC_URLS_VARIABLE, io) ?? [];
}
