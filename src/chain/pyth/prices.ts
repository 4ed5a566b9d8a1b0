/**
 * A Pyth price (`price × 10^expo`) as a WAD bigint, the unit every engine figure is in.
 */
import type { PythPrice } from "./updateData.ts";

const WAD_DECIMALS = 18;

export class PythPriceError extends Error {
  override name = "PythPriceError";
}

/**
 * price × 10^(18 + expo), truncated toward zero when 18 + expo < 0 (Solidity's `/`, which bigint
 * `/` matches). A non-positive price is no price to trade or liquidate at: it throws, as the
 * market reverts on it.
 */
export function pythToWad(p: Pick<PythPrice, "price" | "expo">): bigint {
  if (p.price <= 0n) throw new PythPriceError(`non-positive Pyth price ${p.price} (expo ${p.expo})`);
  const shift = WAD_DECIMALS + p.expo;
  return shift >= 0 ? p.price * 10n ** BigInt(shift) : p.price / 10n ** BigInt(-shift);
}
