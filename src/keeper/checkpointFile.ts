/**
 * The keeper's checkpoint file: the index (cursor, recent hashes, state with its journal) and the
 * transactions in flight, written atomically every few blocks and at shutdown, so that a restart
 * neither backfills nor double-sends. A file for another deployment is ignored (with a warning);
 * a file that is not JSON stops the keeper with one clear line.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { getAddress, type Address, type Hex } from "viem";
import type { InFlightTx } from "../execute/types.ts";
import type { IndexerCheckpoint } from "../index/checkpoint.ts";
import { journalEntry } from "../execute/journal.ts";
import { writeFileAtomic } from "../lib/atomicFile.ts";
import { stringifyWithBigints } from "../lib/json.ts";
import { BaseError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";

export type KeeperCheckpointFile = {
  version: 1;
  chainId: number;
  market: Address;
  index: IndexerCheckpoint;
  inFlight: Record<string, unknown>[];
  writtenAt: string;
};

export class KeeperCheckpointError extends BaseError {
  override name = "KeeperCheckpointError";
}

/** What a checkpoint holds for this deployment; undefined when there is none, or it is another's. */
export function readCheckpointFile(
  path: string,
  deployment: { chainId: number; market: Address },
  logger: Logger,
): { index: IndexerCheckpoint; inFlight: Record<string, unknown>[] } | undefined {
  if (!existsSync(path)) return undefined;
  let file: KeeperCheckpointFile;
  try {
    file = JSON.parse(readFileSync(path, "utf8")) as KeeperCheckpointFile;
  } catch (e) {
    throw new KeeperCheckpointError(`checkpoint ${path} is not valid JSON; move it away to rebuild from the chain`, { cause: e, userError: true });
  }
  if (file.version !== 1 || file.chainId !== deployment.chainId || getAddress(file.market) !== getAddress(deployment.market)) {
    logger.warn({ path }, "checkpoint is for another deployment; ignoring it and backfilling");
    return undefined;
  }
  return { index: file.index, inFlight: file.inFlight ?? [] };
}

/** Write the checkpoint atomically; returns what it lists in flight (JSON form, by nonce). */
export function writeCheckpointFile(
  path: string,
  p: { chainId: number; market: Address; index: IndexerCheckpoint; inFlight: readonly InFlightTx[]; now: number },
): Map<number, Record<string, unknown>> {
  mkdirSync(dirname(path), { recursive: true });
  const file: KeeperCheckpointFile = {
    version: 1,
    chainId: p.chainId,
    market: p.market,
    index: p.index,
    inFlight: p.inFlight.map(journalEntry),
    writtenAt: new Date(p.now).toISOString(),
  };
  writeFileAtomic(path, stringifyWithBigints(file));
  return new Map(file.inFlight.map((j) => [Number(j.nonce), j]));
}

/** InFlightTx from its checkpoint JSON (bigints were written as decimal strings). */
export function inFlightFromJson(j: Record<string, unknown>): InFlightTx {
  const big = (x: unknown) => BigInt(String(x));
  const items = (j.items as Record<string, unknown>[]).map((i) => ({
    account: getAddress(String(i.account)),
    marketId: Number(i.marketId),
    size: big(i.size),
    expectedRewardTokens: big(i.expectedRewardTokens),
  }));
  const tx: InFlightTx = {
    hash: j.hash as Hex,
    nonce: Number(j.nonce),
    items,
    sentAtBlock: big(j.sentAtBlock),
    maxFeePerGas: big(j.maxFeePerGas),
    maxPriorityFeePerGas: big(j.maxPriorityFeePerGas),
    replacements: Number(j.replacements),
  };
  if (j.gas !== undefined) tx.gas = big(j.gas);
  if (Array.isArray(j.previousHashes)) tx.previousHashes = j.previousHashes as Hex[];
  if (typeof j.functionName === "string") tx.functionName = j.functionName;
  if (j.expectedProfitWei !== undefined) tx.expectedProfitWei = big(j.expectedProfitWei);
  return tx;
}
