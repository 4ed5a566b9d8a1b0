import { once } from "node:events";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { testActions } from "viem";
import { AnvilStartError, startAnvil, type AnvilInstance } from "../chain/anvil.ts";
import { connect } from "../chain/clients.ts";
import { deployReferenceMarket, type Deployment } from "../chain/deploy.ts";
import { checkOutputPath, writeDeployment } from "../chain/deployment.ts";
import { readAccount, readValuation } from "../chain/reads.ts";
import { checkPresetFits, loadMarkets, loadPreset } from "../config/presets.ts";
import { WAD } from "../engine/index.ts";
import { BaseError } from "../lib/errors.ts";
import { quoteAccount } from "../sim/quoteAccount.ts";
import { seedTraders, type TraderPlan } from "../sim/seedTraders.ts";
import { defineCommand, integerFlag, type CliIO } from "./command.ts";
import { NO_VALUE, fields, formatLeverage, formatPrice, formatSize, formatUsd, table } from "./format.ts";
import { accountFromEnv, anvilDevAccount, resolveSigner } from "./signer.ts";
import { deploymentSummary } from "./summary.ts";
import { deployNativeUsdFeed } from "../chain/nativeFeed.ts";

export class PortInUseError extends BaseError {
  override name = "PortInUseError";
  constructor(port: number) {
    super(`port ${port} is already in use on 127.0.0.1 (another Anvil or devnet?); choose one with --port, or --port 0 for any free port`, {
      userError: true,
    });
  }
}

export class DevnetError extends BaseError {
  override name = "DevnetError";
}

/** Refuse a port something already listens on, before Anvil is spawned (its own error is a log tail). */
async function checkPortFree(port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  try {
    server.listen({ port, host: "127.0.0.1", exclusive: true });
    await once(server, "listening");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new PortInUseError(port);
    throw new DevnetError(`cannot listen on 127.0.0.1:${port} (${code ?? "error"})`, { cause: e, userError: true });
  } finally {
    if (server.listening) await new Promise<void>((r) => server.close(() => r()));
  }
}

async function start(port: number): Promise<AnvilInstance> {
  try {
    return await startAnvil({ port, chainId: 31337 });
  } catch (e) {
    if (e instanceof AnvilStartError) {
      const why = e.reason === "exit" && port !== 0 ? ` (is port ${port} in use?)` : "";
      throw new DevnetError(`Anvil did not start: ${e.reason}${why}`, { cause: e, userError: true });
    }
    throw e;
  }
}

class Interrupted extends Error {}

export const devnetCommand = defineCommand({
  name: "devnet",
  summary: "Start a local Anvil, deploy the reference market, seed traders, and run until Ctrl-C.",
  synopsis: "[--port N] [--traders K] [--out FILE] [--preset NAME] [--seed S]",
  description:
    "Trader keys are derived from --seed (public: local chains only) and never printed. The deployer is\n" +
    "DEPLOYER_PRIVATE_KEY if set (funded on Anvil), else Anvil's dev account #0.",
  options: {
    port: { type: "string", value: "N", description: "port for Anvil on 127.0.0.1 (0: any free port)", default: "8545" },
    traders: { type: "string", value: "K", description: "number of traders to seed", default: "20" },
    out: { type: "string", value: "FILE", description: "where to write the deployment JSON", default: "deployments/devnet.json" },
    preset: { type: "string", value: "NAME", description: "liquidation preset", default: "hyperliquid" },
    seed: { type: "string", value: "S", description: "seed of the trader population", default: "1" },
    markets: { type: "string", value: "FILE", description: "markets file (default: config/markets.json)" },
    presets: { type: "string", value: "FILE", description: "presets file (default: config/presets.json)" },
  },
  examples: ["perp-keeper devnet", "perp-keeper devnet --port 0 --traders 100 --preset binance --out /tmp/devnet.json"],
  handlesSignals: true,
  async run(flags, io) {
    const port = integerFlag("devnet", "port", flags.port, 0, 65_535);
    const count = integerFlag("devnet", "traders", flags.traders, 0, 10_000);
    const out = resolve(io.cwd, flags.out);
    const markets = flags.markets ? loadMarkets(resolve(io.cwd, flags.markets)) : loadMarkets();
    const presetsPath = flags.presets ? resolve(io.cwd, flags.presets) : undefined;
    const preset = presetsPath ? loadPreset(flags.preset, presetsPath) : loadPreset(flags.preset);
    checkPresetFits(preset, markets, presetsPath ?? "presets");
    checkOutputPath(out);
    const fromEnv = accountFromEnv(io.env, "DEPLOYER_PRIVATE_KEY");
    await checkPortFree(port);

    const t0 = performance.now();
    const anvil = await start(port);
    try {
      const step = <T>(p: Promise<T>): Promise<T> =>
        p.then((v) => {
          if (io.signal.aborted) throw new Interrupted();
          return v;
        });
      io.stdout(`Anvil pid ${anvil.pid} listening on ${anvil.rpcUrl}`);
      const c = await step(connect(anvil.rpcUrl, fromEnv ?? anvilDevAccount(), { pollingInterval: 50 }));
      resolveSigner(fromEnv, "DEPLOYER_PRIVATE_KEY", c.chainId, io.stderr);
      if (fromEnv) {
        await step(c.publicClient.extend(testActions({ mode: "anvil" })).setBalance({ address: fromEnv.address, value: 10_000n * WAD }));
      }
      const market = await step(deployReferenceMarket(c, { markets, preset }));
      const deployment: Deployment = { ...market, nativeUsdFeed: await step(deployNativeUsdFeed(c)) };
      const tSeed = performance.now();
      // Ordered: sent with automine off, then mined until the pool is empty. With automine on, a burst
      // that fills a block (30M gas; a trade reserves 3M) leaves the rest ready in the pool, and no
      // block comes to mine them until another transaction arrives: under CPU load the node batches
      // more of the burst per block, and seeding waited for receipts that could never come.
      const seeded = await step(seedTraders(c, deployment, { count, seed: flags.seed, ordered: true }));
      const seedMs = performance.now() - tSeed;
      writeDeployment(out, deployment);
      const rows = await step(seededRows(c, deployment, seeded.traders));

      for (const line of deploymentSummary(deployment, markets)) io.stdout(line);
      io.stdout("");
      io.stdout(
        `Seeded ${count} trader${count === 1 ? "" : "s"} (seed "${flags.seed}", ${seeded.transactions} transactions) in ${(seedMs / 1000).toFixed(1)} s:`,
      );
      if (rows.length > 0) for (const line of table(SEEDED_HEADER, rows, [3, 4, 5, 6])) io.stdout(`  ${line}`);
      io.stdout("");
      for (const line of fields(
        [
          ["RPC", anvil.rpcUrl],
          ["chain id", String(c.chainId)],
          ["anvil pid", String(anvil.pid)],
          ["deployment", out],
        ],
        "",
      )) {
        io.stdout(line);
      }
      io.stdout(`Ready in ${((performance.now() - t0) / 1000).toFixed(1)} s. Press Ctrl-C to stop.`);

      const how = await untilStopped(io, anvil);
      if (how === "anvil-exited") {
        const exit = await anvil.exited;
        throw new DevnetError(`Anvil (pid ${anvil.pid}) exited unexpectedly (${exit.signal ?? `code ${exit.code}`})`, { userError: true });
      }
      await anvil.stop();
      io.stdout(`Stopped Anvil (pid ${anvil.pid}).`);
      return 0;
    } catch (e) {
      if (e instanceof Interrupted) {
        io.stderr("perp-keeper: devnet interrupted before it was ready");
        return 130;
      }
      throw e;
    } finally {
      await anvil.stop();
    }
  },
});

/**
 * Resolves on SIGINT/SIGTERM, or when Anvil exits by itself. A Ctrl-C in a terminal reaches Anvil
 * too (same process group), so an Anvil exit closely followed by our own signal counts as a stop.
 */
async function untilStopped(io: CliIO, anvil: AnvilInstance): Promise<"signal" | "anvil-exited"> {
  if (io.signal.aborted) return "signal";
  const signalled = once(io.signal, "abort").then(() => "signal" as const);
  const first = await Promise.race([signalled, anvil.exited.then(() => "anvil-exited" as const)]);
  if (first === "signal") return first;
  const grace = new Promise<"anvil-exited">((r) => setTimeout(() => r("anvil-exited"), 500).unref());
  return Promise.race([signalled, grace]);
}

const SEEDED_HEADER = ["ACCOUNT", "MARKET", "SIDE", "SIZE", "NOTIONAL", "LEVERAGE", "LIQ. PRICE"];

/** One row per seeded position, with the liquidation price the engine computes from chain state. */
async function seededRows(
  c: Parameters<typeof readValuation>[0],
  d: Deployment,
  traders: readonly TraderPlan[],
): Promise<string[][]> {
  const at = { blockNumber: await c.publicClient.getBlockNumber() };
  const v = await readValuation(c, d.contracts.market, at);
  const accounts = await Promise.all(traders.map((t) => readAccount(c, d.contracts.market, t.address, at)));
  return traders.flatMap((t, i) => {
    const q = quoteAccount(accounts[i]!, v);
    return t.positions.map((p) => {
      const onChain = q.positions.find((x) => x.marketId === p.marketId);
      const lot = v.markets.get(p.marketId)?.lotSize ?? 1n;
      const liq = onChain?.liquidationPrice;
      return [
        t.address,
        p.symbol,
        p.size > 0n ? "long" : "short",
        formatSize(p.size, lot),
        formatUsd(p.notional, 0),
        formatLeverage(p.leveragePpm),
        liq === undefined ? NO_VALUE : formatPrice(liq),
      ];
    });
  });
}
