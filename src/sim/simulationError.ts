import { BaseError } from "../lib/errors.ts";

/** A lab run that cannot go on: a user's mistake (`userError`) or a chain that did not do what the runner asked. */
export class SimulationError extends BaseError {
  override name = "SimulationError";
}
