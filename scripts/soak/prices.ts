/**
 * The soak's prices: a random walk around each market's initial price (mean-reverting, so a week
 * of chain time does not drift the book into nothing), with crashes (every market down 6–12% in
 * one block: accounts become liquidatable) and pumps (up: the shorts' turn), from which the
 * reversion recovers. Published as test/support/prices.ts publishes them: `updateAnswer` on each
 * Chainlink proxy's current aggregator (src/chain/prices.ts's publisherOf). The native token's
 * ETH / USD feed is refreshed with them, so the keeper's gas price never goes stale.
 *
 * Price transactions carry no priority fee: in a block that also holds the keeper's liquidations
 * (sent on the previous block's state), they come after them, as a price that lands a block later
 * would; a liquidation is then never undone by the very price update it raced.
 */
import { encodeFunctionData, parseGwei, type Address } from "viem";
import { EmittingMockV3Aggregator } from "../../abi/EmittingMockV3Aggregator.ts";
import { PRICE_UPDATE_GAS, feedAnswer, publisherOf } from "../../src/chain/prices.ts";
import { readMarkPrices } from "../../src/chain/reads.ts";
import type { SoakWorld } from "./world.ts";

const WAD = 10n ** 18n;
const NATIVE_USD = 3_000n * WAD;
const NATIVE_DECIMALS = 8;

export type PriceMove = "walk" | "crash" | "pump";

export class SoakPrices {
  private readonly base = new Map<number, bigint>();
  private readonly now = new Map<number, bigint>();
  private readonly publishers = new Map<Address, Address>();

  private constructor(
    private readonly world: SoakWorld,
    private readonly rng: () => number,
  ) {}

  static async open(world: SoakWorld, rng: () => number): Promise<SoakPrices> {
    const p = new SoakPrices(world, rng);
    const ids = world.deployment.markets.map((m) => m.id);
    for (const [id, price] of await readMarkPrices(world.owner, world.deployment.contracts.market, ids)) {
      p.base.set(id, price);
      p.now.set(id, price);
    }
    return p;
  }

  /** The next prices for a move of `kind` (every market). */
  next(kind: PriceMove): Map<number, bigint> {
    for (const [id, price] of this.now) {
      const base = this.base.get(id)!;
      let ppm: number;
      if (kind === "crash") ppm = -60_000 - Math.floor(this.rng() * 60_000);
      else if (kind === "pump") ppm = 50_000 + Math.floor(this.rng() * 50_000);
      else {
        // ±0.4% noise, and 3% of the way back to the initial price.
        const noise = Math.floor((this.rng() - 0.5) * 8_000);
        const reversion = Number(((base - price) * 30_000n) / price);
        ppm = noise + reversion;
      }
      this.now.set(id, (price * BigInt(1_000_000 + ppm)) / 1_000_000n);
    }
    return new Map(this.now);
  }

  /** Send the current prices (and the native price) to the pool, unmined; the driver mines them. */
  async send(): Promise<void> {
    const w = this.world;
    const fees = { maxFeePerGas: parseGwei("50"), maxPriorityFeePerGas: 0n };
    for (const m of w.deployment.markets) {
      const to = await this.publisher(m.feed);
      const data = encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(this.now.get(m.id)!, m.feedDecimals)] });
      await w.owner.walletClient.sendTransaction({ to, data, gas: PRICE_UPDATE_GAS, ...fees });
    }
    const native = w.deployment.nativeUsdFeed;
    if (native) {
      const data = encodeFunctionData({ abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [feedAnswer(NATIVE_USD, NATIVE_DECIMALS)] });
      await w.owner.walletClient.sendTransaction({ to: await this.publisher(native), data, gas: PRICE_UPDATE_GAS, ...fees });
    }
  }

  private async publisher(feed: Address): Promise<Address> {
    let p = this.publishers.get(feed);
    if (!p) this.publishers.set(feed, (p = await publisherOf(this.world.owner, feed)));
    return p;
  }
}
