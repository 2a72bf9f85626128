import { refusal } from './operation-limits';
import type { WindowCounter } from './counter';

/**
 * Fields of seat maps (Schedule.seats, Schedule.seatMap) one account may have answered per window
 * (SEAT_MAP_FIELDS_PER_MINUTE), weighed as the operation's allowance weighs them. The operation limit
 * counts a stadium's map as one operation, as it counts a status read: 600 of them a minute are
 * minutes of a replica's CPU, and from one account, within every other limit, they held its event
 * loop for seconds and, on sockets that did not read their answers, its heap. A map larger than the
 * whole budget costs the whole budget: still one a window.
 */
export class SeatMapBudget {
  constructor(private readonly counter: WindowCounter) {}

  /** Counts one map answered to this account; RATE_LIMITED once the window's budget is spent (never with the limit off). */
  async charge(userId: number, fields: number): Promise<void> {
    const verdict = await this.counter.consume(String(userId), Math.min(Math.max(1, fields), this.counter.max));
    if (!verdict.allowed) throw refusal(verdict);
  }
}
