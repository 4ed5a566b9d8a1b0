import { SeedRandom } from "./seedTraders.ts";

/**
 * Seeded floating-point draws for the simulator (price paths, populations), on top of the
 * keccak stream of {@link SeedRandom}: the same seed gives the same numbers on every run.
 * Only the standard IEEE operations and V8's fdlibm-based Math.log/cos/exp are used.
 */
export class FloatRandom {
  private spare: number | undefined;

  constructor(private readonly rng: SeedRandom) {}

  static from(...parts: (string | number | bigint)[]): FloatRandom {
    return new FloatRandom(SeedRandom.from(...parts));
  }

  /** The underlying bigint stream (for exact integer draws). */
  get ints(): SeedRandom {
    return this.rng;
  }

  /** Uniform in [0, 1), 53 bits. */
  uniform(): number {
    return Number(this.rng.next() >> 203n) / 2 ** 53;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return z;
    }
    const u = 1 - this.uniform(); // (0, 1]: log is finite
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Poisson with mean `lambda` (Knuth; meant for the small means of one block's jumps). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.uniform();
    while (p > limit && k < 1_000) {
      k++;
      p *= this.uniform();
    }
    return k;
  }

  /** Uniform in [lo, hi], or log-uniform (uniform in log space) when `log` is set (needs lo > 0). */
  between(lo: number, hi: number, log = false): number {
    if (hi <= lo) return lo;
    const u = this.uniform();
    return log ? Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))) : lo + u * (hi - lo);
  }
}
