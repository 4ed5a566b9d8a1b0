/** The indexer's errors, by class: the loop decides from the class, never from a message. */
import { BaseError } from "../lib/errors.ts";

/** The common ancestor is below what the journal can undo: the index must be rebuilt. */
export class ReorgTooDeepError extends BaseError {
  override name = "ReorgTooDeepError";
}

export class IndexerBusyError extends BaseError {
  override name = "IndexerBusyError";
  constructor() {
    super("a sync is running: take the checkpoint after it resolves");
  }
}

export class CheckpointMismatchError extends BaseError {
  override name = "CheckpointMismatchError";
  constructor(what: string) {
    super(`the checkpoint is for another ${what}`, { userError: true });
  }
}
