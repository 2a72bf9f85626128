import DataLoader from 'dataloader';
import type { Services } from '../context';
import type { Schedule } from '../entities';
import type { ScheduleNode } from './types';

/**
 * Batches what one GraphQL operation asks of many parents: `concerts { schedules { availableSeats } }`
 * costs a fixed number of queries, not some per concert and per schedule. One per request (or
 * subscription), created on first use, so nothing outlives the operation.
 */
export class RequestLoaders {
  private schedules: DataLoader<number, Schedule[]> | undefined;
  private available: DataLoader<ScheduleNode, number, string> | undefined;

  constructor(private readonly services: Services) {}

  schedulesOf(concertId: number): Promise<Schedule[]> {
    this.schedules ??= new DataLoader((ids) => this.services.concerts.schedulesOfMany(ids));
    return this.schedules.load(concertId);
  }

  availableSeats(schedule: ScheduleNode): Promise<number> {
    this.available ??= new DataLoader(
      (schedules) => this.services.seatMap.availableSeats(schedules.map((s) => ({ id: Number(s.id), totalSeats: s.totalSeats }))),
      { cacheKeyFn: (s) => s.id },
    );
    return this.available.load(schedule);
  }
}
