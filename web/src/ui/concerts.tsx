import { useEffect } from 'react';
import { useQuery } from 'urql';
import { seatSupply, seatsLeftWords } from '../logic/queue';
import { formatDateTime, salesOpenCountdown } from '../logic/time';
import { Concerts, type ConcertItem } from '../operations';
import { ErrorNote } from './errors';
import { useLastGood, useNow, useTitle } from './hooks';

/**
 * Seat counts are public but have no public subscription: pages without a live feed (the list, a
 * concert seen logged out) refresh them this often, while the tab is visible. A fan in line reads
 * them from the queueStatus feed instead.
 */
export const CONCERTS_REFRESH_MS = 30_000;

/** Re-runs a query from the network every `ms` (none: never) while mounted and the tab is visible, plus once when it becomes visible again. */
export function useRefresh(refresh: (opts: { requestPolicy: 'network-only' }) => void, ms: number | null): void {
  useEffect(() => {
    if (ms === null) return;
    const again = () => {
      if (document.visibilityState === 'visible') refresh({ requestPolicy: 'network-only' });
    };
    const timer = setInterval(again, ms);
    document.addEventListener('visibilitychange', again);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', again);
    };
  }, [refresh, ms]);
}

type Schedule = ConcertItem['schedules'][number];

/** A schedule's date and, unless `showCount` is false (a count that is not kept fresh), its free seats. */
export function ScheduleLine({ schedule, showCount = true }: { schedule: Schedule; showCount?: boolean }) {
  const left = schedule.availableSeats;
  return (
    <li>
      <time dateTime={schedule.startsAt}>{formatDateTime(schedule.startsAt)}</time>
      {showCount && (
        <>
          {' · '}
          <span className={left === 0 ? 'none-left' : undefined}>{left === 0 ? 'no seats free right now' : `${left} of ${schedule.totalSeats} seats free`}</span>
        </>
      )}
    </li>
  );
}

export type SaleFacts = Pick<ConcertItem, 'salesOpenAt' | 'availableSeats' | 'soldOut'>;

/**
 * Badges for a concert's sale: "Sold out" (Concert.soldOut), otherwise the seats left concert-wide
 * ("All seats held right now" at 0: some may come back) and, before sales open, a live countdown.
 */
export function ConcertBadges({ concert }: { concert: SaleFacts }) {
  const supply = seatSupply(concert.soldOut, concert.availableSeats);
  return (
    <span className="badges">
      {supply === 'SOLD_OUT' && (
        <span className="badge sold-out" data-testid="sold-out-badge">
          Sold out
        </span>
      )}
      {supply !== 'SOLD_OUT' && concert.salesOpenAt && <OpeningBadge salesOpenAt={concert.salesOpenAt} />}
      {supply === 'PAUSED' && <span className="badge">All seats held right now</span>}
      {supply === 'LEFT' && (
        <span className="badge seats-left" data-testid="concert-seats-left">
          {seatsLeftWords(concert.availableSeats)}
        </span>
      )}
    </span>
  );
}

/** The sales-opening countdown, ticking each second; nothing once the opening time has come. */
function OpeningBadge({ salesOpenAt }: { salesOpenAt: string }) {
  const now = useNow();
  const words = salesOpenCountdown(salesOpenAt, now);
  if (!words) return null;
  return (
    <span className="badge opening" data-testid="sales-open-in">
      <time dateTime={salesOpenAt} title={formatDateTime(salesOpenAt)}>
        {words}
      </time>
    </span>
  );
}

export function ConcertList() {
  const [result, refresh] = useQuery({ query: Concerts });
  useRefresh(refresh, CONCERTS_REFRESH_MS);
  useTitle('Concerts');
  // A read that failed for a passing reason is made again with backoff, not only at the next refresh.
  const concerts = useLastGood(result.data?.concerts, result.error, refresh);
  return (
    <section aria-labelledby="concerts-title">
      <h2 id="concerts-title" tabIndex={-1}>Concerts</h2>
      <ErrorNote error={result.error} />
      {!concerts && !result.error && <p className="muted">Loading concerts…</p>}
      {concerts?.length === 0 && <p className="muted">No concerts on sale yet.</p>}
      <ul className="concerts">
        {concerts?.map((concert) => (
          <li key={concert.id} className="card">
            <h3 id={`concert-${concert.id}-title`}>
              <a href={`#/concerts/${concert.id}`}>{concert.title}</a> <ConcertBadges concert={concert} />
            </h3>
            <p className="muted">{concert.venue}</p>
            <ul className="schedules">
              {concert.schedules.map((schedule) => (
                <ScheduleLine key={schedule.id} schedule={schedule} />
              ))}
            </ul>
            <a className="button" href={`#/concerts/${concert.id}`} aria-describedby={`concert-${concert.id}-title`}>
              Get tickets
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
