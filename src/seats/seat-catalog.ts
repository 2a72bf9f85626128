import type { MikroORM } from '@mikro-orm/mysql';
import { notFound } from '../errors';
import { Reservation, Seat } from '../entities';

/** MySQL reads about seats and whether they are reserved, shared by holds, the seat map, events and payments. */
export class SeatCatalog {
  /**
   * Seats never change after createConcert, so a seat once read is kept: a hot seat's 1,000 rivals
   * cost one SQL lookup, not 1,000. Bounded; the oldest entry goes first.
   */
  private readonly seats = new Map<number, Seat>();

  constructor(
    private readonly orm: MikroORM,
    private readonly cacheSize = 100_000,
  ) {}

  /** The seat with its schedule loaded (holds need the concert to check ACTIVE), or NOT_FOUND. */
  async get(seatId: number): Promise<Seat> {
    const [seat] = await this.findMany([seatId]);
    if (!seat) throw notFound('seat');
    return seat;
  }

  /** The seats that exist among these, by ID, schedules loaded; only the ones not cached are read. */
  async findMany(seatIds: number[]): Promise<Seat[]> {
    const missing = seatIds.filter((id) => !this.seats.has(id));
    if (missing.length > 0) {
      const rows = await this.orm.em.fork().find(Seat, { id: { $in: missing } }, { populate: ['schedule'] });
      for (const seat of rows) this.remember(seat);
    }
    return [...new Set(seatIds)].sort((a, b) => a - b).flatMap((id) => this.seats.get(id) ?? []);
  }

  private remember(seat: Seat): void {
    if (this.seats.size >= this.cacheSize) this.seats.delete(this.seats.keys().next().value as number);
    this.seats.set(seat.id, seat);
  }

  ofSchedule(scheduleId: number): Promise<Seat[]> {
    return this.orm.em.fork().find(Seat, { schedule: scheduleId }, { orderBy: { number: 'asc' } });
  }

  /** Which of these seats are reserved. */
  async reservedAmong(seatIds: number[]): Promise<Set<number>> {
    if (seatIds.length === 0) return new Set();
    const rows = await this.orm.em.fork().find(Reservation, { seat: { $in: seatIds } }, { fields: ['seat'] });
    return new Set(rows.map((row) => row.seat.id));
  }

  /** Every reserved seat of the schedule. */
  async reservedIn(scheduleId: number): Promise<Set<number>> {
    const rows = await this.orm.em.fork().find(Reservation, { seat: { schedule: scheduleId } }, { fields: ['seat'] });
    return new Set(rows.map((row) => row.seat.id));
  }

  /** Reserved seats per schedule, in one query for all of them (absent: none). */
  async reservedCounts(scheduleIds: readonly number[]): Promise<Map<number, number>> {
    const rows = await this.orm.em
      .fork()
      .execute<{ scheduleId: number; n: number }[]>('SELECT s.schedule_id AS scheduleId, COUNT(*) AS n FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE s.schedule_id IN (?) GROUP BY s.schedule_id', [[...scheduleIds]]);
    return new Map(rows.map((row) => [Number(row.scheduleId), Number(row.n)]));
  }
}
