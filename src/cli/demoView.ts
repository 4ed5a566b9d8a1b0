/**
 * The demo's human view of liquidations: what the chain recorded, one line each, as a person reads
 * it — the block, the market, the account, partial or full, the size in coins and its share of the
 * position, the price, and the keeper's reward and gas in USD. Read from the market's Liquidated
 * events and their transactions' receipts, so the view shows what happened, not what was planned.
 * (The daemon keeps JSON logs; this is for `perp-keeper demo` only.)
 */
import { getAddress, parseEventLogs, type Address, type Chain, type Hex, type PublicClient, type Transport } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { WAD } from "../engine/index.ts";
import { sleep } from "../lib/sleep.ts";
import { formatUsd } from "../lib/units.ts";
import { formatPercent, formatPrice, formatSize } from "./format.ts";

/** What the view needs to know of a market. */
export type ViewMarket = { id: number; symbol: string; lotSize: bigint };

/** One liquidation as the view shows it. */
export type LiquidationView = {
  block: bigint;
  symbol: string;
  account: Address;
  full: boolean;
  /** Liquidated size and the position's size before it (coins, WAD). */
  size: bigint;
  before: bigint;
  lotSize: bigint;
  price: bigint;
  /** The keeper's reward (USD, WAD). */
  rewardUsd: bigint;
  /** This liquidation's share of its transaction's gas (USD, WAD): a batch's gas split evenly over its items. */
  gasUsd: bigint;
};

/** `0x70997970…79C8` → `0x7099…79C8`. */
function shortAddress(a: Address): string {
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

/** The line a person reads: "block 142  ETH  0x7099…79C8  partial  1.250 ETH of 5.000 (25.00%) at $2,812.40  reward $4.21  gas $0.03". */
export function formatLiquidation(v: LiquidationView, symbolWidth = 0): string {
  const coin = v.symbol.replace(/[-/].*$/, "");
  const share = v.before > 0n ? formatPercent((v.size * 1_000_000n) / v.before) : "—";
  return [
    `block ${v.block}`,
    v.symbol.padEnd(symbolWidth),
    shortAddress(v.account),
    v.full ? "full   " : "partial",
    `${formatSize(v.size, v.lotSize)} ${coin} of ${formatSize(v.before, v.lotSize)} (${share}) at $${formatPrice(v.price)}`,
    `reward ${formatUsd(v.rewardUsd)}`,
    `gas ${formatUsd(v.gasUsd)}`,
  ].join("  ");
}

/**
 * The keeper's liquidations in blocks `fromBlock`..`toBlock`, in chain order. `nativeUsd` (WAD) prices
 * the gas; rewards are paid in the collateral token, worth $1.
 */
export async function readLiquidations(
  client: PublicClient<Transport, Chain>,
  inputs: { market: Address; keeper: Address; markets: readonly ViewMarket[]; nativeUsd: bigint; fromBlock: bigint; toBlock: bigint },
): Promise<LiquidationView[]> {
  const logs = await client.getLogs({ address: inputs.market, fromBlock: inputs.fromBlock, toBlock: inputs.toBlock });
  const keeper = getAddress(inputs.keeper);
  const ours = parseEventLogs({ abi: PerpMarket.abi, logs, eventName: "Liquidated" }).filter((l) => getAddress(l.args.keeper) === keeper);
  const perTx = new Map<Hex, number>();
  for (const l of ours) perTx.set(l.transactionHash, (perTx.get(l.transactionHash) ?? 0) + 1);
  const gasWei = new Map<Hex, bigint>();
  await Promise.all(
    [...perTx.keys()].map(async (hash) => {
      const r = await client.getTransactionReceipt({ hash });
      gasWei.set(hash, r.gasUsed * r.effectiveGasPrice);
    }),
  );
  return ours.map((l) => {
    const m = inputs.markets.find((x) => x.id === Number(l.args.marketId));
    const remaining = l.args.remainingSize < 0n ? -l.args.remainingSize : l.args.remainingSize;
    const txGasUsd = ((gasWei.get(l.transactionHash) ?? 0n) * inputs.nativeUsd) / WAD;
    return {
      block: l.blockNumber,
      symbol: m?.symbol ?? `market ${l.args.marketId}`,
      account: getAddress(l.args.account),
      full: l.args.full,
      size: l.args.size,
      before: l.args.size + remaining,
      lotSize: m?.lotSize ?? 1n,
      price: l.args.price,
      rewardUsd: l.args.keeperReward,
      gasUsd: txGasUsd / BigInt(perTx.get(l.transactionHash) ?? 1),
    };
  });
}

/**
 * Print the keeper's liquidations as blocks arrive, every `intervalMs`, until `signal` aborts; then
 * one last read up to the head, so nothing mined before the stop is left out. Resolves with the count.
 */
export async function followLiquidations(
  client: PublicClient<Transport, Chain>,
  inputs: Omit<Parameters<typeof readLiquidations>[1], "toBlock">,
  print: (line: string) => void,
  signal: AbortSignal,
  intervalMs = 250,
): Promise<number> {
  let from = inputs.fromBlock;
  let printed = 0;
  const width = Math.max(0, ...inputs.markets.map((m) => m.symbol.length));
  const step = async () => {
    const head = await client.getBlockNumber({ cacheTime: 0 });
    if (head < from) return;
    for (const v of await readLiquidations(client, { ...inputs, fromBlock: from, toBlock: head })) {
      print(formatLiquidation(v, width));
      printed++;
    }
    from = head + 1n;
  };
  while (!signal.aborted) {
    await step();
    await sleep(intervalMs, signal);
  }
  await step();
  return printed;
}
