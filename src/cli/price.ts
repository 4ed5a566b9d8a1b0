import { resolve } from "node:path";
import type { Address } from "viem";
import { DataFeedsLegacyAggregatorProxy } from "../../abi/DataFeedsLegacyAggregatorProxy.ts";
import { MockAggregatorV3 } from "../../abi/MockAggregatorV3.ts";
import { CHAINLINK_FEED_ABI, answerToWad } from "../chain/chainlink.ts";
import { switchAggregator } from "../chain/chainlinkDeploy.ts";
import { connect, type ChainClients } from "../chain/clients.ts";
import { checkDeploymentChain, checkDeploymentCode, readDeployment } from "../chain/deployment.ts";
import { feedAnswer, publishPrice, publisherOf } from "../chain/prices.ts";
import { BaseError } from "../lib/errors.ts";
import { HumanNumberError, parsePpm, parseWad } from "../lib/units.ts";
import { UsageError, defineCommand, required } from "./command.ts";
import { formatMove, formatPrice } from "./format.ts";
import { rpcUrls } from "./rpcUrl.ts";
import { anvilDevAccount, loadSigningKey, resolveSigner } from "./signer.ts";

/** The node is not a local development chain: `price` publishes only on one (Anvil, Hardhat, Ganache). */
export class NotLocalChainError extends BaseError {
  override name = "NotLocalChainError";
  constructor(client: string) {
    super(`price: refusing to publish a price: the node is "${client}", not a local development chain (Anvil, Hardhat or Ganache)`, { userError: true });
  }
}

/** The signer does not own the feed (or the proxy whose aggregator it would switch), so the update would revert. */
export class NotFeedOwnerError extends BaseError {
  override name = "NotFeedOwnerError";
  constructor(feed: Address, owner: Address, signer: Address) {
    super(`price: the feed ${feed} is owned by ${owner}, not ${signer}; sign with the owner's key (DEPLOYER_PRIVATE_KEY or --keystore)`, { userError: true });
  }
}

/** --new-aggregator on a feed that is not a Chainlink proxy (a deployment from before proxies). */
export class NotAProxyError extends BaseError {
  override name = "NotAProxyError";
  constructor(symbol: string, feed: Address) {
    super(`price: --new-aggregator: the feed of ${symbol} (${feed}) is not a Chainlink proxy (it has no aggregator())`, { userError: true });
  }
}

const LOCAL_CLIENTS = /^(anvil|hardhatnetwork|ganache)/i;

export const priceCommand = defineCommand({
  name: "price",
  summary: "Publish a market's price on a local chain (devnet rehearsals): set it, or move it by a percentage.",
  synopsis: "[--rpc URL] --deployment FILE --market SYMBOL (--set PRICE | --move=±N%) [--source N] [--new-aggregator] [--keystore FILE]",
  description:
    "Publishes the new answer on the current aggregator of the market's feed (a Chainlink proxy), as the market reads it " +
    "through the proxy. With --new-aggregator, installs a new aggregator answering it instead (proposeAggregator + " +
    "confirmAggregator, signed as the proxy's owner, the deployer: DEPLOYER_PRIVATE_KEY, --keystore, or on chain 31337 " +
    "Anvil's dev account #0). Refuses unless the node is a local development chain " +
    "(Anvil, also when it forks another chain; Hardhat; Ganache). A negative move is written --move=-3% (or --move -3%). " +
    "A market priced from an index of several feeds gets the price on every feed, or with --source N on its N-th feed " +
    "alone (a wick on one venue).",
  options: {
    rpc: { type: "string", value: "URL", multiple: true, description: "JSON-RPC endpoint of the local chain (default: KEEPER_RPC_URLS or the file KEEPER_RPC_URLS_FILE names; repeat it or separate URLs with commas for a fallback)" },
    deployment: { type: "string", value: "FILE", description: "deployment file written by deploy/devnet (required)" },
    market: { type: "string", value: "SYMBOL", description: "market symbol, e.g. BTC (required)" },
    set: { type: "string", value: "PRICE", description: "the new price, e.g. 56400" },
    move: { type: "string", value: "±N%", description: "move the current price by this much, e.g. -3% or +1.5%" },
    source: { type: "string", value: "N", description: "only the N-th feed of a market's index (1 = the first; default: every feed)" },
    "new-aggregator": { type: "boolean", description: "switch the market's proxy to a new aggregator answering the new price" },
    keystore: { type: "string", value: "FILE", description: "encrypted keystore of the feed owner's key (password from DEPLOYER_KEYSTORE_PASSWORD[_FILE])" },
  },
  examples: [
    "perp-keeper price --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json --market BTC --set 56400",
    "perp-keeper price --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json --market ETH --move=-3%",
    "perp-keeper price --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json --market ETH --set 2900 --new-aggregator",
    "perp-keeper price --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json --market BTC --move=-20% --source 1",
  ],
  async run(flags, io) {
    const rpc = rpcUrls("price", flags.rpc, io);
    const path = resolve(io.cwd, required("price", flags, "deployment"));
    const symbol = required("price", flags, "market");
    if ((flags.set === undefined) === (flags.move === undefined)) throw new UsageError("price: give exactly one of --set PRICE and --move ±N% (see perp-keeper price --help)");
    const target = flags.set !== undefined ? parseTarget("set", flags.set) : parseTarget("move", flags.move!);
    const d = readDeployment(path);
    const m = d.markets.find((x) => x.symbol.toLowerCase() === symbol.toLowerCase());
    if (!m) throw new UsageError(`price: unknown market "${symbol}"; the deployment has ${d.markets.map((x) => x.symbol).join(", ")}`);

    const feeds = m.feeds ?? [m.feed];
    const targets = flags.source === undefined ? feeds : [feeds[sourceIndex(flags.source, m.symbol, feeds.length)]!];

    const fromEnv = (await loadSigningKey("deployer", flags.keystore, io))?.account;
    const c = await connect(rpc, fromEnv ?? anvilDevAccount(), { pollingInterval: 100 });
    const client = await c.publicClient.request({ method: "web3_clientVersion" });
    if (!LOCAL_CLIENTS.test(client)) throw new NotLocalChainError(client);
    checkDeploymentChain(d, c.chainId, path);
    await checkDeploymentCode(c, d, path);
    const signer = resolveSigner(fromEnv, "DEPLOYER_PRIVATE_KEY", c.chainId, io.stderr);
    const clients: ChainClients = { publicClient: c.publicClient, walletClient: c.walletClient };
    for (const feed of targets) {
      // A Chainlink proxy: its aggregator takes anyone's answer, and its owner switches aggregators.
      // A feed of its own (a deployment from before proxies): its owner publishes.
      const proxy = (await publisherOf(c, feed)) !== feed;
      if (flags["new-aggregator"] && !proxy) throw new NotAProxyError(m.symbol, feed);
      if (flags["new-aggregator"] || !proxy) {
        const abi = proxy ? DataFeedsLegacyAggregatorProxy.abi : MockAggregatorV3.abi;
        const owner = await c.publicClient.readContract({ address: feed, abi, functionName: "owner" });
        if (owner.toLowerCase() !== signer.address.toLowerCase()) throw new NotFeedOwnerError(feed, owner, signer.address);
      }
    }

    const latest = async (feed: Address) => answerToWad((await c.publicClient.readContract({ address: feed, abi: CHAINLINK_FEED_ABI, functionName: "latestRoundData" }))[1], m.feedDecimals);
    const befores = await Promise.all(targets.map(latest));
    const afters = befores.map((before) => (target.kind === "set" ? target.price : (before * (1_000_000n + target.ppm)) / 1_000_000n));
    if (afters.some((a) => a <= 0n)) throw new UsageError(`price: the new ${m.symbol} price would be ${formatPrice(afters.find((a) => a <= 0n)!)}; a feed answer must be above 0`);
    for (const [i, feed] of targets.entries()) {
      const [before, after] = [befores[i]!, afters[i]!];
      let block: bigint;
      let note = "";
      if (flags["new-aggregator"]) {
        const s = await switchAggregator(clients, feed, { answer: feedAnswer(after, m.feedDecimals) });
        block = s.block;
        note = ` on a new aggregator ${s.aggregator} (was ${s.previous})`;
      } else {
        block = await publishPrice(clients, feed, after, m.feedDecimals);
      }
      const published = await latest(feed);
      const name = feeds.length > 1 ? `${m.symbol} source ${feeds.indexOf(feed) + 1} of ${feeds.length}` : m.symbol;
      io.stdout(`${name}: ${formatPrice(before)} → ${formatPrice(published)} (${formatMove(before, published)}) in block ${block}${note}`);
    }
    return 0;
  },
});

type Target = { kind: "set"; price: bigint } | { kind: "move"; ppm: bigint };

/** --source N (1-based) as an index into the market's `count` feeds. */
function sourceIndex(value: string, symbol: string, count: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > count) {
    throw new UsageError(`price: --source must be a feed number from 1 to ${count} (${symbol} reads ${count} feed${count === 1 ? "" : "s"}), got "${value}"`);
  }
  return n - 1;
}

function parseTarget(flag: "set" | "move", value: string): Target {
  try {
    if (flag === "set") {
      const price = parseWad(value, "--set");
      if (price <= 0n) throw new UsageError(`price: --set must be above 0, got "${value}"`);
      return { kind: "set", price };
    }
    const text = value.trim();
    if (!text.endsWith("%")) throw new UsageError(`price: --move takes a percentage such as -3% or +1.5%, got "${value}"`);
    const negative = text.startsWith("-");
    const ppm = parsePpm(text.replace(/^[+-]/, ""), "--move");
    if (negative && ppm >= 1_000_000n) throw new UsageError(`price: --move ${value} would take the price to 0 or below`);
    return { kind: "move", ppm: negative ? -ppm : ppm };
  } catch (e) {
    if (e instanceof HumanNumberError) throw new UsageError(`price: ${e.message}`);
    throw e;
  }
}
