/**
 * Why `eth_sendRawTransaction` refused a transaction, as an error class.
 *
 * viem's `getNodeError` turns the node's answer (JSON-RPC code -32000 on geth, -32003 on Anvil,
 * with the txpool's reason) into its classes: NonceTooLowError (also for "already known" /
 * "transaction already imported"), NonceTooHighError, FeeCapTooLowError, InsufficientFundsError….
 * Nodes give "replacement transaction underpriced" no code of its own and viem has no class for
 * it, so {@link ReplacementUnderpricedError} recognises it the way viem recognises the others:
 * a static `nodeMessage` matched against the node's reason, here and nowhere else.
 */
import {
  BaseError as ViemBaseError,
  FeeCapTooLowError,
  InsufficientFundsError,
  NonceTooHighError,
  NonceTooLowError,
  UnknownNodeError,
} from "viem";
import { getNodeError } from "viem/utils";
import { BaseError } from "../lib/errors.ts";

/** geth's and Erigon's ErrReplaceUnderpriced, Nethermind's ReplacementFeeTooLow (not the pool-minimum "transaction underpriced"). */
export class ReplacementUnderpricedError extends BaseError {
  override name = "ReplacementUnderpricedError";
  static nodeMessage = /replacement transaction underpriced|replacement ?fee ?too ?low/;
  constructor(cause: unknown) {
    super("a transaction with the same nonce and a higher or equal fee is already pending", { cause });
  }
}

export type SendErrorKind =
  /** The nonce is used (mined), or this very transaction is already known to the node. */
  | "nonce_too_low"
  /** A gap: the node expects a lower nonce. */
  | "nonce_too_high"
  /** Another transaction holds this nonce in the pool with fees we did not beat. */
  | "underpriced"
  /** maxFeePerGas below the pending block's base fee. */
  | "fee_too_low"
  | "insufficient_funds"
  /** Anything else, including transport failures: whether the node got it is unknown. */
  | "unknown";

/** A send the node refused for a reason a resync did not cure. */
export class SendFailedError extends BaseError {
  override name = "SendFailedError";
  readonly kind: SendErrorKind;
  constructor(kind: SendErrorKind, cause: unknown) {
    super(`the node refused the transaction (${kind})`, { cause });
    this.kind = kind;
  }
}

/** Classify a failed `sendRawTransaction` by error class; `nonce` only decorates the message. */
export function classifySendError(e: unknown, nonce?: number): { kind: SendErrorKind; error: unknown } {
  if (!(e instanceof ViemBaseError)) return { kind: "unknown", error: e };
  const node = e instanceof UnknownNodeError || e.walk((x) => isNodeClass(x)) ? e : getNodeError(e, { nonce });
  const found = node.walk((x) => isNodeClass(x));
  if (found instanceof NonceTooLowError) return { kind: "nonce_too_low", error: found };
  if (found instanceof NonceTooHighError) return { kind: "nonce_too_high", error: found };
  if (found instanceof FeeCapTooLowError) return { kind: "fee_too_low", error: found };
  if (found instanceof InsufficientFundsError) return { kind: "insufficient_funds", error: found };
  const details = node.walk((x) => x instanceof ViemBaseError && typeof x.details === "string" && x.details.length > 0);
  if (details instanceof ViemBaseError && ReplacementUnderpricedError.nodeMessage.test(details.details.toLowerCase())) {
    return { kind: "underpriced", error: new ReplacementUnderpricedError(e) };
  }
  return { kind: "unknown", error: e };
}

function isNodeClass(x: unknown): boolean {
  return (
    x instanceof NonceTooLowError ||
    x instanceof NonceTooHighError ||
    x instanceof FeeCapTooLowError ||
    x instanceof InsufficientFundsError
  );
}
