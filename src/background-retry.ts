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

/**
 * How long after a retried seat announcement went through it is made once more. Redis was away, and
 * each replica's subscriber connection subscribes again on its own schedule once Redis is back (up to
 * a second between its tries, longer on a busy machine): the first may have reached none of them.
 */
const ANNOUNCE_AGAIN_AFTER_MS = 3000;

/**
 * retryInBackground for an announcement of seats as they are now (HoldService.announceAsNow), which
 * may be made twice: once it goes through, it is made once more a little later, for subscribers that
 * had not subscribed again yet.
 */
export function announceInBackground(announceAsNow: () => Promise<void>, giveUp: () => void): void {
  retryInBackground(async () => {
    await announceAsNow();
    setTimeout(() => void announceAsNow().catch(() => undefined), ANNOUNCE_AGAIN_AFTER_MS).unref();
  }, giveUp);
}
