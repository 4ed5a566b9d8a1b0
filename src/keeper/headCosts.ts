/**
 * What a transaction costs beside its gas units, as of the latest head: the native token's price
 * (nativePrice.ts) and, on an OP-stack chain, the L1 data fee (execute/l1Fee.ts). Read at start,
 * then once per head in parallel with the index's sync, so no plan waits for them: a read that
 * fails keeps the previous head's values. The planner, the submit path, the gas budget and the
 * profit ledger take their figures from here.
 */
import type { PublicClient } from "viem";
import { ethCallAt } from "../chain/ethCall.ts";
import type { LiquidationCalls } from "../execute/calls.ts";
import { L1FeeOracle, unsignedTxSizeUpperBound } from "../execute/l1Fee.ts";
import type { LiquidationItem } from "../execute/types.ts";
import type { Logger } from "../lib/logger.ts";
import type { NativePrice, PriceHead } from "./nativePrice.ts";

export type HeadCostsInputs = {
  nativePrice: NativePrice;
  /** For the GasPriceOracle: its detection (eth_getCode) and reads (eth_call at a block number). */
  publicClient?: Pick<PublicClient, "request" | "getCode" | "chain">;
  /** The protocol's calls: the size of a transaction of n items is that of their encoded call. */
  calls?: Pick<LiquidationCalls, "encode" | "target">;
  logger: Logger;
  /** Count L1 fees when the chain has the OP-stack GasPriceOracle (default true). */
  l1Fees?: boolean;
};

/** A stand-in item for sizing calldata: every field the ABI encodes at a fixed width. */
const SIZING_ITEM: LiquidationItem = { account: "0xffffffffffffffffffffffffffffffffffffffff", marketId: 1, size: 1n, expectedRewardTokens: 0n };

export class HeadCosts {
  private l1: L1FeeOracle | undefined;
  private readonly sizes = new Map<number, number>();

  constructor(private readonly inputs: HeadCostsInputs) {}

  get nativePrice(): NativePrice {
    return this.inputs.nativePrice;
  }

  /** The native token's price now, USD WAD. */
  get nativeUsd(): bigint {
    return this.inputs.nativePrice.usd;
  }

  /** Whether L1 data fees are counted (the chain has the GasPriceOracle predeploy; known after start). */
  get countsL1(): boolean {
    return this.l1 !== undefined;
  }

  /**
   * The L1 fee upper bound (wei) of a transaction of `items` liquidations at the latest head;
   * undefined when the chain charges none.
   */
  l1FeeWei(items: number): bigint | undefined {
    return this.l1?.feeWei(this.txSize(Math.max(1, items)));
  }

  /** First reads (the feed; the GasPriceOracle's presence, once, and parameters): a feed that cannot be read stops the start. */
  async start(head: PriceHead): Promise<void> {
    const c = this.inputs.publicClient;
    const detect = c && this.inputs.calls && this.inputs.l1Fees !== false ? L1FeeOracle.detect((address) => c.getCode({ address, blockNumber: head.number })) : Promise.resolve(false);
    const [, op] = await Promise.all([this.inputs.nativePrice.start(head), detect]);
    if (op && c) {
      this.l1 = new L1FeeOracle({ call: ethCallAt(c), logger: this.inputs.logger });
      await this.l1.start(head.number);
    }
  }

  /** Read at `head` (one eth_call for the feed, five for the oracle, all at once). Never throws. */
  async refresh(head: PriceHead): Promise<void> {
    await Promise.all([this.inputs.nativePrice.refresh(head), this.l1?.refresh(head.number)]);
  }

  /** Unsigned size (bytes, upper bound) of a transaction of `n` items, computed once per n. */
  private txSize(n: number): number {
    let s = this.sizes.get(n);
    if (s === undefined) {
      const calls = this.inputs.calls!;
      const data = calls.encode(Array.from({ length: n }, () => SIZING_ITEM), { isolate: true }).data;
      s = unsignedTxSizeUpperBound(this.inputs.publicClient?.chain?.id ?? 1, calls.target, data);
      this.sizes.set(n, s);
    }
    return s;
  }
}

