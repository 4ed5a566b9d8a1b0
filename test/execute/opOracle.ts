/**
 * OP Stack's GasPriceOracle on a test chain: OpGasPriceOracle's runtime code placed at the
 * predeploy's address (anvil_setCode) and its parameters written to its slots (anvil_setStorageAt),
 * as contracts/src/op/OpGasPriceOracle.sol lays them out. Per-test snapshots take it away again.
 */
import { numberToHex, type Hex } from "viem";
import { OpGasPriceOracle } from "../../abi/OpGasPriceOracle.ts";
import { OP_GAS_PRICE_ORACLE, type L1FeeParams } from "../../src/execute/l1Fee.ts";
import type { Clients } from "../support/blocks.ts";

let runtime: Hex | undefined;

/** The contract's runtime code: deployed once (constructor run) and read back. */
async function runtimeCode(chain: Clients): Promise<Hex> {
  if (runtime) return runtime;
  const hash = await chain.wallet(0).deployContract({ abi: OpGasPriceOracle.abi, bytecode: OpGasPriceOracle.bytecode, args: [true, true, 0n, 0n, 0, 0] });
  const r = await chain.publicClient.waitForTransactionReceipt({ hash });
  const code = await chain.publicClient.getCode({ address: r.contractAddress! });
  if (!code || code === "0x") throw new Error("OpGasPriceOracle has no runtime code");
  runtime = code;
  return code;
}

/** Place the oracle at 0x42…0F with `p` (Ecotone always on; Fjord as `p.fjord` says). */
export async function placeGasPriceOracle(chain: Clients, p: L1FeeParams): Promise<void> {
  const code = await runtimeCode(chain);
  const t = chain.testClient;
  await t.setCode({ address: OP_GAS_PRICE_ORACLE, bytecode: code });
  const words = [1n, p.fjord ? 1n : 0n, p.l1BaseFee, p.blobBaseFee, p.baseFeeScalar, p.blobBaseFeeScalar];
  for (const [i, v] of words.entries()) {
    await t.setStorageAt({ address: OP_GAS_PRICE_ORACLE, index: numberToHex(i, { size: 32 }), value: numberToHex(v, { size: 32 }) });
  }
}
