/**
 * The reference market's gas model, measured from the contract by test/plan/gasModel.test.ts (it
 * fails when these are below the need or more than 30% above it): gas limits, refund and 63/64
 * headroom included, of the worst shape measured (three positions; across tiers; bad debt).
 * single = one liquidate(), batchBase = liquidateBatch's fixed part with every market cold,
 * batchItem = each further item. A batch's limit is batchBase + n × batchItem.
 */
import type { GasUnits } from "../../keeper/protocol.ts";

export const REFERENCE_GAS: Readonly<GasUnits> = Object.freeze({ single: 640_000n, batchBase: 440_000n, batchItem: 205_000n });
