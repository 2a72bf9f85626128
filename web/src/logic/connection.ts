/** Reconnect timing for the WebSocket. Pure, unit-tested. */

/** Capped exponential backoff with jitter: ~1 s, 2 s, 4 s, 8 s, then about every 10 s, forever. */
export function retryDelayMs(retries: number, random: () => number = Math.random): number {
  const base = Math.min(10_000, 1000 * 2 ** Math.max(0, retries));
  return base + Math.floor(random() * 500);
}

/** How long to wait before trying a transient failure again: the backoff, or longer if the server said so (RATE_LIMITED). */
export function retryAfterFailureMs(retries: number, retryAfterSeconds?: number, random: () => number = Math.random): number {
  return Math.max(retryDelayMs(retries, random), (retryAfterSeconds ?? 0) * 1000);
}
