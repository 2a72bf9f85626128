import { LockMode, type EntityClass, type EntityManager, type FilterQuery, type MikroORM } from '@mikro-orm/mysql';
import { JoinedReads } from '../caching/joined-reads';
import { SharedReads } from '../caching/shared-reads';
import { badInput, characterCount, notFound, orNotFound } from '../errors';
import { nothingCommitted, readSettled } from '../database/sql-transaction';
import { Concert, Schedule, Seat } from '../entities';
import { sharedNow } from '../redis/clock';

export interface ScheduleInput {
  startsAt: Date;
  seatCount: number;
  price: number;
}

export interface ConcertInput {
  title: string;
  venue: string;
  maxActiveUsers: number;
  schedules: ScheduleInput[];
  /** Absent or null: sales open at once. */
  salesOpenAt?: Date | null;
}

/** The most seats one schedule may have. */
export const MAX_SEATS_PER_SCHEDULE = 100_000;
/**
 * A concert's seats are written in one transaction at creation: 100 schedules of 100,000 seats (10
 * million rows) held MySQL for minutes. Half a million is five sold-out stadium nights.
 */
const MAX_SEATS_PER_CONCERT = 500_000;
const LIMITS = { text: 200, schedules: 100, seatsPerSchedule: MAX_SEATS_PER_SCHEDULE, seatsPerConcert: MAX_SEATS_PER_CONCERT, price: 100_000_000, maxActiveUsers: 1_000_000 };

/** Control characters (NUL, ESC…) and halves of a surrogate pair: nothing a fan could be shown. */
const UNPRINTABLE = /[\p{Cc}\p{Cs}]/u;
/**
 * What shows nothing on its own: characters that take no room (zero-width space, direction marks),
 * combining marks with no letter to sit on, and the fillers fonts draw blank (Hangul fillers, the
 * blank braille pattern). A title of only these looks empty.
 */
const INVISIBLE = /[\p{Cf}\p{M}\s\u115F\u1160\u2800\u3164\uFFA0]/gu;

function requireText(value: string, field: string): string {
  const trimmed = value.trim();
  if (trimmed.replace(INVISIBLE, '') === '' || characterCount(trimmed) > LIMITS.text) throw badInput(`${field} must have 1 to ${LIMITS.text} characters.`);
  if (UNPRINTABLE.test(trimmed)) throw badInput(`${field} must not contain control characters or broken ones (half of a surrogate pair).`);
  return trimmed;
}

function requireInt(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw badInput(`${field} must be an integer from ${min} to ${max}.`);
  return value;
}

function validMaxActiveUsers(value: number): number {
  return requireInt(value, 'maxActiveUsers', 1, LIMITS.maxActiveUsers);
}

/** The latest instant MySQL's DATETIME columns hold: a later date would fail the insert, not the input check. */
const LATEST_DATE = Date.parse('9999-12-31T23:59:59Z');
/**
 * The earliest date taken. DATETIME starts at year 1000, and the driver reads years under 100 back as
 * 19xx or 20xx (a row stored as 0030 failed every read of the concert list); nothing of a ticket sale
 * predates 1970, and a time in ms stays positive (a Redis opening time below 0 means "now").
 */
const EARLIEST_DATE = Date.parse('1970-01-01T00:00:00Z');

/** A date the database can store and read back as sent, or BAD_USER_INPUT naming the field. */
function requireDate(value: Date, field: string): Date {
  if (Number.isNaN(value.getTime())) throw badInput(`${field} is not a valid date.`);
  if (value.getTime() > LATEST_DATE) throw badInput(`${field} is too far in the future (9999-12-31 at the latest).`);
  if (value.getTime() < EARLIEST_DATE) throw badInput(`${field} is too far in the past (1970-01-01 at the earliest).`);
  return value;
}

/** Null (or absent) opens sales at once. */
function validSalesOpenAt(value: Date | null | undefined): Date | null {
  return value ? requireDate(value, 'salesOpenAt') : null;
}

/** The concert list's order, by ID: the order concerts were made in. */
export enum ConcertOrder {
  OLDEST_FIRST = 'OLDEST_FIRST',
  NEWEST_FIRST = 'NEWEST_FIRST',
}

/** A page of the concert list: at most `limit` concerts (absent: all), those after the concert `after` in the order (absent: from the first). */
export interface ConcertPage {
  limit?: number | null;
  after?: number | null;
  order?: ConcertOrder | null;
}

/** The most concerts one page of the list holds. */
export const MAX_CONCERT_PAGE = 100;

/**
 * The unlimited `page` of the whole list (oldest first, as list() reads it), as list() would answer
 * it: for a caller that read the whole list once and answers several pages of it.
 */
export function pageOf(oldestFirst: readonly Concert[], page: ConcertPage): Concert[] {
  const newestFirst = page.order === ConcertOrder.NEWEST_FIRST;
  const ordered = newestFirst ? [...oldestFirst].reverse() : [...oldestFirst];
  const after = page.after;
  return after == null ? ordered : ordered.filter((concert) => (newestFirst ? concert.id < after : concert.id > after));
}

/** A schedule's size (what inventory counts against) and start (after which its seats no longer change). */
export interface ScheduleSize {
  id: number;
  totalSeats: number;
  startsAt: Date;
}

/** Concerts, their schedules and seats: the catalogue. */
export class ConcertService {
  /**
   * Each concert's schedule sizes. Schedules and seats never change after createConcert, so they are
   * kept once read: inventory reads on every admission tick and request then cost no SQL.
   */
  private readonly sizes = new Map<number, ScheduleSize[]>();
  /** Reads of schedule sizes under way, by concert, shared by the calls that miss meanwhile. */
  private readonly sizeReads = new SharedReads<number>();
  private readonly concertReads = new JoinedReads<number, Concert>((ids) => this.byIds(Concert, ids));
  private readonly scheduleReads = new JoinedReads<number, Schedule>((ids) => this.byIds(Schedule, ids));
  /**
   * Schedules getSchedule has read, kept (they never change after createConcert): every seat map read
   * and seatChanged subscription looks its schedule up, and a replica's fans reconnecting at once
   * would each send that query.
   */
  private readonly knownSchedules = new Map<number, Schedule>();

  constructor(private readonly orm: MikroORM) {}

  /** The whole list grows with every concert ever made: clients page it. */
  list(page: ConcertPage = {}): Promise<Concert[]> {
    const limit = page.limit ?? undefined;
    if (limit !== undefined) requireInt(limit, 'limit', 1, MAX_CONCERT_PAGE);
    const newestFirst = page.order === ConcertOrder.NEWEST_FIRST;
    const after = page.after ?? undefined;
    const where = after === undefined ? {} : { id: newestFirst ? { $lt: after } : { $gt: after } };
    return this.orm.em.fork().find(Concert, where, { orderBy: { id: newestFirst ? 'desc' : 'asc' }, limit });
  }

  find(id: number): Promise<Concert | null> {
    return this.orm.em.fork().findOne(Concert, id);
  }

  get(id: number): Promise<Concert> {
    return orNotFound(this.find(id), 'concert');
  }

  /** Rows by ID, in the order asked (undefined where none), in one query. */
  private async byIds<T extends Concert | Schedule>(entity: EntityClass<T>, ids: number[]): Promise<(T | undefined)[]> {
    const rows = await this.orm.em.fork().find(entity, ids as FilterQuery<T>);
    const found = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => found.get(id));
  }

  /** Concerts by ID, in the order asked (undefined where none), in one query; joining one under way for the same IDs. */
  findMany(ids: readonly number[]): Promise<(Concert | undefined)[]> {
    return this.concertReads.load(ids);
  }

  /** Schedules by ID, in the order asked (undefined where none), in one query; joining one under way for the same IDs. */
  findSchedules(ids: readonly number[]): Promise<(Schedule | undefined)[]> {
    return this.scheduleReads.load(ids);
  }

  /** The schedule (NOT_FOUND if none), read once per process; reads joined while one is under way. */
  async getSchedule(id: number): Promise<Schedule> {
    const known = this.knownSchedules.get(id);
    if (known) return known;
    const [schedule] = await this.findSchedules([id]);
    if (!schedule) throw notFound('schedule');
    this.knownSchedules.set(id, schedule);
    return schedule;
  }

  async schedulesOf(concertId: number): Promise<Schedule[]> {
    const [schedules = []] = await this.schedulesOfMany([concertId]);
    return schedules;
  }

  /** Each concert's schedules, soonest first, in one query for all of them. */
  async schedulesOfMany(concertIds: readonly number[]): Promise<Schedule[][]> {
    const schedules = await this.orm.em.fork().find(Schedule, { concert: { $in: [...concertIds] } }, { orderBy: { startsAt: 'asc', id: 'asc' } });
    const byConcert = new Map<number, Schedule[]>(concertIds.map((id) => [id, []]));
    for (const schedule of schedules) byConcert.get(schedule.concert.id)?.push(schedule);
    for (const [id, found] of byConcert) this.sizes.set(id, found.map((schedule) => ({ id: schedule.id, totalSeats: schedule.totalSeats, startsAt: schedule.startsAt })));
    return concertIds.map((id) => byConcert.get(id) ?? []);
  }

  /** The schedules whose show is still to come: those whose seats still sell (or come back). */
  async upcomingScheduleIds(): Promise<number[]> {
    const rows = await this.orm.em.fork().find(Schedule, { startsAt: { $gt: new Date(sharedNow()) } }, { fields: ['id'] });
    return rows.map((row) => row.id);
  }

  /** Each concert's schedule sizes (empty for an unknown concert); one query for those neither known nor being read (see SharedReads). */
  async scheduleSizes(concertIds: readonly number[]): Promise<Map<number, ScheduleSize[]>> {
    await this.sizeReads.await(
      concertIds.filter((id) => !this.sizes.has(id)),
      (missing) => this.schedulesOfMany(missing),
    );
    return new Map(concertIds.map((id) => [id, this.sizes.get(id) ?? []]));
  }

  /** Creates the concert, its schedules and every numbered seat in one transaction (all or nothing). */
  async create(input: ConcertInput): Promise<Concert> {
    return (await this.createAll([input]))[0] as Concert;
  }

  /**
   * Creates these concerts as create() does, all in one transaction: the demo seed, which a crash must
   * not leave half done for good. A COMMIT that goes unanswered is settled before answering: told
   * "try again" when the concerts were in fact created, an admin would create them twice.
   */
  async createAll(inputs: readonly ConcertInput[]): Promise<Concert[]> {
    const valid = inputs.map(validConcert);
    const created: Concert[] = [];
    try {
      return await this.orm.em.fork().transactional(async (em) => {
        for (const { title, venue, maxActiveUsers, salesOpenAt, schedules } of valid) {
          const concert = em.create(Concert, { title, venue, maxActiveUsers, salesOpenAt });
          await em.persist(concert).flush();
          for (const input of schedules) {
            const schedule = em.create(Schedule, { concert, startsAt: input.startsAt, totalSeats: input.seatCount, price: input.price });
            await em.persist(schedule).flush();
            await this.insertSeats(em, schedule.id, input);
          }
          created.push(concert);
        }
        return created;
      });
    } catch (error) {
      // Failed before its COMMIT (not every concert written; or none to write), the transaction was
      // rolled back: nothing to settle.
      const atCommit = created.length > 0 && created.length === valid.length;
      if (!atCommit) throw error;
      return this.settleCreation(created);
    }
  }

  private async insertSeats(em: EntityManager, scheduleId: number, input: ScheduleInput): Promise<void> {
    const seats = Array.from({ length: input.seatCount }, (_, i) => ({ schedule: scheduleId, number: i + 1, price: input.price }));
    for (let i = 0; i < seats.length; i += 5000) await em.insertMany(Seat, seats.slice(i, i + 5000));
  }

  /** The concerts of a creation whose COMMIT went unanswered, if it committed; SERVICE_UNAVAILABLE saying which way it went, or that nobody can say yet. */
  private async settleCreation(created: Concert[]): Promise<Concert[]> {
    const found = await readSettled(
      this.orm,
      'SELECT id FROM concerts WHERE id IN (?) FOR UPDATE',
      [created.map((concert) => concert.id)],
      'The database did not confirm the creation in time: the concert may have been created. Look for it in the concert list before creating it again.',
    );
    if (found.length === 0) throw nothingCommitted('nothing was created.');
    return created;
  }

  async setMaxActiveUsers(concertId: number, maxActiveUsers: number): Promise<Concert> {
    validMaxActiveUsers(maxActiveUsers);
    const em = this.orm.em.fork();
    const concert = await orNotFound(em.findOne(Concert, concertId), 'concert');
    concert.maxActiveUsers = maxActiveUsers;
    await em.flush();
    this.concertReads.forget(concertId);
    return concert;
  }

  /**
   * Sets the opening time inside one transaction that holds the concert's row: `allow` (given the
   * current value) may refuse by throwing, and then nothing changes.
   */
  async setSalesOpenAt(concertId: number, salesOpenAt: Date | null, allow: (current: Date | null) => Promise<void>): Promise<Concert> {
    validSalesOpenAt(salesOpenAt);
    const concert = await this.holdingConcert(concertId, async (held) => {
      await allow(held.salesOpenAt);
      held.salesOpenAt = salesOpenAt;
      return held;
    });
    this.concertReads.forget(concertId);
    return concert;
  }

  /** Runs `work` with the opening time as committed, holding the concert's row: changes of it wait meanwhile. */
  async withOpeningHeld(concertId: number, work: (salesOpenAt: Date | null) => Promise<void>): Promise<void> {
    await this.holdingConcert(concertId, (concert) => work(concert.salesOpenAt));
  }

  /** One transaction holding the concert's row (NOT_FOUND if none); what `work` changes on it is committed with it. */
  private holdingConcert<T>(concertId: number, work: (concert: Concert) => Promise<T>): Promise<T> {
    return this.orm.em.fork().transactional(async (em) => work(await orNotFound(em.findOne(Concert, concertId, { lockMode: LockMode.PESSIMISTIC_WRITE }), 'concert')));
  }

  /** Capacities of the given concerts, for the admission tick (one query per tick). */
  async capacities(concertIds: number[]): Promise<Map<number, number>> {
    if (concertIds.length === 0) return new Map();
    const rows = await this.orm.em.fork().find(Concert, { id: { $in: concertIds } }, { fields: ['id', 'maxActiveUsers'] });
    return new Map(rows.map((row) => [row.id, row.maxActiveUsers]));
  }
}

/** The input checked (BAD_USER_INPUT naming what is wrong), with each schedule's fields as numbers and dates. */
function validConcert(input: ConcertInput) {
  const title = requireText(input.title, 'title');
  const venue = requireText(input.venue, 'venue');
  const maxActiveUsers = validMaxActiveUsers(input.maxActiveUsers);
  const salesOpenAt = validSalesOpenAt(input.salesOpenAt);
  if (input.schedules.length < 1 || input.schedules.length > LIMITS.schedules) {
    throw badInput(`A concert needs 1 to ${LIMITS.schedules} schedules.`);
  }
  const schedules = input.schedules.map((schedule, index) => {
    if (!(schedule.startsAt instanceof Date)) throw badInput(`schedules[${index}].startsAt is not a valid date.`);
    // A start already past is allowed (an import, a rehearsal): its reservations are simply not cancellable.
    requireDate(schedule.startsAt, `schedules[${index}].startsAt`);
    return {
      startsAt: schedule.startsAt,
      seatCount: requireInt(schedule.seatCount, `schedules[${index}].seatCount`, 1, LIMITS.seatsPerSchedule),
      price: requireInt(schedule.price, `schedules[${index}].price`, 0, LIMITS.price),
    };
  });
  const totalSeats = schedules.reduce((total, schedule) => total + schedule.seatCount, 0);
  if (totalSeats > LIMITS.seatsPerConcert) throw badInput(`A concert may have at most ${LIMITS.seatsPerConcert} seats across its schedules (this one: ${totalSeats}).`);
  return { title, venue, maxActiveUsers, salesOpenAt, schedules };
}
