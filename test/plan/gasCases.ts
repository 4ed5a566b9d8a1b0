/**
 * Accounts made liquidatable in chosen shapes on a seedable reference market (SeedablePerpMarket's
 * owner-only `seedAccounts`: every account still goes through the market's deposit and trade code),
 * for measuring the gas of liquidations and for keeper tests that need many targets at once. The
 * market is the shared world's, deployed with `deploy: { seedable: true }`.
 */
import { encodeFunctionData, getAddress, keccak256, parseEther, parseUnits, toHex, type Address } from "viem";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { SeedablePerpMarket } from "../../abi/SeedablePerpMarket.ts";
import { mined } from "../support/blocks.ts";
import { OWNER, type Deployed } from "../support/market.ts";

export type SeedSpec = { tokens: bigint; trades: { marketId: number; size: string }[] };

/** A fresh address per (label, index): nobody holds its key, nobody else trades from it. */
export function addressOf(label: string, i: number): Address {
  return getAddress(keccak256(toHex(`${label}:${i}`)).slice(0, 42));
}

/** Seed `specs` at `addresses` in one owner transaction (collateral minted to the owner first). */
export async function seed(m: Deployed, addresses: Address[], specs: SeedSpec[]): Promise<void> {
  const owner = m.chain.wallet(OWNER);
  const total = specs.reduce((s, x) => s + x.tokens, 0n);
  const { token, market } = m.deployment.contracts;
  await mined(m.chain, owner.writeContract({ address: token, abi: MockUSDC.abi, functionName: "mint", args: [owner.account.address, total] }));
  await mined(m.chain, owner.writeContract({ address: token, abi: MockUSDC.abi, functionName: "approve", args: [market, total] }));
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
  await mined(m.chain, owner.sendTransaction({ to: market, data, gas: 25_000_000n }));
}

export const tokens = (dollars: string): bigint => parseEther(dollars) / 10n ** 12n;
