/**
 * A market's mark price from its indexed feeds, as the contract's _markPrice computes it at a time:
 * one feed keeps the single-feed rules (missing, invalid, stale); several give the median of the
 * fresh ones (docs/reference-market.md "Index mark price", src/engine/indexPrice.ts).
 */
import { answerToWad } from "../../chain/chainlink.ts";
import { indexMark, type IndexRefusal, type IndexRules } from "../../engine/index.ts";
import type { FeedRound } from "./feeds.ts";

export type MarkRefusal = IndexRefusal;

export type MarketMark = { ok: true; price: bigint } | { ok: false; why: MarkRefusal };

/** The mark at `now` of a market with these feeds (in the market's order) and rules. */
export function indexMarkOf(feeds: readonly { decimals: number; round: FeedRound | undefined }[], now: bigint, rules: IndexRules): MarketMark {
  const prices = feeds.map((f) => f.round && { price: answerToWad(f.round.answer, f.decimals), updatedAt: f.round.updatedAt });
  const m = indexMark(prices, rules, now);
  return m.ok ? { ok: true, price: m.price } : { ok: false, why: m.reason };
}
