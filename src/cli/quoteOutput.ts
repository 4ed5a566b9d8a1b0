/**
 * What `perp-keeper quote` prints: the engine's picture of one account (src/sim/quoteAccount.ts),
 * as text for a person or as one JSON object.
 */
import type { Address } from "viem";
import { PPM, type Account, type Valuation } from "../engine/index.ts";
import { accountLeveragePpm, type AccountQuote, type MarketAccounts } from "../sim/quoteAccount.ts";
import { NO_VALUE, fields, formatLeverage, formatMove, formatPercent, formatPpm, formatPrice, formatSize, formatTokens, formatUsd } from "./format.ts";

/** What was valued, with what the printers need to name it. */
export type View = {
  mode: "hypothetical" | "chain";
  title: string;
  preset: string;
  account: Account;
  valuation: Valuation;
  symbols: ReadonlyMap<number, string>;
  chain?: { chainId: number; blockNumber: bigint; address: Address; market: Address };
  /** Every account of the market (on-chain), for the ADL rank. */
  market?: MarketAccounts;
  /** A hypothetical position: whether the market would let it be opened (see {@link openCheck}). */
  open?: OpenCheck;
};

/** Whether a trade opening the position at its entry price passes the contract's initial-margin check. */
export type OpenCheck = { ok: boolean; fee: bigint; equity: bigint; initial: bigint };

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

function symbolOf(view: View, id: number): string {
  return view.symbols.get(id) ?? `#${id}`;
}

function lotOf(view: View, id: number): bigint {
  return view.valuation.markets.get(id)?.lotSize ?? 1n;
}

function status(q: AccountQuote): string {
  if (q.positions.length === 0) return "no positions";
  if (q.backstop) return "LIQUIDATABLE (backstop: full close allowed)";
  if (q.liquidatable) return "LIQUIDATABLE";
  return "healthy";
}

export function toText(view: View, q: AccountQuote): string[] {
  const lines = [view.title, ""];
  lines.push(
    ...fields([
      ["collateral", formatUsd(q.collateral)],
      ["equity", formatUsd(q.equity)],
      ["maintenance margin", formatUsd(q.maintenance)],
      ["initial margin", formatUsd(q.initial)],
      ["margin ratio", q.marginRatioPpm === undefined ? NO_VALUE : `${formatPercent(q.marginRatioPpm)} (equity / maintenance)`],
      ["leverage", leverageText(q)],
      ["status", status(q)],
      ...(view.open ? [["could be opened", openText(view.open)] as const] : []),
    ]),
  );
  if (q.cooldownEndsAt > q.timestamp) lines.push(...fields([["cooldown ends", `at ${q.cooldownEndsAt} (now ${q.timestamp})`]]));
  for (const p of q.positions) {
    const sym = symbolOf(view, p.marketId);
    const lot = lotOf(view, p.marketId);
    const price = (x: bigint | undefined) => (x === undefined ? NO_VALUE : formatPrice(x));
    const move = (x: bigint | undefined, past: boolean) => (x === undefined ? NO_VALUE : `${formatMove(p.markPrice, x)}${past ? " (already past)" : ""}`);
    const long = p.size > 0n;
    const crossed = (x: bigint | undefined) => x !== undefined && (long ? x >= p.markPrice : x <= p.markPrice);
    lines.push(
      "",
      `${sym} ${p.size > 0n ? "long" : "short"} ${formatSize(p.size, lot)} @ ${formatPrice(p.entryPrice)} (mark ${formatPrice(p.markPrice)})`,
      ...fields([
        ["notional", formatUsd(p.notional)],
        ["unrealised PnL", formatUsd(p.pnl)],
        ...(p.funding !== 0n ? [["funding owed", formatUsd(p.funding)] as const] : []),
        ["maintenance", formatUsd(p.maintenance)],
        ["liquidation price", price(p.liquidationPrice)],
        ["to liquidation", move(p.liquidationPrice, crossed(p.liquidationPrice))],
        ["bankruptcy price", price(p.bankruptcyPrice)],
        ["to bankruptcy", move(p.bankruptcyPrice, crossed(p.bankruptcyPrice))],
        ["max slice now", `${formatSize(p.maxSlice, lot)} ${sym}`],
        ["penalty", formatUsd(p.penalty)],
        ["keeper reward", `${formatTokens(p.keeperTokens)} (${formatPercent(q.keeperSharePpm)} of the penalty)`],
        ["to insurance", formatUsd(p.insuranceShare)],
        ...(p.afterSlice ? [["after the max slice", afterText(p.afterSlice, lot, sym)] as const] : []),
        ["ADL rank", adlText(p.adl)],
      ]),
    );
  }
  return lines;
}

const usd = (x: bigint) => ({ wad: x.toString(), usd: formatUsd(x) });
const price = (x: bigint | undefined) => (x === undefined ? null : { wad: x.toString(), display: formatPrice(x) });

export function toJson(view: View, q: AccountQuote) {
  return {
    mode: view.mode,
    preset: view.preset,
    ...(view.chain
      ? {
          chainId: view.chain.chainId,
          blockNumber: view.chain.blockNumber.toString(),
          account: view.chain.address,
          market: view.chain.market,
        }
      : {}),
    timestamp: q.timestamp.toString(),
    collateral: usd(q.collateral),
    equity: usd(q.equity),
    maintenance: usd(q.maintenance),
    initial: usd(q.initial),
    target: usd(q.target),
    marginRatio: q.marginRatioPpm === undefined ? null : { ppm: q.marginRatioPpm.toString(), display: formatPpm(q.marginRatioPpm) },
    liquidatable: q.liquidatable,
    backstop: q.backstop,
    cooldownEndsAt: q.cooldownEndsAt.toString(),
    keeperShare: { ppm: q.keeperSharePpm.toString(), display: formatPpm(q.keeperSharePpm) },
    leverage: leverageJson(q),
    ...(view.open ? { couldBeOpened: { ok: view.open.ok, fee: usd(view.open.fee), equityAfterFee: usd(view.open.equity), initial: usd(view.open.initial) } } : {}),
    positions: q.positions.map((p) => {
      const lot = lotOf(view, p.marketId);
      return {
        market: symbolOf(view, p.marketId),
        marketId: p.marketId,
        side: p.size > 0n ? "long" : "short",
        size: { wad: p.size.toString(), display: formatSize(p.size, lot) },
        entryPrice: price(p.entryPrice),
        markPrice: price(p.markPrice),
        notional: usd(p.notional),
        pnl: usd(p.pnl),
        funding: usd(p.funding),
        maintenance: usd(p.maintenance),
        initial: usd(p.initial),
        liquidationPrice: price(p.liquidationPrice),
        moveToLiquidation: moveJson(p.markPrice, p.liquidationPrice),
        bankruptcyPrice: price(p.bankruptcyPrice),
        moveToBankruptcy: moveJson(p.markPrice, p.bankruptcyPrice),
        maxSlice: { wad: p.maxSlice.toString(), display: formatSize(p.maxSlice, lot) },
        penalty: usd(p.penalty),
        keeperReward: { tokens: p.keeperTokens.toString(), usd: formatTokens(p.keeperTokens) },
        insuranceShare: usd(p.insuranceShare),
        afterSlice: p.afterSlice
          ? { size: { wad: p.afterSlice.size.toString(), display: formatSize(p.afterSlice.size, lot) }, equity: usd(p.afterSlice.equity), liquidationPrice: price(p.afterSlice.liquidationPrice) }
          : null,
        adl: { score: { wad: p.adl.score.toString(), display: formatPpm((p.adl.score * PPM) / 10n ** 18n) }, rank: p.adl.rank ?? null, of: p.adl.of ?? null },
      };
    }),
  };
}

/** Account leverage Σ notional / equity ("—" when equity ≤ 0). */
function leverageText(q: AccountQuote): string {
  const l = accountLeveragePpm(q);
  return l === undefined ? (q.positions.length === 0 ? NO_VALUE : `${NO_VALUE} (equity ≤ 0)`) : formatLeverage(l);
}

function leverageJson(q: AccountQuote) {
  const l = accountLeveragePpm(q);
  return l === undefined ? null : { ppm: l.toString(), display: formatLeverage(l) };
}

function openText(o: OpenCheck): string {
  const figures = `equity after the ${formatUsd(o.fee)} fee ${formatUsd(o.equity)}, initial margin ${formatUsd(o.initial)}`;
  return o.ok ? `yes (${figures})` : `no: the market refuses it, InsufficientMargin (${figures})`;
}

/** The signed move from the mark to `to`, in ppm of the mark. */
function moveJson(mark: bigint, to: bigint | undefined) {
  if (to === undefined) return null;
  const ppm = ((to - mark) * PPM) / mark;
  return { ppm: ppm.toString(), display: formatMove(mark, to) };
}

/** The position after the max slice: size left, equity, new liquidation price. */
function afterText(a: NonNullable<AccountQuote["positions"][number]["afterSlice"]>, lot: bigint, sym: string): string {
  if (a.size === 0n) return `closed, equity ${formatUsd(a.equity)}`;
  const liq = a.liquidationPrice === undefined ? NO_VALUE : formatPrice(a.liquidationPrice);
  return `${formatSize(a.size, lot)} ${sym} left, equity ${formatUsd(a.equity)}, liquidation price ${liq}`;
}

/** ADL: the queue position among the side's profitable positions (PnL% × leverage), or why it has none. */
function adlText(a: AccountQuote["positions"][number]["adl"]): string {
  if (a.score === 0n) return `${NO_VALUE} (not eligible: only profitable positions of accounts with positive equity are deleveraged)`;
  const score = `score ${formatPercent((a.score * PPM) / 10n ** 18n)} (PnL% × leverage)`;
  return a.rank === undefined ? score : `${a.rank} of ${a.of} on its side, ${score}`;
}
