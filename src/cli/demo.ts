import { getAddress, parseEventLogs, testActions } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { ANVIL_DEFAULT_MNEMONIC, startAnvil } from "../chain/anvil.ts";
import { connect } from "../chain/clients.ts";
import { deployReferenceMarket } from "../chain/deploy.ts";
import { publishPrice } from "../chain/prices.ts";
import { loadKeeperSettings } from "../config/keeper.ts";
import { checkPresetFits, loadMarkets, loadPreset } from "../config/presets.ts";
import { formatUsd } from "../lib/units.ts";
import { followHeads } from "../keeper/followHeads.ts";
import { sleep } from "../lib/sleep.ts";
import { createKeeper } from "../keeper/createKeeper.ts";
import { protocolFor } from "../protocols/index.ts";
import { createLogger } from "../lib/logger.ts";
import { createMetrics } from "../lib/metrics.ts";
import { shutdownOf } from "../lib/shutdown.ts";
import { seedTraders } from "../sim/seedTraders.ts";
import { defineCommand, integerFlag } from "./command.ts";
import { fields, formatTokens } from "./format.ts";
import { followLiquidations } from "./demoView.ts";
import { anvilDevAccount } from "./signer.ts";
import { deployNativeUsdFeed } from "../chain/nativeFeed.ts";

export const demoCommand = defineCommand({
  name: "demo",
  summary: "The whole thing on an embedded chain: market, traders, the keeper, a price crash, a summary.",
  synopsis: "[--traders K] [--crash PERMILLE] [--steps N] [--preset NAME] [--seed S]",
  description:
    "Starts Anvil (any free port), deploys the reference market, seeds traders, runs the real keeper\n" +
    "against it, and moves every market's price down in steps, one block each. Each liquidation is shown\n" +
    "as it is mined (market, account, partial or full, size and share of the position, price, reward and\n" +
    "gas in USD, block), read back from the chain; so is the summary at the end. The keeper's own log\n" +
    "shows warnings only, unless --verbose.",
  handlesSignals: true,
  options: {
    traders: { type: "string", value: "K", description: "traders to seed", default: "40" },
    crash: { type: "string", value: "PERMILLE", description: "total price fall, in permille", default: "80" },
    steps: { type: "string", value: "N", description: "blocks the fall is spread over", default: "40" },
    preset: { type: "string", value: "NAME", description: "liquidation preset", default: "hyperliquid" },
    seed: { type: "string", value: "S", description: "seed of the trader population", default: "demo" },
    verbose: { type: "boolean", description: "also show the keeper's own log (info level), not only its liquidations" },
  },
  examples: ["npm start", "perp-keeper demo --preset binance --crash 150 --steps 30"],
  async run(flags, io) {
    const count = integerFlag("demo", "traders", flags.traders, 1, 10_000);
    const crash = integerFlag("demo", "crash", flags.crash, 1, 900);
    const steps = integerFlag("demo", "steps", flags.steps, 1, 10_000);
    const markets = loadMarkets();
    const preset = loadPreset(flags.preset);
    checkPresetFits(preset, markets);

    // The process's shutdown (Ctrl-C): the crash ends early, the keeper stops, the summary is printed.
    const shutdown = shutdownOf(io.signal);
    const anvil = await startAnvil({ port: 0, chainId: 31337 });
    // The head follower stops at shutdown, or when the crash is over.
    const crashOver = new AbortController();
    const stopFollowing = AbortSignal.any([shutdown.signal, crashOver.signal]);
    try {
      io.stdout(`Anvil (pid ${anvil.pid}) on ${anvil.rpcUrl}`);
      const owner = await connect(anvil.rpcUrl, anvilDevAccount(), { pollingInterval: 50 });
      const deployment = { ...(await deployReferenceMarket(owner, { markets, preset })), nativeUsdFeed: await deployNativeUsdFeed(owner) };
      // Ordered: mined until the pool is empty, never left waiting behind a full block (see devnet.ts).
      const seeded = await seedTraders(owner, deployment, { count, seed: flags.seed, ordered: true });
      io.stdout(`Deployed the market with the "${preset.name}" preset and seeded ${count} traders (${seeded.transactions} transactions).`);

      // The keeper: Anvil's public dev account #1, the real daemon, following heads every 50 ms.
      const keeperAccount = mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 1 });
      const metrics = createMetrics();
      const kc = await connect(anvil.rpcUrl, keeperAccount, { pollingInterval: 50, metrics });
      const logger = createLogger({ pretty: true, level: flags.verbose ? "info" : "warn", destination: { write: (s: string) => (io.stdout(s.trimEnd()), true) } as unknown as NodeJS.WritableStream });
      const settings = { ...loadKeeperSettings({ pollingIntervalMs: 50, minProfitUsd: "0" }), checkpointPath: "" };
      const keeper = createKeeper({ protocol: protocolFor(deployment), publicClient: kc.publicClient, walletClient: kc.walletClient, deployment, settings, logger, metrics, checkpoint: false, signal: shutdown.signal });
      await keeper.start();
      const following = followHeads(kc.publicClient, keeper, 50, stopFollowing, logger);
      // The view reads liquidations back as they are mined, until the keeper has stopped.
      const viewOver = new AbortController();
      const lots = markets.map((m) => ({ id: deployment.markets.find((d) => d.symbol === m.symbol)?.id ?? -1, symbol: m.symbol, lotSize: m.lotSize }));
      const shown = followLiquidations(
        owner.publicClient,
        { market: deployment.contracts.market, keeper: keeperAccount.address, markets: lots, nativeUsd: keeper.nativeUsd, fromBlock: await owner.publicClient.getBlockNumber() },
        (line) => io.stdout(line),
        AbortSignal.any([shutdown.signal, viewOver.signal]),
      ).catch((e: unknown) => {
        logger.warn({ err: e }, "could not read the liquidations back from the chain");
        return 0;
      });

      io.stdout(`Prices fall ${crash / 10}% over ${steps} blocks...`);
      const perStep = BigInt(Math.round((crash / steps) * 1000)); // in 1e-6 units
      for (let s = 0; s < steps && !shutdown.isKilled; s++) {
        for (const m of deployment.markets) {
          const p = await owner.publicClient.readContract({ address: deployment.contracts.market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(m.id)] });
          await publishPrice(owner, m.feed, (p * (1_000_000n - perStep)) / 1_000_000n, m.feedDecimals);
        }
        await sleep(150, shutdown.signal);
      }
      // Let cooldowns run out so stepped positions can finish: warp 31 s, re-publish, a few times.
      const test = owner.publicClient.extend(testActions({ mode: "anvil" }));
      for (let r = 0; r < 8 && !shutdown.isKilled; r++) {
        await test.increaseTime({ seconds: 31 });
        for (const m of deployment.markets) {
          const p = await owner.publicClient.readContract({ address: deployment.contracts.market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(m.id)] });
          await publishPrice(owner, m.feed, p, m.feedDecimals);
        }
        await sleep(300, shutdown.signal);
      }
      crashOver.abort();
      await following;
      await keeper.stop(5_000);
      viewOver.abort();
      await shown;

      // The summary, from the chain's own events and state.
      const logs = await owner.publicClient.getLogs({ address: deployment.contracts.market, fromBlock: deployment.deployBlock, toBlock: "latest" });
      const liqs = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" });
      const ours = liqs.filter((l) => getAddress(l.args.keeper) === keeperAccount.address);
      const badDebt = await owner.publicClient.readContract({ address: deployment.contracts.market, abi: PerpMarket.abi, functionName: "badDebt" });
      const insurance = await owner.publicClient.readContract({ address: deployment.contracts.market, abi: PerpMarket.abi, functionName: "insuranceFund" });
      const s = keeper.executor.stats();
      io.stdout("");
      io.stdout("Summary");
      for (const line of fields([
        ["liquidations", `${ours.length} (${ours.filter((l) => !l.args.full).length} partial, ${ours.filter((l) => l.args.full).length} full) on ${new Set(ours.map((l) => l.args.account)).size} accounts`],
        ["keeper reward", formatTokens(s.rewardTokens)],
        ["gas spent", `${(Number(s.gasSpentWei) / 1e18).toFixed(6)} ETH in ${s.mined} transactions (${s.reverted} reverted)`],
        ["insurance fund", formatUsd(insurance)],
        ["bad debt", formatUsd(badDebt)],
        ["still liquidatable", String(keeper.status.liquidatable)],
      ])) {
        io.stdout(line);
      }
      return 0;
    } finally {
      crashOver.abort();
      // The command is over: shutdown (its cleanups, none here), then the chain it started.
      await shutdown.kill("exit");
      await anvil.stop();
    }
  },
});
