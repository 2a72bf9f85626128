/**
 * The server's clock, as far as this page can tell it. Deadlines (a hold's expiresAt, activeUntil,
 * salesOpenAt) are the server's: read against a browser clock a few minutes off, live holds would
 * vanish from the cart and countdowns end early or late.
 *
 * Each HTTP answer's Date header (whole seconds) bounds the offset: the server read its clock after
 * the request left (sentAt) and before the answer arrived (receivedAt), both on the browser's clock,
 * so offset ∈ [date − receivedAt, date + 1000 − sentAt]. The bounds of every answer are intersected
 * (they narrow as answers arrive at different points of a second), and the middle is used.
 */
export class ServerClock {
  private low = -Infinity;
  private high = Infinity;

  observe(dateHeader: string | null, sentAt: number, receivedAt: number): void {
    const date = dateHeader === null ? Number.NaN : Date.parse(dateHeader);
    if (Number.isNaN(date)) return;
    const low = date - receivedAt;
    const high = date + 1000 - sentAt;
    // Disjoint from what was known: a clock jumped (the laptop slept, NTP stepped it); start over.
    if (low > this.high || high < this.low) {
      this.low = low;
      this.high = high;
      return;
    }
    this.low = Math.max(this.low, low);
    this.high = Math.min(this.high, high);
  }

  /** Milliseconds to add to the browser's clock; 0 until an answer was seen. */
  offset(): number {
    return Number.isFinite(this.low) ? Math.round((this.low + this.high) / 2) : 0;
  }

  /** The server's time now, estimated. */
  now(): number {
    return Date.now() + this.offset();
  }

  /** The server's time now at the latest (its upper bound; the browser's clock until an answer was seen). */
  latestNow(): number {
    return Date.now() + (Number.isFinite(this.high) ? this.high : 0);
  }

  /** The server's time now at the earliest (its lower bound; -Infinity until an answer was seen). */
  earliestNow(): number {
    return Date.now() + this.low;
  }
}

/** The page's one estimate, fed by every HTTP answer (client.ts). */
export const serverClock = new ServerClock();
