/**
 * The indexer: the keeper's view of the market rebuilt from events only (state.ts, a pure reducer
 * with an undo journal), read from the chain in adaptive eth_getLogs chunks (logSource.ts) and
 * kept reorg-safe block by block (indexer.ts). See indexer.ts for how the pieces fit.
 */
export * from "./checkpoint.ts";
export * from "./events.ts";
export * from "./indexer.ts";
export * from "./logSource.ts";
export * from "./rpc.ts";
export * from "./state.ts";
export { CheckpointFormatError, type IndexStateJson } from "./stateJson.ts";
