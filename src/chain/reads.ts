import { type Address } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { Account, GlobalLiquidationParams, MarketState, Position, Valuation } from "../engine/index.ts";
import type { ChainClients } from "./clients.ts";

type Reader = Pick<ChainClients, "publicClient">;
type At = { blockNumber?: bigint };

/** The contract's global liquidation parameters. */
export async function readGlobalParams(c: Reader, market: Address, at: At = {}): Promise<GlobalLiquidationParams> {
  const [cooldown, backstopPpm, keeperSharePpm] = await c.publicClient.readContract({
    address: market,
    abi: PerpMarket.abi,
    functionName: "globalLiquidation",
    ...at,
  });
  return { cooldown: BigInt(cooldown), backstopPpm: BigInt(backstopPpm), keeperSharePpm: BigInt(keeperSharePpm) };
}

/** One market's rules and funding state, as the engine needs them. */
export async function readMarketState(c: Reader, market: Address, id: number, at: At = {}): Promise<MarketState> {
  const [m, [tiers, cums]] = await Promise.all([
    c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(id)], ...at }),
    c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "getTiers", args: [BigInt(id)], ...at }),
  ]);
  return {
    id,
    lotSize: m.params.lotSize,
    tradingFeePpm: BigInt(m.params.tradingFeePpm),
    tiers: tiers.map((t) => ({ floor: t.floor, mmrPpm: BigInt(t.mmrPpm), maxLeverage: BigInt(t.maxLeverage) })),
    cums: [...cums],
    liquidation: {
      penaltyPpm: BigInt(m.liq.penaltyPpm),
      targetBufferPpm: BigInt(m.liq.targetBufferPpm),
      maxStepPpm: BigInt(m.liq.maxStepPpm),
      tierStepDown: m.liq.tierStepDown,
      partialThreshold: m.liq.partialThreshold,
      dustNotional: m.liq.dustNotional,
      adlEnabled: m.liq.adlEnabled,
    },
    funding: { index: m.fundingIndex, ratePerSecond: m.fundingRate, lastUpdate: m.lastFundingTime },
  };
}

export async function readMarketStates(c: Reader, market: Address, at: At = {}): Promise<Map<number, MarketState>> {
  const count = await c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "marketCount", ...at });
  const states = await Promise.all(Array.from({ length: Number(count) }, (_, i) => readMarketState(c, market, i, at)));
  return new Map(states.map((s) => [s.id, s]));
}

/** An account's collateral, cooldown stamp and positions. */
export async function readAccount(c: Reader, market: Address, account: Address, at: At = {}): Promise<Account> {
  const read = c.publicClient;
  const [collateral, lastPartialAt, ids] = await Promise.all([
    read.readContract({ address: market, abi: PerpMarket.abi, functionName: "collateralOf", args: [account], ...at }),
    read.readContract({ address: market, abi: PerpMarket.abi, functionName: "lastPartialAt", args: [account], ...at }),
    read.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [account], ...at }),
  ]);
  const positions: Position[] = await Promise.all(
    ids.map(async (id) => {
      const p = await read.readContract({
        address: market,
        abi: PerpMarket.abi,
        functionName: "getPosition",
        args: [account, id],
        ...at,
      });
      return { marketId: Number(id), size: p.size, entryPrice: p.entryPrice, entryFundingIndex: p.entryFundingIndex };
    }),
  );
  return { collateral, lastPartialAt: BigInt(lastPartialAt), positions };
}

/** Mark prices of every market as the contract reads them (reverts on stale or invalid feeds). */
export async function readMarkPrices(c: Reader, market: Address, ids: readonly number[], at: At = {}): Promise<Map<number, bigint>> {
  const prices = await Promise.all(
    ids.map((id) =>
      c.publicClient.readContract({ address: market, abi: PerpMarket.abi, functionName: "markPrice", args: [BigInt(id)], ...at }),
    ),
  );
  return new Map(ids.map((id, i) => [id, prices[i]!]));
}

/** Everything the engine needs to value accounts at a block: markets, prices, time, parameters. */
export async function readValuation(c: Reader, market: Address, at: At = {}): Promise<Valuation> {
  const block = await c.publicClient.getBlock(at.blockNumber === undefined ? {} : { blockNumber: at.blockNumber });
  const pinned = { blockNumber: block.number };
  const [markets, global] = await Promise.all([readMarketStates(c, market, pinned), readGlobalParams(c, market, pinned)]);
  const prices = await readMarkPrices(c, market, [...markets.keys()], pinned);
  return { markets, prices, timestamp: block.timestamp, global };
}
