/**
 * The protocol-neutral indexer: a protocol's state (its reducer with an undo journal, see
 * source.ts) read from the chain in adaptive eth_getLogs chunks (logSource.ts) and kept reorg-safe
 * block by block (indexer.ts), with checkpoints. See indexer.ts for how the pieces fit.
 */
export * from "./checkpoint.ts";
export * from "./indexer.ts";
export * from "./logSource.ts";
export * from "./rpc.ts";
export * from "./source.ts";
