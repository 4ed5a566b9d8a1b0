import { getAddress } from "viem";
import type { Deployment } from "../chain/deploy.ts";
import type { MarketSpec } from "../config/presets.ts";
import { fields, formatPrice } from "./format.ts";

/** The lines `deploy` and `devnet` print about a fresh deployment. */
export function deploymentSummary(d: Deployment, markets: readonly MarketSpec[]): string[] {
  const price = (symbol: string) => {
    const m = markets.find((x) => x.symbol === symbol);
    return m ? `, price ${formatPrice(m.initialPrice)}` : "";
  };
  return [
    `Deployed the reference market on chain ${d.chainId} (preset ${d.preset}, block ${d.deployBlock})`,
    ...fields([
      ["deployer", getAddress(d.deployer)],
      ["market", getAddress(d.contracts.market)],
      ["token", `${getAddress(d.contracts.token)} (USDC, 6 decimals)`],
      ...d.markets.map((m) => [m.symbol, `feed ${getAddress(m.feed)} (${m.feedDecimals} decimals${price(m.symbol)})`] as const),
    ]),
  ];
}
