import type { SeatState } from './seat';

/**
 * One seatChanged subscriber's unread events. A reader that falls behind (a slow phone, a socket
 * that stopped draining) is owed only each seat's latest status, so unread events are kept one per
 * seat, newest wins, in the order of their latest change: memory stays bounded by the schedule's
 * seat count however many events come, and nothing is ever refused inside the Redis message
 * handler (a throw there would take the whole process down).
 */
export class SeatFeed implements AsyncIterableIterator<SeatState> {
  private readonly pending = new Map<number, SeatState>();
  private reader: ((result: IteratorResult<SeatState>) => void) | undefined;
  private closed = false;

  constructor(
    /** Distinct seats that can be pending: the schedule's seat count. More means foreign events: the feed ends. */
    private readonly maxPending: number,
    private readonly onClose: () => void,
  ) {}

  push(seat: SeatState): void {
    if (this.closed) return;
    const reader = this.reader;
    if (reader) {
      this.reader = undefined;
      reader({ value: seat, done: false });
      return;
    }
    // Delete first so the seat moves to the end: readers see changes in the order of their latest one.
    this.pending.delete(seat.id);
    this.pending.set(seat.id, seat);
    if (this.pending.size > this.maxPending) this.close();
  }

  next(): Promise<IteratorResult<SeatState>> {
    const first = this.pending.entries().next();
    if (!first.done) {
      const [seatId, seat] = first.value;
      this.pending.delete(seatId);
      return Promise.resolve({ value: seat, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.reader = resolve;
    });
  }

  return(): Promise<IteratorResult<SeatState>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    this.reader?.({ value: undefined, done: true });
    this.reader = undefined;
    this.onClose();
  }
}
