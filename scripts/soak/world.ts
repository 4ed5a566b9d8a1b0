/**
 * The soak's chain: its own Anvil (port 0), the reference market deployed with the project's deploy
 * code (config/markets.json, the "hyperliquid" preset, the native token's USD feed, as the fault
 * matrix's world), a first population seeded with src/sim/seedTraders.ts, and a compressed clock:
 * every block is 12 s of chain time (Anvil's block timestamp interval), so funding, cooldowns and
 * price staleness run as on a 12-second chain however fast the blocks come.
 *
 * The keeper signs with Anvil dev account 3 (as test/faults/harness.ts), handed to the daemon in
 * KEEPER_PRIVATE_KEY the way test/keeper/daemon.test.ts starts it.
 */
import { createPublicClient, http, testActions, toHex, type Address, type Chain, type Hex, type PublicClient, type Transport } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { ANVIL_DEFAULT_MNEMONIC, startAnvil, type AnvilInstance } from "../../src/chain/anvil.ts";
import { connect, type Connection } from "../../src/chain/clients.ts";
import { deployReferenceMarket, type Deployment } from "../../src/chain/deploy.ts";
import { writeDeployment } from "../../src/chain/deployment.ts";
import { deployNativeUsdFeed } from "../../src/chain/nativeFeed.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import { seedTraders } from "../../src/sim/seedTraders.ts";

/** Seconds of chain time per block: a 12-second chain, whatever the wall clock does. */
export const BLOCK_SECONDS = 12;
/** Dev account that signs for the keeper (the fault matrix's). */
export const KEEPER_ACCOUNT_INDEX = 3;

export type SoakWorld = {
  anvil: AnvilInstance;
  /** The owner (dev account 0): deploys, seeds, publishes prices. */
  owner: Connection;
  /** Anvil's test actions (mining, automine). */
  test: AnvilTest;
  /** A batching reader for the audit's many eth_calls (one HTTP request per batch). */
  reader: PublicClient<Transport, Chain>;
  deployment: Deployment;
  deploymentPath: string;
  keeperKey: Hex;
  keeper: Address;
  /** Traders seeded at the start (the trader churn adds more). */
  traders: Address[];
  /** Trader keys by address (dev-only keys derived from public seeds). */
  keys: Map<Address, Hex>;
};

function testClientOf(c: Connection) {
  return c.publicClient.extend(testActions({ mode: "anvil" }));
}

export type AnvilTest = ReturnType<typeof testClientOf>;

/** The private key of Anvil dev account `i` (public test keys of the "test … junk" mnemonic). */
export function devKey(i: number): Hex {
  const key = mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: i }).getHdKey().privateKey;
  if (!key) throw new Error(`no key for dev account ${i}`);
  return toHex(key);
}

export async function startWorld(opts: { deploymentPath: string; traders: number; seed: string }): Promise<SoakWorld> {
  // Anvil keeps a copy of the state per block; the soak reads only the latest blocks.
  const anvil = await startAnvil({ port: 0, chainId: 31337, extraArgs: ["--prune-history", "256"], startTimeoutMs: 60_000 });
  try {
    const owner = await connect(anvil.rpcUrl, mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 0 }), { pollingInterval: 50, timeoutMs: 60_000 });
    const test = testClientOf(owner);
    await test.setBlockTimestampInterval({ interval: BLOCK_SECONDS });
    const deployment = {
      ...(await deployReferenceMarket(owner, { markets: loadMarkets(), preset: loadPreset("hyperliquid") })),
      nativeUsdFeed: await deployNativeUsdFeed(owner),
    };
    writeDeployment(opts.deploymentPath, deployment);
    const seeded = await seedTraders(owner, deployment, { count: opts.traders, seed: opts.seed, ordered: true });
    const keeperKey = devKey(KEEPER_ACCOUNT_INDEX);
    const reader = createPublicClient({ chain: { ...foundry, id: 31337 }, transport: http(anvil.rpcUrl, { batch: { batchSize: 200 }, timeout: 60_000 }), cacheTime: 0 });
    return {
      anvil,
      owner,
      test,
      reader,
      deployment,
      deploymentPath: opts.deploymentPath,
      keeperKey,
      keeper: mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: KEEPER_ACCOUNT_INDEX }).address,
      traders: seeded.traders.map((t) => t.address),
      keys: new Map(seeded.traders.map((t) => [t.address, t.privateKey!] as const)),
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}
