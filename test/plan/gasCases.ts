/**
 * Accounts made liquidatable in chosen shapes on a seedable reference market (SeedablePerpMarket's
 * owner-only `seedAccounts`: every account still goes through the market's deposit and trade code),
 * for measuring the gas of liquidations and for keeper tests that need many targets at once.
 */
import { encodeFunctionData, getAddress, keccak256, parseEther, parseUnits, toHex, type Address } from "viem";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { SeedablePerpMarket } from "../../abi/SeedablePerpMarket.ts";
import type { ChainClients } from "../../src/chain/clients.ts";
import { deployReferenceMarket, type Deployment } from "../../src/chain/deploy.ts";
import { publishPrice } from "../../src/chain/prices.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import type { TestChain } from "../support/anvil.ts";

export const BTC = 0;
export const ETH = 1;
export const SMALL = 2;

export type SeedSpec = { tokens: bigint; trades: { marketId: number; size: string }[] };

export function ownerClients(chain: Pick<TestChain, "publicClient" | "wallet">): ChainClients {
  return { publicClient: chain.publicClient, walletClient: chain.wallet(0) } as unknown as ChainClients;
}

export async function deploySeedable(chain: Pick<TestChain, "publicClient" | "wallet">, preset: string): Promise<Deployment> {
  return deployReferenceMarket(ownerClients(chain), { markets: loadMarkets(), preset: loadPreset(preset), seedable: true });
}

/** A fresh address per (label, index): nobody holds its key, nobody else trades from it. */
export function addressOf(label: string, i: number): Address {
  return getAddress(keccak256(toHex(`${label}:${i}`)).slice(0, 42));
}

/** Seed `specs` at `addresses` in one owner transaction (collateral minted to the owner first). */
export async function seed(chain: Pick<TestChain, "publicClient" | "wallet">, d: Deployment, addresses: Address[], specs: SeedSpec[]): Promise<void> {
  const c = ownerClients(chain);
  const owner = c.walletClient.account.address;
  const total = specs.reduce((s, x) => s + x.tokens, 0n);
  const token = d.contracts.token;
  const wait = async (hash: `0x${string}`) => {
    const r = await chain.publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`seeding transaction reverted: ${hash}`);
  };
  await wait(await c.walletClient.writeContract({ address: token, abi: MockUSDC.abi, functionName: "mint", args: [owner, total] }));
  await wait(await c.walletClient.writeContract({ address: token, abi: MockUSDC.abi, functionName: "approve", args: [d.contracts.market, total] }));
  const data = encodeFunctionData({
    abi: SeedablePerpMarket.abi,
    functionName: "seedAccounts",
    args: [
      specs.map((s, i) => ({
        account: addresses[i]!,
        tokens: s.tokens,
        trades: s.trades.map((t) => ({ marketId: BigInt(t.marketId), sizeDelta: parseUnits(t.size, 18) })),
      })),
    ],
  });
  await wait(await c.walletClient.sendTransaction({ to: d.contracts.market, data, gas: 25_000_000n }));
}

/** Move every market's price by `permille` (−40 = −4%), one feed update each. */
export async function shock(chain: Pick<TestChain, "publicClient" | "wallet">, d: Deployment, permille: number): Promise<void> {
  const c = ownerClients(chain);
  for (const m of d.markets) {
    const price = await chain.publicClient.readContract({ address: d.contracts.market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(m.id)] });
    await publishPrice(c, m.feed, (price * BigInt(1000 + permille)) / 1000n, m.feedDecimals);
  }
}

export const tokens = (dollars: string): bigint => parseEther(dollars) / 10n ** 12n;
