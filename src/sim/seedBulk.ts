/**
 * Bulk seeding for benchmarks: the same deterministic population as {@link seedTraders}
 * (planTraders: same seed → same deposits and positions), opened through SeedablePerpMarket's
 * owner-only `seedAccounts` in chunks of up to 1,000 accounts per transaction. Every account still goes
 * through the market's deposit and trade code (rules checked, events emitted as usual), so a keeper
 * indexes it exactly like a trader's own transactions. Local test chains only: the market must be
 * deployed with `deployReferenceMarket(c, { seedable: true, … })`.
 */
import { encodeFunctionData, type Hash, type Hex } from "viem";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { SeedablePerpMarket } from "../../abi/SeedablePerpMarket.ts";
import type { ChainClients } from "../chain/clients.ts";
import type { Deployment } from "../chain/deploy.ts";
import { BaseError } from "../lib/errors.ts";
import { planTraders, seedMarkets, type TraderPlan } from "./seedTraders.ts";

export type SeedBulkParameters = {
  count: number;
  seed: string;
  /** Accounts per transaction. Default: as many as fit the block gas limit, at most 1,000. */
  chunk?: number;
  /** Called after each mined chunk with the accounts seeded so far. */
  onProgress?: (seeded: number) => void;
};

export type SeedBulkReturnType = { traders: TraderPlan[]; transactions: number };

export class SeedBulkError extends BaseError {
  override name = "SeedBulkError";
}

/**
 * Gas bound per account (deposit + up to 3 opens with cold storage; every margin check reads each
 * market's price through its Chainlink proxy). Measured at 10,000 accounts: 421k–450k an account per
 * chunk of 1,000; the old bound of 450k ran one chunk out of gas once the feeds were proxies.
 */
const GAS_PER_ACCOUNT = 600_000n;
const GAS_BASE = 200_000n;
/** Chunks sent before waiting for receipts. */
const IN_FLIGHT = 8;

export async function seedTradersInBulk(c: ChainClients, deployment: Deployment, p: SeedBulkParameters): Promise<SeedBulkReturnType> {
  const pub = c.publicClient;
  const wallet = c.walletClient;
  const market = deployment.contracts.market;
  const traders = planTraders({ count: p.count, seed: p.seed, markets: await seedMarkets(c, deployment), keys: false });
  if (traders.length === 0) return { traders, transactions: 0 };

  const block = await pub.getBlock();
  const fitting = Number((block.gasLimit - GAS_BASE) / GAS_PER_ACCOUNT);
  // Big transactions, few blocks: Anvil keeps a copy of the state per block, so at 100,000 accounts
  // 250 per transaction (400 blocks) ran out of 24 GB; 1,000 (100 blocks) peaks near 7 GB.
  const chunk = Math.max(1, Math.min(p.chunk ?? 1_000, fitting));
  const maxPriorityFeePerGas = 1_000_000_000n;
  const fees = { maxPriorityFeePerGas, maxFeePerGas: (block.baseFeePerGas ?? 1_000_000_000n) * 2n + maxPriorityFeePerGas };
  const owner = wallet.account.address;
  let nonce = await pub.getTransactionCount({ address: owner, blockTag: "pending" });
  const total = traders.reduce((s, t) => s + t.depositTokens, 0n);

  const sent: { label: string; hash: Hash; accounts: number }[] = [];
  const send = async (label: string, to: Hex, data: Hex, gas: bigint, accounts = 0) => {
    const hash = await wallet.sendTransaction({ to, data, gas, nonce: nonce++, ...fees });
    sent.push({ label, hash, accounts });
  };
  let seeded = 0;
  let confirmed = 0;
  const waitFor = async (upTo: number) => {
    for (; confirmed < upTo; confirmed++) {
      const s = sent[confirmed]!;
      const r = await pub.waitForTransactionReceipt({ hash: s.hash, pollingInterval: 100, timeout: 300_000 });
      if (r.status !== "success") throw new SeedBulkError(`bulk seeding: ${s.label} (${s.hash}) reverted`);
      seeded += s.accounts;
      if (s.accounts > 0) p.onProgress?.(seeded);
    }
  };

  const token = deployment.contracts.token;
  await send("mint collateral", token, encodeFunctionData({ abi: MockUSDC.abi, functionName: "mint", args: [owner, total] }), 200_000n);
  await send("approve the market", token, encodeFunctionData({ abi: MockUSDC.abi, functionName: "approve", args: [market, total] }), 200_000n);
  for (let i = 0; i < traders.length; i += chunk) {
    const part = traders.slice(i, i + chunk);
    const data = encodeFunctionData({
      abi: SeedablePerpMarket.abi,
      functionName: "seedAccounts",
      args: [
        part.map((t) => ({
          account: t.address,
          tokens: t.depositTokens,
          trades: t.positions.map((x) => ({ marketId: BigInt(x.marketId), sizeDelta: x.size })),
        })),
      ],
    });
    await send(`seedAccounts for traders ${i}–${i + part.length - 1}`, market, data, GAS_BASE + GAS_PER_ACCOUNT * BigInt(part.length), part.length);
    if (sent.length - confirmed >= IN_FLIGHT) await waitFor(sent.length - IN_FLIGHT / 2);
  }
  await waitFor(sent.length);
  return { traders, transactions: sent.length };
}
