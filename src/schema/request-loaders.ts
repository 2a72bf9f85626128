import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import type { Services } from '../services';
import type { Concert, Schedule } from '../entities';
import { MAX_SEATS_PER_SCHEDULE, type ScheduleSize } from '../concerts/concert-service';
import type { ReservationRecord } from '../payments/payment';
import { sumInventories, type Inventory } from '../inventory/inventory';
import { notFound } from '../errors';
import type { SeatNode } from './types';

/**
 * Items one operation may be answered in its seat maps and reservation lists together: one seat map of
 * the largest schedule. The cost limit assumes lists of typical length (limits.ts); these two grow with
 * the data (a schedule of 100,000 seats, a fan's every reservation), so what they answer is counted as
 * it is: ten schedules' maps nested in a concert, or aliases of one list, would otherwise answer
 * millions of rows, and hold a replica's event loop for seconds, from one request.
 */
const MAX_ITEMS_PER_OPERATION = MAX_SEATS_PER_SCHEDULE;

const tooManyItems = () =>
  new GraphQLError(`This operation asks for more than ${MAX_ITEMS_PER_OPERATION.toLocaleString('en')} seats and reservations in all: ask for one schedule's seats at a time.`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
  });

/**
 * Batches what one GraphQL operation asks of many parents: `concerts { schedules { availableSeats } }`
 * costs a fixed number of queries, not some per concert and per schedule. One per request (or
 * subscription), created on first use, so nothing outlives the operation.
 */
export class RequestLoaders {
  private schedules: DataLoader<number, Schedule[]> | undefined;
  private concerts: DataLoader<number, Concert> | undefined;
  private scheduleById: DataLoader<number, Schedule> | undefined;
  private seats: DataLoader<number, SeatNode> | undefined;
  private inventories: DataLoader<ScheduleSize, Inventory, number> | undefined;
  private seatMaps: DataLoader<number, SeatNode[]> | undefined;
  private reservations: DataLoader<number, ReservationRecord[]> | undefined;
  /** Seats and reservations answered so far (MAX_ITEMS_PER_OPERATION). */
  private itemsAnswered = 0;

  constructor(private readonly services: Services) {}

  /** Counts `items` more against the operation's allowance; fails once it is spent. */
  private answer(items: number): void {
    this.itemsAnswered += items;
    if (this.itemsAnswered > MAX_ITEMS_PER_OPERATION) throw tooManyItems();
  }

  schedulesOf(concertId: number): Promise<Schedule[]> {
    this.schedules ??= new DataLoader((ids) => this.services.concerts.schedulesOfMany(ids));
    return this.schedules.load(concertId);
  }

  /** Schedule.availableSeats, and through it Concert.availableSeats and soldOut: every schedule of the operation at once. */
  scheduleInventory(schedule: ScheduleSize): Promise<Inventory> {
    // Not cached: a seatChanged subscription keeps these loaders, and each event must read the counts afresh.
    this.inventories ??= new DataLoader((schedules) => this.services.inventory.ofSchedules(schedules), { cacheKeyFn: (s) => s.id, cache: false });
    return this.inventories.load(schedule);
  }

  /** A concert's inventory: the sum of its schedules', read through the same loaders as Schedule.availableSeats. */
  async concertInventory(concertId: number): Promise<Inventory> {
    const schedules = await this.schedulesOf(concertId);
    return sumInventories(await Promise.all(schedules.map((schedule) => this.scheduleInventory(schedule))));
  }

  // The parent lookups below batch without caching: a subscription keeps its context (and so these
  // loaders) for its whole life, and a seat's status must be read afresh for every event.

  /** Schedule.concert. */
  concert(id: number): Promise<Concert> {
    this.concerts ??= new DataLoader(async (ids) => orNotFound(await this.services.concerts.findMany(ids), 'concert'), { cache: false });
    return this.concerts.load(id);
  }

  /** Seat.schedule. */
  schedule(id: number): Promise<Schedule> {
    this.scheduleById ??= new DataLoader(async (ids) => orNotFound(await this.services.concerts.findSchedules(ids), 'schedule'), { cache: false });
    return this.scheduleById.load(id);
  }

  /**
   * Schedule.seats for the viewer (one per request): each schedule's map read once per batch, however
   * many aliases ask for it (a schedule holds up to 100,000 seats; twenty aliases must not read it
   * twenty times). Not cached across batches, like the lookups below. A schedule the viewer may not
   * see fails alone. Each map answered counts its schedule's seats against the operation's allowance.
   */
  seatMap(viewerId: number, schedule: { id: number; totalSeats: number }): Promise<SeatNode[]> {
    // Counted before anything is read: a map past the allowance costs nothing.
    this.answer(schedule.totalSeats);
    this.seatMaps ??= new DataLoader(
      async (ids) => {
        const maps = new Map<number, Promise<SeatNode[] | Error>>();
        for (const id of new Set(ids)) maps.set(id, this.services.seatMap.seats(viewerId, id).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
        return Promise.all(ids.map((id) => maps.get(id) as Promise<SeatNode[] | Error>));
      },
      { cache: false },
    );
    return this.seatMaps.load(schedule.id);
  }

  /** User.reservations: read once per operation however many aliases ask for it (an HTTP request only: subscriptions select no list). */
  async reservationsOf(userId: number): Promise<ReservationRecord[]> {
    this.reservations ??= new DataLoader(async (ids) => Promise.all(ids.map((id) => this.services.payments.reservationsOf(id))));
    const reservations = await this.reservations.load(userId);
    this.answer(reservations.length);
    return reservations;
  }

  /** Hold.seat, Reservation.seat: with the seat's current status. */
  seat(id: number): Promise<SeatNode> {
    this.seats ??= new DataLoader(async (ids) => orNotFound(await this.services.seatMap.seatsByIds(ids), 'seat'), { cache: false });
    return this.seats.load(id);
  }
}

/** A batch's answers, with NOT_FOUND for each one missing. */
const orNotFound = <T>(found: (T | undefined)[], what: string): (T | Error)[] => found.map((value) => value ?? notFound(what));
