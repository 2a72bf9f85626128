import DataLoader from 'dataloader';
import type { Services } from '../services';
import type { Concert, Schedule } from '../entities';
import { notFound } from '../errors';
import type { ScheduleNode, SeatNode } from './types';

/**
 * Batches what one GraphQL operation asks of many parents: `concerts { schedules { availableSeats } }`
 * costs a fixed number of queries, not some per concert and per schedule. One per request (or
 * subscription), created on first use, so nothing outlives the operation.
 */
export class RequestLoaders {
  private schedules: DataLoader<number, Schedule[]> | undefined;
  private available: DataLoader<ScheduleNode, number, string> | undefined;
  private concerts: DataLoader<number, Concert> | undefined;
  private scheduleById: DataLoader<number, Schedule> | undefined;
  private seats: DataLoader<number, SeatNode> | undefined;

  constructor(private readonly services: Services) {}

  schedulesOf(concertId: number): Promise<Schedule[]> {
    this.schedules ??= new DataLoader((ids) => this.services.concerts.schedulesOfMany(ids));
    return this.schedules.load(concertId);
  }

  availableSeats(schedule: ScheduleNode): Promise<number> {
    this.available ??= new DataLoader(
      (schedules) => this.services.seatMap.availableSeats(schedules.map((s) => ({ id: s.id, totalSeats: s.totalSeats }))),
      { cacheKeyFn: (s) => s.id },
    );
    return this.available.load(schedule);
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

  /** Hold.seat, Reservation.seat: with the seat's current status. */
  seat(id: number): Promise<SeatNode> {
    this.seats ??= new DataLoader(async (ids) => orNotFound(await this.services.seatMap.seatsByIds(ids), 'seat'), { cache: false });
    return this.seats.load(id);
  }
}

/** A batch's answers, with NOT_FOUND for each one missing. */
const orNotFound = <T>(found: (T | undefined)[], what: string): (T | Error)[] => found.map((value) => value ?? notFound(what));
