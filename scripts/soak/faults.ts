/**
 * The soak's fault phases, injected by the fault proxy (test/support/faultProxy.ts) between the
 * daemon and Anvil: clean and faulty phases alternate, each `phaseBlocks` long, the faulty ones
 * cycling through every kind the proxy knows (latency, reset, drop, 429, 5xx, JSON-RPC errors, a
 * stale head). Rates are those a public endpoint has on a bad day, low enough that a keeper must
 * ride through them: a phase is `blocking` when a fault can hold one request for the client's whole
 * timeout (a drop: 10 s, hundreds of soak blocks), and the audit does not count a liquidation as
 * missed while one is on (see Windows in audit.ts).
 */
import type { FaultSchedule } from "../../test/support/faultProxy.ts";

export type SoakFaultPhase = { name: string; schedule: FaultSchedule; blocking: boolean };

export const FAULT_PHASES: readonly SoakFaultPhase[] = [
  { name: "latency", schedule: { latency: { rate: 0.5, minMs: 5, maxMs: 80 } }, blocking: false },
  { name: "rpcError", schedule: { rpcError: { rate: 0.05 } }, blocking: false },
  { name: "http5xx", schedule: { http5xx: { rate: 0.05, status: 503 } }, blocking: false },
  { name: "rateLimit", schedule: { rateLimit: { rate: 0.01, retryAfterSeconds: 1 } }, blocking: false },
  { name: "reset", schedule: { reset: { rate: 0.03 } }, blocking: false },
  { name: "stale", schedule: { stale: { rate: 0.3, depth: 2 } }, blocking: false },
  { name: "drop", schedule: { drop: { rate: 0.005 } }, blocking: true },
];

/** The phase of block offset `offset` (from the soak's first block): even phases are clean. */
export function phaseAt(offset: number, phaseBlocks: number): SoakFaultPhase | undefined {
  const i = Math.floor(offset / phaseBlocks);
  if (i % 2 === 0) return undefined;
  return FAULT_PHASES[((i - 1) / 2) % FAULT_PHASES.length];
}
