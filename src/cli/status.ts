import { resolve } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { connect } from "../chain/clients.ts";
import { checkDeploymentChain, checkDeploymentCode, readDeployment } from "../chain/deployment.ts";
import { Indexer } from "../index/index.ts";
import { referenceOf } from "../protocols/index.ts";
import { valuationAt } from "../protocols/reference/index.ts";
import { bigintToString } from "../lib/json.ts";
import { silentLogger } from "../lib/logger.ts";
import { createMetrics } from "../lib/metrics.ts";
import { quoteAccount } from "../sim/quoteAccount.ts";
import { defineCommand, integerFlag, required } from "./command.ts";
import { rpcUrls } from "./rpcUrl.ts";
import { NO_VALUE, formatPercent, formatPrice, formatSize, table } from "./format.ts";
import { formatUsd } from "../lib/units.ts";

/** A throwaway signer: status only reads. */
const READ_ONLY = privateKeyToAccount(`0x${"11".repeat(32)}`);

export const statusCommand = defineCommand({
  name: "status",
  summary: "Show the accounts closest to liquidation, indexed from the market's events.",
  synopsis: "[--rpc URL] --deployment FILE [--top N] [--json]",
  options: {
    rpc: { type: "string", value: "URL", multiple: true, description: "JSON-RPC endpoint (default: KEEPER_RPC_URLS or the file KEEPER_RPC_URLS_FILE names; repeat it or separate URLs with commas for a fallback)" },
    deployment: { type: "string", value: "FILE", description: "deployment JSON (required)" },
    top: { type: "string", value: "N", description: "how many accounts to show (default 20)" },
    json: { type: "boolean", description: "machine-readable output" },
  },
  examples: ["perp-keeper status --rpc http://127.0.0.1:8545 --deployment deployments/devnet.json --top 10"],
  async run(flags, io) {
    const rpc = rpcUrls("status", flags.rpc, io);
    const path = resolve(io.cwd, required("status", flags, "deployment"));
    const top = flags.top === undefined ? 20 : integerFlag("status", "top", flags.top, 1, 100_000);
    const deployment = readDeployment(path);
    const c = await connect(rpc, READ_ONLY);
    checkDeploymentChain(deployment, c.chainId, path);
    await checkDeploymentCode(c, deployment, path);

    const protocol = referenceOf(deployment, path);
    const indexer = new Indexer({
      client: c.publicClient,
      source: protocol.index,
      deployBlock: deployment.deployBlock,
      logger: silentLogger(),
      metrics: createMetrics(),
    });
    await indexer.backfill();
    const head = indexer.head!;
    const v = valuationAt(indexer.state, head.timestamp);
    const lots = new Map([...indexer.state.markets].map(([id, m]) => [id, m.lotSize]));
    const symbols = new Map(deployment.markets.map((m) => [m.id, m.symbol]));
    const rows = [];
    for (const [address, account] of indexer.state.accounts) {
      if (account.positions.length === 0) continue;
      try {
        rows.push({ address, q: quoteAccount(account, v) });
      } catch {
        // a market without a usable price: the account cannot be valued now
      }
    }
    // Lowest margin ratio (equity / maintenance) first.
    rows.sort((a, b) => {
      const x = a.q.marginRatioPpm ?? 2n ** 255n;
      const y = b.q.marginRatioPpm ?? 2n ** 255n;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const shown = rows.slice(0, top);
    if (flags.json) {
      io.stdout(
        JSON.stringify(
          { block: head.number, timestamp: head.timestamp, accounts: rows.length, closest: shown.map((r) => ({ account: r.address, ...r.q })) },
          bigintToString,
          2,
        ),
      );
      return 0;
    }
    io.stdout(`Block ${head.number}: ${rows.length} accounts with positions, ${rows.filter((r) => r.q.liquidatable).length} liquidatable.`);
    const body = shown.map(({ address, q }) => [
      address,
      formatUsd(q.equity),
      formatUsd(q.maintenance),
      q.marginRatioPpm === undefined ? NO_VALUE : formatPercent(q.marginRatioPpm),
      q.liquidatable ? (q.backstop ? "BACKSTOP" : "LIQUIDATABLE") : "ok",
      q.positions
        .map((p) => {
          const lot = lots.get(p.marketId) ?? 1n;
          const side = p.size > 0n ? "long" : "short";
          const lp = p.liquidationPrice === undefined ? NO_VALUE : formatPrice(p.liquidationPrice);
          return `${symbols.get(p.marketId) ?? p.marketId} ${side} ${formatSize(p.size < 0n ? -p.size : p.size, lot)} (liq ${lp})`;
        })
        .join(", "),
    ]);
    for (const line of table(["ACCOUNT", "EQUITY", "MAINTENANCE", "E/MM", "STATUS", "POSITIONS"], body, [1, 2, 3])) io.stdout(line);
    return 0;
  },
});
