/**
 * The chain world of the capped parity cases (cappedCases.ts, cappedRun.ts): MockSUSD, Pyth's
 * MockPyth and a CappedPerpsMarket with three markets, deployed once a file on the worker's Anvil;
 * what every case does with it (owner multicalls, Pyth updates it publishes itself), and the
 * engine's state as read from the chain (configuration, skew, windows, accounts, the flagged set).
 * Prices are never read from the market: the engine values at the prices the case published.
 */
import { encodeFunctionData, getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { CappedPerpsMarket } from "../../abi/CappedPerpsMarket.ts";
import { MockPyth } from "../../abi/MockPyth.ts";
import { MockSUSD } from "../../abi/MockSUSD.ts";
import { pythToWad } from "../../src/chain/pyth/prices.ts";
import { priceUpdate, type PythPrice } from "../../src/chain/pyth/updateData.ts";
import type { CappedAccount, CappedMarket, CappedMarketConfig, KeeperRewardGuards } from "../../src/engine/capped/index.ts";
import { revertSnapshot, takeSnapshot, type TestChain } from "../support/anvil.ts";
import { mined, receiptOf } from "../support/blocks.ts";

/** Dev wallets: 0 owns everything; 1–4 trade; 5 keeps; 6 is the endorsed liquidator; 7 provides liquidity. */
export const OWNER = 0;
export const TRADERS = [1, 2, 3, 4] as const;
export const KEEPER = 5;
export const ENDORSED = 6;
export const LP = 7;

export const MARKET_IDS = [1n, 2n, 3n] as const;
/** Pyth feed ids: one per market, one for the native token (keeper costs). */
export const FEED_OF = new Map<bigint, Hex>(MARKET_IDS.map((id) => [id, keccak256(toHex(`capped parity market ${id}`))]));
export const NATIVE_FEED = keccak256(toHex("capped parity native"));
/** MockPyth's fee per update blob (wei). */
export const PYTH_FEE = 1n;
export const TX_FEES = { gas: 15_000_000n, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 0n } as const;

export type CappedWorld = {
  chain: TestChain;
  market: Address;
  pyth: Address;
  token: Address;
  address: (wallet: number) => Address;
  /** The snapshot every case starts from (a case reverts to it and takes the next one). */
  base: Hex;
};

async function deploy(chain: TestChain, abi: readonly unknown[], bytecode: Hex, args: readonly unknown[]): Promise<Address> {
  const hash = await chain.wallet(OWNER).deployContract({ abi, bytecode, args } as never);
  const r = await receiptOf(chain, hash);
  if (r.status !== "success" || !r.contractAddress) throw new Error("deployment failed");
  return getAddress(r.contractAddress);
}

/** Contracts, markets with their feeds, wallets funded and approved: once a file, before the cases' snapshot. */
export async function setupCappedWorld(chain: TestChain): Promise<Omit<CappedWorld, "base">> {
  const token = await deploy(chain, MockSUSD.abi, MockSUSD.bytecode, []);
  const pyth = await deploy(chain, MockPyth.abi, MockPyth.bytecode, [60n, PYTH_FEE]);
  const address = (i: number) => chain.wallet(i).account.address;
  const market = await deploy(chain, CappedPerpsMarket.abi, CappedPerpsMarket.bytecode, [token, pyth, address(OWNER)]);
  const calls: Hex[] = [];
  for (const id of MARKET_IDS) {
    calls.push(encodeFunctionData({ abi: CappedPerpsMarket.abi, functionName: "createMarket", args: [id, `M${id}`, `M${id}`] }));
    calls.push(encodeFunctionData({ abi: CappedPerpsMarket.abi, functionName: "setMaxMarketSize", args: [id, 10n ** 40n] }));
  }
  await mined(chain, chain.wallet(OWNER).writeContract({ address: market, abi: CappedPerpsMarket.abi, functionName: "multicall", args: [calls], ...TX_FEES }));
  for (const i of [...TRADERS, LP]) {
    await mined(chain, chain.wallet(i).writeContract({ address: token, abi: MockSUSD.abi, functionName: "mint", args: [address(i), 10n ** 40n], ...TX_FEES }));
    await mined(chain, chain.wallet(i).writeContract({ address: token, abi: MockSUSD.abi, functionName: "approve", args: [market, 2n ** 256n - 1n], ...TX_FEES }));
  }
  return { chain, market, pyth, token, address };
}

/** Run one case from the base snapshot; whatever happens, the chain is back at it afterwards. */
export async function inCappedCase(w: CappedWorld, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } finally {
    await w.chain.testClient.request({ method: "anvil_dropAllTransactions" } as never);
    await w.chain.testClient.mine({ blocks: 1 });
    await revertSnapshot(w.base);
    w.base = await takeSnapshot();
  }
}

/** Wallet `i` runs `calls` on the market in one multicall; throws if it reverts. */
export async function multicall(w: Pick<CappedWorld, "chain" | "market">, i: number, calls: Hex[], value = 0n): Promise<bigint> {
  return mined(w.chain, w.chain.wallet(i).writeContract({ address: w.market, abi: CappedPerpsMarket.abi, functionName: "multicall", args: [calls], value, ...TX_FEES }));
}

/** One feed's published price: what the engine values at, as pythToWad converts it. */
export type Published = { feed: Hex; price: PythPrice };

/** The Pyth update blobs for prices published at `publishTime`. */
export function updatesAt(prices: readonly { feed: Hex; price: bigint; expo: number }[], publishTime: bigint): { data: Hex[]; published: Published[] } {
  const published = prices.map((p) => ({ feed: p.feed, price: { price: p.price, conf: 0n, expo: p.expo, publishTime } }));
  return { data: published.map((p) => priceUpdate(p.feed, p.price)), published };
}

/** Publishes straight on MockPyth (no market involved). */
export async function publish(w: Pick<CappedWorld, "chain" | "pyth">, data: Hex[]): Promise<bigint> {
  return mined(w.chain, w.chain.wallet(OWNER).writeContract({ address: w.pyth, abi: MockPyth.abi, functionName: "updatePriceFeeds", args: [data], value: PYTH_FEE * BigInt(data.length), ...TX_FEES }));
}

/** The engine's D18 price of every market (and the native token) from what was published last. */
export function enginePrices(published: ReadonlyMap<Hex, PythPrice>): { prices: Map<bigint, bigint>; native: bigint | undefined } {
  const prices = new Map<bigint, bigint>();
  for (const id of MARKET_IDS) {
    const p = published.get(FEED_OF.get(id)!);
    if (p) prices.set(id, pythToWad(p));
  }
  const n = published.get(NATIVE_FEED);
  return { prices, native: n ? pythToWad(n) : undefined };
}

// ---- the engine's state, read from the chain ---------------------------------------------------------

const c = (w: Pick<CappedWorld, "market">, blockNumber: bigint) => ({ address: w.market, abi: CappedPerpsMarket.abi, blockNumber }) as const;

export async function readMarket(w: Pick<CappedWorld, "chain" | "market">, id: bigint, blockNumber: bigint): Promise<CappedMarket> {
  const read = w.chain.publicClient;
  const at = c(w, blockNumber);
  const [[makerFee, takerFee], [skewScale], lp, mx, maxMarketSize, skew, size, [timestamps, amounts], [, , latest]] = await Promise.all([
    read.readContract({ ...at, functionName: "getOrderFees", args: [id] }),
    read.readContract({ ...at, functionName: "getFundingParameters", args: [id] }),
    read.readContract({ ...at, functionName: "getLiquidationParameters", args: [id] }),
    read.readContract({ ...at, functionName: "getMaxLiquidationParameters", args: [id] }),
    read.readContract({ ...at, functionName: "getMaxMarketSize", args: [id] }),
    read.readContract({ ...at, functionName: "skew", args: [id] }),
    read.readContract({ ...at, functionName: "size", args: [id] }),
    read.readContract({ ...at, functionName: "liquidationWindowEntries", args: [id] }),
    read.readContract({ ...at, functionName: "liquidationCapacity", args: [id] }),
  ]);
  const config: CappedMarketConfig = {
    skewScale,
    makerFee,
    takerFee,
    initialMarginRatio: lp[0],
    minimumInitialMarginRatio: lp[1],
    maintenanceMarginScalar: lp[2],
    flagRewardRatio: lp[3],
    minimumPositionMargin: lp[4],
    maxLiquidationLimitAccumulationMultiplier: mx[0],
    maxSecondsInLiquidationWindow: mx[1],
    maxLiquidationPd: mx[2],
    endorsedLiquidator: mx[3],
    maxMarketSize,
  };
  return { id, config, skew, size, window: { entries: timestamps.map((t, i) => ({ timestamp: t, amount: amounts[i]! })), latestTimestamp: latest } };
}

export async function readAccount(w: Pick<CappedWorld, "chain" | "market">, id: bigint, flagged: readonly bigint[], blockNumber: bigint): Promise<CappedAccount> {
  const read = w.chain.publicClient;
  const at = c(w, blockNumber);
  const [collateral, ids] = await Promise.all([
    read.readContract({ ...at, functionName: "totalCollateralValue", args: [id] }),
    read.readContract({ ...at, functionName: "getAccountOpenPositions", args: [id] }),
  ]);
  const positions = await Promise.all(
    ids.map(async (marketId) => {
      const [size, latestInteractionPrice] = await read.readContract({ ...at, functionName: "getPosition", args: [id, marketId] });
      return { marketId, size: BigInt(size), latestInteractionPrice };
    }),
  );
  return { id, collateral, flagged: flagged.includes(id), positions };
}

export async function readBook(w: Pick<CappedWorld, "chain" | "market">, blockNumber: bigint): Promise<{ flaggedAccounts: bigint[]; poolBalance: bigint }> {
  const read = w.chain.publicClient;
  const at = c(w, blockNumber);
  const [flaggedAccounts, poolBalance] = await Promise.all([read.readContract({ ...at, functionName: "flaggedAccounts" }), read.readContract({ ...at, functionName: "poolBalance" })]);
  return { flaggedAccounts: [...flaggedAccounts], poolBalance };
}

export async function readGuards(w: Pick<CappedWorld, "chain" | "market">, blockNumber: bigint): Promise<KeeperRewardGuards> {
  const [minKeeperRewardUsd, minKeeperProfitRatio, maxKeeperRewardUsd, maxKeeperScalingRatio] = await w.chain.publicClient.readContract({ ...c(w, blockNumber), functionName: "getKeeperRewardGuards" });
  return { minKeeperRewardUsd, minKeeperProfitRatio, maxKeeperRewardUsd, maxKeeperScalingRatio };
}

/** The token balance of the market: Σ collateral + pool, always. */
export async function tokensHeld(w: Pick<CappedWorld, "chain" | "market" | "token">, blockNumber: bigint): Promise<bigint> {
  return w.chain.publicClient.readContract({ address: w.token, abi: MockSUSD.abi, functionName: "balanceOf", args: [w.market], blockNumber });
}
