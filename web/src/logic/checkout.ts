/**
 * Idempotent payment, as the API wants it: one idempotency key per checkout. A checkout is a set of
 * holds being paid; while that set is the same, every attempt (a double click, a retry after a
 * network error or a timeout) sends the same key, so the server pays at most once and a retry returns
 * the first payment. Once a payment is confirmed, or the fan changes the set of holds, the next
 * attempt is a new checkout with a new key. Pure logic, unit-tested.
 */

export type KeyFactory = () => string;

function randomKey(): string {
  return `web-${globalThis.crypto.randomUUID()}`;
}

export class Checkout {
  private current: { holds: string; key: string } | undefined;
  private busy = false;

  constructor(private readonly newKey: KeyFactory = randomKey) {}

  /** The key for paying these holds: the same as last time while the set of holds is unchanged. */
  keyFor(holdIds: readonly string[]): string {
    const holds = [...holdIds].sort().join(',');
    if (!this.current || this.current.holds !== holds) this.current = { holds, key: this.newKey() };
    return this.current.key;
  }

  /**
   * Starts an attempt, or returns undefined while another is in flight (a double click is ignored,
   * not sent twice). Call `finish` when the attempt settles.
   */
  begin(holdIds: readonly string[]): string | undefined {
    if (this.busy || holdIds.length === 0) return undefined;
    this.busy = true;
    return this.keyFor(holdIds);
  }

  /**
   * Ends the attempt. `over`: the server confirmed the payment (or refused the key itself, as
   * IDEMPOTENCY_KEY_REUSED), so this checkout is over and the next attempt gets a new key. Otherwise
   * (an error such as INSUFFICIENT_POINTS, or no answer at all) the key stays for the retry.
   */
  finish(over: boolean): void {
    this.busy = false;
    if (over) this.current = undefined;
  }

  get paying(): boolean {
    return this.busy;
  }
}
