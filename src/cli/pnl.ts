import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { formatUnits } from "viem";
import { readDeployment } from "../chain/deployment.ts";
import { loadKeeperSettings } from "../config/keeper.ts";
import { entryToLine } from "../ledger/entry.ts";
import { ledgerPathOf, readLedger } from "../ledger/ledgerFile.ts";
import { dayOf, pnlReport } from "../ledger/report.ts";
import { BaseError } from "../lib/errors.ts";
import { formatUsd } from "../lib/units.ts";
import { UsageError, defineCommand, required } from "./command.ts";
import { table } from "./format.ts";

/** The ledger cannot be read as a ledger: a line before the last is not an entry. */
export class CorruptLedgerError extends BaseError {
  override name = "CorruptLedgerError";
  constructor(path: string, line: number, why: string, more: number) {
    super(`${path}: line ${line} is not a ledger entry (${why})${more > 0 ? `, and ${more} more` : ""}: the ledger is corrupt`, { userError: true });
  }
}

export const pnlCommand = defineCommand({
  name: "pnl",
  summary: "Show what the keeper earned and spent: its profit ledger per day or per transaction, in USD.",
  synopsis: "--deployment FILE [--ledger FILE] [--by day|tx] [--json]",
  description:
    "The keeper appends every mined liquidation transaction to its profit ledger (JSON lines beside its checkpoint, " +
    "<checkpoint>.ledger.jsonl): rewards in collateral tokens (a dollar each), L2 gas and, on an OP-stack chain, the L1 " +
    "data fee in wei, valued at the native token's price when the transaction settled. This command sums the entries of " +
    "the deployment's chain and market. A last line cut short by a crash is skipped with a note; any other bad line means " +
    "the ledger is corrupt. The default ledger is the one beside the checkpoint config/keeper.json names.",
  options: {
    deployment: { type: "string", value: "FILE", description: "deployment JSON whose chain and market to report (required)" },
    ledger: { type: "string", value: "FILE", description: "the ledger (default: beside the checkpoint of config/keeper.json)" },
    by: { type: "string", value: "day|tx", description: "one row per UTC day (default) or per transaction" },
    json: { type: "boolean", description: "machine-readable output: every entry, the rows and the totals" },
  },
  examples: ["perp-keeper pnl --deployment deployments/devnet.json", "perp-keeper pnl --deployment d.json --ledger .perp-keeper/checkpoint.json.ledger.jsonl --by tx --json"],
  async run(flags, io) {
    const deployment = readDeployment(resolve(io.cwd, required("pnl", flags, "deployment")));
    const by = flags.by ?? "day";
    if (by !== "day" && by !== "tx") throw new UsageError(`pnl: --by must be day or tx, got "${by}"`);
    const path = flags.ledger ? resolve(io.cwd, flags.ledger) : ledgerPathOf(resolve(io.cwd, loadKeeperSettings().checkpointPath));
    if (!existsSync(path)) throw new BaseError(`${path}: no such file (no transaction mined yet, or another --ledger)`, { userError: true });
    if (!statSync(path).isFile()) throw new BaseError(`${path}: not a file`, { userError: true });
    const read = readLedger(path);
    const first = read.bad[0];
    if (first) throw new CorruptLedgerError(path, first.line, first.why, read.bad.length - 1);
    if (read.torn) io.stderr(`perp-keeper: note: ${path}: line ${read.torn.line} was cut short (a crash while writing it) and is skipped`);
    const mine = read.entries.filter((e) => e.chainId === deployment.chainId && e.market === deployment.contracts.market);
    const others = read.entries.length - mine.length;
    const report = pnlReport(mine, by);
    if (flags.json) {
      const json = {
        ledger: path,
        chainId: deployment.chainId,
        market: deployment.contracts.market,
        otherEntries: others,
        by,
        rows: report.rows.map((r) => ({ [by === "day" ? "day" : "hash"]: r.key, ...usdOf(r), transactions: r.transactions })),
        totals: { ...usdOf(report.totals), transactions: report.totals.transactions },
        entries: mine.map((e) => JSON.parse(entryToLine(e)) as unknown),
      };
      io.stdout(JSON.stringify(json, null, 2));
      return 0;
    }
    io.stdout(`Ledger ${path}: ${mine.length} transaction${mine.length === 1 ? "" : "s"} on chain ${deployment.chainId}, market ${deployment.contracts.market}${others > 0 ? ` (${others} of another deployment not shown)` : ""}.`);
    const dayOfTx = new Map(mine.map((e) => [e.hash as string, dayOf(e.timestamp)]));
    const body = report.rows.map((r) => [by === "day" ? r.key : `${r.key.slice(0, 10)}… ${dayOfTx.get(r.key) ?? ""}`, String(r.transactions), formatUsd(r.rewardsUsd), formatUsd(r.gasUsd), formatUsd(r.l1FeeUsd), formatUsd(r.netUsd)]);
    const t = report.totals;
    const total = ["TOTAL", String(t.transactions), formatUsd(t.rewardsUsd), formatUsd(t.gasUsd), formatUsd(t.l1FeeUsd), formatUsd(t.netUsd)];
    for (const line of table([by === "day" ? "DAY (UTC)" : "TRANSACTION", "TXS", "REWARDS", "L2 GAS", "L1 FEE", "NET"], [...body, total], [1, 2, 3, 4, 5])) io.stdout(line);
    return 0;
  },
});

/** The USD sums as exact decimal strings (WAD: up to 18 decimals). */
function usdOf(t: { rewardsUsd: bigint; gasUsd: bigint; l1FeeUsd: bigint; netUsd: bigint }) {
  const s = (wad: bigint) => formatUnits(wad, 18);
  return { rewardsUsd: s(t.rewardsUsd), gasUsd: s(t.gasUsd), l1FeeUsd: s(t.l1FeeUsd), netUsd: s(t.netUsd) };
}
