import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { useQuery } from 'urql';
import { seatSupply, seatsLeftWords, STARTED_WORDS } from '../logic/queue';
import { pointsWords } from '../logic/points';
import { formatDateTime, salesOpenCountdown } from '../logic/time';
import { Concerts, type ConcertItem } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { refocus } from './focus';
import { useLastGood, useNow, useReached, useTitle } from './hooks';
import { countWords, formatCount, nounFor } from '../logic/numbers';

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

/**
 * A schedule's date, its seats' price and, unless `showCount` is false (a count that is not kept
 * fresh), its free seats; once it has started, that it has (its seats are no longer offered).
 */
export function ScheduleLine({ schedule, showCount = true }: { schedule: Schedule; showCount?: boolean }) {
  const left = schedule.availableSeats;
  const started = useReached(Date.parse(schedule.startsAt));
  return (
    <li>
      <time dateTime={schedule.startsAt}>{formatDateTime(schedule.startsAt)}</time>
      {started && <span className="muted"> · {STARTED_WORDS}</span>}
      {!started && schedule.price !== null && <span data-testid="date-price"> · {pointsWords(schedule.price)} a seat</span>}
      {showCount && !started && (
        <>
          {' · '}
          <span className={left === 0 ? 'none-left' : undefined}>{left === 0 ? 'no seats free right now' : `${formatCount(left)} of ${countWords(schedule.totalSeats, 'seat')} free`}</span>
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

/** Concerts a page of the list shows (a grid of 2, 3 or 4 columns): the list grows with every concert ever made, so it is read a page at a time. */
export const CONCERTS_PER_PAGE = 24;

/**
 * Pages of the list shown, for the tab's life: back from a concert, the list is as long as the fan
 * left it (the concert they came from may be on page 3).
 */
let pagesShown = 1;

/**
 * The concert list, newest first (the concerts just announced, not those of years ago), a page at a
 * time: "More concerts" adds the next page below. Each page is read (and refreshed) on its own, one
 * concert more than it shows, which says whether another page follows, and starts after the last
 * concert of the page before as that page reads now: concerts announced meanwhile push every page
 * down, and none falls between two.
 */
export function ConcertList() {
  useTitle('Concerts');
  const [pages, setPages] = useState(pagesShown);
  // The page "More concerts" added last, which says itself when it is read.
  const [added, setAdded] = useState<number | null>(null);
  // What each page says follows it, once read: the ID the next page starts after, or null for nothing.
  const [nexts, setNexts] = useState<readonly (string | null)[]>([]);
  const report = useCallback((index: number, next: string | null) => setNexts((known) => (known[index] === next ? known : Object.assign([...known], { [index]: next }))), []);
  const more = useRef<HTMLButtonElement>(null);
  // Pages that can show: none after one that says nothing follows it (fewer concerts than pages remembered).
  let count = 1;
  while (count < pages && nexts[count - 1] !== null) count++;
  const lastNext = nexts[count - 1];
  const loadMore = () => {
    if (typeof lastNext !== 'string') return;
    pagesShown = count + 1;
    setAdded(count);
    setPages(count + 1);
  };
  return (
    <section aria-labelledby="concerts-title">
      <h2 id="concerts-title" tabIndex={-1}>Concerts</h2>
      <ul className="concerts">
        {Array.from({ length: count }, (_, index) => (
          <ConcertPage key={index} index={index} after={index === 0 ? null : nexts[index - 1]} onNext={report} added={index === added ? more : undefined} />
        ))}
      </ul>
      {/* Kept while the next page is read, so the keyboard focus stays on it. */}
      {(typeof lastNext === 'string' || (lastNext === undefined && count > 1)) && (
        <button ref={more} type="button" className="more" aria-disabled={lastNext === undefined} onClick={loadMore}>
          {lastNext === undefined ? 'Loading more concerts…' : 'More concerts'}
        </button>
      )}
    </section>
  );
}

/**
 * One page of the list, as items of the list's <ul>, starting after the concert `after` (null: the
 * newest; undefined: not known yet, so not read yet). `onNext` hears what follows it once read. A
 * page just `added` by "More concerts" says so in the live region; the focus stays on the button,
 * which loads the next (as a second click does), unless this was the last page: then it goes to the
 * page's first concert.
 */
function ConcertPage({ index, after, onNext, added }: { index: number; after: string | null | undefined; onNext: (index: number, next: string | null) => void; added?: RefObject<HTMLButtonElement | null> }) {
  const [result, refresh] = useQuery({ query: Concerts, variables: { limit: CONCERTS_PER_PAGE + 1, after, order: 'NEWEST_FIRST' }, pause: after === undefined });
  useRefresh(refresh, after === undefined ? null : CONCERTS_REFRESH_MS);
  // A read that failed for a passing reason is made again with backoff, not only at the next refresh.
  const concerts = useLastGood(result.data?.concerts, result.error, refresh);
  const shown = concerts?.slice(0, CONCERTS_PER_PAGE);
  const next = concerts === undefined ? undefined : concerts.length > CONCERTS_PER_PAGE ? (shown?.at(-1)?.id ?? null) : null;
  useEffect(() => {
    if (next !== undefined) onNext(index, next);
  }, [index, next, onNext]);
  const first = useRef<HTMLAnchorElement>(null);
  const announce = useAnnounce();
  const count = shown?.length;
  const told = useRef(false);
  useEffect(() => {
    if (!added || count === undefined || next === undefined || told.current) return;
    told.current = true;
    announce(`${formatCount(count)} more ${nounFor(count, 'concert')} shown${next === null ? ': that is all of them' : ''}.`);
    if (next === null) refocus(first.current, added.current);
  }, [added, count, next, announce]);
  return (
    <>
      {result.error && (
        <li>
          <ErrorNote error={result.error} read />
        </li>
      )}
      {!concerts && !result.error && <li className="muted">Loading concerts…</li>}
      {index === 0 && concerts?.length === 0 && <li className="muted">No concerts on sale yet.</li>}
      {shown?.map((concert, place) => (
        <li key={concert.id} className="card">
          {/* The badges beside the heading, not in it: its name would change with them (each second, counting down). */}
          <div className="title-line">
            <h3 id={`concert-${concert.id}-title`}>
              <a ref={place === 0 ? first : undefined} href={`#/concerts/${concert.id}`}>
                {concert.title}
              </a>
            </h3>
            <ConcertBadges concert={concert} />
          </div>
          <p className="muted">{concert.venue}</p>
          <ul className="schedules">
            {concert.schedules.map((schedule) => (
              <ScheduleLine key={schedule.id} schedule={schedule} />
            ))}
          </ul>
          {/* Named with the concert: a list of links reads as a list of names, and every card has one. */}
          <a className="button" href={`#/concerts/${concert.id}`}>
            {concert.soldOut ? 'See the concert' : 'Get tickets'}
            <span className="visually-hidden"> for {concert.title}</span>
          </a>
        </li>
      ))}
    </>
  );
}
