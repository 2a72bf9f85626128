import type { ConcertService } from '../concerts/concert-service';
import type { Schedule } from '../entities';
import type { HoldService, LiveHold } from '../holds/hold-service';
import type { LiveQueueStatus } from '../queue/live-status';
import type { QueueService } from '../queue/queue-service';
import { groupBySchedule, seatState, SeatStatus, type SeatLists, type SeatState } from './seat';
import type { SeatCatalog } from './seat-catalog';
import type { SeatEvents } from './seat-events';
import { FreshReads } from '../caching/fresh-reads';

/** RESERVED (MySQL, the source of truth) wins over HELD (a live hold in Redis); anything else is AVAILABLE. */
function statusOf(seatId: number, reserved: Set<number>, held: Map<number, LiveHold>): SeatStatus {
  if (reserved.has(seatId)) return SeatStatus.RESERVED;
  return held.has(seatId) ? SeatStatus.HELD : SeatStatus.AVAILABLE;
}

/** Seat statuses as they are right now, and the live seatChanged stream. */
export class SeatMapService {
  /**
   * Whole maps, read once for every fan who asks while one is being read (each still gets a read
   * begun after it asked): the fans a tick admits together open the map together, and a
   * 100,000-seat schedule's sold seats are one SQL query of up to as many rows, and its holds one
   * Redis script; each answered fan costs only its own answer. Shared, not to be changed.
   */
  private readonly maps = new FreshReads((scheduleId: number) => this.readMap(scheduleId));
  /** A shared map's lists, made once for all who share it. */
  private readonly lists = new WeakMap<readonly SeatState[], SeatLists>();

  constructor(
    private readonly catalog: SeatCatalog,
    private readonly concerts: ConcertService,
    private readonly holds: HoldService,
    private readonly queue: QueueService,
    private readonly liveQueue: LiveQueueStatus,
    private readonly events: SeatEvents,
  ) {}

  /** Schedule.seats, every seat of the schedule by number: needs ACTIVE for the schedule's concert. */
  async seats(userId: number, scheduleId: number): Promise<readonly SeatState[]> {
    await this.requireActive(userId, scheduleId);
    return this.maps.get(scheduleId);
  }

  /** The map `seats` answered, as lists by seat number (shared alike, not to be changed). */
  listsOf(seats: readonly SeatState[]): SeatLists {
    let lists = this.lists.get(seats);
    if (!lists) {
      lists = { ids: seats.map((seat) => String(seat.id)), prices: seats.map((seat) => seat.price), statuses: seats.map((seat) => seat.status) };
      this.lists.set(seats, lists);
    }
    return lists;
  }

  private async readMap(scheduleId: number): Promise<readonly SeatState[]> {
    const [seats, reserved, held] = await Promise.all([this.catalog.ofSchedule(scheduleId), this.catalog.reservedIn(scheduleId), this.holds.liveHolds(scheduleId)]);
    return seats.map((seat) => seatState(seat, statusOf(seat.id, reserved, held)));
  }

  /**
   * Seats with their current status, in the order asked (undefined where none): Hold.seat and
   * Reservation.seat for a whole list at once. One SQL query for the reservations (the seats
   * themselves are mostly cached) and one Redis script per schedule, however many seats.
   */
  async seatsByIds(seatIds: readonly number[]): Promise<(SeatState | undefined)[]> {
    const seats = await this.catalog.findMany([...seatIds]);
    const bySchedule = groupBySchedule(seats, (seat) => seat.id);
    const [reserved, heldBySchedule] = await Promise.all([
      this.catalog.reservedAmong(seats.map((seat) => seat.id)),
      Promise.all([...bySchedule].map(([scheduleId, ids]) => this.holds.liveHolds(scheduleId, ids))),
    ]);
    const held = new Map(heldBySchedule.flatMap((holds) => [...holds]));
    const nodes = new Map(seats.map((seat) => [seat.id, seatState(seat, statusOf(seat.id, reserved, held))]));
    return seatIds.map((id) => nodes.get(id));
  }

  /**
   * seatChanged: needs ACTIVE for the schedule's concert (NOT_FOUND for an unknown schedule), and
   * ends with NOT_ACTIVE at the first admission tick after the fan stops being ACTIVE. From `after`
   * (a seat map's cursor), the changes since that read come first (see SeatEvents.subscribe).
   */
  async watch(userId: number, scheduleId: number, after?: string): Promise<AsyncIterable<SeatState>> {
    const schedule = await this.requireActive(userId, scheduleId);
    const concertId = schedule.concert.id;
    // The gate reads the fan's slot once more when it starts listening: a slot that ended while the
    // channel was being subscribed closes it at once rather than leaving the feed open for good.
    return await this.liveQueue.whileActive(userId, concertId, await this.events.subscribe(scheduleId, schedule.totalSeats, after));
  }

  /** Where the schedule's seat changes stand: read before a seat map, for seatChanged to follow it from (watch's `after`). */
  cursor(scheduleId: number): Promise<string> {
    return this.events.cursor(scheduleId);
  }

  /** The schedule, once the fan is known to be ACTIVE for its concert. */
  private async requireActive(userId: number, scheduleId: number): Promise<Schedule> {
    const schedule = await this.concerts.getSchedule(scheduleId);
    await this.queue.requireActive(userId, schedule.concert.id);
    return schedule;
  }
}
