/**
 * The naive baseline keepers of the keeper benchmark, each run as a child process of run.ts (its
 * own event loop, as a separate bot would have). Trigger "heads": for every head the parent pushes
 * over IPC (head detection costs it nothing: conservative for the RPC ratio). Trigger "timer": every
 * `intervalMs`, whatever the chain does, reading the latest block first (dYdX's v4 daemon loops
 * every 1.6 s, Drift's keepers every 5 s). Each pass:
 *  1. one Multicall3 `aggregate3` of `isLiquidatable(account)` for every account (split in chunks of
 *     `chunk` calls so one eth_call stays under the node's call gas cap);
 *  2. for the accounts found: one multicall of `accountMarkets(account)`, then one of
 *     `maxLiquidatable(account, market)`;
 *  3. one `liquidate(account, market, size)` per (account, market) with size > 0, signed locally
 *     with a local nonce and a fixed gas limit, sent all at once.
 * The bench counts its requests and times its sends at the counting proxy `rpcUrl` points at.
 */
import { createPublicClient, encodeFunctionData, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PerpMarket } from "../../../abi/PerpMarket.ts";
import { connect } from "../../../src/chain/clients.ts";
import { createMetrics } from "../../../src/lib/metrics.ts";

export type BaselineInit = {
  type: "init";
  rpcUrl: string;
  privateKey: Hex;
  market: Address;
  multicall: Address;
  accounts: Address[];
  chunk: number;
  /** "multicall": Multicall3 aggregate3 per chunk (1 request per chunk); "rpc-batch": one eth_call per account, sent as JSON-RPC batches (1 request per account as counted). */
  mode: "multicall" | "rpc-batch";
  gas: string;
  priorityFeeWei: string;
  trigger: "heads" | "timer";
  /** Timer trigger: ms between passes. */
  intervalMs?: number;
};
export type BaselineHead = { type: "head"; number: string; baseFeePerGas: string; kind: string };
export type BaselineToParent =
  | { type: "ready" }
  | { type: "sent"; block: string; kind: string; ms: number; account: Address; marketId: number; hash: Hex }
  | { type: "sendFailed"; block: string; message: string }
  | { type: "tick"; block: string; kind: string; scanMs: number; found: number; skipped: boolean }
  | { type: "rpc"; byMethod: Record<string, number>; total: number };

async function main(): Promise<void> {
  const send = (m: BaselineToParent) => process.send!(m);
  const init = await new Promise<BaselineInit>((resolve) => process.once("message", (m) => resolve(m as BaselineInit)));
  const metrics = createMetrics();
  const account = privateKeyToAccount(init.privateKey);
  const c = await connect(init.rpcUrl, account, { metrics, pollingInterval: 50 });
  const pub = c.publicClient;
  let nonce = await pub.getTransactionCount({ address: account.address, blockTag: "pending" });
  const gas = BigInt(init.gas);
  const prio = BigInt(init.priorityFeeWei);
  let busy = false;

  const batchClient = createPublicClient({
    chain: pub.chain,
    transport: http(init.rpcUrl, {
      batch: { batchSize: init.chunk, wait: 0 },
      onFetchRequest: async (request) => {
        const body = (await request.clone().json()) as { method?: string } | { method?: string }[];
        for (const call of Array.isArray(body) ? body : [body]) metrics.rpcRequests.inc({ method: call.method ?? "unknown" });
      },
    }),
  });
  const multicall = async <T>(contracts: readonly { functionName: string; args: readonly unknown[] }[]): Promise<T[]> => {
    if (init.mode === "rpc-batch") {
      return Promise.all(
        contracts.map((x) => batchClient.readContract({ address: init.market, abi: PerpMarket.abi, ...x } as never) as Promise<T>),
      );
    }
    const out: T[] = [];
    const chunks: Promise<unknown[]>[] = [];
    for (let i = 0; i < contracts.length; i += init.chunk) {
      chunks.push(
        pub.multicall({
          contracts: contracts.slice(i, i + init.chunk).map((x) => ({ address: init.market, abi: PerpMarket.abi, ...x })) as never,
          allowFailure: false,
          multicallAddress: init.multicall,
          batchSize: 0,
        }) as Promise<unknown[]>,
      );
    }
    for (const r of await Promise.all(chunks)) out.push(...(r as T[]));
    return out;
  };

  const onHead = async (h: BaselineHead) => {
    const t0 = performance.now();
    if (busy) {
      send({ type: "tick", block: h.number, kind: h.kind, scanMs: 0, found: 0, skipped: true });
      return;
    }
    busy = true;
    try {
      const flags = await multicall<boolean>(init.accounts.map((a) => ({ functionName: "isLiquidatable", args: [a] })));
      const found = init.accounts.filter((_, i) => flags[i]);
      const scanMs = performance.now() - t0;
      if (found.length > 0) {
        const marketsOf = await multicall<readonly bigint[]>(found.map((a) => ({ functionName: "accountMarkets", args: [a] })));
        const pairs = found.flatMap((a, i) => marketsOf[i]!.map((m) => ({ account: a, marketId: m })));
        const sizes = await multicall<bigint>(pairs.map((p) => ({ functionName: "maxLiquidatable", args: [p.account, p.marketId] })));
        const maxFeePerGas = BigInt(h.baseFeePerGas) * 2n + prio;
        const sends = pairs
          .map((p, i) => ({ ...p, size: sizes[i]! }))
          .filter((p) => p.size > 0n)
          .map(async (p) => {
            const signed = await account.signTransaction({
              type: "eip1559",
              chainId: pub.chain.id,
              to: init.market,
              data: encodeFunctionData({ abi: PerpMarket.abi, functionName: "liquidate", args: [p.account, p.marketId, p.size] }),
              nonce: nonce++,
              gas,
              maxFeePerGas,
              maxPriorityFeePerGas: prio,
            });
            try {
              const hash = await pub.sendRawTransaction({ serializedTransaction: signed });
              send({ type: "sent", block: h.number, kind: h.kind, ms: performance.now() - t0, account: p.account, marketId: Number(p.marketId), hash });
            } catch (e) {
              send({ type: "sendFailed", block: h.number, message: (e as Error).message.split("\n")[0]! });
              nonce = await pub.getTransactionCount({ address: account.address, blockTag: "pending" });
            }
          });
        await Promise.all(sends);
      }
      send({ type: "tick", block: h.number, kind: h.kind, scanMs, found: found.length, skipped: false });
    } finally {
      busy = false;
    }
  };

  if (init.trigger === "timer") {
    const pass = async () => {
      if (busy) return;
      const b = await pub.getBlock({ blockTag: "latest" });
      await onHead({ type: "head", number: b.number.toString(), baseFeePerGas: (b.baseFeePerGas ?? 0n).toString(), kind: "timer" });
    };
    setInterval(() => {
      pass().catch((e: unknown) => {
        busy = false;
        send({ type: "sendFailed", block: "?", message: `pass failed: ${(e as Error).message.split("\n")[0]}` });
      });
    }, init.intervalMs ?? 1_000);
  }
  process.on("message", (m: BaselineHead | { type: "rpc?" } | { type: "exit" }) => {
    if (m.type === "head" && init.trigger === "heads")
      onHead(m).catch((e: unknown) => {
        // A bot that dies on one bad block catches nothing after it: log and wait for the next head.
        busy = false;
        send({ type: "sendFailed", block: m.number, message: `tick failed: ${(e as Error).message.split("\n")[0]}` });
      });
    else if (m.type === "rpc?") {
      const byMethod: Record<string, number> = {};
      let total = 0;
      void metrics.rpcRequests.get().then((g) => {
        for (const v of g.values) {
          byMethod[String(v.labels.method)] = v.value;
          total += v.value;
        }
        send({ type: "rpc", byMethod, total });
      });
    } else if (m.type === "exit") process.exit(0);
  });
  send({ type: "ready" });
}

void main().catch((e: unknown) => {
  process.stderr.write(`baseline keeper failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
