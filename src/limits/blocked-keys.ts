/** Above this many entries, adding one first forgets those whose block has ended. */
const PURGE_ABOVE = 1000;

/**
 * Counters known to be over their limit until a given time (ms), kept in this process: a client
 * hammering after its refusal is refused from memory, costing no Redis command. The same device as
 * rate-limiter-flexible's inMemoryBlockOnConsumed, for the counters that do not go through it.
 */
export class BlockedKeys {
  private readonly until = new Map<string, number>();

  /** Milliseconds the key stays blocked; 0 when it is not. */
  msLeft(key: string): number {
    const until = this.until.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left > 0) return left;
    this.until.delete(key);
    return 0;
  }

  block(key: string, ms: number): void {
    if (this.until.size >= PURGE_ABOVE) {
      const now = Date.now();
      for (const [blocked, until] of this.until) if (until <= now) this.until.delete(blocked);
    }
    this.until.set(key, Date.now() + ms);
  }
}
