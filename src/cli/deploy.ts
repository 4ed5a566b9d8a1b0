import { resolve } from "node:path";
import { connect } from "../chain/clients.ts";
import { deployReferenceMarket } from "../chain/deploy.ts";
import { checkOutputPath, writeDeployment } from "../chain/deployment.ts";
import { checkPresetFits, loadMarkets, loadPreset } from "../config/presets.ts";
import { defineCommand, required } from "./command.ts";
import { rpcUrls } from "./rpcUrl.ts";
import { deploymentSummary } from "./summary.ts";
import { anvilDevAccount, loadSigningKey, resolveSigner } from "./signer.ts";

export const deployCommand = defineCommand({
  name: "deploy",
  summary: "Deploy the reference market (token, one Chainlink price feed per market: a proxy over an aggregator, the market) and write the deployment file.",
  synopsis: "[--rpc URL] --preset NAME --out FILE [--keystore FILE] [options]",
  description:
    "The deployer key comes from --keystore FILE (an encrypted keystore; its password from DEPLOYER_KEYSTORE_PASSWORD " +
    "or DEPLOYER_KEYSTORE_PASSWORD_FILE) or from DEPLOYER_PRIVATE_KEY; on Anvil (chain 31337) without either, Anvil's " +
    "dev account #0 is used. The RPC URL comes from --rpc or from KEEPER_RPC_URLS (or KEEPER_RPC_URLS_FILE).",
  options: {
    rpc: { type: "string", value: "URL", multiple: true, description: "JSON-RPC endpoint to deploy to (default: KEEPER_RPC_URLS or the file KEEPER_RPC_URLS_FILE names; repeat it or separate URLs with commas for a fallback)" },
    keystore: { type: "string", value: "FILE", description: "encrypted keystore of the deployer's key (password from DEPLOYER_KEYSTORE_PASSWORD[_FILE])" },
    preset: { type: "string", value: "NAME", description: "liquidation preset from config/presets.json (required)" },
    out: { type: "string", value: "FILE", description: "where to write the deployment JSON (required)" },
    markets: { type: "string", value: "FILE", description: "markets file (default: config/markets.json)" },
    presets: { type: "string", value: "FILE", description: "presets file (default: config/presets.json)" },
  },
  examples: ["perp-keeper deploy --rpc http://127.0.0.1:8545 --preset hyperliquid --out deployments/local.json"],
  async run(flags, io) {
    const rpc = rpcUrls("deploy", flags.rpc, io);
    const presetName = required("deploy", flags, "preset");
    const out = resolve(io.cwd, required("deploy", flags, "out"));

    // Everything that can be checked without a chain is checked before a transaction is sent.
    const markets = flags.markets ? loadMarkets(resolve(io.cwd, flags.markets)) : loadMarkets();
    const presetsPath = flags.presets ? resolve(io.cwd, flags.presets) : undefined;
    const preset = presetsPath ? loadPreset(presetName, presetsPath) : loadPreset(presetName);
    checkPresetFits(preset, markets, presetsPath ?? "presets");
    checkOutputPath(out);
    const fromEnv = (await loadSigningKey("deployer", flags.keystore, io))?.account;

    const c = await connect(rpc, fromEnv ?? anvilDevAccount(), { pollingInterval: 100 });
    resolveSigner(fromEnv, "DEPLOYER_PRIVATE_KEY", c.chainId, io.stderr);
    const deployment = await deployReferenceMarket(c, { markets, preset });
    writeDeployment(out, deployment);

    for (const line of deploymentSummary(deployment, markets)) io.stdout(line);
    io.stdout(`Wrote ${out}`);
    return 0;
  },
});
