/**
 * Options of {@link startAnvil} and the Anvil CLI arguments derived from them ({@link anvilArgs}).
 *
 * @module
 */

/** Anvil's default BIP-39 dev mnemonic. The derived keys are public test keys: never fund them on a real network. */
export const ANVIL_DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';

/** Chain id Anvil uses unless told otherwise (and unless forking). */
export const ANVIL_DEFAULT_CHAIN_ID = 31337;

/** Minimal logger shape (compatible with pino's `Logger`). */
export type AnvilLogger = {
  debug(obj: object, msg?: string): void;
};

/** Options for {@link startAnvil}. Every field is optional. */
export type AnvilOptions = {
  /** Port to listen on. Default `0`: the OS picks a free port, read back from Anvil's output. */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Chain id (`--chain-id`). Default: Anvil's (31337), or the fork's chain id when forking. */
  chainId?: number;
  /** Interval mining, in seconds (`--block-time`). `undefined` = automine (a block per transaction). */
  blockTime?: number;
  /** Number of dev accounts (`--accounts`). Anvil's default is 10. */
  accounts?: number;
  /** Balance of each dev account, in ether (`--balance`). Anvil's default is 10000. */
  balance?: number;
  /**
   * Mnemonic for the dev accounts. Default: {@link ANVIL_DEFAULT_MNEMONIC}, passed explicitly so the
   * accounts stay deterministic even if Anvil's default ever changes.
   */
  mnemonic?: string;
  /** Fork from this JSON-RPC endpoint (`--fork-url`). */
  forkUrl?: string;
  /** Block to fork at (`--fork-block-number`). Only meaningful with {@link AnvilOptions.forkUrl}. */
  forkBlockNumber?: bigint | number;
  /**
   * Keep Anvil's on-disk fork cache (`~/.foundry/cache/rpc/<chain>/<block>`). Default `false`:
   * `--no-storage-caching` is passed, because the cache is keyed by chain id + block number only,
   * so forks of two different local chains (both 31337) at the same height would share stale state.
   * Set `true` for forks of real networks, where the cache saves RPC calls.
   */
  forkCache?: boolean;
  /** EIP-170 contract code size limit in bytes (`--code-size-limit`). */
  codeSizeLimit?: number;
  /** Block gas limit (`--gas-limit`). */
  gasLimit?: bigint | number;
  /** Enable step tracing for geth-style `debug_trace*` results (`--steps-tracing`). */
  stepsTracing?: boolean;
  /** Extra CLI arguments appended verbatim (after the ones derived from the options above). */
  extraArgs?: readonly string[];
  /** Path of the Anvil executable. Default: {@link resolveAnvilBinary}(). */
  binary?: string;
  /** Extra environment variables for the Anvil process (merged over `process.env`). */
  env?: Readonly<Record<string, string>>;
  /** Bound on the wait for `Listening on`. Default 20 000 ms (forks of slow remotes may need more). */
  startTimeoutMs?: number;
  /** Bound on the wait for exit after SIGTERM in {@link AnvilInstance.stop}, before SIGKILL. Default 5 000 ms. */
  stopTimeoutMs?: number;
  /** Lines of stdout and of stderr kept in the ring buffers. Default 200 each. */
  outputLines?: number;
  /** Receives lifecycle events and every output line at debug level. */
  logger?: AnvilLogger;
};

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/** CLI arguments {@link startAnvil} passes for the given options (exported for logging and tests). */
export function anvilArgs(opts: AnvilOptions = {}): string[] {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`startAnvil: port must be an integer in 0..65535, got ${String(port)}`);
  }
  const args = ['--port', String(port), '--host', opts.host ?? '127.0.0.1'];
  args.push('--mnemonic', opts.mnemonic ?? ANVIL_DEFAULT_MNEMONIC);
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.accounts !== undefined) args.push('--accounts', String(opts.accounts));
  if (opts.balance !== undefined) args.push('--balance', String(opts.balance));
  if (opts.forkUrl !== undefined) {
    args.push('--fork-url', opts.forkUrl);
    if (opts.forkBlockNumber !== undefined) args.push('--fork-block-number', opts.forkBlockNumber.toString());
    if (opts.forkCache !== true) args.push('--no-storage-caching');
  } else if (opts.forkBlockNumber !== undefined) {
    throw new TypeError('startAnvil: forkBlockNumber requires forkUrl');
  }
  if (opts.codeSizeLimit !== undefined) args.push('--code-size-limit', String(opts.codeSizeLimit));
  if (opts.gasLimit !== undefined) args.push('--gas-limit', opts.gasLimit.toString());
  if (opts.stepsTracing === true) args.push('--steps-tracing');
  const extra = opts.extraArgs ?? [];
  const quiet = extra.find((a) => a === '-q' || a === '--quiet' || a === '--silent');
  if (quiet !== undefined) {
    // Would suppress the `Listening on` line we wait for; fail now instead of timing out.
    throw new TypeError(`startAnvil: ${quiet} is not supported (output is captured in a ring buffer instead)`);
  }
  args.push(...extra);
  return args;
}
