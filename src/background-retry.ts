/** Waits before each new try: about a minute in all, past a Redis failover. */
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 16_000, 32_000];

/**
 * Runs `attempt` again in the background, after 0.5 s and then twice as long each time, until it goes
 * through or about a minute has passed (then `giveUp`). For a follow-up of a change already made that
 * nothing else would repeat (telling seat maps of a sale). A process that stops meanwhile drops it.
 */
export function retryInBackground(attempt: () => Promise<void>, giveUp: () => void, tried = 0): void {
  const waitMs = RETRY_DELAYS_MS[tried];
  if (waitMs === undefined) {
    giveUp();
    return;
  }
  setTimeout(() => {
    attempt().catch(() => retryInBackground(attempt, giveUp, tried + 1));
  }, waitMs).unref();
}
