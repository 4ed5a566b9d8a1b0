import {
  ContractFunctionRevertedError,
  BaseError as ViemBaseError,
  concat,
  encodeFunctionData,
  getAddress,
  keccak256,
  numberToHex,
  slice,
  testActions,
  toBytes,
  type Account as ViemAccount,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
} from "viem";
import { sendRawTransaction } from "viem/actions";
import { privateKeyToAccount } from "viem/accounts";
import { MockUSDC } from "../../abi/MockUSDC.ts";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import type { ChainClients } from "../chain/clients.ts";
import type { Deployment } from "../chain/deploy.ts";
import { readValuation } from "../chain/reads.ts";
import {
  PPM,
  TOKEN_SCALE,
  WAD,
  accountHealth,
  ceilDiv,
  notional,
  tierIndex,
  type Account,
  type MarketRules,
  type Position,
  type Valuation,
} from "../engine/index.ts";
import { BaseError } from "../lib/errors.ts";

/**
 * A deterministic population of traders for a local chain: the same seed gives the same keys, the
 * same deposits and the same positions. Planning is pure ({@link planTraders}); {@link seedTraders}
 * sends the transactions. The keys are derived from a public seed: dev chains only.
 */

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

/** A keccak-based random stream: 256-bit bigints, reproducible from a 32-byte seed. */
export class SeedRandom {
  private counter = 0n;
  constructor(private readonly seed: Hex) {}

  static from(...parts: (string | number | bigint)[]): SeedRandom {
    return new SeedRandom(keccak256(toBytes(["perp-keeper/seed-traders/v1", ...parts.map(String)].join(":"))));
  }

  next(): bigint {
    const h = keccak256(concat([this.seed, numberToHex(this.counter++, { size: 32 })]));
    return BigInt(h);
  }

  /** Uniform in [0, n) (bias below 2^-200 for the ranges used here). */
  below(n: bigint): bigint {
    if (n <= 0n) throw new RangeError("below(n) needs n > 0");
    return this.next() % n;
  }

  /** Uniform in [lo, hi]. */
  between(lo: bigint, hi: bigint): bigint {
    return hi <= lo ? lo : lo + this.below(hi - lo + 1n);
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Number(this.below(BigInt(i + 1)));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * Trader `index`'s private key: keccak256 of the seed and the index (re-hashed in the negligible case
 * that it is not a valid secp256k1 scalar). Public by construction: dev chains only.
 */
export function traderPrivateKey(seed: string, index: number): Hex {
  let key = keccak256(toBytes(`perp-keeper/seed-traders/v1:key:${seed}:${index}`));
  while (BigInt(key) === 0n || BigInt(key) >= SECP256K1_ORDER) key = keccak256(key);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Planning (pure)
// ---------------------------------------------------------------------------------------------

/** A market as the planner sees it: its rules and its current mark price. */
export type SeedMarket = Pick<MarketRules, "id" | "lotSize" | "tradingFeePpm" | "tiers" | "cums"> & {
  symbol: string;
  price: bigint;
};

export type PlannedPosition = {
  marketId: number;
  symbol: string;
  /** Signed size (long > 0), a lot multiple. */
  size: bigint;
  /** Mark price the plan assumes (the trade executes at the mark). */
  price: bigint;
  notional: bigint;
  /** Tier of the notional (0-based). */
  tier: number;
  /** Notional ÷ the collateral set aside for this position, in ppm of 1x (2x = 2_000_000). */
  leveragePpm: bigint;
  /** Collateral set aside for this position (WAD). */
  margin: bigint;
  /** Trading fee the contract charges to open it (WAD). */
  fee: bigint;
};

export type TraderPlan = {
  index: number;
  address: Address;
  /** Dev-only key derived from the seed. Never log it. Absent when planned without keys (bulk seeding). */
  privateKey?: Hex;
  /** Collateral deposited, in token units (6 decimals). */
  depositTokens: bigint;
  positions: PlannedPosition[];
};

export type PlanTradersParameters = {
  count: number;
  seed: string;
  markets: readonly SeedMarket[];
  /** Largest leverage used, as a share of the tier's max (ppm). Default 90%: IM is kept with a 10% margin. */
  maxLeverageShare?: bigint;
  /** Derive each trader's key and address from it (default). `false`: addresses only (see TraderPlan.privateKey). */
  keys?: boolean;
};

export class SeedPlanError extends BaseError {
  override name = "SeedPlanError";
}

/** Extra collateral on top of margins and fees (WAD): one dollar. */
export const SEED_SAFETY = WAD;
const MIN_LEVERAGE_TENTHS = 20n; // 2.0x
/** Lowest notional a planned position aims for (the size is still at least one lot). */
const MIN_NOTIONAL = 100n * WAD;

/** Weighted tier pick: 45% tier 0, 30% tier 1, 20% tier 2, 5% tier 3 (clamped to the table). */
function pickTier(rng: SeedRandom, tierCount: number): number {
  const r = rng.below(100n);
  const t = r < 45n ? 0 : r < 75n ? 1 : r < 95n ? 2 : 3;
  return Math.min(t, tierCount - 1);
}

function planPosition(rng: SeedRandom, m: SeedMarket, tierWanted: number, maxShare: bigint): PlannedPosition {
  const tiers = m.tiers;
  const t = Math.min(tierWanted, tiers.length - 1);
  const lo = tiers[t]!.floor > MIN_NOTIONAL ? tiers[t]!.floor : MIN_NOTIONAL;
  const next = tiers[t + 1]?.floor;
  // Open-ended last tier: up to twice its floor. Leave a lot's notional of room below the next floor.
  const hi = next !== undefined ? next - notional(m.lotSize, m.price) - WAD : lo * 2n;
  const sized = sizeForNotional(m, rng.between(lo / WAD + 1n, hi > lo ? hi / WAD : lo / WAD + 1n));
  // Leverage in tenths of x, from 2x to maxShare × the tier's max.
  const maxTenths = (tiers[sized.tier]!.maxLeverage * 10n * maxShare) / PPM;
  const tenths = maxTenths <= MIN_LEVERAGE_TENTHS ? maxTenths : rng.between(MIN_LEVERAGE_TENTHS, maxTenths);
  if (tenths <= 0n) throw new SeedPlanError(`market ${m.symbol}: tier ${sized.tier} allows no leverage to plan with`);
  return plannedPosition(m, sized, tenths * 100_000n, rng.below(2n) === 0n);
}

/** A position of whole lots (at least one) worth about `dollars` at the market's price, and its tier. */
export type SizedPosition = { absSize: bigint; notional: bigint; tier: number };

export function sizeForNotional(m: SeedMarket, dollars: bigint): SizedPosition {
  const lots = (dollars * WAD * WAD) / m.price / m.lotSize;
  const absSize = (lots > 0n ? lots : 1n) * m.lotSize;
  const n = notional(absSize, m.price);
  return { absSize, notional: n, tier: tierIndex(m.tiers, n) };
}

/** The planned trade, its initial margin at `leveragePpm` and its trading fee. */
export function plannedPosition(m: SeedMarket, sized: SizedPosition, leveragePpm: bigint, long: boolean): PlannedPosition {
  const n = sized.notional;
  return {
    marketId: m.id,
    symbol: m.symbol,
    size: long ? sized.absSize : -sized.absSize,
    price: m.price,
    notional: n,
    tier: sized.tier,
    leveragePpm,
    margin: ceilDiv(n * PPM, leveragePpm),
    fee: ceilDiv(n * m.tradingFeePpm, PPM),
  };
}

/**
 * Check with the engine that every trade of the plan, in order, keeps E ≥ ΣIM (the contract's
 * check on an increase), at the planned prices, with no funding.
 */
export function checkTraderPlan(plan: TraderPlan, markets: readonly SeedMarket[]): void {
  const v: Valuation = {
    markets: new Map(
      markets.map((m) => [
        m.id,
        {
          ...m,
          liquidation: {
            penaltyPpm: 0n,
            targetBufferPpm: 0n,
            maxStepPpm: PPM,
            tierStepDown: false,
            partialThreshold: 0n,
            dustNotional: 0n,
          },
          funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n },
        },
      ]),
    ),
    prices: new Map(markets.map((m) => [m.id, m.price])),
    timestamp: 0n,
    global: { cooldown: 0n, backstopPpm: 0n, keeperSharePpm: 0n },
  };
  let collateral = plan.depositTokens * TOKEN_SCALE;
  const positions: Position[] = [];
  for (const p of plan.positions) {
    collateral -= p.fee;
    positions.push({ marketId: p.marketId, size: p.size, entryPrice: p.price, entryFundingIndex: 0n });
    const account: Account = { collateral, lastPartialAt: 0n, positions };
    const h = accountHealth(account, v);
    if (h.equity < h.initial) {
      throw new SeedPlanError(`trader ${plan.index}: plan breaks initial margin (equity ${h.equity} < ${h.initial})`);
    }
  }
}

/**
 * Plan `count` traders from `seed`: each opens 1–3 positions in distinct markets, long or short, at a
 * leverage from 2x to 90% of its tier's max, sized in lots; every fourth trader (0, 4, 8, …) opens
 * its first position in tier 2 or above. Deposits cover every position's margin at its leverage,
 * the trading fees and one dollar, rounded up to whole tokens.
 */
export function planTraders(p: PlanTradersParameters): TraderPlan[] {
  if (!Number.isSafeInteger(p.count) || p.count < 0) throw new SeedPlanError(`trader count must be a whole number ≥ 0`);
  if (p.markets.length === 0) throw new SeedPlanError("no markets to trade");
  const maxShare = p.maxLeverageShare ?? 900_000n;
  const plans: TraderPlan[] = [];
  for (let index = 0; index < p.count; index++) {
    const rng = SeedRandom.from(p.seed, "trader", index);
    const k = 1 + Number(rng.below(BigInt(Math.min(3, p.markets.length))));
    const chosen = rng.shuffle(p.markets).slice(0, k);
    const positions = chosen.map((m, j) => {
      const tier = j === 0 && index % 4 === 0 ? 2 + Number(rng.below(2n)) : pickTier(rng, m.tiers.length);
      return planPosition(rng, m, tier, maxShare);
    });
    plans.push(traderPlan(p.seed, index, positions, p.markets, p.keys !== false));
  }
  return plans;
}

/**
 * Trader `index` of `seed` with these positions: its address (and key), a deposit of whole dollars
 * covering their margins and fees with SEED_SAFETY to spare, checked with the engine.
 */
export function traderPlan(seed: string, index: number, positions: PlannedPosition[], markets: readonly SeedMarket[], keys: boolean): TraderPlan {
  const need = positions.reduce((s, x) => s + x.margin + x.fee, 0n) + SEED_SAFETY;
  const depositTokens = ceilDiv(need, WAD) * 10n ** 6n; // whole dollars
  const privateKey = traderPrivateKey(seed, index);
  // Without keys, the address is a hash of the key: no secp256k1 work (~0.5 ms a trader), and
  // nobody can sign for it — the bulk seeder opens its positions for it.
  const plan: TraderPlan = keys
    ? { index, address: privateKeyToAccount(privateKey).address, privateKey, depositTokens, positions }
    : { index, address: getAddress(slice(keccak256(privateKey), 12)), depositTokens, positions };
  checkTraderPlan(plan, markets);
  return plan;
}

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

export class SeedTransactionError extends BaseError {
  override name = "SeedTransactionError";
}

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

/** A transaction to send, not sent yet. */
type Unsent = { label: string; send: () => Promise<Hash> };

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

type CallRequest = { to: Address; data: Hex; nonce: number; gas: bigint; chainId: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

/** Sign locally when the account can (one request to the node), else let the node sign (an impersonated account). */
function sendCall(c: ChainClients, account: ViemAccount, tx: CallRequest): Promise<Hash> {
  if (account.signTransaction) {
    return account
      .signTransaction({ type: "eip1559", ...tx })
      .then((serializedTransaction) => sendRawTransaction(c.publicClient, { serializedTransaction }));
  }
  return c.walletClient.sendTransaction({ account, chain: c.walletClient.chain, ...tx });
}

/**
 * Send `items`: all at once, or (ordered) one after the other, each accepted by the node before
 * the next is sent, then mine until the pool is empty (automine is off in that mode).
 */
async function dispatch<T extends Unsent>(c: Pick<ChainClients, "publicClient">, items: readonly T[], ordered: boolean): Promise<(T & { hash: Promise<Hash> })[]> {
  if (!ordered) return items.map((it) => ({ ...it, hash: it.send() }));
  const out: (T & { hash: Promise<Hash> })[] = [];
  for (const it of items) {
    const hash = it.send();
    out.push({ ...it, hash });
    await hash.catch(() => undefined); // reported by settle()
  }
  await mineUntilEmpty(c);
  return out;
}

/** Mine blocks until no transaction is pending (bounded: a block takes at least one). */
export async function mineUntilEmpty(c: Pick<ChainClients, "publicClient">, maxBlocks = 10_000): Promise<number> {
  const test = c.publicClient.extend(testActions({ mode: "anvil" }));
  for (let mined = 0; mined < maxBlocks; mined++) {
    const { pending } = await test.getTxpoolStatus();
    if (pending === 0) return mined;
    await test.mine({ blocks: 1 });
  }
  throw new SeedTransactionError(`seeding: transactions still pending after ${maxBlocks} blocks`);
}

/** Wait for every receipt; a failure names the transaction (and, for trades, the revert reason). */
async function settle<T extends { label: string; hash: Promise<Hash> }>(
  c: Pick<ChainClients, "publicClient">,
  items: readonly T[],
  pollingInterval: number,
  why?: (item: T, receipt: TransactionReceipt) => Promise<string | undefined>,
): Promise<TransactionReceipt[]> {
  const hashes = await Promise.all(
    items.map((it) =>
      it.hash.catch((e: unknown) => {
        throw new SeedTransactionError(`seeding: ${it.label} was not accepted: ${shortReason(e)}`, { cause: e });
      }),
    ),
  );
  const receipts = await Promise.all(
    hashes.map((hash) => c.publicClient.waitForTransactionReceipt({ hash, pollingInterval, timeout: 60_000 })),
  );
  for (const [i, r] of receipts.entries()) {
    if (r.status === "success") continue;
    const item = items[i]!;
    const reason = why ? await why(item, r).catch(() => undefined) : undefined;
    throw new SeedTransactionError(`seeding: ${item.label} reverted (tx ${r.transactionHash})${reason ? `: ${reason}` : ""}`);
  }
  return receipts;
}

function shortReason(e: unknown): string {
  if (e instanceof ViemBaseError) return e.shortMessage;
  return e instanceof Error ? e.message : String(e);
}

/** Replay a reverted trade as a call on the state before its block, to name the custom error. */
async function revertReason(
  c: Pick<ChainClients, "publicClient">,
  market: Address,
  from: Address,
  call: { marketId: number; size: bigint },
  blockNumber: bigint,
): Promise<string | undefined> {
  try {
    await c.publicClient.simulateContract({
      address: market,
      abi: PerpMarket.abi,
      functionName: "trade",
      args: [BigInt(call.marketId), call.size],
      account: from,
      blockNumber,
    });
    return undefined;
  } catch (e) {
    const reverted = e instanceof ViemBaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return `${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")})`;
    }
    return shortReason(e);
  }
}
