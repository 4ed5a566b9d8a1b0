import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { z } from "zod";
import { zodProblems } from "../lib/zodIssues.ts";
import { BaseError } from "../lib/errors.ts";

/**
 * What the indexer hands out to be saved, and takes back to resume without a full backfill:
 * the cursor (last block indexed, with its hash to check it is still canonical), the recent block
 * hashes (to find the common ancestor of a reorg that happened while the keeper was down) and the
 * state with its undo journal. JSON-safe: bigints are decimal strings. Writing it to disk
 * (atomically) is the caller's job.
 */

export type BlockRefJson = { number: string; hash: Hex; timestamp: string };

export type IndexerCheckpoint = {
  version: 1;
  market: Address;
  deployBlock: string;
  /** The last block indexed; null before the first sync. */
  cursor: BlockRefJson | null;
  /** Recent canonical blocks as seen by the indexer, ascending, at most maxReorgDepth + 1. */
  recentBlocks: BlockRefJson[];
  /** The protocol state's own JSON (see ReducerState.toJSON). */
  state: unknown;
};

/** A checkpoint that does not parse: the index is rebuilt from the chain, or the user moves the file. */
export class CheckpointFormatError extends BaseError {
  override name = "CheckpointFormatError";
  constructor(problems: string[]) {
    super(`not a valid index checkpoint: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ""}`, {
      userError: true,
    });
  }
}


/**
 * A checkpoint whose index state an earlier version wrote, in a form this one no longer reads (it
 * lacks something the state now needs): the keeper rebuilds the index from the chain and keeps the
 * checkpoint's transactions in flight.
 */
export class IndexStateOutdatedError extends CheckpointFormatError {
  override name = "IndexStateOutdatedError";
}

const integer = z.string().regex(/^\d+$/, { error: "not a block number (decimal string)" });
const hash = z.string().refine((s) => isHex(s) && s.length === 66, { error: "not a 32-byte hash" });
const blockRef = z.object({ number: integer, hash, timestamp: integer });
const checkpointSchema = z.object({
  version: z.literal(1),
  market: z.string().refine((s) => isAddress(s, { strict: false }), { error: "not an address" }),
  deployBlock: integer,
  cursor: z.union([blockRef, z.null()]),
  recentBlocks: z.array(blockRef),
  state: z.unknown(),
});

export type BlockRef = { number: bigint; hash: Hex; timestamp: bigint };

export const blockRefToJson = (b: BlockRef): BlockRefJson => ({
  number: b.number.toString(),
  hash: b.hash,
  timestamp: b.timestamp.toString(),
});

const blockRefFromJson = (b: z.output<typeof blockRef>): BlockRef => ({
  number: BigInt(b.number),
  hash: b.hash as Hex,
  timestamp: BigInt(b.timestamp),
});

export type ParsedCheckpoint = {
  market: Address;
  deployBlock: bigint;
  cursor: BlockRef | undefined;
  recentBlocks: BlockRef[];
  state: unknown;
};

/** Validate a checkpoint's envelope (the state is validated by IndexState.fromJSON). */
export function parseCheckpoint(raw: unknown): ParsedCheckpoint {
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CheckpointFormatError(zodProblems(parsed.error));
  }
  const c = parsed.data;
  return {
    market: getAddress(c.market),
    deployBlock: BigInt(c.deployBlock),
    cursor: c.cursor ? blockRefFromJson(c.cursor) : undefined,
    recentBlocks: c.recentBlocks.map(blockRefFromJson),
    state: c.state,
  };
}
