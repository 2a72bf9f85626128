import DataLoader from 'dataloader';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Services } from '../services';
import type { Concert, Schedule } from '../entities';
import { ConcertOrder, MAX_SEATS_PER_SCHEDULE, pageOf, type ConcertPage, type ScheduleSize } from '../concerts/concert-service';
import type { ReservationRecord } from '../payments/payment';
import { sumInventories, type Inventory } from '../inventory/inventory';
import { notFound } from '../errors';
import type { SeatNode } from './types';
import { RESOLVED_FIELD_WEIGHT, weightPerItem } from './item-weight';

/** A seat's plain fields (id, number, price, status) and __typename: what a seat map answers of each seat. */
const PLAIN_SEAT_FIELDS = 5;

/**
 * Fields one operation may resolve in the lists that grow with the data together (the concert list, a
 * concert's schedules, seat maps, a fan's reservations): one map of the largest schedule with every
 * plain field of every seat. The cost limit assumes lists of typical length (limits.ts); these grow
 * with the data (100 schedules in a concert, 100,000 seats in a schedule, every concert ever, a fan's
 * every reservation), so what they answer is counted as it is, each item by the fields selected under
 * it (weightPerItem): ten schedules' maps nested in a concert, schedules nested in their concert's
 * schedules, aliases of one list or of one field, or a map whose every seat names its schedule would
 * otherwise resolve tens of millions of fields, and hold a replica's event loop for seconds (or
 * exhaust its heap), from one request.
 */
const MAX_FIELDS_PER_OPERATION = MAX_SEATS_PER_SCHEDULE * PLAIN_SEAT_FIELDS;

const tooManyFields = () =>
  new GraphQLError(
    `This operation asks for more than ${MAX_FIELDS_PER_OPERATION.toLocaleString('en')} fields of concerts, schedules, seats and reservations in all (every plain field of the largest seat map; an object or a count under each item, such as a seat's schedule, counts ${RESOLVED_FIELD_WEIGHT}): ask for one schedule's seats at a time, for the schedule itself once beside them, and for no list inside another's items.`,
    { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
  );

/**
 * Batches what one GraphQL operation asks of many parents: `concerts { schedules { availableSeats } }`
 * costs a fixed number of queries, not some per concert and per schedule. One per request (or
 * subscription), created on first use, so nothing outlives the operation.
 */
export class RequestLoaders {
  /**
   * Reads of the concert list by page: the whole list (key `all`) once, whichever `after` each answer
   * starts from. Made on first use, as the loaders are: every live subscription keeps its context.
   */
  private concertPages: Map<string, Promise<Concert[]>> | undefined;
  private schedules: DataLoader<number, Schedule[]> | undefined;
  private concerts: DataLoader<number, Concert> | undefined;
  private scheduleById: DataLoader<number, Schedule> | undefined;
  private seats: DataLoader<number, SeatNode> | undefined;
  private inventories: DataLoader<ScheduleSize, Inventory, number> | undefined;
  private seatMaps: DataLoader<number, readonly SeatNode[]> | undefined;
  /** Schedule.seatChangesCursor, by schedule: read once per operation, before any seat map of it. Made on first use, as the loaders are. */
  private seatCursors: Map<number, Promise<string>> | undefined;
  private reservations: DataLoader<number, ReservationRecord[]> | undefined;
  /** Fields of the growing lists answered so far (MAX_FIELDS_PER_OPERATION). */
  private fieldsAnswered = 0;

  constructor(private readonly services: Services) {}

  /** Counts `fields` more against the operation's allowance; fails once it is spent. */
  private answer(fields: number): void {
    this.fieldsAnswered += fields;
    if (this.fieldsAnswered > MAX_FIELDS_PER_OPERATION) throw tooManyFields();
  }

  /**
   * Query.concerts: each page read once per operation however many aliases ask for it, and the whole
   * list once whatever order and `after` each alias asks (taken from it here: twenty aliases starting
   * after twenty concerts would otherwise read the table twenty times). Each answer counts its
   * concerts, times the fields each selects.
   */
  async concertList(info: GraphQLResolveInfo, page: ConcertPage): Promise<Concert[]> {
    const concerts = page.limit == null ? pageOf(await this.concertPage({}), page) : await this.concertPage(page);
    this.answer(concerts.length * weightPerItem(info));
    return concerts;
  }

  private concertPage(page: ConcertPage): Promise<Concert[]> {
    // No order (null) is the default order: one read for both.
    const key = page.limit == null ? 'all' : `${page.order ?? ConcertOrder.OLDEST_FIRST} ${page.limit} after ${page.after ?? ''}`;
    this.concertPages ??= new Map();
    let read = this.concertPages.get(key);
    if (!read) this.concertPages.set(key, (read = this.services.concerts.list(page)));
    return read;
  }

  /** Concert.schedules as answered: a concert holds up to 100, each counted with the fields it selects. */
  async answeredSchedulesOf(concertId: number, info: GraphQLResolveInfo): Promise<Schedule[]> {
    const schedules = await this.schedulesOf(concertId);
    this.answer(schedules.length * weightPerItem(info));
    return schedules;
  }

  schedulesOf(concertId: number): Promise<Schedule[]> {
    this.schedules ??= new DataLoader((ids) => this.services.concerts.schedulesOfMany(ids));
    return this.schedules.load(concertId);
  }

  /** Schedule.availableSeats, and through it Concert.availableSeats and soldOut: every schedule of the operation at once. */
  scheduleInventory(schedule: ScheduleSize): Promise<Inventory> {
    // Not cached: a seatChanged subscription keeps these loaders, and each event must read the counts afresh.
    this.inventories ??= new DataLoader(
      distinctKeys((schedules) => this.services.inventory.ofSchedules(schedules), (schedule) => schedule.id),
      { cacheKeyFn: (s) => s.id, cache: false },
    );
    return this.inventories.load(schedule);
  }

  /** A concert's inventory: the sum of its schedules', read through the same loaders as Schedule.availableSeats. */
  async concertInventory(concertId: number): Promise<Inventory> {
    const schedules = await this.schedulesOf(concertId);
    return sumInventories(await Promise.all(schedules.map((schedule) => this.scheduleInventory(schedule))));
  }

  // The parent lookups below batch without caching: a subscription keeps its context (and so these
  // loaders) for its whole life, and a seat's status must be read afresh for every event. Each batch
  // asks for every distinct key once (distinctKeys): a map's seats all name one schedule.

  /** Schedule.concert. */
  concert(id: number): Promise<Concert> {
    this.concerts ??= uncachedLookup((ids) => this.services.concerts.findMany(ids), 'concert');
    return this.concerts.load(id);
  }

  /** Seat.schedule. */
  schedule(id: number): Promise<Schedule> {
    this.scheduleById ??= uncachedLookup((ids) => this.services.concerts.findSchedules(ids), 'schedule');
    return this.scheduleById.load(id);
  }

  /**
   * Schedule.seats for the viewer (one per request): each schedule's map read once per batch, however
   * many aliases ask for it (a schedule holds up to 100,000 seats; twenty aliases must not read it
   * twenty times). Not cached across batches, like the lookups below. A schedule the viewer may not
   * see fails alone. Each map answered counts its schedule's seats, times the fields each seat
   * selects (weightPerItem), against the operation's allowance: all of them, as a status filter
   * is applied once the map is read; and as much against the account's seat-map budget.
   */
  async seatMap(viewerId: number, schedule: { id: number; totalSeats: number }, info: GraphQLResolveInfo): Promise<readonly SeatNode[]> {
    const fields = schedule.totalSeats * weightPerItem(info);
    // Counted before anything is read: a map past the allowance, or past the account's budget, costs nothing.
    this.answer(fields);
    await this.services.limits.seatMaps.charge(viewerId, fields);
    // Each map is read after its schedule's cursor: a change the read misses is then in the log after it.
    const readMap = async (id: number) => {
      await this.seatCursor(id);
      return this.services.seatMap.seats(viewerId, id);
    };
    this.seatMaps ??= new DataLoader(
      distinctKeys((ids) => Promise.all(ids.map((id) => readMap(id).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))))),
      { cache: false },
    );
    return this.seatMaps.load(schedule.id);
  }

  /** Schedule.seatChangesCursor: the one this operation's seat maps of the schedule were read after. */
  seatCursor(scheduleId: number): Promise<string> {
    this.seatCursors ??= new Map();
    let cursor = this.seatCursors.get(scheduleId);
    if (!cursor) {
      cursor = this.services.seatMap.cursor(scheduleId);
      this.seatCursors.set(scheduleId, cursor);
    }
    return cursor;
  }

  /** User.reservations: read once per operation however many aliases ask for it (an HTTP request only: subscriptions select no list). */
  async reservationsOf(userId: number, info: GraphQLResolveInfo): Promise<ReservationRecord[]> {
    this.reservations ??= new DataLoader(async (ids) => Promise.all(ids.map((id) => this.services.payments.reservationsOf(id))));
    const reservations = await this.reservations.load(userId);
    this.answer(reservations.length * weightPerItem(info));
    return reservations;
  }

  /** Hold.seat, Reservation.seat: with the seat's current status. */
  seat(id: number): Promise<SeatNode> {
    this.seats ??= uncachedLookup((ids) => this.services.seatMap.seatsByIds(ids), 'seat');
    return this.seats.load(id);
  }
}

/** An uncached loader of rows by ID (see the parent lookups), NOT_FOUND for each one missing. */
function uncachedLookup<V>(find: (ids: readonly number[]) => Promise<(V | undefined)[]>, what: string): DataLoader<number, V> {
  return new DataLoader(distinctKeys(async (ids) => orNotFound(await find(ids), what)), { cache: false });
}

/** A batch's answers, with NOT_FOUND for each one missing. */
const orNotFound = <T>(found: (T | undefined)[], what: string): (T | Error)[] => found.map((value) => value ?? notFound(what));

/**
 * A batch function asked each distinct key once (by `keyOf`), its answers handed to every duplicate:
 * an uncached DataLoader passes duplicates on, and 100,000 seats naming one schedule were 100,000 keys
 * of one SQL lookup.
 */
function distinctKeys<K, V, C = K>(batch: (keys: readonly K[]) => Promise<(V | Error)[]>, keyOf: (key: K) => C = (key) => key as unknown as C) {
  return async (keys: readonly K[]): Promise<(V | Error)[]> => {
    const indexOf = new Map<C, number>();
    const distinct: K[] = [];
    for (const key of keys) {
      if (indexOf.has(keyOf(key))) continue;
      indexOf.set(keyOf(key), distinct.length);
      distinct.push(key);
    }
    if (distinct.length === keys.length) return batch(keys);
    const answers = await batch(distinct);
    return keys.map((key) => answers[indexOf.get(keyOf(key)) as number] as V | Error);
  };
}
