/**
 * The keeper bench's chain: Anvil (port 0, a 1e9 block gas limit so one Multicall3 eth_call can
 * value ~1000 accounts, old state copies pruned), the reference market with the "hyperliquid"
 * preset and the native token's USD feed, N traders, Multicall3 at its canonical address; and the
 * cold start of our keeper in a fresh process (backfill rate, resident memory after a full GC).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { getAddress, testActions, type Address, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_MNEMONIC, startAnvil, type AnvilInstance } from "../../../src/chain/anvil.ts";
import { connect } from "../../../src/chain/clients.ts";
import { deployReferenceMarket } from "../../../src/chain/deploy.ts";
import { deployNativeUsdFeed } from "../../../src/chain/nativeFeed.ts";
import { checkPresetFits, loadMarkets, loadPreset } from "../../../src/config/presets.ts";
import { bigintToString } from "../../../src/lib/json.ts";
import { seedTradersInBulk } from "../../../src/sim/seedBulk.ts";
import { seedTraders } from "../../../src/sim/seedTraders.ts";
import type { ColdStartInit, ColdStartResult } from "./coldStart.ts";

export const MULTICALL3 = getAddress("0xcA11bde05977b3631167028862bE2a173976CA11");
const HERE = dirname(fileURLToPath(import.meta.url));

export type BenchChain = Awaited<ReturnType<typeof startBenchChain>>;

export async function startBenchChain(o: { accounts: number; seed: string; seeding: "bulk" | "transactions"; seedChunk: number; seedPollMs: number; log: (s: string) => void }) {
  const markets = loadMarkets();
  const preset = loadPreset("hyperliquid");
  checkPresetFits(preset, markets);
  // Anvil keeps a full copy of the state for every block; the analysis reads at most ~60 blocks
  // back, so older copies are dropped (at 100,000 accounts each is ~100 MB).
  const anvil: AnvilInstance = await startAnvil({ port: 0, chainId: 31337, gasLimit: 1_000_000_000n, extraArgs: ["--prune-history", "128"] });
  const owner = await connect(anvil.rpcUrl, mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 0 }), { pollingInterval: 50, timeoutMs: 120_000 });
  const test = owner.publicClient.extend(testActions({ mode: "anvil" }));
  const deployment = { ...(await deployReferenceMarket(owner, { markets, preset, seedable: o.seeding === "bulk" })), nativeUsdFeed: await deployNativeUsdFeed(owner) };

  // Seeding. "bulk": SeedablePerpMarket's owner-only seedAccounts, 1,000 accounts per transaction
  // through the market's own deposit and trade code (same events, same rules): the test-only entry
  // point of contracts/src/bench. "transactions": every trader signs its own deposit and trades.
  const tSeed = performance.now();
  const traders: Address[] = [];
  let transactions = 0;
  if (o.seeding === "bulk") {
    const r = await seedTradersInBulk(owner, deployment, {
      count: o.accounts,
      seed: o.seed,
      onProgress: (n) => {
        if (o.accounts >= 20_000 && n % 20_000 < 250) o.log(`  seeded ${n}/${o.accounts} (${((performance.now() - tSeed) / 1000).toFixed(0)} s)`);
      },
    });
    traders.push(...r.traders.map((t) => t.address));
    transactions = r.transactions;
  } else {
    await test.setAutomine(false);
    await test.setIntervalMining({ interval: 1 });
    // In chunks (a distinct seed each): seedTraders fires a whole chunk's requests at once.
    for (let i = 0; i * o.seedChunk < o.accounts; i++) {
      const count = Math.min(o.seedChunk, o.accounts - i * o.seedChunk);
      const part = await seedTraders(owner, deployment, { count, seed: `${o.seed}-${i}`, pollingInterval: o.seedPollMs });
      traders.push(...part.traders.map((t) => t.address));
      transactions += part.transactions;
    }
    await test.setIntervalMining({ interval: 0 });
  }
  const seedMs = performance.now() - tSeed;

  // Multicall3 at its canonical address: runtime code = what its creation code returns.
  const viemDir = dirname(createRequire(import.meta.url).resolve("viem"));
  const { multicall3Bytecode } = (await import(pathToFileURL(join(viemDir, "..", "_esm", "constants", "contracts.js")).href)) as { multicall3Bytecode: Hex };
  const runtime = (await owner.publicClient.call({ data: multicall3Bytecode })).data!;
  await test.setCode({ address: MULTICALL3, bytecode: runtime });
  return { anvil, owner, test, deployment, markets, preset, traders, seeding: { mode: o.seeding, transactions, seconds: +(seedMs / 1000).toFixed(2) } };
}

/** Our keeper's cold start alone in a fresh process (dry run): backfill, first valuation, memory after a full GC. */
export function coldStart(rpcUrl: string, deployment: object): Promise<ColdStartResult> {
  return new Promise<ColdStartResult>((resolve, reject) => {
    const p = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(HERE, "coldStart.ts")], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    p.once("message", (m) => resolve(m as ColdStartResult));
    p.once("exit", (code) => (code === 0 ? undefined : reject(new Error(`cold-start child exited with ${code}`))));
    const init: ColdStartInit = { type: "init", rpcUrl, deployment: JSON.parse(JSON.stringify(deployment, bigintToString)) as Record<string, unknown> };
    p.send(init);
  });
}
