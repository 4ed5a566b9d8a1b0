/**
 * EIP-1559 fees for liquidation transactions: pure functions, no client and no clock.
 *
 * Policy (all amounts in wei per gas):
 * - **Priority fee** = `priorityFeeWei + profitPriorityPpm / 1e6 × expectedProfitWei / gas`.
 *   The second term gives the block builder a share of the expected profit, spread over the gas
 *   limit; since the gas used is at most the limit, at most that share of the profit is tipped.
 *   `profitPriorityPpm = 0` gives a flat tip.
 * - **Max fee** = `2 × baseFee + priority`: the transaction stays includable through six
 *   consecutive full blocks (+12.5% each).
 * - **Cap**: `maxFeePerGas ≤ feeCapWei` always. When the base fee alone is above the cap nothing
 *   is sent (`fee_above_cap`). When `baseFee + priority` would exceed the cap, the tip is cut to
 *   `cap − baseFee` so that the transaction is still includable at the current base fee.
 * - **Replacement**: both fields grow by at least 12.5% (nodes require 10%: geth's default
 *   `--txpool.pricebump`), and to at least a fresh quote at the current base fee, never above the
 *   cap. When the cap leaves no room for a valid bump, no replacement is sent (`fee_cap_reached`)
 *   and the old transaction is left as it is.
 */

/** The fee policy, from config. */
export type FeePolicy = {
  /** Hard cap on `maxFeePerGas` (wei). */
  feeCapWei: bigint;
  /** Base priority fee (wei). */
  priorityFeeWei: bigint;
  /** Share of the expected profit tipped to the builder, in ppm (0 = flat tip, 100_000 = 10%). */
  profitPriorityPpm: bigint;
};

export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

export type FeeQuote =
  | ({ ok: true } & Fees)
  | { ok: false; reason: "fee_above_cap"; baseFeePerGas: bigint; feeCapWei: bigint }
  | { ok: false; reason: "fee_cap_reached"; required: Fees; feeCapWei: bigint };

export type FeeQuoteParameters = {
  /** Base fee of the latest block (null before London: treated as 0). */
  baseFeePerGas: bigint | null;
  policy: FeePolicy;
  /** Expected profit of the transaction, net of gas (wei); negative counts as 0. */
  expectedProfitWei: bigint;
  /** Gas limit of the transaction. */
  gas: bigint;
};

/** Replacement bump, in ppm: +12.5%. */
export const REPLACEMENT_BUMP_PPM = 125_000n;
const PPM = 1_000_000n;

/** Convert a share in [0, 1] (config) to ppm; throws a RangeError outside it. */
export function shareToPpm(share: number): bigint {
  if (!Number.isFinite(share) || share < 0 || share > 1) throw new RangeError(`share must be in [0, 1], got ${share}`);
  return BigInt(Math.round(share * 1e6));
}

/** Fees for a new transaction at `baseFeePerGas`, by the policy above. */
export function quoteFees(p: FeeQuoteParameters): FeeQuote {
  const { policy } = p;
  const baseFee = p.baseFeePerGas ?? 0n;
  if (baseFee > policy.feeCapWei) {
    return { ok: false, reason: "fee_above_cap", baseFeePerGas: baseFee, feeCapWei: policy.feeCapWei };
  }
  const profit = p.expectedProfitWei > 0n ? p.expectedProfitWei : 0n;
  const gas = p.gas > 0n ? p.gas : 1n;
  let priority = policy.priorityFeeWei + (profit * policy.profitPriorityPpm) / PPM / gas;
  const room = policy.feeCapWei - baseFee;
  if (priority > room) priority = room;
  let maxFee = 2n * baseFee + priority;
  if (maxFee > policy.feeCapWei) maxFee = policy.feeCapWei;
  return { ok: true, maxFeePerGas: maxFee, maxPriorityFeePerGas: priority };
}

/** `x` raised by {@link REPLACEMENT_BUMP_PPM}, rounded up, and by at least 1 wei. */
export function bumped(x: bigint): bigint {
  const up = x + (x * REPLACEMENT_BUMP_PPM + PPM - 1n) / PPM;
  return up > x ? up : x + 1n;
}

/**
 * Fees for a replacement of a transaction sent with `previous`: each field at least
 * {@link bumped}, and at least a fresh {@link quoteFees} at the current base fee; capped.
 */
export function bumpFees(previous: Fees, p: FeeQuoteParameters): FeeQuote {
  const fresh = quoteFees(p);
  if (!fresh.ok) return fresh;
  const cap = p.policy.feeCapWei;
  const required: Fees = {
    maxFeePerGas: bumped(previous.maxFeePerGas),
    maxPriorityFeePerGas: bumped(previous.maxPriorityFeePerGas),
  };
  // previous.priority ≤ previous.maxFee, so required.priority ≤ required.maxFee ≤ cap below.
  if (required.maxFeePerGas > cap) return { ok: false, reason: "fee_cap_reached", required, feeCapWei: cap };
  let maxFee = fresh.maxFeePerGas > required.maxFeePerGas ? fresh.maxFeePerGas : required.maxFeePerGas;
  let priority =
    fresh.maxPriorityFeePerGas > required.maxPriorityFeePerGas ? fresh.maxPriorityFeePerGas : required.maxPriorityFeePerGas;
  if (maxFee > cap) maxFee = cap;
  if (priority > maxFee) priority = maxFee;
  return { ok: true, maxFeePerGas: maxFee, maxPriorityFeePerGas: priority };
}

/** Just the two fee fields of `f` (a quote carries `ok` too). */
export function pickFees(f: Fees): Fees {
  return { maxFeePerGas: f.maxFeePerGas, maxPriorityFeePerGas: f.maxPriorityFeePerGas };
}
