/**
 * The OP-stack L1 data fee: the keeper's figures against OP's formulas written out again here
 * (bigint, independently of src/execute/l1Fee.ts) and against OpGasPriceOracle (OP's formulas in
 * Solidity, with OP's selectors) placed at the GasPriceOracle predeploy of the test chain, for
 * Ecotone and Fjord.
 */
import { bytesToHex, hexToBytes, numberToHex, pad, serializeTransaction, size, type Address, type Hex } from "viem";
import { describe, expect } from "vitest";
import { OpGasPriceOracle } from "../../abi/OpGasPriceOracle.ts";
import { GAS_PRICE_ORACLE_ABI, L1FeeOracle, OP_GAS_PRICE_ORACLE, ecotoneL1Fee, fjordL1FeeUpperBound, l1FeeUpperBound, unsignedTxSizeUpperBound, type L1FeeParams } from "../../src/execute/l1Fee.ts";
import type { LiquidationItem } from "../../src/execute/types.ts";
import { ethCallAt } from "../../src/chain/ethCall.ts";
import { HeadCosts } from "../../src/keeper/headCosts.ts";
import { NativePrice } from "../../src/keeper/nativePrice.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createMetrics } from "../../src/lib/metrics.ts";
import { referenceCalls } from "../../src/protocols/reference/calls.ts";
import { test } from "../support/fixtures.ts";
import { placeGasPriceOracle } from "./opOracle.ts";

/** Base mainnet-like parameters (2025): scalars as the chain config sets them, fees in wei. */
const PARAMS: Omit<L1FeeParams, "fjord"> = { l1BaseFee: 7_000_000_000n, blobBaseFee: 3_000_000n, baseFeeScalar: 2_269n, blobBaseFeeScalar: 1_055_762n };

// ---- OP's formulas, written out again (GasPriceOracle.sol 1.3.0) ----------------------------
const scaled = (p: Omit<L1FeeParams, "fjord">) => p.baseFeeScalar * 16n * p.l1BaseFee + p.blobBaseFeeScalar * p.blobBaseFee;
function opEcotone(p: Omit<L1FeeParams, "fjord">, tx: Uint8Array): bigint {
  const zeros = BigInt(tx.filter((b) => b === 0).length);
  const gas = zeros * 4n + (BigInt(tx.length) - zeros) * 16n + 68n * 16n;
  return (gas * scaled(p)) / 16_000_000n;
}
function opFjordUpperBound(p: Omit<L1FeeParams, "fjord">, unsignedSize: bigint): bigint {
  const txSize = unsignedSize + 68n;
  const flz = txSize + txSize / 255n + 16n;
  let est = -42_585_600n + 836_500n * flz;
  if (est < 100_000_000n) est = 100_000_000n;
  return (est * scaled(p)) / 10n ** 12n;
}

const items = (n: number): LiquidationItem[] =>
  Array.from({ length: n }, (_, i) => ({ account: `0x${(i + 1).toString(16).padStart(40, "a")}` as Address, marketId: i % 3, size: 10n ** 18n * BigInt(i + 1), expectedRewardTokens: 0n }));

/** An unsigned EIP-1559 liquidation transaction as a wallet would sign it. */
function unsignedTx(chainId: number, to: Address, data: Hex): Uint8Array {
  return hexToBytes(serializeTransaction({ type: "eip1559", chainId, nonce: 7, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, gas: 900_000n, to, value: 0n, data }));
}

describe("the OP-stack L1 fee", () => {
  test("the formulas as the keeper computes them are OP's", () => {
    for (const n of [1, 2, 7, 32]) {
      const tx = unsignedTx(10, "0x00000000000000000000000000000000000000aa", referenceCalls("0x00000000000000000000000000000000000000aa").encode(items(n), { isolate: true }).data);
      expect(ecotoneL1Fee({ ...PARAMS, fjord: false }, tx)).toBe(opEcotone(PARAMS, tx));
      expect(fjordL1FeeUpperBound({ ...PARAMS, fjord: true }, tx.length)).toBe(opFjordUpperBound(PARAMS, BigInt(tx.length)));
      // The bound the keeper plans with is above the exact Ecotone fee (zero bytes cost less).
      expect(l1FeeUpperBound({ ...PARAMS, fjord: false }, tx.length)).toBeGreaterThan(opEcotone(PARAMS, tx));
    }
    // Below Fjord's minimum size the fee is the floor's.
    expect(fjordL1FeeUpperBound({ ...PARAMS, fjord: true }, 1)).toBe((100_000_000n * scaled(PARAMS)) / 10n ** 12n);
  });

  for (const fjord of [false, true]) {
    const fork = fjord ? "Fjord" : "Ecotone";
    test(`${fork}: the keeper's figures match OpGasPriceOracle at the predeploy, read once per head`, async ({ chain, deployment }) => {
      await placeGasPriceOracle(chain, { ...PARAMS, fjord });
      const block = await chain.publicClient.getBlockNumber();
      const oracle = new L1FeeOracle({ call: ethCallAt(chain.publicClient), logger: silentLogger() });
      expect(await L1FeeOracle.detect((address) => chain.publicClient.getCode({ address }))).toBe(true);
      expect(await oracle.read(block)).toEqual({ ...PARAMS, fjord });

      const target = deployment.contracts.market;
      const calls = referenceCalls(target);
      const read = <T>(functionName: "getL1Fee" | "getL1FeeUpperBound", arg: Hex | bigint) =>
        chain.publicClient.readContract({ address: OP_GAS_PRICE_ORACLE, abi: GAS_PRICE_ORACLE_ABI, functionName, args: [arg] } as never) as Promise<T>;
      const costs = new HeadCosts({ nativePrice: fixedPrice(), publicClient: chain.publicClient, calls, logger: silentLogger() });
      await costs.start({ number: block, timestamp: 0n });
      expect(costs.countsL1).toBe(true);
      for (const n of [1, 3, 16]) {
        const data = calls.encode(items(n), { isolate: true }).data;
        const tx = unsignedTx(chain.publicClient.chain.id, target, data);
        const bound = unsignedTxSizeUpperBound(chain.publicClient.chain.id, target, data);
        expect(bound).toBeGreaterThanOrEqual(tx.length);
        const keeperFee = costs.l1FeeWei(n)!;
        const onChain = await read<bigint>("getL1Fee", bytesToHex(tx));
        // The keeper's planning figure: the formula at the bound's size, never below what the chain charges.
        if (fjord) {
          expect(keeperFee).toBe(opFjordUpperBound(PARAMS, BigInt(bound)));
          expect(keeperFee).toBe(await read<bigint>("getL1FeeUpperBound", BigInt(bound)));
          expect(await read<bigint>("getL1FeeUpperBound", BigInt(tx.length))).toBe(opFjordUpperBound(PARAMS, BigInt(tx.length)));
        } else {
          const allNonZero = new Uint8Array(bound).fill(1);
          expect(keeperFee).toBe(opEcotone(PARAMS, allNonZero));
          expect(keeperFee).toBe(await read<bigint>("getL1Fee", bytesToHex(allNonZero)));
          expect(onChain).toBe(opEcotone(PARAMS, tx)); // the exact fee, as the chain charges it
        }
        expect(onChain).toBeGreaterThan(0n);
        expect(keeperFee).toBeGreaterThanOrEqual(onChain);
      }

      // The next head's parameters are read at that head.
      const doubled = { ...PARAMS, l1BaseFee: PARAMS.l1BaseFee * 2n };
      await placeGasPriceOracle(chain, { ...doubled, fjord });
      await chain.testClient.mine({ blocks: 1 });
      const before = costs.l1FeeWei(3)!;
      await costs.refresh({ number: block + 1n, timestamp: 0n });
      expect(costs.l1FeeWei(3)).toBeGreaterThan(before);
      expect(oracle.params).toBeUndefined(); // a separate oracle object reads only when asked
    });
  }

  test("a chain without the predeploy counts no L1 fee", async ({ chain, deployment }) => {
    const costs = new HeadCosts({ nativePrice: fixedPrice(), publicClient: chain.publicClient, calls: referenceCalls(deployment.contracts.market), logger: silentLogger() });
    await costs.start({ number: await chain.publicClient.getBlockNumber(), timestamp: 0n });
    expect(costs.countsL1).toBe(false);
    expect(costs.l1FeeWei(1)).toBeUndefined();
  });

  test("the contract's storage layout is the one the tests write", async ({ chain }) => {
    const r = await chain.publicClient.waitForTransactionReceipt({
      hash: await chain.wallet(0).deployContract({ abi: OpGasPriceOracle.abi, bytecode: OpGasPriceOracle.bytecode, args: [true, true, 5n, 6n, 7, 8] }),
    });
    const at = r.contractAddress!;
    const slot = async (i: number) => chain.publicClient.getStorageAt({ address: at, slot: numberToHex(i, { size: 32 }) });
    expect(await slot(0)).toBe(pad("0x01"));
    expect(await slot(1)).toBe(pad("0x01"));
    expect([await slot(2), await slot(3), await slot(4), await slot(5)]).toEqual([5, 6, 7, 8].map((v) => pad(numberToHex(v))));
    expect(size((await chain.publicClient.getCode({ address: at }))!)).toBeGreaterThan(0);
  });
});

function fixedPrice(): NativePrice {
  return new NativePrice({ source: { kind: "fixed", usd: 3_000n * 10n ** 18n }, call: async () => undefined, logger: silentLogger(), metrics: createMetrics() });
}
