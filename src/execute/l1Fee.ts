/**
 * The OP-stack L1 data fee: on an OP-stack chain every transaction also pays for posting its bytes
 * to L1, a fee charged beside gasUsed × gasPrice. The GasPriceOracle predeploy publishes the
 * parameters; its formulas (Ecotone, Fjord) are reproduced here as pure bigint functions, so the
 * keeper prices a transaction of any size locally, with no round trip per transaction:
 *
 *   Ecotone: calldataGas(tx) × (16 × baseFeeScalar × l1BaseFee + blobBaseFeeScalar × blobBaseFee) / (16 × 10^6)
 *            calldataGas = 4 per zero byte + 16 per non-zero byte + 68 × 16 (the signature)
 *   Fjord:   max(minSize, intercept + fastLzCoef × fastLzSize(tx)) × (16 × baseFeeScalar × l1BaseFee
 *            + blobBaseFeeScalar × blobBaseFee) / 10^12, where fastLzSize = FastLZ length + 68
 *
 * The keeper plans with an upper bound, as OP's `getL1FeeUpperBound` does: under Fjord the FastLZ
 * length is bounded by `size + size / 255 + 16` (OP: covers 99.99% of transactions), under Ecotone
 * every byte is counted as non-zero. The parameters (and whether Fjord is active) are read once per
 * head, in parallel with the head's other work ({@link L1FeeOracle.refresh}).
 */
import { hexToBigInt, serializeTransaction, size, toFunctionSelector, type Address, type Hex } from "viem";
import type { Logger } from "../lib/logger.ts";

export const OP_GAS_PRICE_ORACLE: Address = "0x420000000000000000000000000000000000000F";
export const OP_L1_BLOCK: Address = "0x4200000000000000000000000000000000000015";

export const GAS_PRICE_ORACLE_ABI = [
  { type: "function", name: "isEcotone", stateMutability: "view", inputs: [], outputs: [{ type: "bool" }] },
  { type: "function", name: "isFjord", stateMutability: "view", inputs: [], outputs: [{ type: "bool" }] },
  { type: "function", name: "l1BaseFee", stateMutability: "view", inputs: [], outputs: [{ type: "uint256" }] },
  { type: "function", name: "blobBaseFee", stateMutability: "view", inputs: [], outputs: [{ type: "uint256" }] },
  { type: "function", name: "baseFeeScalar", stateMutability: "view", inputs: [], outputs: [{ type: "uint32" }] },
  { type: "function", name: "blobBaseFeeScalar", stateMutability: "view", inputs: [], outputs: [{ type: "uint32" }] },
  { type: "function", name: "getL1Fee", stateMutability: "view", inputs: [{ type: "bytes" }], outputs: [{ type: "uint256" }] },
  { type: "function", name: "getL1FeeUpperBound", stateMutability: "view", inputs: [{ type: "uint256" }], outputs: [{ type: "uint256" }] },
] as const;

/** OP's Fjord constants (GasPriceOracle: COST_INTERCEPT, COST_FASTLZ_COEF, MIN_TRANSACTION_SIZE). */
export const FJORD = { costIntercept: -42_585_600n, costFastLzCoef: 836_500n, minTransactionSize: 100n } as const;
const DECIMALS = 6n;

/** The oracle's parameters at one head. */
export type L1FeeParams = {
  /** Fjord's FastLZ formula; otherwise Ecotone's. */
  fjord: boolean;
  l1BaseFee: bigint;
  blobBaseFee: bigint;
  baseFeeScalar: bigint;
  blobBaseFeeScalar: bigint;
};

function scaledFee(p: L1FeeParams): bigint {
  return p.baseFeeScalar * 16n * p.l1BaseFee + p.blobBaseFeeScalar * p.blobBaseFee;
}

/** Ecotone's calldata gas of an unsigned transaction: 4 per zero byte, 16 per other, and 68 × 16. */
export function ecotoneCalldataGas(unsignedTx: Uint8Array): bigint {
  let gas = 68n * 16n;
  for (const b of unsignedTx) gas += b === 0 ? 4n : 16n;
  return gas;
}

/** Ecotone's `_getL1FeeEcotone` on `unsignedTx`, exactly. */
export function ecotoneL1Fee(p: L1FeeParams, unsignedTx: Uint8Array): bigint {
  return (ecotoneCalldataGas(unsignedTx) * scaledFee(p)) / (16n * 10n ** DECIMALS);
}

/** Ecotone's fee with every byte of an `unsignedTxSize`-byte transaction non-zero: its upper bound. */
export function ecotoneL1FeeUpperBound(p: L1FeeParams, unsignedTxSize: number): bigint {
  return ((BigInt(unsignedTxSize) + 68n) * 16n * scaledFee(p)) / (16n * 10n ** DECIMALS);
}

/** Fjord's `_fjordL1Cost` for a FastLZ size (the compressed length + 68). */
export function fjordL1Cost(p: L1FeeParams, fastLzSize: bigint): bigint {
  let estimated = FJORD.costIntercept + FJORD.costFastLzCoef * fastLzSize;
  const min = FJORD.minTransactionSize * 1_000_000n;
  if (estimated < min) estimated = min;
  return (estimated * scaledFee(p)) / 10n ** (DECIMALS * 2n);
}

/** Fjord's `getL1FeeUpperBound(unsignedTxSize)`. */
export function fjordL1FeeUpperBound(p: L1FeeParams, unsignedTxSize: number): bigint {
  const txSize = BigInt(unsignedTxSize) + 68n;
  return fjordL1Cost(p, txSize + txSize / 255n + 16n);
}

/** The upper bound of the L1 fee of an `unsignedTxSize`-byte transaction under `p`'s fork. */
export function l1FeeUpperBound(p: L1FeeParams, unsignedTxSize: number): bigint {
  return p.fjord ? fjordL1FeeUpperBound(p, unsignedTxSize) : ecotoneL1FeeUpperBound(p, unsignedTxSize);
}

/**
 * The size of the unsigned EIP-1559 transaction carrying `data` to `to`, with every variable field
 * at a size no real one exceeds (nonce, fees, gas limit): an upper bound of the real one's.
 */
export function unsignedTxSizeUpperBound(chainId: number, to: Address, data: Hex): number {
  const big = 2n ** 128n - 1n;
  return size(serializeTransaction({ type: "eip1559", chainId, nonce: 2 ** 48 - 1, maxFeePerGas: big, maxPriorityFeePerGas: big, gas: 2n ** 64n - 1n, to, value: 0n, data }));
}

/** One eth_call at a block number; undefined when it reverted. */
export type OracleCall = (to: Address, data: Hex, block: bigint) => Promise<Hex | undefined>;

/**
 * The chain's GasPriceOracle, read once per head. {@link detect} tells whether the chain has one
 * (eth_getCode at the predeploy, once at start).
 */
export class L1FeeOracle {
  private current: L1FeeParams | undefined;

  constructor(private readonly inputs: { call: OracleCall; logger: Logger }) {}

  /** Whether the chain has the GasPriceOracle predeploy (code at 0x42…0F). */
  static async detect(getCode: (address: Address) => Promise<Hex | undefined>): Promise<boolean> {
    const code = await getCode(OP_GAS_PRICE_ORACLE);
    return code !== undefined && code !== "0x";
  }

  /** The parameters of the latest head read (undefined before the first read). */
  get params(): L1FeeParams | undefined {
    return this.current;
  }

  /** Read the parameters at `block` (five eth_calls at once). Throws when the oracle cannot be read. */
  async read(block: bigint): Promise<L1FeeParams> {
    // Each getter returns one 32-byte word (a bool, a uint256, a uint32).
    const get = async (name: "isFjord" | "l1BaseFee" | "blobBaseFee" | "baseFeeScalar" | "blobBaseFeeScalar"): Promise<bigint> => {
      const data = await this.inputs.call(OP_GAS_PRICE_ORACLE, toFunctionSelector(`${name}()`), block);
      if (data === undefined || size(data) !== 32) throw new Error(`GasPriceOracle.${name}() reverted or returned no word`);
      return hexToBigInt(data);
    };
    const [fjord, l1BaseFee, blobBaseFee, baseFeeScalar, blobBaseFeeScalar] = await Promise.all([
      get("isFjord"),
      get("l1BaseFee"),
      get("blobBaseFee"),
      get("baseFeeScalar"),
      get("blobBaseFeeScalar"),
    ]);
    return { fjord: fjord !== 0n, l1BaseFee, blobBaseFee, baseFeeScalar, blobBaseFeeScalar };
  }

  /** The first read, at start: a chain whose oracle cannot be read is told now. */
  async start(block: bigint): Promise<void> {
    this.current = await this.read(block);
    this.inputs.logger.info({ ...stringify(this.current) }, "OP-stack chain: L1 data fees are counted");
  }

  /** Read at `block`; never throws (a failed read keeps the previous head's parameters). */
  async refresh(block: bigint): Promise<void> {
    try {
      this.current = await this.read(block);
    } catch (e) {
      this.inputs.logger.debug({ err: e, block }, "GasPriceOracle read failed; keeping the last parameters");
    }
  }

  /** The L1 fee upper bound of an `unsignedTxSize`-byte transaction at the latest parameters (0 before any). */
  feeWei(unsignedTxSize: number): bigint {
    return this.current === undefined ? 0n : l1FeeUpperBound(this.current, unsignedTxSize);
  }
}

function stringify(p: L1FeeParams): Record<string, string | boolean> {
  return { fjord: p.fjord, l1BaseFee: String(p.l1BaseFee), blobBaseFee: String(p.blobBaseFee), baseFeeScalar: String(p.baseFeeScalar), blobBaseFeeScalar: String(p.blobBaseFeeScalar) };
}
