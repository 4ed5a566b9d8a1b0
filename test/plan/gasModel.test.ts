/**
 * The reference market's gas model (src/protocols/reference/gas.ts), measured from the contract. Each shape of liquidation is
 * executed on Anvil (one position, three positions, a large position across tiers, bad debt),
 * alone through liquidate(), alone through liquidateBatch(), and as a batch with a twin account of
 * the same shape. The twin's extra gas is the shape's cost per item once its markets are warm; the
 * rest of the lone batch is the fixed part, cold market state included (the worst over shapes:
 * the three-position shape touches every market). The limit must also cover the refund and the
 * batch's 63/64 self-call on top of what a receipt reports (gasLimitFromUsed), so the model is
 *   single    ≥ limit(max used of a lone liquidate())
 *   batchBase ≥ limit(max fixed part)
 *   batchItem ≥ limit-scale(max per-item part)   (so that base + n × batchItem covers any n)
 * and the test fails when the model is below a need, or more than TOLERANCE above it; a
 * batch of every shape at once is checked against the model as well.
 * Re-measure after a contract change: `npx vitest run test/plan/gasModel.test.ts` prints the figures.
 */
import { type Address } from "viem";
import { describe, expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { REFERENCE_GAS } from "../../src/protocols/reference/gas.ts";
import { gasLimitFromUsed } from "../../src/execute/simulateCall.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { BTC, ETH, KEEPER, SMALLCAP as SMALL } from "../support/market.ts";
import { addressOf, seed, tokens, type SeedSpec } from "./gasCases.ts";

test.override({ preset: "reference", deploy: { seedable: true } });

/** How far above the measured need a config value may be (a model, not a guess). */
const TOLERANCE_PPM = 1_300_000n;

/** −4% on every market. The collateral of each shape is chosen for what that move does to it. */
const SHOCK_PERMILLE = -40;
const CASES: { name: string; spec: SeedSpec; marketId: number }[] = [
  { name: "one position, partial", marketId: BTC, spec: { tokens: tokens("5300"), trades: [{ marketId: BTC, size: "2" }] } },
  {
    name: "three positions, partial",
    marketId: BTC,
    spec: { tokens: tokens("5400"), trades: [{ marketId: BTC, size: "1" }, { marketId: ETH, size: "20" }, { marketId: SMALL, size: "8000" }] },
  },
  { name: "large position across tiers", marketId: BTC, spec: { tokens: tokens("340000"), trades: [{ marketId: BTC, size: "100" }] } },
  { name: "bad debt, full close", marketId: BTC, spec: { tokens: tokens("4000"), trades: [{ marketId: BTC, size: "2" }] } },
];

const accounts = CASES.map((_, i) => addressOf("gas-model", i));
const twins = CASES.map((_, i) => addressOf("gas-model-twin", i));

test.beforeAll(async ({ world }) => {
  await seed(world, [...accounts, ...twins], [...CASES.map((c) => c.spec), ...CASES.map((c) => c.spec)]);
  await world.prices.move(SHOCK_PERMILLE);
});

type Item = { account: Address; marketId: bigint; size: bigint };

async function items(w: World, of: Address[]): Promise<Item[]> {
  return Promise.all(
    CASES.map(async (c, i) => {
      const account = of[i]!;
      const size = await w.chain.publicClient.readContract({ address: w.deployment.contracts.market, abi: PerpMarket.abi, functionName: "maxLiquidatable", args: [account, BigInt(c.marketId)] });
      if (size === 0n) throw new Error(`case "${c.name}" is not liquidatable after the shock`);
      return { account, marketId: BigInt(c.marketId), size };
    }),
  );
}

/** Gas used by a call from the keeper, executed for real and then undone. */
async function used(w: World, send: () => Promise<`0x${string}`>, expectLiquidated: number): Promise<bigint> {
  const { chain } = w;
  const id = await chain.testClient.snapshot();
  try {
    const r = await chain.publicClient.waitForTransactionReceipt({ hash: await send() });
    if (r.status !== "success") throw new Error("measured call reverted");
    const liquidated = r.logs.filter((l) => l.address.toLowerCase() === w.deployment.contracts.market.toLowerCase()).length;
    if (liquidated < expectLiquidated) throw new Error("measured call liquidated less than asked");
    return r.gasUsed;
  } finally {
    await chain.testClient.revert({ id });
  }
}

describe("defect 4: the gas model is measured from the contract", () => {
  it("the reference market's gas model covers every measured shape, within the tolerance", async ({ world: w }) => {
    const keeper = w.chain.wallet(KEEPER);
    const market = w.deployment.contracts.market;
    const all = await items(w, accounts);
    const twin = await items(w, twins);
    const gas = 20_000_000n;
    const batch = (list: Item[]) => used(w, () => keeper.writeContract({ address: market, abi: PerpMarket.abi, functionName: "liquidateBatch", args: [list], gas }), list.length);
    const single: bigint[] = [];
    const fixed: bigint[] = [];
    const perItem: bigint[] = [];
    for (const [i, it] of all.entries()) {
      single.push(await used(w, () => keeper.writeContract({ address: market, abi: PerpMarket.abi, functionName: "liquidate", args: [it.account, it.marketId, it.size], gas }), 1));
      const one = await batch([it]);
      const two = await batch([it, twin[i]!]);
      perItem.push(two - one);
      fixed.push(one - (two - one));
    }
    const together = await batch([...all, ...twin]);
    const n = BigInt(all.length * 2);
    const max = (xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a));
    const base = max(fixed);
    const maxItem = max(perItem);
    const maxSingle = max(single);

    // Limits: the refund and the 63/64 rule on top of gas used (the executor's own formula).
    const need = {
      single: gasLimitFromUsed(maxSingle),
      batchBase: gasLimitFromUsed(base),
      // base + n × item must cover gasLimitFromUsed(base + n × maxItem) for every n ≥ 1.
      batchItem: gasLimitFromUsed(base + maxItem) - gasLimitFromUsed(base),
    };
    const config = { gas: REFERENCE_GAS };
    const measured = { cases: CASES.map((c, i) => ({ case: c.name, single: single[i]!, batchFixed: fixed[i]!, batchItem: perItem[i]! })), base, together, need, config: config.gas };
    console.info(JSON.stringify(measured, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 1));

    for (const key of ["single", "batchBase", "batchItem"] as const) {
      const have = config.gas[key];
      expect(have, `gas.${key} below the measured need ${need[key]}`).toBeGreaterThanOrEqual(need[key]);
      expect(have, `gas.${key} more than ${Number(TOLERANCE_PPM) / 1e4 - 100}% above the measured need ${need[key]}`).toBeLessThanOrEqual((need[key] * TOLERANCE_PPM) / 1_000_000n + 10_000n);
    }
    // And the model covers a whole batch of these shapes, as sent.
    expect(config.gas.batchBase + n * config.gas.batchItem).toBeGreaterThanOrEqual(gasLimitFromUsed(together));
  });
});
