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
import { NonRetryableError } from "../lib/errors.ts";

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

/**
 * The node refused a transaction (or the send failed): one class per reason, which callers decide
 * from. `kind` is only a label, for `keeper_send_failures_total{kind}` and logs. Never retried as
 * it is: the same signed bytes would be refused again (the transport already retried a transport
 * failure); nonce trouble is cured by a resync and a new nonce, not by sending again.
 */
export abstract class SendFailedError extends NonRetryableError {
  override name = "SendFailedError";
  abstract readonly kind: SendErrorKind;
  constructor(cause: unknown, shortMessage?: string) {
    super(shortMessage ?? "the node refused the transaction", { cause });
  }
}

/** The nonce is taken (mined, or held in the pool by a transaction we did not outbid) or out of order: resync and take another. */
export abstract class NonceConflictError extends SendFailedError {
  override name = "NonceConflictError";
}

/** The nonce is used (mined), or this very transaction is already known to the node (viem: NonceTooLowError). */
export class SendNonceTooLowError extends NonceConflictError {
  override name = "SendNonceTooLowError";
  readonly kind = "nonce_too_low";
  constructor(cause: unknown) {
    super(cause, "the node refused the transaction (nonce_too_low)");
  }
}

/** A gap: the node expects a lower nonce (viem: NonceTooHighError). */
export class SendNonceTooHighError extends NonceConflictError {
  override name = "SendNonceTooHighError";
  readonly kind = "nonce_too_high";
  constructor(cause: unknown) {
    super(cause, "the node refused the transaction (nonce_too_high)");
  }
}

/** geth's and Erigon's ErrReplaceUnderpriced, Nethermind's ReplacementFeeTooLow (not the pool-minimum "transaction underpriced"). */
export class ReplacementUnderpricedError extends NonceConflictError {
  override name = "ReplacementUnderpricedError";
  readonly kind = "underpriced";
  static nodeMessage = /replacement transaction underpriced|replacement ?fee ?too ?low/;
  constructor(cause: unknown) {
    super(cause, "a transaction with the same nonce and a higher or equal fee is already pending");
  }
}

/** maxFeePerGas below the pending block's base fee (viem: FeeCapTooLowError). */
export class SendFeeTooLowError extends SendFailedError {
  override name = "SendFeeTooLowError";
  readonly kind = "fee_too_low";
  constructor(cause: unknown) {
    super(cause, "the node refused the transaction (fee_too_low)");
  }
}

/** The wallet cannot pay for the transaction (viem: InsufficientFundsError). */
export class SendInsufficientFundsError extends SendFailedError {
  override name = "SendInsufficientFundsError";
  readonly kind = "insufficient_funds";
  constructor(cause: unknown) {
    super(cause, "the node refused the transaction (insufficient_funds)");
  }
}

/** Anything else, including transport failures: whether the node got the transaction is unknown. */
export class SendUnknownError extends SendFailedError {
  override name = "SendUnknownError";
  readonly kind = "unknown";
  constructor(cause: unknown) {
    super(cause, "the node refused the transaction (unknown)");
  }
}

/**
 * The class of a failed `sendRawTransaction`, from viem's node-error classes (the node's reason
 * text only for "replacement transaction underpriced"). Its cause is viem's class when there is
 * one, else the error itself; `nonce` only decorates viem's message.
 */
export function sendErrorOf(e: unknown, nonce?: number): SendFailedError {
  if (e instanceof SendFailedError) return e;
  if (!(e instanceof ViemBaseError)) return new SendUnknownError(e);
  const node = e instanceof UnknownNodeError || e.walk((x) => isNodeClass(x)) ? e : getNodeError(e, { nonce });
  const found = node.walk((x) => isNodeClass(x));
  if (found instanceof NonceTooLowError) return new SendNonceTooLowError(found);
  if (found instanceof NonceTooHighError) return new SendNonceTooHighError(found);
  if (found instanceof FeeCapTooLowError) return new SendFeeTooLowError(found);
  if (found instanceof InsufficientFundsError) return new SendInsufficientFundsError(found);
  const details = node.walk((x) => x instanceof ViemBaseError && typeof x.details === "string" && x.details.length > 0);
  if (details instanceof ViemBaseError && ReplacementUnderpricedError.nodeMessage.test(details.details.toLowerCase())) {
    return new ReplacementUnderpricedError(e);
  }
  return new SendUnknownError(e);
}

/**
 * The label of a failed send and the error to show for it: viem's class when it has one, or
 * {@link ReplacementUnderpricedError}. A view of {@link sendErrorOf}, which callers decide from.
 */
export function classifySendError(e: unknown, nonce?: number): { kind: SendErrorKind; error: unknown } {
  const c = sendErrorOf(e, nonce);
  return { kind: c.kind, error: c instanceof ReplacementUnderpricedError ? c : c.cause };
}

function isNodeClass(x: unknown): boolean {
  return (
    x instanceof NonceTooLowError ||
    x instanceof NonceTooHighError ||
    x instanceof FeeCapTooLowError ||
    x instanceof InsufficientFundsError
  );
}
