/** What a mined liquidation transaction did, read from its receipt's events. */
import { isAddressEqual, parseEventLogs, type Address, type Log } from "viem";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import { TOKEN_SCALE } from "../../engine/index.ts";
import type { LiquidationReceipt } from "../../execute/calls.ts";
import { decodeRevertData } from "./reverts.ts";

/**
 * The Liquidated events `market` emitted for `keeper`, and the LiquidationFailed events, in
 * `logs` (a receipt's). Events from other contracts, or paying other keepers, are ignored.
 */
export function decodeLiquidationLogs(logs: readonly Log[], p: { market: Address; keeper: Address }): LiquidationReceipt {
  const ours = logs.filter((l) => isAddressEqual(l.address, p.market));
  const events = parseEventLogs({ abi: PerpMarket.abi, logs: ours, eventName: ["Liquidated", "LiquidationFailed"] });
  const out: LiquidationReceipt = { liquidated: [], failed: [], rewardTokens: 0n };
  for (const e of events) {
    if (e.eventName === "Liquidated") {
      if (!isAddressEqual(e.args.keeper, p.keeper)) continue;
      const rewardTokens = e.args.keeperReward / TOKEN_SCALE;
      out.liquidated.push({
        account: e.args.account,
        marketId: Number(e.args.marketId),
        size: e.args.size,
        rewardTokens,
        full: e.args.full,
      });
      out.rewardTokens += rewardTokens;
    } else {
      const d = decodeRevertData(e.args.reason);
      out.failed.push({ account: e.args.account, marketId: Number(e.args.marketId), errorName: d.errorName, args: d.args });
    }
  }
  return out;
}
