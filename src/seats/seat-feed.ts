import { CoalescingStream } from '../streams/coalescing-stream';
import type { SeatState } from './seat';

/**
 * One seatChanged subscriber's unread events. A reader that falls behind (a slow phone, a socket
 * that stopped draining) is owed only each seat's latest status, so unread events are kept one per
 * seat, newest wins, in the order of their latest change: memory stays bounded by the schedule's
 * seat count however many events come, and nothing is ever refused inside the Redis message
 * handler (a throw there would take the whole process down).
 */
export class SeatFeed extends CoalescingStream<SeatState> {
  private readonly pending = new Map<number, SeatState>();

  constructor(
    /** Distinct seats that can be pending: the schedule's seat count. More means foreign events: the feed ends. */
    private readonly maxPending: number,
    private readonly whenClosed: () => void,
  ) {
    super();
  }

  protected keep(seat: SeatState): void {
    // Delete first so the seat moves to the end: readers see changes in the order of their latest one.
    this.pending.delete(seat.id);
    this.pending.set(seat.id, seat);
    if (this.pending.size > this.maxPending) this.close();
  }

  protected take(): { value: SeatState } | undefined {
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    const [seatId, seat] = first.value;
    this.pending.delete(seatId);
    return { value: seat };
  }

  protected forget(): void {
    this.pending.clear();
  }

  protected override onClose(): void {
    this.whenClosed();
  }
}
