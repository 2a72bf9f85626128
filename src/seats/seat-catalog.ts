import type { MikroORM } from '@mikro-orm/mysql';
import { sqlRead } from '../database/sql-transaction';
import { notFound } from '../errors';
import type { SeatInfo } from './seat';

interface SeatRow {
  id: number | string;
  scheduleId: number | string;
  concertId: number | string;
  number: number;
  price: number;
}

/** One statement, plain rows: seat maps read thousands of seats, and entities would cost far more. */
const SEAT_ROWS = 'SELECT s.id, s.schedule_id AS scheduleId, sc.concert_id AS concertId, s.number, s.price FROM seats s JOIN schedules sc ON sc.id = s.schedule_id';

const toInfo = (row: SeatRow): SeatInfo => ({ id: Number(row.id), scheduleId: Number(row.scheduleId), concertId: Number(row.concertId), number: Number(row.number), price: Number(row.price) });

/** MySQL reads about seats and whether they are reserved, shared by holds, the seat map, events and payments. */
export class SeatCatalog {
  /**
   * Seats never change after createConcert, so a seat once read is kept: a hot seat's 1,000 rivals
   * cost one SQL lookup, not 1,000. Plain values (about 200 bytes each, not an ORM entity holding
   * its EntityManager); bounded, the oldest entry goes first.
   */
  private readonly seats = new Map<number, SeatInfo>();

  /**
   * Whole schedules' seats, by number, kept alike: a map read by every fan a tick admits reads them
   * once (a 100,000-seat schedule's rows cost ~20 ms of the server's thread to parse). The promise is
   * kept, so fans arriving together share one read. Bounded by seats in all, the oldest schedule first.
   */
  private readonly schedules = new Map<number, { seats: Promise<readonly SeatInfo[]>; size: number }>();
  private scheduleSeats = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly cacheSize = 100_000,
    private readonly scheduleCacheSeats = 500_000,
  ) {}

  /**
   * The seat, or NOT_FOUND. With `admit`, the seat is kept only once `admit` accepts it: a caller who
   * may not use the seat (not ACTIVE) cannot fill the cache by scanning seat IDs.
   */
  async get(seatId: number, admit?: (seat: SeatInfo) => Promise<void>): Promise<SeatInfo> {
    const cached = this.seats.get(seatId);
    if (cached) return cached;
    const [seat] = await this.read([seatId]);
    if (!seat) throw notFound('seat');
    await admit?.(seat);
    this.remember(seat);
    return seat;
  }

  /** The seats that exist among these, in ID order; only the ones not cached are read. */
  async findMany(seatIds: number[]): Promise<SeatInfo[]> {
    const missing = seatIds.filter((id) => !this.seats.has(id));
    if (missing.length > 0) for (const seat of await this.read(missing)) this.remember(seat);
    return [...new Set(seatIds)].sort((a, b) => a - b).flatMap((id) => this.seats.get(id) ?? []);
  }

  /** Every seat of the schedule, by number (shared: not to be changed). */
  ofSchedule(scheduleId: number): Promise<readonly SeatInfo[]> {
    const cached = this.schedules.get(scheduleId);
    if (cached) return cached.seats;
    const entry = { seats: this.readSchedule(scheduleId), size: 0 };
    this.schedules.set(scheduleId, entry);
    entry.seats.then(
      (seats) => {
        if (this.schedules.get(scheduleId) !== entry) return;
        entry.size = seats.length;
        this.scheduleSeats += seats.length;
        // The oldest read first, whichever resolved last; not this one, nor one still being read.
        for (const [id, other] of this.schedules) {
          if (this.scheduleSeats <= this.scheduleCacheSeats) break;
          if (id === scheduleId || other.size === 0) continue;
          this.schedules.delete(id);
          this.scheduleSeats -= other.size;
        }
      },
      () => {
        if (this.schedules.get(scheduleId) === entry) this.schedules.delete(scheduleId);
      },
    );
    return entry.seats;
  }

  protected async readSchedule(scheduleId: number): Promise<SeatInfo[]> {
    const rows = await sqlRead<SeatRow>(this.orm, `${SEAT_ROWS} WHERE s.schedule_id = ? ORDER BY s.number`, [scheduleId]);
    return rows.map(toInfo);
  }

  /** Which of these seats are reserved (have a CONFIRMED reservation). */
  async reservedAmong(seatIds: number[]): Promise<Set<number>> {
    if (seatIds.length === 0) return new Set();
    // confirmed_seat_id is the seat while CONFIRMED, else NULL: its unique index answers this alone.
    const rows = await sqlRead<{ id: number | string }>(this.orm, 'SELECT confirmed_seat_id AS id FROM reservations WHERE confirmed_seat_id IN (?)', [seatIds]);
    return new Set(rows.map((row) => Number(row.id)));
  }

  /** The payments that hold any of these seats reserved, each with every seat it holds reserved (payment → seat IDs). One query. */
  async paymentsHolding(seatIds: number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    if (seatIds.length === 0) return out;
    const rows = await sqlRead<{ seatId: number | string; paymentId: number | string }>(
      this.orm,
      'SELECT confirmed_seat_id AS seatId, payment_id AS paymentId FROM reservations WHERE confirmed_seat_id IS NOT NULL AND payment_id IN (SELECT payment_id FROM reservations WHERE confirmed_seat_id IN (?))',
      [seatIds],
    );
    for (const row of rows) {
      const paymentId = Number(row.paymentId);
      const seats = out.get(paymentId);
      if (seats) seats.push(Number(row.seatId));
      else out.set(paymentId, [Number(row.seatId)]);
    }
    return out;
  }

  /** Every reserved seat of the schedule. */
  async reservedIn(scheduleId: number): Promise<Set<number>> {
    const rows = await sqlRead<{ id: number | string }>(this.orm, 'SELECT r.confirmed_seat_id AS id FROM reservations r JOIN seats s ON s.id = r.confirmed_seat_id WHERE s.schedule_id = ?', [scheduleId]);
    return new Set(rows.map((row) => Number(row.id)));
  }

  /** The numbers of the reserved seats, per schedule, in one query (absent: none): what the inventory is rebuilt from. */
  async reservedNumbers(scheduleIds: readonly number[]): Promise<Map<number, number[]>> {
    const rows = await sqlRead<{ scheduleId: number | string; number: number }>(this.orm, 'SELECT s.schedule_id AS scheduleId, s.number FROM reservations r JOIN seats s ON s.id = r.confirmed_seat_id WHERE s.schedule_id IN (?)', [[...scheduleIds]]);
    const out = new Map<number, number[]>();
    for (const row of rows) {
      const id = Number(row.scheduleId);
      const numbers = out.get(id) ?? [];
      out.set(id, numbers);
      numbers.push(Number(row.number));
    }
    return out;
  }

  /** Reserved seats per schedule, in one query for all of them (absent: none). */
  async reservedCounts(scheduleIds: readonly number[]): Promise<Map<number, number>> {
    const rows = await sqlRead<{ scheduleId: number; n: number }>(this.orm, 'SELECT s.schedule_id AS scheduleId, COUNT(*) AS n FROM reservations r JOIN seats s ON s.id = r.confirmed_seat_id WHERE s.schedule_id IN (?) GROUP BY s.schedule_id', [[...scheduleIds]]);
    return new Map(rows.map((row) => [Number(row.scheduleId), Number(row.n)]));
  }

  /**
   * Per schedule, what a seat count read just before this query may hold without an update having
   * been lost: at least the seats of sales older than `settleSeconds` (their counts were updated
   * long since), at most every reserved seat plus those cancelled within `settleSeconds` (their bits
   * may not be cleared yet). Times are the rows' own, written in UTC. One query for all schedules.
   */
  async reservedBounds(scheduleIds: readonly number[], settleSeconds: number): Promise<Map<number, { atLeast: number; atMost: number }>> {
    const rows = await sqlRead<{ scheduleId: number; settled: number | string; confirmed: number | string; recentlyCancelled: number | string }>(
      this.orm,
      `SELECT s.schedule_id AS scheduleId,
         SUM(r.status = 'CONFIRMED' AND r.created_at < UTC_TIMESTAMP() - INTERVAL ? SECOND) AS settled,
         SUM(r.status = 'CONFIRMED') AS confirmed,
         SUM(r.status = 'CANCELLED' AND r.cancelled_at >= UTC_TIMESTAMP() - INTERVAL ? SECOND) AS recentlyCancelled
       FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE s.schedule_id IN (?) GROUP BY s.schedule_id`,
      [settleSeconds, settleSeconds, [...scheduleIds]],
    );
    return new Map(rows.map((row) => [Number(row.scheduleId), { atLeast: Number(row.settled), atMost: Number(row.confirmed) + Number(row.recentlyCancelled) }]));
  }

  private async read(seatIds: number[]): Promise<SeatInfo[]> {
    const rows = await sqlRead<SeatRow>(this.orm, `${SEAT_ROWS} WHERE s.id IN (?)`, [seatIds]);
    return rows.map(toInfo);
  }

  private remember(seat: SeatInfo): void {
    if (this.seats.size >= this.cacheSize) this.seats.delete(this.seats.keys().next().value as number);
    this.seats.set(seat.id, seat);
  }
}
