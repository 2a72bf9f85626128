import type { TestServer } from './harness';

export interface ConcertFixture {
  concertId: string;
  scheduleIds: string[];
}

/** A concert made straight through the service (setup, not the behaviour under test). */
export async function createConcert(
  server: TestServer,
  /** `startsAt`: the first date's start (2030-01-01 19:00 UTC unless given), the others a day apart. */
  options: { maxActiveUsers?: number; seatCount?: number; price?: number; schedules?: number; salesOpenAt?: Date; startsAt?: Date; title?: string; venue?: string } = {},
): Promise<ConcertFixture> {
  const concert = await server.app.services.concerts.create({
    title: options.title ?? 'Fixture Concert',
    venue: options.venue ?? 'Test Hall',
    maxActiveUsers: options.maxActiveUsers ?? 1,
    salesOpenAt: options.salesOpenAt ?? null,
    schedules: Array.from({ length: options.schedules ?? 1 }, (_, i) => ({
      startsAt: new Date((options.startsAt?.getTime() ?? Date.UTC(2030, 0, 1, 19)) + i * 86_400_000),
      seatCount: options.seatCount ?? 10,
      price: options.price ?? 100,
    })),
  });
  const schedules = await server.app.services.concerts.schedulesOf(concert.id);
  return { concertId: String(concert.id), scheduleIds: schedules.map((s) => String(s.id)) };
}
