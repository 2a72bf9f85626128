import type { ConcertInput, ConcertService } from './concert-service';

const DAY = 86_400_000;

function demoConcerts(now: number): ConcertInput[] {
  const at = (days: number) => new Date(Math.floor((now + days * DAY) / 3_600_000) * 3_600_000);
  return [
    { title: 'Aurora Live', venue: 'Olympic Hall, Seoul', maxActiveUsers: 50, schedules: [{ startsAt: at(30), seatCount: 50, price: 120 }, { startsAt: at(31), seatCount: 50, price: 120 }] },
    { title: 'The Midnight Strings', venue: 'Royal Albert Hall, London', maxActiveUsers: 20, schedules: [{ startsAt: at(45), seatCount: 40, price: 90 }] },
    { title: 'Neon Harbour Festival', venue: 'Harbour Stage, Sydney', maxActiveUsers: 100, schedules: [{ startsAt: at(60), seatCount: 100, price: 60 }, { startsAt: at(61), seatCount: 100, price: 75 }] },
  ];
}

/** Gives an empty database a few concerts so a fresh start has something to book. Returns how many were made. */
export async function seedDemoConcerts(concerts: ConcertService): Promise<number> {
  if ((await concerts.list()).length > 0) return 0;
  const inputs = demoConcerts(Date.now());
  // One transaction: a start killed mid-seed leaves none, and the next start seeds them all.
  await concerts.createAll(inputs);
  return inputs.length;
}
