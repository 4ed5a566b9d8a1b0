/**
 * Fixed-point helpers shared by every money path. Mirrors the helpers of
 * `contracts/src/MarginMath.sol`: Solidity `/` and bigint `/` both truncate toward zero, so
 * rounding direction is always explicit.
 */

export const WAD = 10n ** 18n;
export const PPM = 1_000_000n;
/** 6-decimal collateral token → WAD. */
export const TOKEN_SCALE = 10n ** 12n;

/** a / b rounded toward −∞. */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** a / b rounded toward +∞. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n === b < 0n ? q + 1n : q;
}

export function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

export function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function roundUpToLot(size: bigint, lot: bigint): bigint {
  return ceilDiv(size, lot) * lot;
}
