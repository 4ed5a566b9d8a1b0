/**
 * Auto-deleveraging kept by the real keeper on Anvil (docs/reference-market.md "Auto-deleveraging"):
 * an account whose deficit exceeds the insurance fund is not liquidated into bad debt; the keeper
 * that is the market's ADL operator deleverages it against the profitable shorts it ranks from its
 * index, in the contract's order, and the deficit is covered with no bad debt. A keeper that is not
 * the operator sends nothing for it, and without a profitable opposite side liquidation settles.
 */
import { getAddress, parseUnits, type Address } from "viem";
import { expect } from "vitest";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { liquidationParamsArg } from "../../src/chain/deploy.ts";
import { loadPreset } from "../../src/config/presets.ts";
import { accountHealth, rankAdlCounterparties, type Account } from "../../src/engine/index.ts";
import { valuationAt } from "../../src/protocols/reference/index.ts";
import { quoteAccount } from "../../src/sim/quoteAccount.ts";
import { planDeleverage } from "../../src/protocols/reference/adl.ts";
import { headOf, mined } from "../support/blocks.ts";
import { counterValue } from "../support/executor.ts";
import { it, test, type World } from "../support/fixtures.ts";
import { expectIndexMatchesChain } from "../support/indexCheck.ts";
import { BTC, KEEPER, OWNER, deposit, trade, trader } from "../support/market.ts";

test.override({ preset: "reference", deploy: { insuranceTokens: 0n } });

const WAD = 10n ** 18n;
const market = (w: World) => w.deployment.contracts.market;
const read = <F extends "badDebt" | "insuranceFund">(w: World, functionName: F) =>
  w.chain.publicClient.readContract({ address: market(w), abi: PerpMarket.abi, functionName });
const sizeOf = async (w: World, account: Address) =>
  (await w.chain.publicClient.readContract({ address: market(w), abi: PerpMarket.abi, functionName: "getPosition", args: [account, BigInt(BTC)] })).size;

/** ADL on in BTC, and the keeper account as the ADL operator. */
test.beforeAll(async ({ world: w }) => {
  const owner = w.chain.wallet(OWNER);
  const liq = { ...loadPreset("reference").liquidation, adlEnabled: true };
  await mined(w.chain, owner.writeContract({ address: market(w), abi: PerpMarket.abi, functionName: "setLiquidationParams", args: [BigInt(BTC), liquidationParamsArg(liq)] }));
  await mined(w.chain, owner.writeContract({ address: market(w), abi: PerpMarket.abi, functionName: "setAdlOperator", args: [trader(KEEPER)] }));
});

/** A: 1 BTC long at 60,000 on $1,000 (60x). B and C: shorts of 0.6 and 0.8 BTC on ample collateral. */
async function openBook(w: World, shorts: readonly [number, string, bigint][]): Promise<Address> {
  await deposit(w, 1, 1_000n);
  await trade(w, 1, BTC, parseUnits("1", 18));
  for (const [i, units, tokens] of shorts) {
    await deposit(w, i, tokens);
    await trade(w, i, BTC, -parseUnits(units, 18));
  }
  return trader(1);
}

/** Every Deleveraged event of the market since `fromBlock`, in order. */
async function deleveraged(w: World, fromBlock: bigint) {
  const logs = await w.chain.publicClient.getContractEvents({ address: market(w), abi: PerpMarket.abi, eventName: "Deleveraged", fromBlock });
  return logs.map((l) => l.args);
}

it("the ADL operator's keeper deleverages a bankrupt long against the ranked shorts: no bad debt, no revert, index = chain", async ({ world: w }) => {
  const a = await openBook(w, [
    [2, "0.6", 20_000n],
    [3, "0.8", 5_000n],
  ]);
  const k = w.keeper(KEEPER, {}, { logLevel: "debug" });
  await k.keeper.start();
  // −4%: A's equity falls below zero; the fund is empty, so ADL is due.
  const crash = await w.prices.set(BTC, 57_600n * WAD);
  const head = await headOf(w.chain);
  await k.keeper.onHead(head);
  const v = valuationAt(k.keeper.index.state, head.timestamp);
  expect(accountHealth(k.keeper.index.state.account(a)!, v).equity).toBeLessThan(0n);

  // What the keeper's index ranks, the engine's way: C (less collateral, more leverage) before B.
  const accounts = [...k.keeper.index.state.accounts].map(([address, account]: [Address, Account]) => ({ address, account }));
  const ranked = rankAdlCounterparties(WAD, BTC, accounts, v);
  expect(ranked.map((r) => r.address)).toEqual([trader(3), trader(2)]);
  // What `quote` shows each short: its rank on its side, and the contract's own score.
  for (const [rank, who] of [[1, trader(3)], [2, trader(2)]] as const) {
    const q = quoteAccount(k.keeper.index.state.account(who)!, v, { self: who, accounts });
    const score = await w.chain.publicClient.readContract({ address: market(w), abi: PerpMarket.abi, functionName: "adlScore", args: [who, BigInt(BTC)], blockNumber: head.number });
    expect(q.positions[0]!.adl).toEqual({ score, rank, of: 2 });
  }

  await k.keeper.onHead(await headOf(w.chain)); // the deleverage's receipt
  const events = await deleveraged(w, crash);
  expect(events.map((e) => getAddress(e.counterparty!))).toEqual([trader(3), trader(2)]);
  expect(events.map((e) => e.size)).toEqual([parseUnits("0.8", 18), parseUnits("0.2", 18)]);
  expect(await sizeOf(w, a)).toBe(0n);
  expect(await sizeOf(w, trader(2))).toBe(-parseUnits("0.4", 18));
  expect(await read(w, "badDebt")).toBe(0n);
  expect(await counterValue(k.metrics.duties, { kind: "deleverage", outcome: "mined" })).toBe(1);
  expect(k.keeper.executor.stats().reverted).toBe(0);
  // No liquidation was sent for A: it would have turned the deficit into bad debt.
  expect(k.keeper.executor.stats().sent).toBe(0);
  await expectIndexMatchesChain(w, k.keeper.index);
  await k.keeper.stop(1_000);
});

it("several bankrupt accounts: one tick sends a deleverage for each, each planned on the state the one before leaves", async ({ world: w }) => {
  // A (trader 1) and D (trader 4): longs of 1 BTC on $1,000; shorts B (2) and C (3) cover both.
  await openBook(w, [
    [2, "1.2", 20_000n],
    [3, "1", 6_000n],
  ]);
  await deposit(w, 4, 1_100n);
  await trade(w, 4, BTC, parseUnits("1", 18));
  const k = w.keeper(KEEPER, {}, { logLevel: "debug" });
  await k.keeper.start();
  const crash = await w.prices.set(BTC, 57_600n * WAD);
  await k.keeper.onHead(await headOf(w.chain));
  expect(await counterValue(k.metrics.duties, { kind: "deleverage", outcome: "sent" })).toBe(2);
  await k.keeper.onHead(await headOf(w.chain));
  expect(await counterValue(k.metrics.duties, { kind: "deleverage", outcome: "mined" })).toBe(2);
  expect(await sizeOf(w, trader(1))).toBe(0n);
  expect(await sizeOf(w, trader(4))).toBe(0n);
  expect(await read(w, "badDebt")).toBe(0n);
  const events = await deleveraged(w, crash);
  expect(events.reduce((s, e) => s + e.size!, 0n)).toBe(2n * WAD);
  // Each was sent with the protocol's gas limit or the node's estimate, and used less.
  const mined = k.logs.lines.filter((l) => l.msg === "deleverage mined");
  expect(mined).toHaveLength(2);
  expect(k.keeper.executor.stats().reverted).toBe(0);
  await expectIndexMatchesChain(w, k.keeper.index);
  await k.keeper.stop(1_000);
});

it("the protocol's gas limit for a deleverage covers what it uses", async ({ world: w }) => {
  const a = await openBook(w, [
    [2, "0.3", 20_000n],
    [3, "0.3", 20_000n],
    [5, "0.4", 20_000n],
  ]);
  await w.prices.set(BTC, 57_600n * WAD);
  const k = w.keeper(KEEPER);
  await k.keeper.start();
  const state = k.keeper.index.state;
  const head = await headOf(w.chain);
  const v = valuationAt(state, head.timestamp);
  const view = { accounts: new Map(state.accounts), insuranceFund: state.funds.insuranceFund };
  const duty = planDeleverage(view, state.markets, market(w), a, v)!;
  const hash = await w.chain.wallet(KEEPER).sendTransaction({ to: duty.to, data: duty.data, gas: duty.gas! });
  const receipt = await w.chain.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe("success");
  expect(receipt.gasUsed).toBeLessThan(duty.gas!);
  expect(duty.gas! - receipt.gasUsed).toBeLessThan(receipt.gasUsed); // within 2× of the need
  await k.keeper.stop(1_000);
});

it("a keeper that is not the ADL operator sends nothing for a deleverageable account", async ({ world: w }) => {
  const a = await openBook(w, [[2, "1", 20_000n]]);
  const k = w.keeper(5, { backstopMode: true });
  await k.keeper.start();
  await w.prices.set(BTC, 57_600n * WAD);
  await k.keeper.onHead(await headOf(w.chain));
  await k.keeper.onHead(await headOf(w.chain));
  expect(k.keeper.executor.stats().sent).toBe(0);
  expect(await sizeOf(w, a)).toBe(parseUnits("1", 18));
  await k.keeper.stop(1_000);
});

it("without a profitable opposite position, the bankrupt account is liquidated (backstop) as before", async ({ world: w }) => {
  const a = await openBook(w, []);
  const k = w.keeper(KEEPER, { backstopMode: true });
  await k.keeper.start();
  await w.prices.set(BTC, 57_600n * WAD);
  await k.keeper.onHead(await headOf(w.chain));
  await k.keeper.onHead(await headOf(w.chain));
  expect(await sizeOf(w, a)).toBe(0n);
  expect(await read(w, "badDebt")).toBeGreaterThan(0n);
  expect(await counterValue(k.metrics.duties, { kind: "deleverage", outcome: "sent" })).toBe(0);
  expect(k.keeper.executor.stats().reverted).toBe(0);
  await expectIndexMatchesChain(w, k.keeper.index);
  await k.keeper.stop(1_000);
});
