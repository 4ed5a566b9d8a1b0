import { encodeFunctionData, testActions, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../chain/clients.ts";
import type { Deployment } from "../chain/deploy.ts";
import { readValuation } from "../chain/reads.ts";
import { WAD } from "../engine/index.ts";
import { SeedPlanError, planTraders, type SeedMarket, type TraderPlan } from "./planTraders.ts";
import { dispatch, revertReason, sendCall, settle, type Unsent } from "./seedTransactions.ts";

/**
 * A deterministic population of traders for a local chain: the same seed gives the same keys, the
 * same deposits and the same positions. Planning is pure ({@link planTraders}); {@link seedTraders}
 * sends the transactions. The keys are derived from a public seed: dev chains only.
 */

export { SeedRandom, traderPrivateKey } from "./seedRandom.ts";
export {
  SEED_SAFETY,
  SeedPlanError,
  checkTraderPlan,
  plannedPosition,
  planTraders,
  sizeForNotional,
  traderPlan,
} from "./planTraders.ts";
export type { PlanTradersParameters, PlannedPosition, SeedMarket, SizedPosition, TraderPlan } from "./planTraders.ts";
export { SeedTransactionError, mineUntilEmpty } from "./seedTransactions.ts";

// ---------------------------------------------------------------------------------------------
// Seeding (chain)
// ---------------------------------------------------------------------------------------------

export type SeedTradersParameters = SeedPlannedTradersParameters & {
  count: number;
  seed: string;
  /** Symbols of the markets to trade (default: every market of the deployment). */
  markets?: readonly string[];
};

export type SeedPlannedTradersParameters = {
  /** ETH given to each trader for gas, via anvil_setBalance (default 10 ETH). */
  ethPerTrader?: bigint;
  /** Receipt polling interval (ms). Default 50. */
  pollingInterval?: number;
  /**
   * Send every transaction one after the other, in plan order, with Anvil's automine off, then
   * mine them (deposits first, then trades) and restore automine. The blocks' contents are then
   * the same on every run: what the parameter lab needs for a deterministic chain. Default false:
   * everything is sent at once, as fast as the node takes it, in whatever order it arrives.
   */
  ordered?: boolean;
};

export type SeedTradersReturnType = {
  traders: TraderPlan[];
  transactions: number;
  /** First and last block holding a seeding transaction. */
  fromBlock: bigint;
  toBlock: bigint;
};

// Explicit gas limits: the transactions are sent back to back, before their predecessors are mined,
// so they cannot be estimated. Generous; unused gas is not charged.
const GAS = { mint: 200_000n, approve: 200_000n, deposit: 300_000n, trade: 3_000_000n } as const;

/**
 * Seed a local chain (Anvil) with the traders of {@link planTraders}, at the deployment's current
 * mark prices (see {@link seedPlannedTraders}).
 */
export async function seedTraders(
  c: ChainClients,
  deployment: Deployment,
  p: SeedTradersParameters,
): Promise<SeedTradersReturnType> {
  const markets = await seedMarkets(c, deployment, p.markets);
  const traders = planTraders({ count: p.count, seed: p.seed, markets });
  return seedPlannedTraders(c, deployment, traders, p);
}

/** The deployment's markets (all, or those named) as the planner sees them: rules and current mark price. */
export async function seedMarkets(
  c: Pick<ChainClients, "publicClient">,
  deployment: Deployment,
  symbols?: readonly string[],
): Promise<SeedMarket[]> {
  const chosen =
    symbols === undefined
      ? deployment.markets
      : symbols.map((s) => {
          const m = deployment.markets.find((x) => x.symbol === s);
          if (!m) throw new SeedPlanError(`unknown market "${s}"; the deployment has ${deployment.markets.map((x) => x.symbol).join(", ")}`);
          return m;
        });
  const v = await readValuation(c, deployment.contracts.market);
  return chosen.map((d) => {
    const state = v.markets.get(d.id);
    const price = v.prices.get(d.id);
    if (!state || price === undefined) throw new SeedPlanError(`market ${d.symbol} (id ${d.id}) is not on chain`);
    return { ...state, symbol: d.symbol, price };
  });
}

/**
 * Seed planned traders on a local chain (Anvil): ETH via `anvil_setBalance`; the deployer
 * (c.walletClient) mints the total collateral, approves the market once and deposits for every
 * trader; then every trader sends its trades. Transactions carry explicit nonces and are checked
 * by receipt; see {@link SeedPlannedTradersParameters.ordered} for the order they are sent in.
 */
export async function seedPlannedTraders(
  c: ChainClients,
  deployment: Deployment,
  traders: readonly TraderPlan[],
  p: SeedPlannedTradersParameters = {},
): Promise<SeedTradersReturnType> {
  if (traders.length === 0) return { traders: [...traders], transactions: 0, fromBlock: 0n, toBlock: 0n };
  const pub = c.publicClient;
  const wallet = c.walletClient;
  const marketAddress = deployment.contracts.market;
  const pollingInterval = p.pollingInterval ?? 50;
  const test = pub.extend(testActions({ mode: "anvil" }));
  const eth = p.ethPerTrader ?? 10n * WAD;
  await Promise.all(traders.map((t) => test.setBalance({ address: t.address, value: eth })));
  const automine = p.ordered ? await test.getAutomine() : true;
  if (p.ordered) await test.setAutomine(false);

  try {
    const block = await pub.getBlock();
    const maxPriorityFeePerGas = 1_000_000_000n;
    const maxFeePerGas = (block.baseFeePerGas ?? 1_000_000_000n) * 2n + maxPriorityFeePerGas;
    const fees = { maxFeePerGas, maxPriorityFeePerGas };

    // 1. The deployer: mint, approve, deposit for each trader.
    const total = traders.reduce((s, t) => s + t.depositTokens, 0n);
    const deployer = wallet.account.address;
    let nonce = await pub.getTransactionCount({ address: deployer, blockTag: "pending" });
    const token = deployment.contracts.token;
    const chainId = pub.chain.id;
    const call = (to: Address, data: Hex, n: number, gas: bigint) => () => sendCall(c, wallet.account, { to, data, nonce: n, gas, chainId, ...fees });
    const deposits: Unsent[] = [
      { label: "mint collateral", send: call(token, encodeFunctionData({ abi: MockUSDC.abi, functionName: "mint", args: [deployer, total] }), nonce++, GAS.mint) },
      {
        label: "approve the market",
        send: call(token, encodeFunctionData({ abi: MockUSDC.abi, functionName: "approve", args: [marketAddress, total] }), nonce++, GAS.approve),
      },
    ];
    for (const t of traders) {
      deposits.push({
        label: `deposit for trader ${t.index}`,
        send: call(marketAddress, encodeFunctionData({ abi: PerpMarket.abi, functionName: "deposit", args: [t.address, t.depositTokens] }), nonce++, GAS.deposit),
      });
    }
    const funding = await settle(c, await dispatch(c, deposits, p.ordered ?? false), pollingInterval);

    // 2. Every trader's trades, each trader with its own nonces.
    const trades = traders.flatMap((t) => {
      if (t.privateKey === undefined) throw new SeedPlanError(`trader ${t.index} was planned without a key`);
      const account = privateKeyToAccount(t.privateKey);
      return t.positions.map((pos, i) => ({
        label: `trader ${t.index}: trade ${pos.symbol} ${pos.size > 0n ? "long" : "short"}`,
        from: account.address,
        call: { marketId: pos.marketId, size: pos.size },
        send: () =>
          sendCall(c, account, {
            to: marketAddress,
            data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "trade", args: [BigInt(pos.marketId), pos.size] }),
            nonce: i,
            gas: GAS.trade,
            chainId,
            ...fees,
          }),
      }));
    });
    const traded = await settle(c, await dispatch(c, trades, p.ordered ?? false), pollingInterval, async (item, receipt) =>
      revertReason(c, marketAddress, item.from, item.call, receipt.blockNumber - 1n),
    );
    const all = [...funding, ...traded];
    let fromBlock = all[0]!.blockNumber;
    let toBlock = fromBlock;
    for (const r of all) {
      if (r.blockNumber < fromBlock) fromBlock = r.blockNumber;
      if (r.blockNumber > toBlock) toBlock = r.blockNumber;
    }
    return { traders: [...traders], transactions: all.length, fromBlock, toBlock };
  } finally {
    if (p.ordered && automine) await test.setAutomine(true);
  }
}
