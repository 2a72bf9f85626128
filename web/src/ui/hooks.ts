import { createContext, useContext, useEffect, useMemo, useReducer, useRef, useState, useSyncExternalStore } from 'react';
import { Store, type Reach } from '../client';
import { Coalescer } from '../logic/coalesce';
import { feedRetryMs } from '../logic/connection';
import { problemOf, type ErrorLike } from '../logic/errors';
import { SecondTicker } from '../logic/second-ticker';
import { serverClock } from '../logic/server-clock';
import { enterHistoryEntry } from './focus';

/** Whether the server answers the page (the session's Api.reach). */
export const ReachContext = createContext(new Store<Reach>({ unreachable: false, recoveries: 0 }));

export function useReach(): Reach {
  return useStore(useContext(ReachContext));
}

/**
 * A query's data that survives a failed re-read: the last data that came, not nothing (a failed
 * holds read must not empty the cart). A read that failed for a passing reason (busy, rate-limited,
 * network) is made again with the live feeds' backoff (feedRetryMs), for as long as it keeps failing
 * so; one that got no answer, again at once when the server answers again.
 */
export function useLastGood<T>(data: T | undefined, error: ErrorLike | undefined, reread: (opts: { requestPolicy: 'network-only' }) => void): T | undefined {
  const last = useRef<T | undefined>(data);
  const retries = useRef(0);
  // A null is a read that failed, not an answer: a field the server could not read (Redis away)
  // nulls the object holding it (the concert, for its seat counts), and while it is read again urql
  // keeps that null without the error. Only NOT_FOUND says the thing itself is gone.
  const failed = data === undefined || (data === null && problemOf(error)?.code !== 'NOT_FOUND');
  useEffect(() => {
    if (failed) return;
    last.current = data;
    retries.current = 0;
  }, [data, failed]);
  useEffect(() => {
    const problem = problemOf(error);
    // A bug on the server is no passing reason: not asked again and again.
    const delay = problem?.code === 'INTERNAL_SERVER_ERROR' ? undefined : feedRetryMs(problem, retries.current);
    if (delay === undefined) return;
    retries.current += 1;
    const timer = setTimeout(() => reread({ requestPolicy: 'network-only' }), delay);
    return () => clearTimeout(timer);
  }, [error, reread]);
  // The server answers again (another request, or the reach probe, got through): the read is not left
  // to the end of its backoff (up to 10 s), while a section that never loaded shows nothing (its note
  // goes once the server answers).
  const { recoveries } = useReach();
  const recoveriesSeen = useRef(recoveries);
  useEffect(() => {
    if (recoveries === recoveriesSeen.current) return;
    recoveriesSeen.current = recoveries;
    if (problemOf(error)?.code !== 'NETWORK') return;
    retries.current = 0;
    reread({ requestPolicy: 'network-only' });
  }, [recoveries, error, reread]);
  return failed ? (last.current ?? data) : data;
}

/**
 * A choice the page opens at and the fan may change (a map's page, a concert's date): `opening` until
 * the fan chooses, fixed at the first one known, so it never moves under the fan as counts change
 * (the seats they look at, and the keyboard focus, would go with it).
 */
export function useChosenOnce<T>(opening: T | undefined): [T | undefined, (choice: T) => void] {
  const [chosen, setChosen] = useState<T | undefined>();
  useEffect(() => {
    if (chosen === undefined && opening !== undefined) setChosen(opening);
  }, [chosen, opening]);
  return [chosen ?? opening, setChosen];
}

/**
 * Triggers for `action` that run it once per `ms` however often they are called: `soon` after `ms`,
 * `now` at once, `urgent` at once unless it ran lately (see Coalescer). Nothing runs after unmount, and
 * a remount (StrictMode) starts afresh.
 */
export function useCoalesced(action: () => void, ms: number): { soon: () => void; now: () => void; urgent: () => void } {
  const latest = useRef(action);
  latest.current = action;
  const coalescer = useMemo(() => new Coalescer(() => latest.current(), ms), [ms]);
  useEffect(() => () => coalescer.cancel(), [coalescer]);
  return useMemo(() => ({ soon: () => coalescer.soon(), now: () => coalescer.now(), urgent: () => coalescer.urgent() }), [coalescer]);
}

/** The page's one clock for countdowns, on the server's time (see SecondTicker). */
const seconds = new SecondTicker(() => serverClock.now());

/** The longest a browser timer waits (about 24.8 days); a page open longer reads its data again meanwhile. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether the server's time has reached `at` (epoch ms), judged at each render (the estimate of the
 * server's clock may be corrected meanwhile): renders again once it does, with no ticking meanwhile.
 */
export function useReached(at: number): boolean {
  const reached = serverClock.now() >= at;
  // Each wake-up that finds the time not reached yet (the clock estimate moved) sets the next.
  const [wakeUps, wakeUp] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    if (reached) return;
    const ms = at - serverClock.now();
    if (ms > LONGEST_TIMER_MS) return;
    const timer = setTimeout(wakeUp, Math.max(0, ms) + 1);
    return () => clearTimeout(timer);
  }, [at, reached, wakeUps]);
  return reached;
}

/** The server's time now (its deadlines are what countdowns count to; see serverClock), as of the page's last tick. */
export function useNow(): number {
  return useSyncExternalStore(seconds.subscribe, seconds.get);
}

export function useStore<T>(store: Store<T>): T {
  return useSyncExternalStore(store.subscribe, store.get);
}

/** The part of location.hash after "#", kept in sync with navigation (back and forward work; see enterHistoryEntry). */
export function useHashRoute(): string {
  const [route, setRoute] = useState(() => {
    enterHistoryEntry();
    return window.location.hash.replace(/^#/, '') || '/';
  });
  useEffect(() => {
    const update = () => {
      enterHistoryEntry();
      setRoute(window.location.hash.replace(/^#/, '') || '/');
    };
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** Names the page in the tab's title (and the browser's history): `page` first, the app after it. */
export function useTitle(page: string): void {
  useEffect(() => {
    document.title = `${page} – Concert tickets`;
  }, [page]);
}
