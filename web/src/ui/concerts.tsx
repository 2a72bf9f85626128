import { useEffect } from 'react';
import { useQuery } from 'urql';
import { formatDateTime } from '../logic/time';
import { Concerts, type ConcertItem } from '../operations';
import { ErrorNote } from './errors';

/** Seat counts are public but have no public subscription: the list refreshes itself this often. */
export const CONCERTS_REFRESH_MS = 10_000;

/** Re-runs a query from the network every `ms` while the component is mounted. */
export function useRefresh(refresh: (opts: { requestPolicy: 'network-only' }) => void, ms: number): void {
  useEffect(() => {
    const timer = setInterval(() => refresh({ requestPolicy: 'network-only' }), ms);
    return () => clearInterval(timer);
  }, [refresh, ms]);
}

type Schedule = ConcertItem['schedules'][number];

export function ScheduleLine({ schedule }: { schedule: Schedule }) {
  const left = schedule.availableSeats;
  return (
    <li>
      <time dateTime={schedule.startsAt}>{formatDateTime(schedule.startsAt)}</time>
      {' · '}
      <span className={left === 0 ? 'none-left' : undefined}>
        {left === 0 ? 'no seats free right now' : `${left} of ${schedule.totalSeats} seats free`}
      </span>
    </li>
  );
}

/**
 * Badges for a concert's sale: the place for the sales-opening countdown and the sold-out badge once
 * the schema has them (fields other engineers are adding); today it derives what it can.
 */
export function ConcertBadges({ concert }: { concert: ConcertItem }) {
  const free = concert.schedules.reduce((sum, s) => sum + s.availableSeats, 0);
  if (concert.schedules.length > 0 && free === 0) return <span className="badge">No seats free right now</span>;
  return null;
}

export function ConcertList() {
  const [result, refresh] = useQuery({ query: Concerts });
  useRefresh(refresh, CONCERTS_REFRESH_MS);
  const concerts = result.data?.concerts;
  return (
    <section aria-labelledby="concerts-title">
      <h2 id="concerts-title">Concerts</h2>
      <ErrorNote error={result.error} />
      {!concerts && !result.error && <p className="muted">Loading concerts…</p>}
      {concerts?.length === 0 && <p className="muted">No concerts on sale yet.</p>}
      <ul className="concerts">
        {concerts?.map((concert) => (
          <li key={concert.id} className="card">
            <h3>
              <a href={`#/concerts/${concert.id}`}>{concert.title}</a> <ConcertBadges concert={concert} />
            </h3>
            <p className="muted">{concert.venue}</p>
            <ul className="schedules">
              {concert.schedules.map((schedule) => (
                <ScheduleLine key={schedule.id} schedule={schedule} />
              ))}
            </ul>
            <a className="button" href={`#/concerts/${concert.id}`} aria-label={`Get tickets for ${concert.title}`}>
              Get tickets
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
