/**
 * Trader churn: new traders keep arriving (src/sim/seedTraders.ts, a fresh seed per wave: fresh
 * keys, deposits and positions at the current prices) and some close what they hold, so the
 * keeper's index, book and executor see accounts come and go for the whole run, as on a live venue.
 *
 * Only a trader nobody can liquidate now closes (the contract's isLiquidatable at the head): a close
 * never races a liquidation the keeper sent on the state before it (that race is real on a live
 * chain, but it would be the soak's doing, not the keeper's). The population the audit watches
 * drops accounts with no position left (closed, or fully liquidated).
 */
import { createWalletClient, encodeFunctionData, http, parseGwei, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { seedTraders } from "../../src/sim/seedTraders.ts";
import type { SoakWorld } from "./world.ts";

const TRADE_GAS = 3_000_000n;

export class Traders {
  /** Accounts that may hold a position (the audit's population). */
  readonly open = new Set<Address>();
  /** Accounts that sent their closing trades: back in `open` at the next prune if a position is left. */
  private readonly closing = new Set<Address>();
  arrived = 0;
  closed = 0;
  /** Arrival waves the chain refused (a planned trade that no longer fits the price). */
  failedWaves = 0;
  private wave = 0;

  constructor(
    private readonly world: SoakWorld,
    private readonly seed: string,
    private readonly rng: () => number,
  ) {
    for (const t of world.traders) this.open.add(t);
  }

  /** `count` new traders deposit and open positions (mined before this returns; seedTraders mines them). */
  async arrive(count: number): Promise<void> {
    const w = this.world;
    try {
      const r = await seedTraders(w.owner, w.deployment, { count, seed: `${this.seed}-wave-${++this.wave}`, ordered: true });
      for (const t of r.traders) {
        this.open.add(t.address);
        w.keys.set(t.address, t.privateKey!);
      }
      this.arrived += r.traders.length;
    } catch {
      this.failedWaves++;
    }
  }

  /** Up to `count` random healthy traders send trades closing every position (unmined; the driver mines them). */
  async closeSome(count: number): Promise<void> {
    const w = this.world;
    const market = w.deployment.contracts.market;
    const pool = [...this.open];
    for (let i = 0; i < count && pool.length > 0; i++) {
      const account = pool.splice(Math.floor(this.rng() * pool.length), 1)[0]!;
      const key = w.keys.get(account);
      if (!key) continue;
      const read = w.reader;
      if (await read.readContract({ address: market, abi: PerpMarket.abi, functionName: "isLiquidatable", args: [account] })) continue;
      const ids = await read.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [account] });
      const sizes = await Promise.all(ids.map((id) => read.readContract({ address: market, abi: PerpMarket.abi, functionName: "getPosition", args: [account, id] })));
      const wallet = walletOf(w, key);
      for (const [j, id] of ids.entries()) {
        const size = sizes[j]!.size;
        if (size === 0n) continue;
        const data = encodeFunctionData({ abi: PerpMarket.abi, functionName: "trade", args: [id, -size] });
        await wallet.sendTransaction({ to: market, data, gas: TRADE_GAS, maxFeePerGas: parseGwei("50"), maxPriorityFeePerGas: parseGwei("1") });
      }
      this.open.delete(account);
      this.closing.add(account);
      this.closed++;
    }
  }

  /** Forget accounts with no position left (closed, or liquidated in full). */
  async prune(): Promise<void> {
    const w = this.world;
    const market = w.deployment.contracts.market;
    const all = [...new Set([...this.open, ...this.closing])];
    const ids = await Promise.all(all.map((a) => w.reader.readContract({ address: market, abi: PerpMarket.abi, functionName: "accountMarkets", args: [a] })));
    this.closing.clear();
    all.forEach((a, i) => {
      if (ids[i]!.length === 0) this.open.delete(a);
      else this.open.add(a);
    });
  }
}

function walletOf(w: SoakWorld, key: Hex) {
  return createWalletClient({ account: privateKeyToAccount(key), chain: { ...foundry, id: 31337 }, transport: http(w.anvil.rpcUrl, { timeout: 30_000 }) });
}
