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
import { quoteAccount } from "../sim/quoteAccount.ts";
import { Indexer } from "../index/index.ts";
import { silentLogger } from "../lib/logger.ts";
import { createMetrics } from "../lib/metrics.ts";
import { UsageError, defineCommand, required, type CliIO } from "./command.ts";
import { rpcUrls } from "./rpcUrl.ts";
import { formatPrice, formatSize } from "./format.ts";
import { toJson, toText, type OpenCheck, type View } from "./quoteOutput.ts";

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
    const q = quoteAccount(view.account, view.valuation, view.market);
    if (flags.json) io.stdout(JSON.stringify(toJson(view, q), null, 2));
    else for (const line of toText(view, q)) io.stdout(line);
    return 0;
  },
});

type QuoteFlags = Parameters<typeof quoteCommand.run>[0];

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
  const protocol = referenceOf(d, path); // quotes are the reference market's margin rules: another protocol is refused in one line
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
  // Every account of the market, from its events, for the account's ADL rank.
  const indexer = new Indexer({ client: c.publicClient, source: protocol.index, deployBlock: d.deployBlock, logger: silentLogger(), metrics: createMetrics() });
  await indexer.backfill();
  const accounts = [...indexer.state.accounts].map(([a, account]) => ({ address: a, account }));
  return {
    market: { self: address, accounts },
    mode: "chain",
    title: `Account ${address} on chain ${c.chainId} at block ${blockNumber} (preset ${d.preset})`,
    preset: d.preset,
    account,
    valuation,
    symbols: new Map(d.markets.map((m) => [m.id, m.symbol])),
    chain: { chainId: c.chainId, blockNumber, address, market: d.contracts.market },
  };
}

