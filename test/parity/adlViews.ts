/**
 * The ADL views against the engine, at one block: adlScore and bankruptcyPrice (or its custom
 * error and arguments) of every account in every market of the case, and every account's health.
 */
import { getAddress, type Address } from "viem";
import { PerpMarket } from "../../abi/PerpMarket.ts";
import { accountHealth, adlBankruptcyPrice, adlScore, type AdlParty, type Valuation } from "../../src/engine/index.ts";
import { expect } from "vitest";
import { healthFields } from "./caseMarkets.ts";
import { viewOrError, type CaseWorld, type ContractError } from "./caseWorld.ts";

export type ViewStats = Record<string, number>;

/** The error (or price) the contract's bankruptcyPrice view gives, as the engine predicts it. */
function expectedBankruptcy(p: AdlParty, id: number, v: Valuation, insuranceFund: bigint): { ok: true; value: bigint } | { ok: false; error: ContractError } {
  const r = adlBankruptcyPrice(p.account, id, v);
  if (r.ok) return { ok: true, value: r.price };
  const account = getAddress(p.address);
  if (r.error === "AdlNotDue") return { ok: false, error: { name: r.error, args: [account, accountHealth(p.account, v).equity, insuranceFund] } };
  return { ok: false, error: { name: r.error, args: [account, BigInt(id)] } };
}

export async function compareAdlViews(
  w: Pick<CaseWorld, "chain" | "market">,
  parties: readonly AdlParty[],
  marketIds: readonly number[],
  v: Valuation,
  insuranceFund: bigint,
  blockNumber: bigint,
  stats: ViewStats,
): Promise<void> {
  const read = w.chain.publicClient;
  const c = { address: w.market, abi: PerpMarket.abi, blockNumber } as const;
  const bump = (k: string) => void (stats[k] = (stats[k] ?? 0) + 1);
  await Promise.all(
    parties.map(async (p) => {
      const who: Address = p.address;
      const health = await read.readContract({ ...c, functionName: "accountHealth", args: [who] });
      expect(healthFields(health), `accountHealth ${who}`).toEqual(healthFields(accountHealth(p.account, v)));
      for (const id of marketIds) {
        const [score, pb] = await Promise.all([
          read.readContract({ ...c, functionName: "adlScore", args: [who, BigInt(id)] }),
          viewOrError(() => read.readContract({ ...c, functionName: "bankruptcyPrice", args: [who, BigInt(id)] })),
        ]);
        const engineScore = adlScore(p.account, id, v);
        expect(score, `adlScore ${who} market ${id}`).toBe(engineScore);
        if (engineScore > 0n) bump("score > 0");
        const expected = expectedBankruptcy(p, id, v, insuranceFund);
        expect(pb, `bankruptcyPrice ${who} market ${id}`).toEqual(expected);
        bump(expected.ok ? "bankruptcy price" : `bankruptcy ${expected.error.name}`);
      }
    }),
  );
}
