/**
 * A sliding-window budget of native token spent on gas: what mined receipts cost in the last
 * `windowMs` (one hour by default). Pending transactions are not recorded here: the caller passes
 * their worst-case cost (gas limit × maxFeePerGas) to {@link GasBudget.allows}.
 */
export type GasBudgetInputs = {
  /** Most wei that may be spent within one window. */
  budgetWei: bigint;
  /** Milliseconds clock (monotonic; `performance.now` by default in the executor). */
  now: () => number;
  /** Window length in ms. Default one hour. */
  windowMs?: number;
};

export const HOUR_MS = 3_600_000;

export class GasBudget {
  readonly budgetWei: bigint;
  private readonly now: () => number;
  private readonly windowMs: number;
  /** Spends in time order. */
  private readonly entries: { at: number; wei: bigint }[] = [];
  private total = 0n;

  constructor(inputs: GasBudgetInputs) {
    if (inputs.budgetWei < 0n) throw new RangeError("gas budget must not be negative");
    this.budgetWei = inputs.budgetWei;
    this.now = inputs.now;
    this.windowMs = inputs.windowMs ?? HOUR_MS;
  }

  /** Spends held (those older than the window go at the next `spent()`). */
  get size(): number {
    return this.entries.length;
  }

  /** Record `wei` spent now (a mined receipt's gasUsed × effectiveGasPrice). */
  record(wei: bigint): void {
    if (wei <= 0n) return;
    this.entries.push({ at: this.now(), wei });
    this.total += wei;
  }

  /** Wei spent within the window ending now. */
  spent(): bigint {
    const cutoff = this.now() - this.windowMs;
    while (this.entries.length > 0 && this.entries[0]!.at <= cutoff) this.total -= this.entries.shift()!.wei;
    return this.total;
  }

  /** Whether `spent + pendingWei + extraWei` stays within the budget (a send of `extraWei` fits). */
  allows(pendingWei: bigint, extraWei = 0n): boolean {
    return this.spent() + pendingWei + extraWei <= this.budgetWei;
  }

  /** Whether anything at all may still be sent: `spent + pendingWei < budget`. */
  hasRoom(pendingWei: bigint): boolean {
    return this.spent() + pendingWei < this.budgetWei;
  }
}
