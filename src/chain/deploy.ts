import { type Address, type Hash } from "viem";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { SeedablePerpMarket } from "../../abi/SeedablePerpMarket.ts";
import type { MarketSpec, Preset } from "../config/presets.ts";
import type { GlobalLiquidationParams, LiquidationParams } from "../engine/index.ts";
import { BaseError } from "../lib/errors.ts";
import { deployChainlinkFeed } from "./chainlinkDeploy.ts";
import type { ChainClients } from "./clients.ts";
import { feedAnswer } from "./prices.ts";

/** A preset's global rules as the contract's GlobalLiquidationParams struct (constructor, setGlobalLiquidationParams). */
export function globalParamsArg(g: GlobalLiquidationParams) {
  return { cooldown: Number(g.cooldown), backstopPpm: Number(g.backstopPpm), keeperSharePpm: Number(g.keeperSharePpm) };
}

/** A preset's liquidation rules as the contract's LiquidationParams struct (addMarket, setLiquidationParams). */
export function liquidationParamsArg(l: LiquidationParams) {
  return {
    penaltyPpm: Number(l.penaltyPpm),
    targetBufferPpm: Number(l.targetBufferPpm),
    maxStepPpm: Number(l.maxStepPpm),
    tierStepDown: l.tierStepDown,
    partialThreshold: l.partialThreshold,
    dustNotional: l.dustNotional,
    adlEnabled: l.adlEnabled,
  };
}

/** What `perp-keeper deploy` writes: enough for any client to find and read the market. */
export type Deployment = {
  /** The protocol module that keeps this market (src/protocols/<name>); absent: "reference". */
  protocol?: string;
  chainId: number;
  deployBlock: bigint;
  deployer: Address;
  preset: string;
  contracts: { market: Address; token: Address };
  /** `feeds`: every feed of the market's index mark price, when it reads more than `feed` (the first). */
  markets: { id: number; symbol: string; feed: Address; feedDecimals: number; feeds?: Address[] }[];
  /** A Chainlink feed (proxy) of the native token's USD price on this chain; the keeper values gas with it when its settings name none. */
  nativeUsdFeed?: Address;
};

export type DeployParameters = {
  markets: readonly MarketSpec[];
  preset: Preset;
  /** Liquidity for the pool and the insurance fund, in whole tokens (6 decimals applied here). */
  poolTokens?: bigint;
  insuranceTokens?: bigint;
  /**
   * Deploy SeedablePerpMarket (contracts/src/bench): the same market plus an owner-only bulk
   * seeding entry point. Benchmarks and tests on a local chain only.
   */
  seedable?: boolean;
  /** Who may call deleverage() (ADL). Default: the deployer, as venues run ADL themselves. */
  adlOperator?: Address;
};

/** A deployment transaction failed or reverted. */
export class DeployError extends BaseError {
  override name = "DeployError";
}

async function send(c: ChainClients, hash: Promise<Hash>): Promise<bigint> {
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new DeployError(`deployment transaction ${receipt.transactionHash} reverted`);
  return receipt.blockNumber;
}

async function deployContract(c: ChainClients, hash: Promise<Hash>): Promise<{ address: Address; block: bigint }> {
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new DeployError(`contract deployment ${receipt.transactionHash} failed`);
  return { address: receipt.contractAddress, block: receipt.blockNumber };
}

/**
 * Deploy the collateral token, one Chainlink feed per market (Chainlink's proxy over an aggregator the
 * deployer can switch, chainlinkDeploy.ts), and the market; configure every market
 * from its spec and the preset's liquidation policy; fund the pool and the insurance fund.
 */
export async function deployReferenceMarket(c: ChainClients, p: DeployParameters): Promise<Deployment> {
  const w = c.walletClient;
  const deployer = w.account.address;
  const token = await deployContract(c, w.deployContract({ abi: MockUSDC.abi, bytecode: MockUSDC.bytecode, args: [] }));
  const g = p.preset.global;
  const market = await deployContract(
    c,
    w.deployContract({
      abi: PerpMarket.abi,
      bytecode: p.seedable ? SeedablePerpMarket.bytecode : PerpMarket.bytecode,
      args: [
        token.address,
        globalParamsArg(g),
      ],
    }),
  );
  const markets: Deployment["markets"] = [];
  for (const [id, m] of p.markets.entries()) {
    // The market reads Chainlink's proxy; prices are published on the proxy's current aggregator.
    // A market with an index reads several (docs/reference-market.md "Index mark price").
    const proxies: Address[] = [];
    for (let i = 0; i < (m.index?.feeds ?? 1); i++) {
      const f = await deployChainlinkFeed(c, {
        decimals: m.feedDecimals,
        description: i === 0 ? m.description : `${m.description} (source ${i + 1})`,
        answer: feedAnswer(m.initialPrice, m.feedDecimals),
      });
      proxies.push(f.proxy);
    }
    const feed = { proxy: proxies[0]! };
    const l = p.preset.liquidation;
    await send(
      c,
      w.writeContract({
        address: market.address,
        abi: PerpMarket.abi,
        functionName: "addMarket",
        args: [
          {
            feed: feed.proxy,
            maxStaleness: Number(m.maxStaleness),
            tradingFeePpm: Number(m.tradingFeePpm),
            lotSize: m.lotSize,
          },
          liquidationParamsArg(l),
          m.tiers.map((t) => ({ floor: t.floor, mmrPpm: Number(t.mmrPpm), maxLeverage: Number(t.maxLeverage) })),
        ],
      }),
    );
    if (m.index && proxies.length > 1) {
      await send(c, w.writeContract({ address: market.address, abi: PerpMarket.abi, functionName: "setIndexFeeds", args: [BigInt(id), proxies, m.index.minSources, Number(m.index.maxDeviationPpm)] }));
    }
    markets.push({ id, symbol: m.symbol, feed: feed.proxy, feedDecimals: m.feedDecimals, ...(proxies.length > 1 ? { feeds: proxies } : {}) });
  }
  await send(c, w.writeContract({ address: market.address, abi: PerpMarket.abi, functionName: "setAdlOperator", args: [p.adlOperator ?? deployer] }));
  const fund = async (tokens: bigint, functionName: "fundPool" | "fundInsurance") => {
    if (tokens <= 0n) return;
    const amount = tokens * 10n ** 6n;
    await send(c, w.writeContract({ address: token.address, abi: MockUSDC.abi, functionName: "mint", args: [deployer, amount] }));
    await send(c, w.writeContract({ address: token.address, abi: MockUSDC.abi, functionName: "approve", args: [market.address, amount] }));
    await send(c, w.writeContract({ address: market.address, abi: PerpMarket.abi, functionName, args: [amount] }));
  };
  await fund(p.poolTokens ?? 100_000_000n, "fundPool");
  await fund(p.insuranceTokens ?? 1_000_000n, "fundInsurance");
  return {
    protocol: "reference",
    chainId: await c.publicClient.getChainId(),
    deployBlock: token.block,
    deployer,
    preset: p.preset.name,
    contracts: { market: market.address, token: token.address },
    markets,
  };
}
