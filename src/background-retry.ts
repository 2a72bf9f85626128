/** The wait before try `tried + 1`: 0.5 s, then twice as long each time. */
const retryWaitMs = (tried: number): number => 500 * 2 ** tried;

/** Tries after the first that retryInBackground makes: about a minute in all, past a Redis failover. */
const RETRIES = 7;

/**
 * Runs `attempt` again in the background, after 0.5 s and then twice as long each time, until it goes
 * through or about a minute has passed (then `giveUp`). For a follow-up of a change already made that
 * nothing else would repeat (telling seat maps of a sale). A process that stops meanwhile drops it.
 */
export function retryInBackground(attempt: () => Promise<void>, giveUp: () => void, tried = 0): void {
  if (tried >= RETRIES) {
    giveUp();
    return;
  }
  setTimeout(() => {
    attempt().catch(() => retryInBackground(attempt, giveUp, tried + 1));
  }, retryWaitMs(tried)).unref();
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

/** The longest wait between two tries of a Backlog: a MySQL back after a long outage is noticed within it. */
const BACKLOG_MAX_WAIT_MS = 30_000;

/**
 * Items to be done once a dependency answers again, however long it is away: added any number of
 * times, each is kept once; one attempt at a time does all of them, again after 0.5 s and then twice
 * as long each time up to BACKLOG_MAX_WAIT_MS, until it goes through. What is added while an attempt
 * runs waits for the next. A process that stops meanwhile drops them.
 */
export class Backlog<T> {
  private readonly items = new Set<T>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private failures = 0;

  constructor(private readonly attempt: (items: T[]) => Promise<void>) {}

  add(items: readonly T[]): void {
    for (const item of items) this.items.add(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.running || this.items.size === 0) return;
    this.timer = setTimeout(() => void this.run(), Math.min(retryWaitMs(this.failures), BACKLOG_MAX_WAIT_MS)).unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    const taken = [...this.items];
    try {
      await this.attempt(taken);
      for (const item of taken) this.items.delete(item);
      this.failures = 0;
    } catch {
      // However many: the wait is capped (past 2^1023 the doubling is Infinity, and the cap still holds).
      this.failures++;
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
