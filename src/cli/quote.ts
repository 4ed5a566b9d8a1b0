import { resolve } from "node:path";
import { ContractFunctionRevertedError, BaseError as ViemBaseError, getAddress, isAddress, type Address } from "viem";
import { connect } from "../chain/clients.ts";
import { checkDeploymentChain, checkDeploymentCode, readDeployment } from "../chain/deployment.ts";
import { referenceOf } from "../protocols/index.ts";
import { readAccount, readValuation } from "../chain/reads.ts";
import { checkPresetFits, loadMarkets, loadPreset, type MarketSpec, type Preset } from "../config/presets.ts";
import { PPM, accountHealth, type Account, type MarketState, type Valuation } from "../engine/index.ts";
import { HumanNumberError, parseWad } from "../lib/units.ts";
import { BaseError } from "../lib/errors.ts";
import { accountLeveragePpm, quoteAccount, type AccountQuote } from "../sim/quoteAccount.ts";
import { UsageError, defineCommand, required, type CliIO } from "./command.ts";
import { rpcUrls } from "./rpcUrl.ts";
import { NO_VALUE, fields, formatLeverage, formatMove, formatPercent, formatPpm, formatPrice, formatSize, formatTokens, formatUsd } from "./format.ts";

const HYPOTHETICAL = ["market", "side", "size", "entry", "collateral", "mark", "preset", "markets", "presets"] as const;
const ON_CHAIN = ["rpc", "deployment", "account"] as const;

export const quoteCommand = defineCommand({
  name: "quote",
  summary: "Value an account with the margin engine: equity, margin, liquidation and bankruptcy prices, the max slice and its penalty.",
  synopsis:
    "--market SYMBOL --side long|short --size N --collateral USD --mark PRICE [--entry PRICE] [--preset NAME] [--json]\n" +
    "       perp-keeper quote --rpc URL --deployment FILE --account ADDRESS [--json]",
  description:
    "Hypothetical: one position in a market of config/markets.json under a preset, valued at --mark with no funding.\n" +
    "On-chain: an account of a deployed market, read at the latest block and valued by the engine.",
  options: {
    market: { type: "string", value: "SYMBOL", description: "market symbol, e.g. BTC (hypothetical)" },
    side: { type: "string", value: "long|short", description: "position side (hypothetical)" },
    size: { type: "string", value: "N", description: "position size in units of the asset, e.g. 10 (hypothetical)" },
    entry: { type: "string", value: "PRICE", description: "entry price (hypothetical; default: the mark)" },
    collateral: { type: "string", value: "USD", description: "account collateral (hypothetical)" },
    mark: { type: "string", value: "PRICE", description: "mark price to value at (hypothetical)" },
    preset: { type: "string", value: "NAME", description: "liquidation preset (hypothetical)", default: "hyperliquid" },
    markets: { type: "string", value: "FILE", description: "markets file (hypothetical; default: config/markets.json)" },
    presets: { type: "string", value: "FILE", description: "presets file (hypothetical; default: config/presets.json)" },
    rpc: { type: "string", value: "URL", multiple: true, description: "JSON-RPC endpoint (on-chain; default: KEEPER_RPC_URLS or the file KEEPER_RPC_URLS_FILE names; repeat it or separate URLs with commas for a fallback)" },
    deployment: { type: "string", value: "FILE", description: "deployment file written by deploy/devnet (on-chain)" },
    account: { type: "string", value: "ADDRESS", description: "account to quote (on-chain)" },
    json: { type: "boolean", description: "print one JSON object (amounts as decimal strings, plus formatted fields)" },
  },
  examples: [
    "perp-keeper quote --market BTC --side long --size 10 --entry 60000 --collateral 34000 --mark 57000 --preset reference",
    "perp-keeper quote --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json --account 0x…",
  ],
  async run(flags, io) {
    const given = (names: readonly string[]) => names.filter((n) => flags[n as keyof typeof flags] !== undefined && n !== "preset");
    const onChain = given(ON_CHAIN);
    const hypothetical = given(HYPOTHETICAL);
    if (onChain.length > 0 && hypothetical.length > 0) {
      throw new UsageError(
        `quote: --${hypothetical[0]} is for a hypothetical quote and --${onChain[0]} for an on-chain one; use one set (see perp-keeper quote --help)`,
      );
    }
    const view = onChain.length > 0 ? await onChainView(flags, io) : hypotheticalView(flags, io.cwd);
    const q = quoteAccount(view.account, view.valuation);
    if (flags.json) io.stdout(JSON.stringify(toJson(view, q), null, 2));
    else for (const line of toText(view, q)) io.stdout(line);
    return 0;
  },
});

type QuoteFlags = Parameters<typeof quoteCommand.run>[0];

/** What was valued, with what the printers need to name it. */
type View = {
  mode: "hypothetical" | "chain";
  title: string;
  preset: string;
  account: Account;
  valuation: Valuation;
  symbols: ReadonlyMap<number, string>;
  chain?: { chainId: number; blockNumber: bigint; address: Address; market: Address };
  /** A hypothetical position: whether the market would let it be opened (see {@link openCheck}). */
  open?: OpenCheck;
};

/** Whether a trade opening the position at its entry price passes the contract's initial-margin check. */
type OpenCheck = { ok: boolean; fee: bigint; equity: bigint; initial: bigint };

/**
 * The contract's check on a trade that opens exposure: after the trading fee, equity at the trade
 * price must cover the initial margin (`_requireTradeBacked`: InsufficientMargin otherwise).
 */
function openCheck(account: Account, v: Valuation, entry: bigint): OpenCheck {
  const p = account.positions[0]!;
  const m = v.markets.get(p.marketId)!;
  const abs = p.size < 0n ? -p.size : p.size;
  const fee = (((abs * entry) / 10n ** 18n) * m.tradingFeePpm) / PPM;
  const atEntry: Valuation = { ...v, prices: new Map([[p.marketId, entry]]) };
  const h = accountHealth({ ...account, collateral: account.collateral - fee }, atEntry);
  return { ok: h.equity >= h.initial, fee, equity: h.equity, initial: h.initial };
}

function amount(flag: string, value: string): bigint {
  try {
    return parseWad(value, `--${flag}`);
  } catch (e) {
    if (e instanceof HumanNumberError) throw new UsageError(`quote: ${e.message}`);
    throw e;
  }
}

function positive(flag: string, value: string): bigint {
  const x = amount(flag, value);
  if (x <= 0n) throw new UsageError(`quote: --${flag} must be above 0, got "${value}"`);
  return x;
}

function hypotheticalView(flags: QuoteFlags, cwd: string): View {
  const symbol = required("quote", flags, "market");
  const side = required("quote", flags, "side").toLowerCase();
  if (side !== "long" && side !== "short") throw new UsageError(`quote: --side must be long or short, got "${flags.side}"`);
  const size = positive("size", required("quote", flags, "size"));
  const collateral = amount("collateral", required("quote", flags, "collateral"));
  if (collateral < 0n) throw new UsageError(`quote: --collateral must not be negative, got "${flags.collateral}"`);
  const mark = positive("mark", required("quote", flags, "mark"));
  const entry = flags.entry === undefined ? mark : positive("entry", flags.entry);

  const markets: MarketSpec[] = flags.markets ? loadMarkets(resolve(cwd, flags.markets)) : loadMarkets();
  const presetsPath = flags.presets ? resolve(cwd, flags.presets) : undefined;
  const preset: Preset = presetsPath ? loadPreset(flags.preset, presetsPath) : loadPreset(flags.preset);
  const id = markets.findIndex((m) => m.symbol.toLowerCase() === symbol.toLowerCase());
  if (id < 0) throw new UsageError(`quote: unknown market "${symbol}"; known markets: ${markets.map((m) => m.symbol).join(", ")}`);
  const spec = markets[id]!;
  checkPresetFits(preset, [spec], presetsPath ?? "presets");
  if (size % spec.lotSize !== 0n) {
    throw new UsageError(`quote: --size ${flags.size} is not a multiple of ${spec.symbol}'s lot size ${formatSize(spec.lotSize, spec.lotSize)}`);
  }
  const state: MarketState = {
    id,
    lotSize: spec.lotSize,
    tradingFeePpm: spec.tradingFeePpm,
    tiers: spec.tiers,
    cums: spec.cums,
    liquidation: preset.liquidation,
    funding: { index: 0n, ratePerSecond: 0n, lastUpdate: 0n },
  };
  const signed = side === "long" ? size : -size;
  const account: Account = { collateral, lastPartialAt: 0n, positions: [{ marketId: id, size: signed, entryPrice: entry, entryFundingIndex: 0n }] };
  const valuation: Valuation = { markets: new Map([[id, state]]), prices: new Map([[id, mark]]), timestamp: 0n, global: preset.global };
  return {
    mode: "hypothetical",
    title: `Hypothetical ${spec.symbol} ${side} ${formatSize(size, spec.lotSize)} @ ${formatPrice(entry)}, mark ${formatPrice(mark)} (preset ${preset.name}, no funding)`,
    preset: preset.name,
    account,
    valuation,
    symbols: new Map([[id, spec.symbol]]),
    open: openCheck(account, valuation, entry),
  };
}

export class MarketReadError extends BaseError {
  override name = "MarketReadError";
}

async function onChainView(flags: QuoteFlags, io: CliIO): Promise<View> {
  const cwd = io.cwd;
  // The mode is decided by the flags alone; the environment only supplies the URL of an on-chain quote.
  const rpc = rpcUrls("quote", flags.rpc, io);
  const path = required("quote", flags, "deployment");
  const who = required("quote", flags, "account");
  if (!isAddress(who, { strict: false })) throw new UsageError(`quote: --account "${who}" is not an address`);
  const address = getAddress(who);
  const d = readDeployment(resolve(cwd, path));
  referenceOf(d, path); // quotes are the reference market's margin rules: another protocol is refused in one line
  // Reads only: the "account" is never asked to sign.
  const c = await connect(rpc, { address, type: "json-rpc" });
  checkDeploymentChain(d, c.chainId, path);
  await checkDeploymentCode(c, d, path);
  const blockNumber = await c.publicClient.getBlockNumber();
  let valuation: Valuation;
  let account: Account;
  try {
    [valuation, account] = await Promise.all([
      readValuation(c, d.contracts.market, { blockNumber }),
      readAccount(c, d.contracts.market, address, { blockNumber }),
    ]);
  } catch (e) {
    const reverted = e instanceof ViemBaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      const args = (reverted.data.args ?? []).map(String).join(", ");
      throw new MarketReadError(`the market refused to value the account at block ${blockNumber}: ${reverted.data.errorName}(${args})`, {
        cause: e,
        userError: true,
      });
    }
    throw e;
  }
  return {
    mode: "chain",
    title: `Account ${address} on chain ${c.chainId} at block ${blockNumber} (preset ${d.preset})`,
    preset: d.preset,
    account,
    valuation,
    symbols: new Map(d.markets.map((m) => [m.id, m.symbol])),
    chain: { chainId: c.chainId, blockNumber, address, market: d.contracts.market },
  };
}

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

function toText(view: View, q: AccountQuote): string[] {
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
      ]),
    );
  }
  return lines;
}

const usd = (x: bigint) => ({ wad: x.toString(), usd: formatUsd(x) });
const price = (x: bigint | undefined) => (x === undefined ? null : { wad: x.toString(), display: formatPrice(x) });

function toJson(view: View, q: AccountQuote) {
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
