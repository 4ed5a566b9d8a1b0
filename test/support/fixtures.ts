/**
 * One test world: vitest fixtures, each built on the ones before it.
 *
 *   chain       the worker's Anvil and its clients, started on first use (getTestChain); stopped
 *               by test/support/anvil.ts when the file is done
 *   deployment  the reference market, deployed with the `preset` option (and `deploy`): once a file
 *   traders     `traderCount` seeded traders on it (none by default): once a file
 *   prices      the publisher of its prices (prices.ts)
 *   keeper      a factory of real keepers on it (createKeeper, referenceMarket; keepers.ts)
 *   world       all of them together, for the helpers that drive a whole scenario
 *
 * and a snapshot per test, automatic: every test starts from the chain as the file's setup left it
 * and is reverted after it, its pool emptied first (Anvil does not snapshot automine, the block gas
 * limit, the next base fee or the clock: a test that changes them restores them). A file's setup
 * beyond the fixtures goes in `test.beforeAll(async ({ world }) => …)`, which runs before the first
 * test's snapshot.
 *
 * Options, set per file at its top level with `test.override({ … })`:
 *   preset       the liquidation preset of config/presets.json ("hyperliquid")
 *   deploy       seedable, markets, pool and insurance funding, block time (see DeployOptions; {})
 *   traderCount  traders to seed (0)
 *   snapshots    a snapshot per test (true); off for a file whose deep reorgs would invalidate it
 *
 *   import { test } from "../support/fixtures.ts";
 *   test.override({ preset: "reference" });
 *   test("…", async ({ world }) => { … });
 */
import type { Address } from "viem";
import { test as base } from "vitest";
import type { Deployment } from "../../src/chain/deploy.ts";
import { getTestChain, revertSnapshot, takeSnapshot, type TestChain } from "./anvil.ts";
import type { Clients } from "./blocks.ts";
import { keepersOf, type Keepers } from "./keepers.ts";
import { deployMarket, seedPopulation, type DeployOptions } from "./market.ts";
import { pricesOf, type Prices } from "./prices.ts";

/** The world a test gets: on the worker chain, or (worldOn) on another Anvil. */
export type World<C extends Clients = TestChain> = {
  chain: C;
  deployment: Deployment;
  /** The seeded traders (a test may add some; the world's list is the file's). */
  traders: Address[];
  prices: Prices;
  keeper: Keepers;
};

/** The same world on another chain holding the same contracts (a fork of it): prices and keepers there. */
export function worldOn<C extends Clients>(chain: C, world: World<Clients>): World<C> {
  return { ...world, chain, prices: pricesOf(chain, world.deployment), keeper: keepersOf(chain, world.deployment) };
}

export const test = base
  .extend("preset", { scope: "file" }, "hyperliquid" as string)
  .extend("deploy", { scope: "file" }, {} as DeployOptions)
  .extend("traderCount", { scope: "file" }, 0 as number)
  .extend("snapshots", { scope: "file" }, true as boolean)
  .extend("chain", { scope: "worker" }, () => getTestChain())
  .extend("deployment", { scope: "file" }, ({ chain, preset, deploy }) => deployMarket(chain, preset, deploy))
  .extend("traders", { scope: "file" }, ({ chain, deployment, traderCount }) => seedPopulation({ chain, deployment }, traderCount))
  .extend("prices", { scope: "file" }, ({ chain, deployment }) => pricesOf(chain, deployment))
  .extend("keeper", { scope: "file" }, ({ chain, deployment }) => keepersOf(chain, deployment))
  .extend("world", { scope: "file" }, ({ chain, deployment, traders, prices, keeper }): World => ({ chain, deployment, traders, prices, keeper }))
  .extend("snapshot", { auto: true }, async ({ chain, snapshots }, { onCleanup }) => {
    if (!snapshots) return undefined;
    const id = await takeSnapshot();
    onCleanup(async () => {
      // Nothing of the test may land after the revert: its pool is emptied, and a block is mined,
      // which waits for one Anvil may still be mining (automine turned back on with transactions
      // pending mines them asynchronously).
      await chain.testClient.request({ method: "anvil_dropAllTransactions" } as never);
      await chain.testClient.mine({ blocks: 1 });
      await revertSnapshot(id);
    });
    return id;
  });

export const it = test;
