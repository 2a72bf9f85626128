import type { SeatState } from './seat';
import type { SeatFeed } from './seat-feed';

/** A seat log cursor: a Redis stream ID, "ms-sequence" (SEAT_LOG_CURSOR, SeatState.seatChangesCursor). */
const SEAT_LOG_CURSOR_FORMAT = /^\d{1,15}-(\d{1,20})$/;
/** A stream ID's sequence is a 64-bit unsigned number: Redis refuses a larger one (an error, not an answer). */
const MAX_SEQUENCE = 2n ** 64n - 1n;

/** Whether `value` is a seat log cursor Redis takes. */
export function isSeatLogCursor(value: string): boolean {
  const sequence = SEAT_LOG_CURSOR_FORMAT.exec(value)?.[1];
  return sequence !== undefined && BigInt(sequence) <= MAX_SEQUENCE;
}

/** Whether cursor `a` comes after `b` in their seat log (ms, then the sequence within the ms). */
export function isLater(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs > bMs || (aMs === bMs && aSeq > bSeq);
}

/** Whether the change comes after the cursor. A change without one (from a replica of an earlier version) counts as after. */
export function isAfter(change: SeatState, cursor: string): boolean {
  const at = change.seatChangesCursor;
  return at === undefined || !isSeatLogCursor(at) || isLater(at, cursor);
}

/**
 * One seatChanged feed following its schedule: the live changes, and the seat log's when some may
 * have been missed (before the subscription, from a seat map's cursor; while this process's Redis
 * subscription was away). A change is given to the feed once: live messages the log has given
 * already are left out, also when they arrive after its answer (they come on another connection).
 */
export class SeatFollower {
  /**
   * Live changes heard while they may not be given yet (a catch-up runs, or the subscription is
   * away), the newest of each seat (a seat's last word is all a map needs): bounded by the
   * schedule's seats however long that lasts. Given after, oldest first.
   */
  private heardMeanwhile = new Map<number, SeatState>();
  /** A catch-up is reading the log, or is about to (a feed from a cursor, until its first). */
  private catchingUpNow: boolean;
  /**
   * The last loss of this process's subscription that paused the feed (pause), and the last whose
   * return a catch-up began for: paused while the first is the later. A live change heard once the
   * channels are subscribed again may come after changes lost meanwhile, which that catch-up, from
   * the last change given before the loss, replays first.
   */
  private pausedBy = 0;
  private resumedFor = 0;
  /** Live changes up to this cursor were given from the log: left out. */
  private caughtUpTo: string | undefined;
  /** Catch-ups run one after the other. */
  private catchingUp: Promise<void> = Promise.resolve();

  constructor(
    readonly scheduleId: number,
    readonly feed: SeatFeed,
    /** The latest change given to the feed, or where it started following: where a catch-up starts. */
    public cursor: string,
    /** Live changes wait for a first catch-up (from a cursor) to be given. */
    catchUpFirst = false,
  ) {
    this.catchingUpNow = catchUpFirst;
  }

  private get paused(): boolean {
    return this.pausedBy > this.resumedFor;
  }

  /** A live change. */
  hear(change: SeatState): void {
    if (this.catchingUpNow || this.paused) {
      // Moved to the end: the flush gives them in the order of each seat's last word.
      this.heardMeanwhile.delete(change.id);
      this.heardMeanwhile.set(change.id, change);
    } else if (this.caughtUpTo === undefined || isAfter(change, this.caughtUpTo)) {
      // Changes leave one Redis node in order: after the first one past the log's answer, none is in it.
      this.caughtUpTo = undefined;
      this.give(change);
    }
  }

  /** The subscription was lost (the `loss`th time): live changes wait for the catch-up of its return. */
  pause(loss: number): void {
    this.pausedBy = Math.max(this.pausedBy, loss);
  }

  /**
   * Gives the log's changes after where the feed is when this catch-up starts (catch-ups wait for
   * one another), as `readLog` reads them, then the live ones heard meanwhile that
   * the log did not have. Live changes wait while it runs; a failure is thrown after they are given.
   * `returnOf`: the catch-up after the subscription came back from that loss, which ends a pause no
   * later loss made (its log read begins once the channels are live again, so it holds what was missed).
   */
  catchUp(readLog: (after: string) => Promise<SeatState[]>, returnOf?: number): Promise<void> {
    const run = async () => {
      const start = this.cursor;
      if (returnOf !== undefined) this.resumedFor = Math.max(this.resumedFor, returnOf);
      this.catchingUpNow = true;
      try {
        const logged = await readLog(start);
        this.caughtUpTo = logged.at(-1)?.seatChangesCursor ?? start;
        for (const change of logged) this.give(change);
      } finally {
        this.catchingUpNow = false;
        // Lost again meanwhile: what was heard waits for the next catch-up.
        if (!this.paused) {
          const heard = [...this.heardMeanwhile.values()];
          this.heardMeanwhile.clear();
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
