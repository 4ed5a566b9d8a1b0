/**
 * What the executor needs from a protocol: the port a protocol module implements so that the
 * protocol-neutral executor can encode, simulate, send and read back liquidations without knowing
 * the market's ABI. Decisions still come from decoded custom errors (a protocol decodes them from
 * its own ABI), never from revert text.
 */
import { BaseError as ViemBaseError, ContractFunctionRevertedError, type Address, type Hex, type Log, type PublicClient } from "viem";
import type { LiquidationItem } from "./types.ts";

/**
 * One encoded liquidation call. `batch`: several items (or one isolated) whose failures stay per
 * item. `args` are the protocol's own, opaque to the executor.
 */
export type LiquidationCall = { functionName: string; batch: boolean; data: Hex; args: readonly unknown[] };

/** What one item of a call returned when simulated: a reward, or the revert data that stopped it. */
export type ItemOutcome = { ok: boolean; keeperReward: bigint; revertData: Hex };

/** A custom error, decoded: "unknown" when it does not decode. */
export type DecodedRevert = { errorName: string; args: readonly unknown[] };

/** What a decoded revert means for the executor. */
export type RevertAction =
  /** The state moved or the plan was wrong for it: drop the item, no backoff. */
  | { kind: "skip"; errorName: string }
  /** The account is in its partial-liquidation cooldown until `endsAt` (chain time, seconds). */
  | { kind: "cooldown"; errorName: string; account: Address; endsAt: bigint }
  /** The market's price is stale or invalid: back off the market for a few seconds. */
  | { kind: "market_backoff"; errorName: string; marketId: number }
  /** A revert the executor does not know: drop the item and log it. */
  | { kind: "unknown"; errorName: string };

export type LiquidatedItem = {
  account: Address;
  marketId: number;
  size: bigint;
  /** Keeper reward in collateral tokens. */
  rewardTokens: bigint;
  full: boolean;
};

/** A batch item that failed on chain, with its custom error and that error's arguments. */
export type FailedItem = { account: Address; marketId: number; errorName: string; args: readonly unknown[] };

export type LiquidationReceipt = {
  liquidated: LiquidatedItem[];
  /** Batch items that reverted on chain, with their decoded custom error. */
  failed: FailedItem[];
  rewardTokens: bigint;
};

type Client = Pick<PublicClient, "call" | "readContract" | "simulateContract" | "estimateContractGas">;

export interface LiquidationCalls {
  /** The contract liquidations are sent to. */
  readonly target: Address;
  /**
   * The call for `items`: one item alone, or several in a batch. `isolate`: a batch even for one
   * item, so that an item another keeper took first fails alone instead of reverting the call.
   */
  encode(items: readonly LiquidationItem[], opts?: { isolate?: boolean }): LiquidationCall;
  /** The call a checkpointed transaction made, from its recorded function name (absent: `encode(items)`). */
  restore(items: readonly LiquidationItem[], functionName: string | undefined): LiquidationCall;
  /** Per item, what a successful execution of `call` returned (`returnData` of eth_call / eth_simulateV1). */
  decodeOutcomes(call: LiquidationCall, returnData: Hex): ItemOutcome[];
  /** eth_call on the latest block from `from`: per-item outcomes; throws viem's contract error on a revert. */
  simulate(client: Client, call: LiquidationCall, from: Address): Promise<ItemOutcome[]>;
  /** eth_estimateGas from `from`. */
  estimateGas(client: Client, call: LiquidationCall, from: Address): Promise<bigint>;
  /** Revert data decoded with the protocol's custom errors. */
  decodeRevert(data: Hex): DecodedRevert;
  /** What the executor does about a decoded revert of `item`. */
  revertAction(d: DecodedRevert, item: Pick<LiquidationItem, "account" | "marketId">): RevertAction;
  /** `d` completed from the chain where the error lacks what the action needs (a cooldown's end). */
  completeRevert(client: Client, d: DecodedRevert, account: Address): Promise<DecodedRevert>;
  /** What a mined liquidation did for `keeper`, from its receipt's logs. */
  decodeReceipt(logs: readonly Log[], keeper: Address): LiquidationReceipt;
  /**
   * Whether any `failed` item of the batch `call` also fails when the call is executed again on the
   * state at the end of `block`; undefined when that cannot be told.
   */
  failsAt(client: Client, p: { call: LiquidationCall; keeper: Address; block: bigint; failed: readonly FailedItem[] }): Promise<boolean | undefined>;
}

/**
 * The custom error inside a viem contract error (simulateContract, estimateContractGas):
 * `undefined` when `e` is not a revert (an RPC failure, a timeout), `{ errorName: "unknown" }`
 * when it is a revert the ABI does not decode (no data, a panic, a foreign error).
 */
export function decodeContractRevert(e: unknown): DecodedRevert | undefined {
  if (!(e instanceof ViemBaseError)) return undefined;
  const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined;
  const name = reverted.data?.errorName;
  if (name === undefined) return { errorName: "unknown", args: [] };
  return { errorName: name, args: reverted.data?.args ?? [] };
}
