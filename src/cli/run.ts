import { resolve } from "node:path";
import { connect, redactUrl, urlSecrets } from "../chain/clients.ts";
import { checkDeploymentChain, checkDeploymentCode, checkOutputPath, readDeployment } from "../chain/deployment.ts";
import { loadKeeperSettings } from "../config/keeper.ts";
import { startHealthServer } from "../keeper/healthServer.ts";
import { followHeads } from "../keeper/followHeads.ts";
import { Keeper } from "../keeper/keeper.ts";
import { BaseError } from "../lib/errors.ts";
import { createLogger } from "../lib/logger.ts";
import { createMetrics } from "../lib/metrics.ts";
import { defineCommand, integerFlag, required, rpcUrlFlag } from "./command.ts";
import { accountFromEnv } from "./signer.ts";

export class MissingKeeperKeyError extends BaseError {
  override name = "MissingKeeperKeyError";
  constructor() {
    super("KEEPER_PRIVATE_KEY is not set (put it in the environment or in .env; see .env.example)", { userError: true });
  }
}

export const runCommand = defineCommand({
  name: "run",
  summary: "Run the keeper daemon: index the market, watch prices, and liquidate partially, ranked by profit.",
  synopsis: "--rpc URL --deployment FILE [options]",
  description:
    "The key comes from KEEPER_PRIVATE_KEY. Settings default to config/keeper.json; flags override them. " +
    "Serves /healthz and /metrics on 127.0.0.1:--health-port. SIGINT/SIGTERM stop intake, let in-flight " +
    "transactions settle for --grace seconds, write the checkpoint and exit 0.",
  handlesSignals: true,
  options: {
    rpc: { type: "string", value: "URL", description: "JSON-RPC endpoint (required)" },
    deployment: { type: "string", value: "FILE", description: "deployment JSON written by deploy/devnet (required)" },
    "dry-run": { type: "boolean", description: "plan and simulate, never send" },
    backstop: { type: "boolean", description: "liquidate at a loss when needed to protect solvency" },
    "min-profit": { type: "string", value: "USD", description: "minimum profit per liquidation" },
    "fee-cap-gwei": { type: "string", value: "GWEI", description: "cap on maxFeePerGas" },
    "priority-fee-gwei": { type: "string", value: "GWEI", description: "base priority fee" },
    "max-batch": { type: "string", value: "N", description: "liquidations per transaction at most" },
    preflight: { type: "string", value: "engine|node", description: "check before sending: the exact engine at the head, or a node simulation of every transaction" },
    "polling-interval": { type: "string", value: "MS", description: "how often to ask for a new head" },
    "health-port": { type: "string", value: "PORT", description: "port of /healthz and /metrics (0: any free port)" },
    checkpoint: { type: "string", value: "FILE", description: "checkpoint file (default from config/keeper.json)" },
    grace: { type: "string", value: "SECONDS", description: "shutdown grace period for in-flight transactions (default 15)" },
    "log-level": { type: "string", value: "LEVEL", description: "trace, debug, info, warn, error" },
    pretty: { type: "boolean", description: "human log lines instead of JSON (default on a terminal)" },
    config: { type: "string", value: "FILE", description: "keeper settings file (default config/keeper.json)" },
  },
  examples: ["KEEPER_PRIVATE_KEY=0x… perp-keeper run --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json"],
  async run(flags, io) {
    const rpc = rpcUrlFlag("run", required("run", flags, "rpc"));
    const deploymentPath = resolve(io.cwd, required("run", flags, "deployment"));
    const num = (name: string, v: string | undefined, min: number, max: number) =>
      v === undefined ? undefined : integerFlag("run", name, v, min, max);
    // Everything checkable offline is checked before touching the network.
    const overrides = {
      backstopMode: flags.backstop ? true : undefined,
      minProfitUsd: flags["min-profit"],
      feeCapGwei: flags["fee-cap-gwei"],
      priorityFeeGwei: flags["priority-fee-gwei"],
      maxBatch: num("max-batch", flags["max-batch"], 1, 50),
      preflight: flags.preflight,
      pollingIntervalMs: num("polling-interval", flags["polling-interval"], 10, 60_000),
      healthPort: num("health-port", flags["health-port"], 0, 65_535),
      checkpointPath: flags.checkpoint ? resolve(io.cwd, flags.checkpoint) : undefined,
      logLevel: flags["log-level"],
    };
    const settings = flags.config ? loadKeeperSettings(overrides, resolve(io.cwd, flags.config)) : loadKeeperSettings(overrides);
    if (!flags.checkpoint) settings.checkpointPath = resolve(io.cwd, settings.checkpointPath);
    checkOutputPath(settings.checkpointPath);
    const graceSeconds = num("grace", flags.grace, 0, 3_600) ?? 15;
    const deployment = readDeployment(deploymentPath);
    const account = accountFromEnv(io.env, "KEEPER_PRIVATE_KEY");
    if (!account) throw new MissingKeeperKeyError();
    const secret = io.env.KEEPER_PRIVATE_KEY!.trim();

    const logger = createLogger({
      level: settings.logLevel,
      pretty: flags.pretty || process.stderr.isTTY === true,
      secrets: [secret.startsWith("0x") ? secret : `0x${secret}`, ...urlSecrets(rpc)],
    });
    const metrics = createMetrics({ defaultMetrics: true });
    const c = await connect(rpc, account, { pollingInterval: settings.pollingIntervalMs, metrics });
    checkDeploymentChain(deployment, c.chainId, deploymentPath);
    await checkDeploymentCode(c, deployment, deploymentPath);

    const keeper = new Keeper({
      publicClient: c.publicClient,
      walletClient: c.walletClient,
      deployment,
      settings,
      logger,
      metrics,
      dryRun: flags["dry-run"],
    });
    logger.info(
      { rpc: redactUrl(rpc), chainId: c.chainId, market: deployment.contracts.market, keeper: account.address, dryRun: flags["dry-run"] },
      "starting",
    );
    await keeper.start();
    const health = await startHealthServer({ port: settings.healthPort, registry: metrics.registry, probe: () => keeper.health() });
    logger.info({ port: health.port }, "serving /healthz and /metrics on 127.0.0.1");

    await followHeads(c.publicClient, keeper, settings.pollingIntervalMs, io.signal, logger);

    logger.info({ signal: String(io.signal.reason ?? "") }, "shutting down: intake stopped, settling in-flight transactions");
    await keeper.stop(graceSeconds * 1000);
    await health.close();
    const s = keeper.executor.stats();
    logger.info({ sent: s.sent, mined: s.mined, reverted: s.reverted, rewardTokens: s.rewardTokens, gasSpentWei: s.gasSpentWei }, "stopped");
    return 0;
  },
});
