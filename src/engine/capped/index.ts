/**
 * The "capped" market's margin model (docs/capped-market.md): pure functions over bigint, mirroring
 * contracts/src/capped/ operation for operation. Names overlap the reference model's (a position's
 * pnl, a market's state): import it as a namespace.
 */
export * from "./types.ts";
export * from "./decimal.ts";
export * from "./reward.ts";
export * from "./capacity.ts";
export * from "./margin.ts";
export * from "./liquidate.ts";
export * from "./liquidateFlagged.ts";
