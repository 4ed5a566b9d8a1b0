import { resolve } from "node:path";
import { DEFAULT_MAX_HEAD_LAG, connect, redactUrl, urlSecrets, type Connection } from "../chain/clients.ts";
import { checkDeploymentChain, checkDeploymentCode, checkDeploymentMatchesChain, checkOutputPath, readDeployment } from "../chain/deployment.ts";
import { SettingsFlagError, loadKeeperSettings, type KeeperSettings, type OverrideNames } from "../config/keeper.ts";
import { startHealthServer, type HealthProbes } from "../keeper/healthServer.ts";
import { beforeStart } from "../keeper/readiness.ts";
import type { SweepSettings } from "../keeper/sweep.ts";
import { followHeads } from "../keeper/followHeads.ts";
import { createKeeper } from "../keeper/createKeeper.ts";
import { nativePriceSourceOf } from "../keeper/nativePrice.ts";
import type { Keeper } from "../keeper/keeper.ts";
import { protocolFor } from "../protocols/index.ts";
import { BaseError } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { createMetrics, type Metrics } from "../lib/metrics.ts";
import { lockFile, type PidLock } from "../lib/pidLock.ts";
import { shutdownOf } from "../lib/shutdown.ts";
import { HumanNumberError, parseWad } from "../lib/units.ts";
import { getAddress, isAddress, zeroAddress, type Address } from "viem";
import { UsageError, defineCommand, integerFlag, required } from "./command.ts";
import { rpcUrls, sendRpcUrls } from "./rpcUrl.ts";
import { loadSigningKey } from "./signer.ts";

export class MissingKeeperKeyError extends BaseError {
  override name = "MissingKeeperKeyError";
  constructor() {
    super("KEEPER_PRIVATE_KEY is not set and no --keystore is given (see .env.example)", { userError: true });
  }
}

export class HealthPortInUseError extends BaseError {
  override name = "HealthPortInUseError";
  constructor(port: number, why = "is in use (another perp-keeper?)") {
    super(`port ${port} ${why}; pass --health-port N, or 0 for any free port`, { userError: true });
  }
}

/** Exit code when the daemon stops with transactions possibly still in flight (listed in the checkpoint). */
export const EXIT_IN_FLIGHT = 3;
/** How long past --grace a stop may take before the process gives up on it and exits. */
export const HARD_STOP_MARGIN_MS = 3_000;

const OVERRIDE_NAMES: OverrideNames = {
  source: "run",
  flags: {
    backstopMode: "--backstop",
    minProfitUsd: "--min-profit",
    nativeTokenPriceUsd: "--native-price-usd",
    feeCapGwei: "--fee-cap-gwei",
    priorityFeeGwei: "--priority-fee-gwei",
    maxBatch: "--max-batch",
    preflight: "--preflight",
    pollingIntervalMs: "--polling-interval",
    healthPort: "--health-port",
    healthHost: "--health-host",
    checkpointPath: "--checkpoint",
    logLevel: "--log-level",
  },
};

export const runCommand = defineCommand({
  name: "run",
  summary: "Run the keeper daemon: index the market, watch prices, and liquidate partially, ranked by profit.",
  synopsis: "[--rpc URL] --deployment FILE [--keystore FILE] [options]",
  description:
    "The key comes from --keystore FILE (an encrypted keystore, as `cast wallet import` writes it; its password " +
    "from KEEPER_KEYSTORE_PASSWORD or KEEPER_KEYSTORE_PASSWORD_FILE) or, for local chains and tests, from " +
    "KEEPER_PRIVATE_KEY. RPC URLs come from --rpc or, kept out of argv, from KEEPER_RPC_URLS or " +
    "KEEPER_RPC_URLS_FILE (several: comma-separated; the first is the primary, the others its fallbacks, and one whose head " +
    "lags the best by more than --max-head-lag blocks takes no reads until it catches up). An http(s) URL is polled for " +
    "heads; a ws(s) URL subscribes to them (newHeads) and reconnects on a drop. Transactions go to the read endpoints, or " +
    "only to the send relays of --send-rpc / KEEPER_SEND_RPC_URLS[_FILE] (a private relay keeps calldata out of the " +
    "public mempool; with several, each transaction goes to all). Settings default to config/keeper.json; flags override them. " +
    "Gas (and on an OP-stack chain, detected by its GasPriceOracle predeploy, each transaction's L1 data fee) is valued at the " +
    "native token's USD price, taken in this order: --native-price-usd, or nativeTokenPriceUsd in the settings file (a fixed " +
    "price, only when set explicitly); else the Chainlink feed nativeTokenPriceFeed names in the settings file; else the " +
    "deployment file's nativeUsdFeed (devnet and demo deploy one). A feed is read at a head whose logs bloom may hold a new round of it, and every 64 heads; an answer older than " +
    "nativePriceMaxAgeSeconds keeps the last good price (keeper_native_price_stale). With none of them the keeper does not start. " +
    "Serves /livez (the loop is alive), /readyz (ready: started, a new head within staleHeadSeconds, every market " +
    "with positions priced, the wallet at or over --min-balance and able to pay; else 503 with reason codes), /healthz " +
    "(an alias of /readyz) and /metrics on --health-host (127.0.0.1 by default):--health-port. With --sweep-to and " +
    "--sweep-above, reward tokens over the threshold go to the cold address in one transfer while no liquidation is " +
    "queued or in flight. SIGINT/SIGTERM stop intake, let in-flight " +
    "transactions settle for --grace seconds, write the checkpoint and exit. If the stop takes longer than " +
    "--grace plus 3 s (a node that no longer answers), the process writes what it can and exits anyway. " +
    "The daemon also stops, as on SIGTERM, when its parent process exits (npx/npm exec do not pass signals " +
    "on). One daemon per checkpoint file (a lock beside it). Exit codes: 0 stopped with nothing in flight; " +
    "1 an error; 2 a wrong command line; 3 stopped with transactions possibly still in flight (the " +
    "checkpoint lists them, and the next start follows them).",
  handlesSignals: true,
  options: {
    rpc: { type: "string", value: "URL", multiple: true, description: "JSON-RPC endpoint, http(s) or ws(s); repeat it or separate URLs with commas for fallbacks (default: KEEPER_RPC_URLS or the file KEEPER_RPC_URLS_FILE names)" },
    "send-rpc": { type: "string", value: "URL", multiple: true, description: "send relay: eth_sendRawTransaction goes there only, to every one given (default: KEEPER_SEND_RPC_URLS[_FILE]; none: sends go to the read endpoints)" },
    "send-fallback-public": {
      type: "boolean",
      description: "when every send relay is down, send through the read endpoints instead of failing the send: the transaction and its calldata then reach the public mempool (front-running)",
    },
    "max-head-lag": { type: "string", value: "BLOCKS", description: `a read endpoint whose head lags the best one's by more than this takes no reads (default ${DEFAULT_MAX_HEAD_LAG})` },
    deployment: { type: "string", value: "FILE", description: "deployment JSON written by deploy/devnet (required)" },
    keystore: { type: "string", value: "FILE", description: "encrypted keystore of the keeper's key (password from KEEPER_KEYSTORE_PASSWORD[_FILE])" },
    "dry-run": { type: "boolean", description: "plan and simulate, never send" },
    backstop: { type: "boolean", description: "liquidate at a loss when needed to protect solvency" },
    "min-profit": { type: "string", value: "USD", description: "minimum profit per liquidation" },
    "native-price-usd": { type: "string", value: "USD", description: "fixed native-token price instead of a Chainlink feed (default: the feed; see above)" },
    "fee-cap-gwei": { type: "string", value: "GWEI", description: "cap on maxFeePerGas" },
    "priority-fee-gwei": { type: "string", value: "GWEI", description: "base priority fee" },
    "max-batch": { type: "string", value: "N", description: "liquidations per transaction at most" },
    preflight: { type: "string", value: "engine|node", description: "check before sending: the exact engine at the head, or a node simulation of every transaction" },
    "polling-interval": { type: "string", value: "MS", description: "how often to ask for a new head" },
    "health-port": { type: "string", value: "PORT", description: "port of /healthz and /metrics (0: any free port)" },
    "health-host": { type: "string", value: "ADDRESS", description: "address the health server binds (default 127.0.0.1; 0.0.0.0 in a container)" },
    "min-balance": { type: "string", value: "ETH", description: "not ready (/readyz 503, reason low_balance) while the wallet holds less native token than this" },
    "sweep-to": { type: "string", value: "ADDRESS", description: "cold address the keeper's reward tokens over --sweep-above are sent to" },
    "sweep-above": { type: "string", value: "AMOUNT", description: "reward tokens (the deployment's collateral token, whole tokens) to keep; the excess goes to --sweep-to" },
    checkpoint: { type: "string", value: "FILE", description: "checkpoint file (default from config/keeper.json)" },
    grace: { type: "string", value: "SECONDS", description: "shutdown grace period for in-flight transactions (default 15)" },
    "log-level": { type: "string", value: "LEVEL", description: "trace, debug, info, warn, error" },
    pretty: { type: "boolean", description: "human log lines instead of JSON (default on a terminal)" },
    config: { type: "string", value: "FILE", description: "keeper settings file (default config/keeper.json)" },
  },
  examples: [
    "KEEPER_PRIVATE_KEY=0x… perp-keeper run --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json",
    "KEEPER_RPC_URLS_FILE=/run/secrets/rpc KEEPER_KEYSTORE_PASSWORD_FILE=/run/secrets/pw perp-keeper run --keystore keeper.json --deployment deployments/mine.json",
  ],
  async run(flags, io) {
    const rpc = rpcUrls("run", flags.rpc, io);
    const sendUrls = sendRpcUrls("run", flags["send-rpc"], io);
    if (flags["send-fallback-public"] && sendUrls.length === 0) throw new UsageError("run: --send-fallback-public needs send relays (--send-rpc or KEEPER_SEND_RPC_URLS)");
    const deploymentPath = resolve(io.cwd, required("run", flags, "deployment"));
    const num = (name: string, v: string | undefined, min: number, max: number) =>
      v === undefined ? undefined : integerFlag("run", name, v, min, max);
    // Everything checkable offline is checked before touching the network.
    const overrides = {
      backstopMode: flags.backstop ? true : undefined,
      minProfitUsd: flags["min-profit"],
      nativeTokenPriceUsd: flags["native-price-usd"],
      feeCapGwei: flags["fee-cap-gwei"],
      priorityFeeGwei: flags["priority-fee-gwei"],
      maxBatch: num("max-batch", flags["max-batch"], 1, 50),
      preflight: flags.preflight,
      pollingIntervalMs: num("polling-interval", flags["polling-interval"], 10, 60_000),
      healthPort: num("health-port", flags["health-port"], 0, 65_535),
      healthHost: flags["health-host"],
      checkpointPath: flags.checkpoint ? resolve(io.cwd, flags.checkpoint) : undefined,
      logLevel: flags["log-level"],
    };
    const settings = settingsFrom(overrides, flags.config ? resolve(io.cwd, flags.config) : undefined);
    if (!flags.checkpoint) settings.checkpointPath = resolve(io.cwd, settings.checkpointPath);
    checkOutputPath(settings.checkpointPath);
    const graceSeconds = num("grace", flags.grace, 0, 3_600) ?? 15;
    const maxHeadLag = num("max-head-lag", flags["max-head-lag"], 0, 100_000) ?? DEFAULT_MAX_HEAD_LAG;
    const minBalanceWei = flags["min-balance"] === undefined ? undefined : amountFlag("min-balance", flags["min-balance"]);
    const sweep = sweepFlags(flags["sweep-to"], flags["sweep-above"]);
    const deployment = readDeployment(deploymentPath);
    const protocol = protocolFor(deployment, deploymentPath);
    const key = await loadSigningKey("keeper", flags.keystore, io);
    if (!key) throw new MissingKeeperKeyError();
    const account = key.account;

    const logger = createLogger({
      level: settings.logLevel,
      pretty: flags.pretty || process.stderr.isTTY === true,
      secrets: [key.privateKey, ...[...rpc, ...sendUrls].flatMap(urlSecrets)],
    });
    const metrics = createMetrics({ defaultMetrics: true });
    // The process's shutdown (SIGINT/SIGTERM, the parent exiting): from its kill on, the stop has
    // --grace plus a margin; then the process gives up on it (a node that no longer answers keeps
    // retries, receipts and the drain waiting far longer).
    const shutdown = shutdownOf(io.signal);
    shutdown.setDeadline(graceSeconds * 1000 + HARD_STOP_MARGIN_MS);
    // The health port is taken before any network work: a busy port fails now, not after a backfill.
    // Until the keeper has started, /readyz (and /healthz) answers 503 with reason "starting"; /livez 200.
    let keeper: Keeper | undefined;
    const probes: HealthProbes = {
      live: () => keeper?.liveness() ?? beforeStart().live,
      ready: () => keeper?.readiness() ?? beforeStart(metrics).ready,
    };
    const health = await serveHealth(settings.healthPort, settings.healthHost, metrics, probes);
    let lock: PidLock | undefined;
    let connection: Connection | undefined;
    let gaveUp: number | undefined;
    const giveUp = () => (gaveUp ??= stopNow(keeper, logger, graceSeconds, settings.checkpointPath));
    const daemon = async (): Promise<number> => {
      const c = await connect(rpc, account, {
        pollingInterval: settings.pollingIntervalMs,
        metrics,
        signal: shutdown.deadline,
        logger,
        sendUrls,
        sendFallbackPublic: flags["send-fallback-public"],
        maxHeadLag,
      });
      connection = c;
      checkDeploymentChain(deployment, c.chainId, deploymentPath);
      await checkDeploymentCode(c, deployment, deploymentPath);
      await checkDeploymentMatchesChain(c, deployment, deploymentPath);
      lock = lockFile(settings.checkpointPath);
      nativePriceSourceOf(settings, deployment); // no feed and no fixed price: one line (the lock is released on the way out)
      // The reward token is the deployment's collateral token (the market pays keepers in it).
      const sweepSettings: SweepSettings | undefined = sweep && { ...sweep, token: deployment.contracts.token };
      const wallet = { ...(minBalanceWei === undefined ? {} : { minBalanceWei }), ...(sweepSettings ? { sweep: sweepSettings } : {}) };
      const k = createKeeper({ protocol, publicClient: c.publicClient, walletClient: c.walletClient, deployment, settings, logger, metrics, dryRun: flags["dry-run"], privateSends: c.relays.length > 0, signal: shutdown.signal, wallet });
      keeper = k;
      logger.info(
        {
          rpc: c.endpoints.map((e) => `${e.id} ${redactUrl(e.url)}`).join(", "),
          ...(c.relays.length > 0 ? { sendRelays: c.relays.map((e) => `${e.id} ${redactUrl(e.url)}`).join(", "), sendFallbackPublic: flags["send-fallback-public"] } : {}),
          heads: c.newHeads ? `newHeads on ${c.newHeads.endpoint.id}` : "polling",
          chainId: c.chainId,
          market: deployment.contracts.market,
          keeper: account.address,
          dryRun: flags["dry-run"],
        },
        "starting",
      );
      // Start, then follow heads until shutdown begins.
      const following = k.start().then(() => {
        logger.info({ port: health.port }, "serving /healthz and /metrics on 127.0.0.1");
        return followHeads(c.publicClient, k, settings.pollingIntervalMs, shutdown.signal, logger, { metrics, newHeads: c.newHeads });
      });
      // Shutdown's cleanup: once intake has stopped, settle in-flight transactions within --grace and
      // write the checkpoint. A start that failed or was stopped has nothing to settle: its error ends the command.
      let exitCode: number | undefined;
      let stopError: unknown;
      shutdown.add(async () => {
        if (!(await following.then(() => true, () => false))) return;
        logger.info({ signal: String(shutdown.signal.reason ?? "") }, "shutting down: intake stopped, settling in-flight transactions");
        try {
          const r = await k.stop(graceSeconds * 1000, { signal: shutdown.deadline });
          if (r.timedOut) {
            exitCode = giveUp();
            return;
          }
          const s = k.executor.stats();
          const inFlight = k.executor.inFlight().length;
          logger.info({ sent: s.sent, mined: s.mined, reverted: s.reverted, rewardTokens: s.rewardTokens, gasSpentWei: s.gasSpentWei, inFlight }, "stopped");
          exitCode = inFlight > 0 ? EXIT_IN_FLIGHT : 0;
        } catch (e) {
          stopError = e;
        }
      });
      await following;
      const end = await shutdown.kill("stopped"); // begun by the signal: waits for the stop above
      if (stopError !== undefined) throw stopError;
      return end === "deadline" || exitCode === undefined ? giveUp() : exitCode;
    };
    // At the hard deadline the stop is given up, wherever it waits (a hung connect or start too).
    let onDeadline = () => {};
    const deadline = new Promise<number>((resolve) => {
      onDeadline = () => resolve(giveUp());
      shutdown.deadline.addEventListener("abort", onDeadline, { once: true });
    });
    try {
      return await Promise.race([daemon(), deadline]);
    } finally {
      shutdown.deadline.removeEventListener("abort", onDeadline);
      // The command is over: shutdown (the cleanups not run yet), then what it holds.
      await shutdown.kill("exit");
      connection?.close();
      lock?.release();
      health.server.closeAllConnections();
      await health.close();
    }
  },
});

/** Settings from the file and the flags; a bad flag value is a usage error naming the flag. */
function settingsFrom(overrides: Record<string, unknown>, path: string | undefined): KeeperSettings {
  try {
    return path ? loadKeeperSettings(overrides, path, OVERRIDE_NAMES) : loadKeeperSettings(overrides, undefined, OVERRIDE_NAMES);
  } catch (e) {
    if (e instanceof SettingsFlagError) throw new UsageError(e.shortMessage);
    throw e;
  }
}

/** A non-negative human amount ("0.05", "1,000") from flag `name`, as 18-decimal fixed point. */
function amountFlag(name: string, value: string): bigint {
  let v: bigint;
  try {
    v = parseWad(value, `--${name}`);
  } catch (e) {
    if (e instanceof HumanNumberError) throw new UsageError(`run: ${e.message}`);
    throw e;
  }
  if (v < 0n) throw new UsageError(`run: --${name} must not be negative, got ${value}`);
  return v;
}

/** --sweep-to and --sweep-above: both or neither; a real, non-zero address. */
function sweepFlags(to: string | undefined, above: string | undefined): Omit<SweepSettings, "token"> | undefined {
  if (to === undefined && above === undefined) return undefined;
  if (to === undefined) throw new UsageError("run: --sweep-above needs --sweep-to ADDRESS (where the excess goes)");
  if (above === undefined) throw new UsageError("run: --sweep-to needs --sweep-above AMOUNT (the reward tokens to keep)");
  if (!isAddress(to.trim(), { strict: true })) throw new UsageError(`run: --sweep-to must be an address (0x and 40 hex digits, checksummed if mixed case), got "${to}"`);
  const address: Address = getAddress(to.trim());
  if (address === zeroAddress) throw new UsageError("run: --sweep-to must not be the zero address (the tokens would be burnt)");
  return { to: address, aboveWad: amountFlag("sweep-above", above) };
}

/** Serve /livez, /readyz, /healthz and /metrics on `host`:`port`; a busy port is the user's to fix. */
async function serveHealth(port: number, host: string, metrics: Metrics, probes: HealthProbes): Promise<Awaited<ReturnType<typeof startHealthServer>>> {
  try {
    return await startHealthServer({ port, host, registry: metrics.registry, probes });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new HealthPortInUseError(port);
    if (code === "EACCES") throw new HealthPortInUseError(port, "is not allowed to this user");
    if (code === "EADDRNOTAVAIL") throw new BaseError(`--health-host ${host}: no such address on this host`, { userError: true });
    throw e;
  }
}

/** The grace period is over: write what can be written, say so in one line, and give the exit code. */
function stopNow(keeper: Keeper | undefined, logger: Logger, graceSeconds: number, checkpoint: string): number {
  let written = keeper !== undefined;
  try {
    keeper?.writeCheckpoint();
  } catch (e) {
    written = false;
    logger.warn({ err: e }, "could not write the checkpoint");
  }
  const inFlight = keeper?.executor.inFlight().length ?? 0;
  logger.error(
    { graceSeconds, marginSeconds: HARD_STOP_MARGIN_MS / 1000, inFlight, checkpoint: written ? checkpoint : null, exitCode: inFlight > 0 ? EXIT_IN_FLIGHT : 0 },
    inFlight > 0 ? "grace period over: exiting with transactions possibly still in flight" : "grace period over: exiting",
  );
  return inFlight > 0 ? EXIT_IN_FLIGHT : 0;
}
