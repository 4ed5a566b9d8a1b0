/**
 * The keeper bench's block producer: automine is off and the bench mines a block every `blockMs`,
 * stamping the moment the node answered evm_mine (the block is mined; performance.now(), the
 * clock the counting proxies stamp on). Keepers driven by heads over IPC get each head then.
 * Prices are read through each market's proxy and published on its aggregator.
 */
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import type { Address } from "viem";
import { EmittingMockV3Aggregator } from "../../../abi/EmittingMockV3Aggregator.ts";
import { CHAINLINK_FEED_ABI } from "../../../src/chain/chainlink.ts";
import { PRICE_UPDATE_GAS, publisherOf } from "../../../src/chain/prices.ts";
import type { BaselineHead } from "./baseline.ts";
import type { BenchChain } from "./setup.ts";

export type Mined = { number: bigint; kind: string; minedAt: number };

export async function blockProducer(chain: BenchChain, blockMs: number) {
  const { owner, test, deployment } = chain;
  const headTakers: ChildProcess[] = [];
  const blocks: Mined[] = [];
  const aggregators = new Map(await Promise.all(deployment.markets.map(async (m) => [m.feed, await publisherOf(owner, m.feed)] as const)));
  const publish = (feed: Address, answer: bigint) =>
    owner.walletClient.writeContract({ address: aggregators.get(feed)!, abi: EmittingMockV3Aggregator.abi, functionName: "updateAnswer", args: [answer], gas: PRICE_UPDATE_GAS });
  return {
    blocks,
    /** A keeper that is handed every head over IPC. */
    pushHeadsTo(child: ChildProcess) {
      headTakers.push(child);
    },
    publish,
    /** Every feed re-publishes its answer (as Chainlink feeds do on their heartbeat); mined with the next block. */
    async heartbeat() {
      for (const f of deployment.markets) {
        const [, answer] = await owner.publicClient.readContract({ address: f.feed, abi: CHAINLINK_FEED_ABI, functionName: "latestRoundData" });
        await publish(f.feed, answer);
      }
    },
    async mine(kind: string): Promise<Mined> {
      const t0 = performance.now();
      await test.mine({ blocks: 1 });
      const minedAt = performance.now();
      const b = await owner.publicClient.getBlock({ blockTag: "latest" });
      const mined = { number: b.number, kind, minedAt };
      blocks.push(mined);
      const msg: BaselineHead = { type: "head", number: b.number.toString(), baseFeePerGas: (b.baseFeePerGas ?? 0n).toString(), kind };
      for (const c of headTakers) if (c.connected) c.send(msg);
      const left = blockMs - (performance.now() - t0);
      if (left > 0) await sleep(left);
      return mined;
    },
  };
}
