/**
 * Fork mode: an "upstream" Anvil (this worker's chain) holds the market and traders' positions; the
 * lab forks it with a second Anvil at a pinned block, runs a crash on the fork (the upstream's own
 * market re-parameterised to another preset, its own traders liquidated), and the upstream is left
 * exactly as it was: same head, same balances, positions, insurance fund and parameters.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, getAddress, http, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { ANVIL_DEFAULT_MNEMONIC } from "../../src/chain/anvil.ts";
import { connect, type ChainClients } from "../../src/chain/clients.ts";
import { deployReferenceMarket, type Deployment } from "../../src/chain/deploy.ts";
import { readAccount, readGlobalParams, readMarketStates } from "../../src/chain/reads.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { runScenario } from "../../src/sim/runScenario.ts";
import { loadScenario } from "../../src/sim/scenario.ts";
import { seedTraders } from "../../src/sim/seedTraders.ts";
import { tempDir } from "../cli/cli.ts";
import { getTestChain } from "../support/anvil.ts";

const tmp = tempDir("perp-keeper-fork-");
afterAll(tmp.cleanup);

let upstream: ChainClients & { chainId: number };
let rpcUrl: string;
let deployment: Deployment;
let traders: Address[];
let pinned: bigint;

/** Everything on the upstream the run could have touched. */
async function snapshot(): Promise<unknown> {
  const c = upstream;
  const market = deployment.contracts.market;
  const read = <F extends "insuranceFund" | "badDebt" | "poolBalance" | "totalCollateral">(functionName: F) =>
    c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName });
  const keepers = [1, 2].map((i) => mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: i }).address);
  return {
    head: await c.publicClient.getBlockNumber(),
    insuranceFund: await read("insuranceFund"),
    badDebt: await read("badDebt"),
    pool: await read("poolBalance"),
    collateral: await read("totalCollateral"),
    global: await readGlobalParams(c, market),
    markets: [...(await readMarketStates(c, market)).values()],
    accounts: await Promise.all(traders.map((t) => readAccount(c, market, t))),
    keeperEth: await Promise.all(keepers.map((a) => c.publicClient.getBalance({ address: a }))),
    keeperTokens: await Promise.all(keepers.map((a) => c.publicClient.readContract({ address: deployment.contracts.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [a] }))),
    marketTokens: await c.publicClient.readContract({ address: deployment.contracts.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [market] }),
  };
}

function scenarioFile(name: string, traders: number): string {
  const file = path.join(tmp.dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      "blockTime: 5s",
      "duration: 100s",
      "liquidity: { insuranceFund: $0 }",
      "markets:",
      "  BTC: { path: { kind: crash, drop: 25%, start: 5s, over: 1m } }",
      "  ETH: { path: { kind: crash, drop: 25%, start: 5s, over: 1m } }",
      "traders:",
      `  count: ${traders}`,
      "  leverage: { min: 10x, max: 40x }",
      '  size: { min: "$5,000", max: "$200,000" }',
      "  longShare: 100%",
      "keepers:",
      "  - { name: fast, minProfit: $0 }",
      "  - { name: backstop, latency: 5s, minProfit: $0, backstop: true }",
    ].join("\n"),
  );
  return file;
}

beforeAll(async () => {
  const chain = await getTestChain();
  rpcUrl = chain.anvil.rpcUrl;
  upstream = await connect(rpcUrl, mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 0 }), { pollingInterval: 20 });
  deployment = await deployReferenceMarket(upstream, { markets: loadMarkets(), preset: loadPreset("hyperliquid") });
  const seeded = await seedTraders(upstream, deployment, { count: 40, seed: "upstream", markets: ["BTC", "ETH"], ordered: true });
  traders = seeded.traders.map((t) => t.address);
  pinned = await upstream.publicClient.getBlockNumber();
}, 120_000);

describe("fork mode", () => {
  it("runs on a fork of the upstream's market and traders at a pinned block, leaving the upstream untouched", { timeout: 120_000 }, async () => {
    const before = await snapshot();
    const scenario = loadScenario(scenarioFile("fork-crash", 10));
    let forkChecks = 0;
    const report = await runScenario({
      scenario,
      presets: ["binance"],
      fork: { url: rpcUrl, block: pinned, deployment },
      inspect: async (run) => {
        const fork = createPublicClient({ transport: http(run.rpcUrl) });
        const market = deployment.contracts.market;
        // The upstream's market, now with the binance preset's parameters.
        expect(run.deployment.contracts).toEqual(deployment.contracts);
        const global = await fork.readContract({ address: market, abi: PerpMarket.abi, functionName: "globalLiquidation" });
        const binance = loadPreset("binance").global;
        expect(global).toEqual([Number(binance.cooldown), Number(binance.backstopPpm), Number(binance.keeperSharePpm)]);
        // The upstream's traders were there, and some of them were liquidated on the fork.
        const liquidated = new Set(run.report.liquidations.map((l) => getAddress(l.account)));
        expect(traders.some((t) => liquidated.has(t))).toBe(true);
        expect(run.startBlock).toBeGreaterThan(pinned);
        forkChecks++;
      },
    });
    expect(forkChecks).toBe(1);
    const run = report.runs[0]!;
    expect(report.chain).toEqual({ chainId: 31337, mode: "fork", forkUrl: `${rpcUrl}/`, forkBlock: Number(pinned) });
    expect(run.preset).toBe("binance");
    expect(run.totals.liquidations).toBeGreaterThan(0);
    // Upstream untouched.
    expect(await snapshot()).toEqual(before);
    expect(await upstream.publicClient.getBlockNumber()).toBe(pinned);
  });

  it("deploys the market on the fork when no deployment is given; the upstream is untouched", { timeout: 120_000 }, async () => {
    const before = await snapshot();
    const report = await runScenario({ scenario: loadScenario(scenarioFile("fork-fresh", 20)), fork: { url: rpcUrl, block: pinned } });
    const run = report.runs[0]!;
    expect(run.preset).toBe("hyperliquid");
    expect(run.startBlock).toBeGreaterThan(Number(pinned));
    expect(run.totals.liquidations).toBeGreaterThan(0);
    expect(await snapshot()).toEqual(before);
  });

  it("a fork URL with a key is written redacted", { timeout: 60_000 }, async () => {
    const url = "http://127.0.0.1:1/v3/0123456789abcdefghijklmnopqrstuv?key=secret";
    await expect(runScenario({ scenario: loadScenario(scenarioFile("fork-dead", 0)), fork: { url, block: 1n } })).rejects.toThrow(
      /^cannot fork http:\/\/127\.0\.0\.1:1\/v3\/\*\*\*\?\*\*\* at block 1: Anvil did not start/,
    );
  });
});
