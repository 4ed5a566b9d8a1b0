/**
 * Synthetix's decimal math (core-contracts utils/DecimalMath.sol, perps-market utils/MathUtil.sol)
 * as contracts/src/capped/CappedMath.sol has it. Every operand here is D18; bigint `/` truncates
 * toward zero like Solidity's, which for the unsigned versions is the floor.
 */
import { WAD } from "../math.ts";

/** a × b / 1e18: floored for a, b ≥ 0; truncated toward zero for signed operands (mulDecimalInt). */
export function mulDecimal(a: bigint, b: bigint): bigint {
  return (a * b) / WAD;
}

/** a × 1e18 / b, floored (a, b ≥ 0). */
export function divDecimal(a: bigint, b: bigint): bigint {
  return (a * WAD) / b;
}

/** ⌈a / b⌉ for a, b ≥ 0; 0 when b is 0 (MathUtil.ceilDivide). */
export function ceilDivide(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  return a / b + (a % b === 0n ? 0n : 1n);
}

/** Zero is on every side (MathUtil.sameSide). */
export function sameSide(a: bigint, b: bigint): boolean {
  return a === 0n || b === 0n || a > 0n === b > 0n;
}
