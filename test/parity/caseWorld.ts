/**
 * The chain world of the ADL and index-price parity cases (adlCases.ts, indexCases.ts): a market
 * with no markets of its own, a pool of feeds of each decimals, dev wallets funded and approved
 * without limit, an ADL operator; and what every case does with it: send a transaction, decode a
 * custom error, value accounts with the engine from the feeds' raw answers, read the totals.
 */
import { BaseError, ContractFunctionRevertedError, getAddress, type Address, type Hex } from "viem";
import { DataFeedsLegacyAggregatorProxy } from "../../abi/DataFeedsLegacyAggregatorProxy.ts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { publisherOf } from "../../src/chain/prices.ts";
import { readGlobalParams, readMarketStates } from "../../src/chain/reads.ts";
import { indexMark, type FeedPrice, type IndexRules, type Valuation } from "../../src/engine/index.ts";
import { revertSnapshot, takeSnapshot, type TestChain } from "../support/anvil.ts";
import { mined } from "../support/blocks.ts";
import type { World as SharedWorld } from "../support/fixtures.ts";
import { OWNER, deployFeed, fund } from "../support/market.ts";

/** Dev accounts: 0 owns the market; 1 goes bankrupt; 2–7 are the other traders; 8 runs ADL; 9 nothing. */
export const BANKRUPT = 1;
export const OTHERS = [2, 3, 4, 5, 6, 7] as const;
export const OPERATOR = 8;
export const OUTSIDER = 9;

export const DECIMALS = [6, 8, 18] as const;
export type Decimals = (typeof DECIMALS)[number];
/** Up to seven feeds of each decimals: an index may read seven feeds of one kind. */
const FEEDS_PER_DECIMALS = 7;
/** Gas and fees fixed: viem then asks the node for neither (Anvil's base fee stays far below). */
export const TX_FEES = { gas: 5_000_000n, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 0n } as const;

/** The shared world's market for the cases: no markets (each case adds its own), a pool of 10^18 tokens. */
export const CASES_DEPLOYMENT = { markets: [], poolTokens: 10n ** 18n, insuranceTokens: 0n };

export type Feed = { proxy: Address; aggregator: Address; decimals: Decimals };

export type CaseWorld = {
  chain: TestChain;
  market: Address;
  token: Address;
  feeds: Record<Decimals, Feed[]>;
  address: (wallet: number) => Address;
  /** The snapshot every case starts from (a case reverts to it and takes the next one). */
  base: Hex;
};

/** Feeds, funded wallets, the ADL operator: once a file, before the cases' snapshot. */
export async function setupCaseWorld(w: SharedWorld): Promise<Omit<CaseWorld, "base">> {
  const feeds = { 6: [], 8: [], 18: [] } as Record<Decimals, Feed[]>;
  for (const d of DECIMALS) {
    for (let i = 0; i < FEEDS_PER_DECIMALS; i++) {
      const proxy = await deployFeed(w.chain, d, 10n ** 18n, `parity ${d}/${i}`);
      feeds[d].push({ proxy, aggregator: await publisherOf(w.chain, proxy), decimals: d });
    }
  }
  for (const i of [OWNER, BANKRUPT, ...OTHERS]) await fund(w, i, 10n ** 30n);
  const market = w.deployment.contracts.market;
  const address = (i: number) => w.chain.wallet(i).account.address;
  await mined(w.chain, w.chain.wallet(OWNER).writeContract({ address: market, abi: PerpMarket.abi, functionName: "setAdlOperator", args: [address(OPERATOR)] }));
  return { chain: w.chain, market, token: w.deployment.contracts.token, feeds, address };
}

/** Run one case from the base snapshot; whatever happens, the chain is back at it afterwards. */
export async function inCase(w: CaseWorld, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } finally {
    // Nothing of the case may be left: a timestamp set for a transaction that never came included.
    await w.chain.testClient.mine({ blocks: 1 });
    await revertSnapshot(w.base);
    w.base = await takeSnapshot();
  }
}

/** Wallet `i` sends `data` (encodeFunctionData at the call site) to `to` with a fixed gas limit; throws if it reverts. */
export async function send(w: Pick<CaseWorld, "chain">, i: number, to: Address, data: Hex): Promise<bigint> {
  return mined(w.chain, w.chain.wallet(i).sendTransaction({ to, data, ...TX_FEES }));
}

/** A contract's custom error: its name and decoded arguments (addresses checksummed). */
export type ContractError = { name: string; args: readonly unknown[] };

/** The custom error `e` carries, or undefined when it is no contract revert. */
export function contractError(e: unknown): ContractError | undefined {
  if (!(e instanceof BaseError)) return undefined;
  const r = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (!(r instanceof ContractFunctionRevertedError) || r.data?.errorName === undefined) return undefined;
  return { name: r.data.errorName, args: normalise(r.data.args ?? []) };
}

/** Addresses checksummed, numbers as bigint: how the engine's predictions are compared. */
export function normalise(args: readonly unknown[]): unknown[] {
  return args.map((a) => (typeof a === "string" && /^0x[0-9a-fA-F]{40}$/.test(a) ? getAddress(a) : typeof a === "number" ? BigInt(a) : a));
}

/** Call a view; its result, or the custom error it reverted with. */
export async function viewOrError<T>(read: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ContractError }> {
  try {
    return { ok: true, value: await read() };
  } catch (e) {
    const error = contractError(e);
    if (error === undefined) throw e;
    return { ok: false, error };
  }
}

/** A feed's latest round as the engine takes it: answer × 10^(18 − decimals), updatedAt. */
export async function readFeed(w: Pick<CaseWorld, "chain">, feed: Feed, blockNumber: bigint): Promise<FeedPrice> {
  const [, answer, , updatedAt] = await w.chain.publicClient.readContract({
    address: feed.proxy,
    abi: DataFeedsLegacyAggregatorProxy.abi,
    functionName: "latestRoundData",
    blockNumber,
  });
  return { price: answer * 10n ** BigInt(18 - feed.decimals), updatedAt };
}

/**
 * The engine's valuation at `blockNumber`, with time `timestamp`: markets and parameters as the
 * chain holds them, each mark price from `indexMark` over the market's feeds' raw answers (never
 * from the contract's markPrice). A market the engine cannot price is a broken case: it throws.
 */
export async function engineValuation(
  w: Pick<CaseWorld, "chain" | "market">,
  index: ReadonlyMap<number, { feeds: readonly Feed[]; rules: Omit<IndexRules, "maxStaleness"> }>,
  blockNumber: bigint,
  timestamp: bigint,
): Promise<Valuation> {
  const at = { blockNumber };
  const [markets, global] = await Promise.all([readMarketStates(w.chain, w.market, at), readGlobalParams(w.chain, w.market, at)]);
  const prices = new Map<number, bigint>();
  for (const [id, ix] of index) {
    const maxStaleness = (await w.chain.publicClient.readContract({ address: w.market, abi: PerpMarket.abi, functionName: "getMarket", args: [BigInt(id)], ...at })).params.maxStaleness;
    const answers = await Promise.all(ix.feeds.map((f) => readFeed(w, f, blockNumber)));
    const mark = indexMark(answers, { ...ix.rules, maxStaleness: BigInt(maxStaleness) }, timestamp);
    if (!mark.ok) throw new Error(`market ${id}: the engine refuses its mark (${mark.reason}) in a case that needs one`);
    prices.set(id, mark.price);
  }
  return { markets, prices, timestamp, global };
}

export type Totals = { insuranceFund: bigint; badDebt: bigint; poolBalance: bigint; totalCollateral: bigint; tokensHeld: bigint };

export async function totals(w: Pick<CaseWorld, "chain" | "market" | "token">, blockNumber?: bigint): Promise<Totals> {
  const read = w.chain.publicClient;
  const c = { address: w.market, abi: PerpMarket.abi, ...(blockNumber === undefined ? {} : { blockNumber }) } as const;
  const [insuranceFund, badDebt, poolBalance, totalCollateral, tokensHeld] = await Promise.all([
    read.readContract({ ...c, functionName: "insuranceFund" }),
    read.readContract({ ...c, functionName: "badDebt" }),
    read.readContract({ ...c, functionName: "poolBalance" }),
    read.readContract({ ...c, functionName: "totalCollateral" }),
    read.readContract({ address: w.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [w.market], ...(blockNumber === undefined ? {} : { blockNumber }) }),
  ]);
  return { insuranceFund, badDebt, poolBalance, totalCollateral, tokensHeld };
}
