/**
 * The reference market on a test chain: deploying it (config/markets.json and a preset), seeding a
 * population of traders, what a dev account does on it (fund, deposit, withdraw, trade, open a
 * long), the owner's and a keeper's actions the tests need, and what the chain says about it
 * (liquidations, who is liquidatable, balances).
 */
import { encodeAbiParameters, encodeFunctionData, getAddress, keccak256, numberToHex, parseEventLogs, parseUnits, type Address } from "viem";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { deployChainlinkFeed } from "../../src/chain/chainlinkDeploy.ts";
import type { ChainClients as Signer } from "../../src/chain/clients.ts";
import { deployReferenceMarket, globalParamsArg, type DeployParameters, type Deployment } from "../../src/chain/deploy.ts";
import { feedAnswer } from "../../src/chain/prices.ts";
import { loadMarkets, loadPreset } from "../../src/config/presets.ts";
import type { GlobalLiquidationParams } from "../../src/engine/index.ts";
import { seedTraders } from "../../src/sim/seedTraders.ts";
import { testAccounts } from "./anvil.ts";
import { mined, type Clients, type ReorgTx } from "./blocks.ts";

/** Dev accounts: 0 deploys the market and owns it and its feeds' proxies, 9 is the keeper; the others trade. */
export const OWNER = 0;
export const KEEPER = 9;
/** Market ids of config/markets.json. SMALLCAP: tier-0 maintenance 2%, a volatile small cap. */
export const BTC = 0;
export const ETH = 1;
export const SMALLCAP = 2;

/** Dev account `i`'s address. */
export const trader = (i: number): Address => testAccounts[i]!.address;

/** A deployment and the clients of the chain it is on: what the helpers below work on. */
export type Deployed = { chain: Clients; deployment: Deployment };

/** Dev account `wallet` (default the owner) as the clients src/ functions take. */
export function signer(chain: Pick<Clients, "publicClient" | "wallet">, wallet = OWNER): Signer {
  return { publicClient: chain.publicClient, walletClient: chain.wallet(wallet) };
}

export type DeployOptions = Partial<Pick<DeployParameters, "markets" | "seedable" | "poolTokens" | "insuranceTokens">> & {
  /**
   * Seconds between blocks from the deployment on (Anvil's block timestamp interval): funding and
   * staleness then depend on the test alone, not on how long its transactions took. Default: the
   * wall clock.
   */
  blockTime?: number;
};

/** Deploys the reference market with `preset` (markets from config/markets.json unless given). */
export async function deployMarket(chain: Clients, preset: string, o: DeployOptions = {}): Promise<Deployment> {
  if (o.blockTime) await chain.testClient.setBlockTimestampInterval({ interval: o.blockTime });
  const { blockTime: _, markets = loadMarkets(), ...rest } = o;
  const deployment = await deployReferenceMarket(signer(chain), { ...rest, markets, preset: loadPreset(preset) });
  // The native token's USD pair the keeper values gas with (as devnet and demo deploy one).
  return { ...deployment, nativeUsdFeed: await deployFeed(chain, 8, NATIVE_USD, "ETH / USD") };
}

/** The test world's native-token price (its ETH / USD feed's answer), USD WAD. */
export const NATIVE_USD = 3_000n * 10n ** 18n;

/**
 * Seeds `count` traders: the same keys, deposits and positions on every run of a `seed`. Ordered
 * (automine alone can strand a burst that fills a block: no block comes for the rest).
 */
export async function seedPopulation(m: Deployed, count: number, seed = "keeper-e2e"): Promise<Address[]> {
  if (count === 0) return [];
  const seeded = await seedTraders(signer(m.chain), m.deployment, { count, seed, ordered: true });
  return seeded.traders.map((t) => getAddress(t.address));
}

/** Deploys a Chainlink feed (the owner's proxy over an aggregator) answering `priceWad` in `decimals`; the proxy. */
export async function deployFeed(chain: Pick<Clients, "publicClient" | "wallet">, decimals: number, priceWad: bigint, description = "TEST / USD"): Promise<Address> {
  const { proxy } = await deployChainlinkFeed(signer(chain), { decimals, description, answer: feedAnswer(priceWad, decimals) });
  return getAddress(proxy);
}

/** Deploys a feed that emits its own prices, no proxy (MockAggregatorV3, the owner's): as deployments before proxies had. */
export async function deployPlainFeed(chain: Pick<Clients, "publicClient" | "wallet">, decimals: number, priceWad: bigint, description = "TEST / USD"): Promise<Address> {
  const r = await chain.publicClient.waitForTransactionReceipt({
    hash: await chain.wallet(OWNER).deployContract({
      abi: MockAggregatorV3.abi,
      bytecode: MockAggregatorV3.bytecode,
      args: [decimals, description, feedAnswer(priceWad, decimals)],
    }),
  });
  if (r.status !== "success" || !r.contractAddress) throw new Error("feed deployment failed");
  return getAddress(r.contractAddress);
}

// ---------------------------------------------------------------------------------------------
// A dev account trading
// ---------------------------------------------------------------------------------------------

const market = (m: Pick<Deployed, "deployment">) => m.deployment.contracts.market;

/** Dev account `i` mints `amount` collateral token units (6 decimals) and lets the market take them. */
export async function fund(m: Deployed, i: number, amount: bigint): Promise<void> {
  const wallet = m.chain.wallet(i);
  const token = m.deployment.contracts.token;
  await mined(m.chain, wallet.writeContract({ address: token, abi: MockUSDC.abi, functionName: "mint", args: [wallet.account.address, amount] }));
  await mined(m.chain, wallet.writeContract({ address: token, abi: MockUSDC.abi, functionName: "approve", args: [market(m), amount] }));
}

/** Dev account `i` deposits `tokens` whole USDC (minted first); the deposit's block. */
export async function deposit(m: Deployed, i: number, tokens: bigint): Promise<bigint> {
  const amount = tokens * 10n ** 6n;
  await fund(m, i, amount);
  const wallet = m.chain.wallet(i);
  return mined(m.chain, wallet.writeContract({ address: market(m), abi: PerpMarket.abi, functionName: "deposit", args: [wallet.account.address, amount] }));
}

export async function withdraw(m: Deployed, i: number, amountWad: bigint): Promise<bigint> {
  return mined(m.chain, m.chain.wallet(i).writeContract({ address: market(m), abi: PerpMarket.abi, functionName: "withdraw", args: [amountWad] }));
}

export async function trade(m: Deployed, i: number, marketId: number, size: bigint): Promise<bigint> {
  return mined(m.chain, m.chain.wallet(i).writeContract({ address: market(m), abi: PerpMarket.abi, functionName: "trade", args: [BigInt(marketId), size] }));
}

/** The same trade as a transaction for anvil_reorg. */
export function tradeTx(m: Pick<Deployed, "deployment">, i: number, marketId: number, size: bigint): ReorgTx {
  return { from: trader(i), to: market(m), data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "trade", args: [BigInt(marketId), size] }) };
}

/**
 * Dev account `i` deposits `tokens` (whole USDC) and opens a long of `units` in `marketId` at the
 * current price. Defaults: 300 USDC behind 8 000 SMALLCAP at 0.5 (13x), liquidatable below
 * ~0.4724, and at 0.47 a partial step (about half) restores it.
 */
export async function openLong(m: Deployed, i: number, opts: { tokens?: bigint; units?: string; marketId?: number } = {}): Promise<Address> {
  await deposit(m, i, opts.tokens ?? 300n);
  await trade(m, i, opts.marketId ?? SMALLCAP, parseUnits(opts.units ?? "8000", 18));
  return trader(i);
}

// ---------------------------------------------------------------------------------------------
// The owner and keepers
// ---------------------------------------------------------------------------------------------

/** The owner sets the global liquidation parameters (cooldown, backstop, keeper share). */
export async function setGlobalParams(m: Deployed, g: GlobalLiquidationParams): Promise<bigint> {
  return mined(
    m.chain,
    m.chain.wallet(OWNER).writeContract({ address: market(m), abi: PerpMarket.abi, functionName: "setGlobalLiquidationParams", args: [globalParamsArg(g)] }),
  );
}

export async function setFundingRate(m: Deployed, marketId: number, rate: bigint): Promise<bigint> {
  return mined(m.chain, m.chain.wallet(OWNER).writeContract({ address: market(m), abi: PerpMarket.abi, functionName: "setFundingRate", args: [BigInt(marketId), rate] }));
}

/** Dev account `wallet` (default the keeper) liquidates the largest slice the contract allows now; that slice. */
export async function liquidateMax(m: Deployed, account: Address, marketId: number, wallet = KEEPER): Promise<bigint> {
  const size = await m.chain.publicClient.readContract({ address: market(m), abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [account, BigInt(marketId)] });
  if (size === 0n) throw new Error(`${account} is not liquidatable in market ${marketId}`);
  await mined(m.chain, m.chain.wallet(wallet).writeContract({ address: market(m), abi: PerpMarket.abi, functionName: "liquidate", args: [account, BigInt(marketId), size] }));
  return size;
}

/**
 * Writes `lastPartialAt[account] = at` straight into the market's storage (anvil_setStorageAt): no
 * event, so an indexer (and the engine valuing it) does not see it, while the contract does. The
 * mapping's slot is found by probing: each candidate is written, read back through the public
 * getter, and restored unless it was the one.
 */
export async function pokeLastPartialAt(m: Deployed, account: Address, at: bigint): Promise<void> {
  const address = market(m);
  const read = () => m.chain.publicClient.readContract({ address, abi: PerpMarket.abi, functionName: "lastPartialAt", args: [account] });
  const value = numberToHex(at, { size: 32 });
  for (let slot = 0n; slot < 128n; slot++) {
    const key = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [account, slot]));
    const before = await m.chain.publicClient.getStorageAt({ address, slot: key });
    await m.chain.testClient.setStorageAt({ address, index: key, value });
    if (BigInt(await read()) === at) return;
    await m.chain.testClient.setStorageAt({ address, index: key, value: before ?? numberToHex(0n, { size: 32 }) });
  }
  throw new Error("lastPartialAt's storage slot not found");
}

// ---------------------------------------------------------------------------------------------
// What the chain says
// ---------------------------------------------------------------------------------------------

export type Liquidation = {
  account: Address;
  marketId: number;
  keeper: Address;
  size: bigint;
  full: boolean;
  remainingSize: bigint;
  block: bigint;
  txIndex: number;
  txHash: `0x${string}`;
};

/** The market's Liquidated events since `fromBlock` (of `account` only, if given), in chain order. */
export async function liquidations(m: Deployed, fromBlock: bigint, account?: Address): Promise<Liquidation[]> {
  const logs = await m.chain.publicClient.getLogs({ address: market(m), fromBlock, toBlock: "latest" });
  return parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" })
    .map((l) => ({
      account: getAddress(l.args.account),
      marketId: Number(l.args.marketId),
      keeper: getAddress(l.args.keeper),
      size: l.args.size,
      full: l.args.full,
      remainingSize: l.args.remainingSize,
      block: l.blockNumber,
      txIndex: l.transactionIndex,
      txHash: l.transactionHash,
    }))
    .filter((l) => account === undefined || l.account === getAddress(account))
    .sort((a, b) => (a.block === b.block ? a.txIndex - b.txIndex : a.block < b.block ? -1 : 1));
}

/** The traders the contract says are liquidatable now. */
export async function liquidatableTraders(m: Deployed & { traders: readonly Address[] }): Promise<Address[]> {
  const flags = await Promise.all(
    m.traders.map((t) => m.chain.publicClient.readContract({ address: market(m), abi: PerpMarket.abi, functionName: "isLiquidatable", args: [t] })),
  );
  return m.traders.filter((_, i) => flags[i]);
}

/** `who`'s collateral token balance (6 decimals). */
export async function tokenBalance(m: Deployed, who: Address): Promise<bigint> {
  return m.chain.publicClient.readContract({ address: m.deployment.contracts.token, abi: MockUSDC.abi, functionName: "balanceOf", args: [who] });
}
