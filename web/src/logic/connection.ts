/** Reconnect timing for the WebSocket. Pure, unit-tested. */

/** Capped exponential backoff with jitter: ~1 s, 2 s, 4 s, 8 s, then about every 10 s, forever. */
export function retryDelayMs(retries: number, random: () => number = Math.random): number {
  const base = Math.min(10_000, 1000 * 2 ** Math.max(0, retries));
  return base + Math.floor(random() * 500);
}
