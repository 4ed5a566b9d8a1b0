/**
 * One line of the profit ledger: a mined liquidation transaction of ours, what it earned and what
 * it cost, valued in USD at the native token's price when it was settled. Pure: building an entry
 * from a mined transaction, and its JSON line both ways (amounts as decimal strings, exact).
 *
 * Rewards are collateral tokens with 6 decimals, and the collateral token is a dollar (as the
 * planner's Candidate says); gas (L2) and the L1 data fee are native-token wei.
 */
import { formatUnits, getAddress, isAddress, isHash, parseUnits, type Address, type Hex } from "viem";
import type { MinedTx } from "../execute/spend.ts";

const WAD = 10n ** 18n;
/** Collateral token (6 decimals) → USD WAD. */
const TOKEN_TO_WAD = 10n ** 12n;

export type LedgerEntry = {
  chainId: number;
  market: Address;
  hash: Hex;
  block: bigint;
  /** The settling head's time, seconds. */
  timestamp: bigint;
  /** Items sent, liquidated, and failed inside the batch (all failed when the transaction reverted). */
  items: number;
  liquidated: number;
  failed: number;
  reverted: boolean;
  rewardTokens: bigint;
  gasWei: bigint;
  l1FeeWei: bigint;
  l1FeeFrom: MinedTx["l1FeeFrom"];
  /** USD WAD per native token at settlement. */
  nativeUsd: bigint;
  /** USD WAD. */
  rewardUsd: bigint;
  gasUsd: bigint;
  l1FeeUsd: bigint;
  /** rewardUsd − gasUsd − l1FeeUsd. */
  netUsd: bigint;
};

/** The ledger entry of `m`, settled at `nativeUsd`, for the keeper of `identity`. */
export function entryOf(m: MinedTx, nativeUsd: bigint, identity: { chainId: number; market: Address }): LedgerEntry {
  const rewardUsd = m.rewardTokens * TOKEN_TO_WAD;
  const gasUsd = (m.gasWei * nativeUsd) / WAD;
  const l1FeeUsd = (m.l1FeeWei * nativeUsd) / WAD;
  return {
    chainId: identity.chainId,
    market: identity.market,
    hash: m.hash,
    block: m.block,
    timestamp: m.timestamp,
    items: m.items.length,
    liquidated: m.liquidated,
    failed: m.failed,
    reverted: m.reverted,
    rewardTokens: m.rewardTokens,
    gasWei: m.gasWei,
    l1FeeWei: m.l1FeeWei,
    l1FeeFrom: m.l1FeeFrom,
    nativeUsd,
    rewardUsd,
    gasUsd,
    l1FeeUsd,
    netUsd: rewardUsd - gasUsd - l1FeeUsd,
  };
}

const usd = (wad: bigint) => formatUnits(wad, 18);

/** The entry as one JSON line (no newline). */
export function entryToLine(e: LedgerEntry): string {
  return JSON.stringify({
    v: 1,
    chainId: e.chainId,
    market: e.market,
    hash: e.hash,
    block: e.block.toString(),
    timestamp: e.timestamp.toString(),
    time: new Date(Number(e.timestamp) * 1000).toISOString(),
    items: e.items,
    liquidated: e.liquidated,
    failed: e.failed,
    reverted: e.reverted,
    rewardTokens: e.rewardTokens.toString(),
    gasWei: e.gasWei.toString(),
    l1FeeWei: e.l1FeeWei.toString(),
    l1FeeFrom: e.l1FeeFrom,
    nativeUsd: usd(e.nativeUsd),
    rewardUsd: usd(e.rewardUsd),
    gasUsd: usd(e.gasUsd),
    l1FeeUsd: usd(e.l1FeeUsd),
    netUsd: usd(e.netUsd),
  });
}

/** Why a line is not a ledger entry. */
export class LedgerLineError extends Error {
  override name = "LedgerLineError";
}

/** Parse one line; throws a {@link LedgerLineError} naming the first bad field. */
export function entryFromLine(line: string): LedgerEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new LedgerLineError("not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new LedgerLineError("not an object");
  const o = raw as Record<string, unknown>;
  if (o.v !== 1) throw new LedgerLineError(`unknown version ${JSON.stringify(o.v)}`);
  const int = (k: string): bigint => {
    const v = o[k];
    if (typeof v !== "string" || !/^-?\d{1,78}$/.test(v)) throw new LedgerLineError(`${k}: not an integer string`);
    return BigInt(v);
  };
  const count = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new LedgerLineError(`${k}: not a count`);
    return v;
  };
  const dollars = (k: string): bigint => {
    const v = o[k];
    if (typeof v !== "string" || !/^-?\d{1,60}(\.\d{1,18})?$/.test(v)) throw new LedgerLineError(`${k}: not a decimal amount`);
    return parseUnits(v, 18);
  };
  const { market, hash, l1FeeFrom, reverted } = o;
  if (typeof market !== "string" || !isAddress(market, { strict: false })) throw new LedgerLineError("market: not an address");
  if (typeof hash !== "string" || !isHash(hash)) throw new LedgerLineError("hash: not a transaction hash");
  if (l1FeeFrom !== "receipt" && l1FeeFrom !== "estimate" && l1FeeFrom !== "none") throw new LedgerLineError("l1FeeFrom: not receipt, estimate or none");
  if (typeof reverted !== "boolean") throw new LedgerLineError("reverted: not a boolean");
  return {
    chainId: count("chainId"),
    market: getAddress(market),
    hash,
    block: int("block"),
    timestamp: int("timestamp"),
    items: count("items"),
    liquidated: count("liquidated"),
    failed: count("failed"),
    reverted,
    rewardTokens: int("rewardTokens"),
    gasWei: int("gasWei"),
    l1FeeWei: int("l1FeeWei"),
    l1FeeFrom,
    nativeUsd: dollars("nativeUsd"),
    rewardUsd: dollars("rewardUsd"),
    gasUsd: dollars("gasUsd"),
    l1FeeUsd: dollars("l1FeeUsd"),
    netUsd: dollars("netUsd"),
  };
}
