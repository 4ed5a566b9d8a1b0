/**
 * The shared margin engine: pure functions over bigint, no I/O, no clock. The keeper, the
 * simulator, the CLI and the tests all value accounts through it, exactly as
 * contracts/src/PerpMarket.sol does.
 */
export * from "./math.ts";
export * from "./types.ts";
export * from "./position.ts";
export * from "./tiers.ts";
export * from "./health.ts";
export * from "./liquidation.ts";
export * from "./prices.ts";
export * from "./screen.ts";
export * from "./indexPrice.ts";
export * from "./adl.ts";
export * from "./deleverage.ts";
/** The second protocol, the capped market (Synthetix v3 style; docs/capped-market.md), as a namespace: its names (applyLiquidation, …) are the reference engine's too. */
export * as capped from "./capped/index.ts";
