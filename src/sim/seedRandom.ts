import { concat, keccak256, numberToHex, toBytes, type Hex } from "viem";

/**
 * Deterministic randomness for seeding: a keccak-based random stream ({@link SeedRandom}) and the
 * traders' keys derived from a seed ({@link traderPrivateKey}). Dev chains only.
 */

/** A keccak-based random stream: 256-bit bigints, reproducible from a 32-byte seed. */
export class SeedRandom {
  private counter = 0n;
  constructor(private readonly seed: Hex) {}

  static from(...parts: (string | number | bigint)[]): SeedRandom {
    return new SeedRandom(keccak256(toBytes(["perp-keeper/seed-traders/v1", ...parts.map(String)].join(":"))));
  }

  next(): bigint {
    const h = keccak256(concat([this.seed, numberToHex(this.counter++, { size: 32 })]));
    return BigInt(h);
  }

  /** Uniform in [0, n) (bias below 2^-200 for the ranges used here). */
  below(n: bigint): bigint {
    if (n <= 0n) throw new RangeError("below(n) needs n > 0");
    return this.next() % n;
  }

  /** Uniform in [lo, hi]. */
  between(lo: bigint, hi: bigint): bigint {
    return hi <= lo ? lo : lo + this.below(hi - lo + 1n);
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Number(this.below(BigInt(i + 1)));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * Trader `index`'s private key: keccak256 of the seed and the index (re-hashed in the negligible case
 * that it is not a valid secp256k1 scalar). Public by construction: dev chains only.
 */
export function traderPrivateKey(seed: string, index: number): Hex {
  let key = keccak256(toBytes(`perp-keeper/seed-traders/v1:key:${seed}:${index}`));
  while (BigInt(key) === 0n || BigInt(key) >= SECP256K1_ORDER) key = keccak256(key);
  return key;
}
