import type { SeatState } from './seat';
import type { SeatFeed } from './seat-feed';

/** A seat log cursor: a Redis stream ID, "ms-sequence" (SEAT_LOG_CURSOR, SeatState.seatChangesCursor). */
export const SEAT_LOG_CURSOR_FORMAT = /^(\d{1,15})-(\d{1,20})$/;

/** Whether cursor `a` comes after `b` in their seat log (ms, then the sequence within the ms). */
export function isLater(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs > bMs || (aMs === bMs && aSeq > bSeq);
}

/** Whether the change comes after the cursor. A change without one (from a replica of an earlier version) counts as after. */
export function isAfter(change: SeatState, cursor: string): boolean {
  const at = change.seatChangesCursor;
  return at === undefined || !SEAT_LOG_CURSOR_FORMAT.test(at) || isLater(at, cursor);
}

/**
 * One seatChanged feed following its schedule: the live changes, and the seat log's when some may
 * have been missed (before the subscription, from a seat map's cursor; while this process's Redis
 * subscription was away). A change is given to the feed once: live messages the log has given
 * already are left out, also when they arrive after its answer (they come on another connection).
 */
export class SeatFollower {
  /** Live changes heard while they may not be given yet (a catch-up runs, or the subscription is away): given after. */
  private heardMeanwhile: SeatState[] = [];
  /** A catch-up is reading the log. */
  private catchingUpNow = false;
  /**
   * This process's subscription was lost (pause) and no catch-up has begun since: a live change heard
   * now, once the channels are subscribed again, may come after changes lost meanwhile, which the
   * catch-up from the last change given before will replay first.
   */
  private paused = false;
  /** Live changes up to this cursor were given from the log: left out. */
  private caughtUpTo: string | undefined;
  /** Catch-ups run one after the other. */
  private catchingUp: Promise<void> = Promise.resolve();

  constructor(
    readonly scheduleId: number,
    readonly feed: SeatFeed,
    /** The latest change given to the feed, or where it started following: where a catch-up starts. */
    public cursor: string,
  ) {}

  /** A live change. */
  hear(change: SeatState): void {
    if (this.catchingUpNow || this.paused) {
      this.heardMeanwhile.push(change);
    } else if (this.caughtUpTo === undefined || isAfter(change, this.caughtUpTo)) {
      // Changes leave one Redis node in order: after the first one past the log's answer, none is in it.
      this.caughtUpTo = undefined;
      this.give(change);
    }
  }

  /** The subscription is away: live changes wait for the catch-up that follows its return (`resuming`). */
  pause(): void {
    this.paused = true;
  }

  /**
   * Gives the log's changes after `from` (by default where the feed is when this catch-up starts:
   * catch-ups wait for one another), as `readLog` reads them, then the live ones heard meanwhile that
   * the log did not have. Live changes wait while it runs; a failure is thrown after they are given.
   * `resuming`: the catch-up after the subscription came back, which ends a pause (the log read then
   * begins after the channels are live again, so it holds whatever was missed).
   */
  catchUp(readLog: (after: string) => Promise<SeatState[]>, from?: string, resuming = false): Promise<void> {
    const run = async () => {
      const start = from ?? this.cursor;
      if (resuming) this.paused = false;
      this.catchingUpNow = true;
      try {
        const logged = await readLog(start);
        this.caughtUpTo = logged.at(-1)?.seatChangesCursor ?? start;
        for (const change of logged) this.give(change);
      } finally {
        this.catchingUpNow = false;
        // Lost again meanwhile: what was heard waits for the next catch-up.
        if (!this.paused) {
          const heard = this.heardMeanwhile;
          this.heardMeanwhile = [];
          for (const change of heard) this.hear(change);
        }
      }
    };
    this.catchingUp = this.catchingUp.then(run, run);
    return this.catchingUp;
  }

  private give(change: SeatState): void {
    if (change.seatChangesCursor !== undefined) this.cursor = change.seatChangesCursor;
    this.feed.push(change);
  }
}
