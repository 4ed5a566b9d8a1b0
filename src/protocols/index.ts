/**
 * The protocols perp-keeper can keep, by the name a deployment file gives in its `protocol` field
 * (a file without the field means the reference market). Adding a protocol: a module under
 * src/protocols/<name>/ that implements the `Protocol` port (src/keeper/protocol.ts), and one line
 * here. See docs/protocols.md.
 */
import type { Address } from "viem";
import type { Protocol } from "../keeper/protocol.ts";
import { ConfigError } from "../lib/errors.ts";
import { REFERENCE, referenceMarket, type ReferenceProtocol } from "./reference/index.ts";

const FACTORIES: Record<string, (contracts: { market: Address }) => Protocol> = {
  [REFERENCE]: (c) => referenceMarket(c.market),
};

/** The names a deployment file may give. */
export const PROTOCOL_NAMES: readonly string[] = Object.keys(FACTORIES);

/**
 * The reference market of a deployment, for the commands that read its state in the reference
 * market's own terms (status, the lab's reports); a deployment of another protocol is refused.
 */
export function referenceOf(deployment: { protocol?: string; contracts: { market: Address } }, source = "deployment"): ReferenceProtocol {
  const name = deployment.protocol ?? REFERENCE;
  if (name !== REFERENCE) throw new ConfigError(source, [`this command reads the reference market only; the deployment names protocol "${name}"`]);
  return referenceMarket(deployment.contracts.market);
}

/** The protocol a deployment names, bound to its contracts. */
export function protocolFor(deployment: { protocol?: string; contracts: { market: Address } }, source = "deployment"): Protocol {
  const name = deployment.protocol ?? REFERENCE;
  const make = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (!make) throw new ConfigError(source, [`unknown protocol "${name}" (known: ${PROTOCOL_NAMES.join(", ")})`]);
  return make(deployment.contracts);
}
