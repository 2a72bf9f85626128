import { createContext, useContext, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useClient, useMutation } from 'urql';
import { feedRetryMs, retryAfterFailureMs } from '../logic/connection';
import { problemOf, type Problem } from '../logic/errors';
import { NewestSource } from '../logic/newest';
import { applySeatChange, choiceCounts, followSeatFailure, heldWords, openingChoice, pendingOwnSeats, rereadDelayMs, seatFailureShown, seatKeyTarget, seatLook, seatLookWords, seatPages, seatPositions, seatsFromLists, type SeatChange, type SeatFailure, type SeatLook, type SeatState, type SeatStatus } from '../logic/seats';
import { serverClock } from '../logic/server-clock';
import { formatDateTime } from '../logic/time';
import { HoldSeat, ScheduleSeats, SeatChanged, type HoldItem } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { useChosenOnce } from './hooks';
import { keepInPlace } from './keep-in-place';
import { HoldsInMotionContext, HoldsInPaymentContext } from './my-holds';
import { tellOtherTabs } from './other-tabs';
import { settledHolds, useReleaseHold } from './release-hold';
import { pointsWords } from '../logic/points';

/** Where an open map reports its free seats as they change (undefined once it closes): see withLiveCounts. */
export const FreeSeatsReport = createContext<(scheduleId: string, free: number | undefined) => void>(() => undefined);

interface SeatMapState {
  seats: readonly SeatState[] | null;
  /** How many times the map has been read (a read again replaces what the feed and answers made of it). */
  reads: number;
  /** Why the live feed or the read failed; NOT_ACTIVE is the feed's normal end (shopping time is over). */
  ended?: string;
}

/**
 * The seats of one schedule, live: read the map, then subscribe to seatChanged from the map's cursor,
 * which starts with every change made since the read (none lost between the two), and apply each on
 * top (changes are in order, so the last one for a seat wins). After a reconnect (`reconnects` moves)
 * the feed goes on from the cursor of the last change heard: what changed while the socket was down
 * comes first, and the map is read again only if that was too long ago for the server to say.
 */
export function useSeatMap(scheduleId: string, reconnects: number, onChange?: (change: SeatChange) => void): [SeatMapState, SeatAnswers] {
  const client = useClient();
  const [state, setState] = useState<SeatMapState>({ seats: null, reads: 0 });
  // Moves to read the map and subscribe again: after a failure that says "not now" (a busy server),
  // or when the map was found wrong.
  const [attempt, setAttempt] = useState(0);
  // The live feed against the answers to the fan's own holds and releases (see NewestSource).
  const [sources] = useState(() => new NewestSource<string>());
  const changed = useRef(onChange);
  changed.current = onChange;
  // Where each seat is in the map as last read (see seatPositions).
  const positions = useRef<ReadonlyMap<string, number>>(new Map());
  const apply = (seats: readonly SeatState[] | null, change: SeatChange) => seats && applySeatChange(seats, change, positions.current);
  // The map shown, as of which change: what a feed started again after a reconnect goes on from (a
  // new attempt, schedule or client reads the map again).
  const shown = useRef<{ attempt: number; scheduleId: string; client: unknown; cursor: string } | null>(null);
  // When the map was last read, and a read again asked for within the spacing since (see rereadDelayMs).
  const lastReadAt = useRef<number | undefined>(undefined);
  const reread = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(reread.current), []);

  useEffect(() => {
    let live = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let feed: { unsubscribe(): void } | undefined;
    /** Shows the failure; a transient one is tried again by itself, backing off (and never before the server's Retry-After). */
    const fail = (problem: Problem | undefined) => {
      const code = problem?.code;
      setState((s) => ({ ...s, ended: code }));
      const delay = feedRetryMs(problem, attempt);
      if (delay === undefined || retry) return;
      retry = setTimeout(() => setAttempt((n) => n + 1), delay);
    };
    /** Follows the map shown from its cursor. */
    const follow = (cursor: string) =>
      client.subscription(SeatChanged, { scheduleId, after: cursor }).subscribe((result) => {
        if (!live) return;
        const problem = result.error && problemOf(result.error);
        // The only input of ours the feed can refuse is the cursor: one too old to follow (the map
        // read, or the socket lost, long ago) means reading the map again, backing off.
        if (problem?.code === 'BAD_USER_INPUT') retry ??= setTimeout(() => setAttempt((n) => n + 1), retryAfterFailureMs(attempt));
        else if (result.error) fail(problem);
        const change = result.data?.seatChanged;
        if (!change) return;
        if (change.seatChangesCursor && shown.current) shown.current.cursor = change.seatChangesCursor;
        sources.live(change.id);
        setState((s) => ({ ...s, seats: apply(s.seats, change) }));
        changed.current?.(change);
      });
    const last = shown.current;
    if (last && last.attempt === attempt && last.scheduleId === scheduleId && last.client === client) {
      // As a map read again would: a failure the feed had before the reconnect is told again if it stands.
      setState((s) => ({ ...s, ended: undefined }));
      feed = follow(last.cursor);
    } else {
      shown.current = null;
      void client
        .query(ScheduleSeats, { id: scheduleId }, { requestPolicy: 'network-only' })
        .toPromise()
        .then((result) => {
          if (!live) return;
          const schedule = result.data?.schedule;
          if (!schedule) {
            fail(problemOf(result.error) ?? { code: 'NOT_FOUND' });
            return;
          }
          const read = seatsFromLists(schedule.seatMap);
          positions.current = seatPositions(read);
          setState((s) => ({ seats: read, reads: s.reads + 1 }));
          lastReadAt.current = performance.now();
          shown.current = { attempt, scheduleId, client, cursor: schedule.seatChangesCursor };
          feed = follow(schedule.seatChangesCursor);
        });
    }
    return () => {
      live = false;
      clearTimeout(retry);
      feed?.unsubscribe();
    };
  }, [client, scheduleId, reconnects, attempt, sources]);

  const answers: SeatAnswers = {
    send: () => sources.send(),
    apply: (change, sent) => {
      if (sources.takeAnswer(change.id, sent)) setState((s) => ({ ...s, seats: apply(s.seats, change) }));
    },
    reload: () => {
      if (reread.current !== undefined) return;
      reread.current = setTimeout(
        () => {
          reread.current = undefined;
          setAttempt((n) => n + 1);
        },
        rereadDelayMs(lastReadAt.current, performance.now()),
      );
    },
    statusOf: (seatId) => {
      const index = positions.current.get(seatId);
      const seat = index === undefined ? undefined : state.seats?.[index];
      return seat?.id === seatId ? seat.status : undefined;
    },
  };
  return [state, answers];
}

/** What the fan's own requests do to the map. */
interface SeatAnswers {
  /** A hold or release goes out: give what this returns to `apply` with its answer. */
  send(): number;
  /** The answer's seat status, unless the live feed said something newer about that seat meanwhile. */
  apply(change: SeatChange, sent: number): void;
  /** Reads the map again (it was found wrong), once the last read is MAP_REREAD_SPACING_MS old. */
  reload(): void;
  /** A seat's status as the map shows it (found through its position: no search of a stadium's seats). */
  statusOf(seatId: string): SeatStatus | undefined;
}

export function SeatMap({
  schedule,
  holds,
  reconnects,
  onHoldsChanged,
  onSeatChanged,
}: {
  schedule: { id: string; startsAt: string };
  holds: readonly HoldItem[];
  reconnects: number;
  onHoldsChanged: () => void;
  /** Told of every live change (the page refreshes its seat counts, and the fan's holds when the change may be theirs). */
  onSeatChanged?: (change: SeatChange) => void;
}) {
  const [{ seats, ended, reads }, answers] = useSeatMap(schedule.id, reconnects, onSeatChanged);
  const [, holdSeat] = useMutation(HoldSeat);
  const releaseHeld = useReleaseHold();
  const holdsInMotion = useContext(HoldsInMotionContext);
  // The fan's seats in a payment on its way or unanswered: not released from here (nor the cart).
  const inPayment = useContext(HoldsInPaymentContext);
  const announce = useAnnounce();
  const [busySeat, setBusySeat] = useState<string | null>(null);
  const [failure, setFailure] = useState<SeatFailure<Problem> | undefined>();
  // Seats whose hold this map had answered and the fan's holds, read again, do not list yet: the fan's,
  // not "held by someone else" (pendingOwnSeats); the answer's hold ID (by seat ID) lets the fan
  // release one at once. Those no longer pending are dropped for good (below).
  const [answeredHolds, setAnsweredHolds] = useState<ReadonlyMap<string, string>>(new Map());
  // Holds (IDs) this tab released, or is releasing, whose seat has read AVAILABLE since: a HELD after
  // that is a rival's, though a read of the fan's holds sent before the release may still list them.
  const [freedHere, setFreedHere] = useState<ReadonlySet<string>>(new Set());
  const knownHolds: [string, string][] = [...holds.map((hold): [string, string] => [hold.id, hold.seat.id]), ...[...answeredHolds].map(([seatId, holdId]): [string, string] => [holdId, seatId])];
  const newlyFreed = knownHolds.filter(([holdId, seatId]) => settledHolds.has(holdId) && !inPayment.has(seatId) && !freedHere.has(holdId) && answers.statusOf(seatId) === 'AVAILABLE').map(([holdId]) => holdId);
  useEffect(() => {
    if (newlyFreed.length > 0) setFreedHere((before) => new Set([...before, ...newlyFreed]));
  }, [newlyFreed.join()]);
  const mine = new Map(holds.filter((hold) => !freedHere.has(hold.id) && !newlyFreed.includes(hold.id)).map((hold) => [hold.seat.id, hold]));
  const followed = followSeatFailure(failure, failure && answers.statusOf(failure.seatId), reads);
  useEffect(() => {
    // Unless a newer failure (or none) was set meanwhile: this one was followed from an earlier render.
    if (followed !== failure) setFailure((current) => (current === failure ? followed : current));
  }, [followed]);
  const error = seatFailureShown(followed, mine.size, reconnects);
  // The reconnects and the map's reads when the failure comes, not when the seat was pressed (a hold
  // sent online may fail after a reconnect; the read again a SEAT_UNAVAILABLE asks for comes after
  // it): read through a ref by the handler of an earlier render.
  const countsNow = useRef({ reconnects, reads });
  countsNow.current = { reconnects, reads };
  const setError = (problem: Problem, seatId: string) => setFailure({ problem, seatId, heldThen: mine.size, reconnectsThen: countsNow.current.reconnects, readsThen: countsNow.current.reads });
  const pendingIds = pendingOwnSeats(answeredHolds.keys(), new Set(mine.keys()), answers.statusOf, holdsInMotion.moving);
  useEffect(() => {
    if (pendingIds.length < answeredHolds.size) setAnsweredHolds(new Map([...answeredHolds].filter(([seatId]) => pendingIds.includes(seatId))));
  }, [pendingIds.join(), answeredHolds]);
  const mySeatIds = new Set([...mine.keys(), ...pendingIds]);
  const holdIdOf = (seatId: string) => mine.get(seatId)?.id ?? (pendingIds.includes(seatId) ? answeredHolds.get(seatId) : undefined);
  const title = formatDateTime(schedule.startsAt);
  // A large map shows one page of seats at a time (see SEATS_PER_PAGE), opening where the fan's seats
  // are, else at the first with a free seat (openingChoice). Counted again only when the map or the
  // fan's held seats (`heldHere`, their IDs) change, not at every render.
  const heldHere = [...mySeatIds].sort().join(',');
  const pages = useMemo(() => seatPages(seats ?? [], mySeatIds), [seats, heldHere]);
  const reportFree = useContext(FreeSeatsReport);
  // A map whose feed has ended or failed is no fresher than the concert's counts read again.
  const free = seats && !ended ? pages.reduce((sum, p) => sum + p.free, 0) : undefined;
  useEffect(() => reportFree(schedule.id, free), [reportFree, schedule.id, free]);
  useEffect(() => () => reportFree(schedule.id, undefined), [reportFree, schedule.id]);
  const [chosenPage = 0, setChosenPage] = useChosenOnce(pages.length > 0 ? openingChoice(pages) : undefined);
  const pageIndex = Math.min(chosenPage, Math.max(0, pages.length - 1));
  const page = pages[pageIndex];
  const shown = seats && page ? seats.slice(page.start, page.end) : [];
  // The map is one Tab stop (roving tabindex): the seat last focused, else the first free one; the
  // arrow keys move between seats.
  const [focusedSeat, setFocusedSeat] = useState<string | null>(null);
  const tabStop = shown.find((seat) => seat.id === focusedSeat) ?? shown.find((seat) => seatLook(seat, mySeatIds) === 'AVAILABLE') ?? shown[0];

  // One hold or release at a time, and only of a seat that is free or the fan's. Seats are never
  // `disabled` but aria-disabled: a disabled button loses the keyboard focus (also a seat that reads
  // HELD for the moment between its hold's answer and the fan's holds read again), and a keyboard
  // user would have to tab back to the map after each seat.
  const busy = useRef(false);
  const unavailable = (seat: SeatState, look: string) => look === 'HELD' || look === 'RESERVED' || (look === 'MINE' && inPayment.has(seat.id));
  async function choose(seat: SeatState) {
    if (busy.current || unavailable(seat, seatLook(seat, mySeatIds))) return;
    busy.current = true;
    setFailure(undefined);
    setBusySeat(seat.id);
    const holdId = holdIdOf(seat.id);
    const sent = answers.send();
    const holdAnswered = holdId ? undefined : holdsInMotion.begin();
    try {
      if (holdId) {
        // Gone already (HOLD_NOT_FOUND), the holds read again below and the map's feed show the rest.
        const { released, problem } = await releaseHeld({ id: holdId, seat });
        if (released) answers.apply({ id: seat.id, status: 'AVAILABLE' }, sent);
        else if (problem) setError(problem, seat.id);
      } else {
        const result = await holdSeat({ seatId: seat.id });
        const problem = result.data ? undefined : (problemOf(result.error) ?? { code: 'NETWORK' });
        if (result.data) {
          const held = result.data.holdSeat;
          setAnsweredHolds((before) => new Map(before).set(seat.id, held.id));
          answers.apply({ id: seat.id, status: held.seat.status }, sent);
          tellOtherTabs('hold');
          announce(heldWords(held.seat.number, held.seat.price, held.expiresAt, serverClock.now()));
        } else if (problem) setError(problem, seat.id);
        // The map showed the seat free and it was not (a change it missed): read it again.
        if (problem?.code === 'SEAT_UNAVAILABLE') answers.reload();
      }
    } finally {
      busy.current = false;
      setBusySeat(null);
      // The holds' read goes out before the hold counts as answered: its seat is never in neither.
      onHoldsChanged();
      holdAnswered?.();
    }
  }

  function moveFocus(event: KeyboardEvent<HTMLOListElement>) {
    const buttons = Array.from(event.currentTarget.querySelectorAll<HTMLButtonElement>('button.seat'));
    const from = buttons.indexOf(event.target as HTMLButtonElement);
    if (from < 0) return;
    // Seats to a row, as laid out now (the grid fills the width): those on the first seat's line.
    const columns = buttons.filter((button) => button.offsetTop === buttons[0]?.offsetTop).length;
    const to = seatKeyTarget(event.key, event.ctrlKey, from, buttons.length, Math.max(1, columns));
    if (to === undefined) return;
    event.preventDefault();
    buttons[to]?.focus();
  }

  return (
    <section className="seat-map card" aria-label={`Seats for ${title}`} data-schedule={schedule.id}>
      <h5>{title}</h5>
      {seats === null && !ended && <p className="muted">Loading seats…</p>}
      {ended && ended !== 'NOT_ACTIVE' && <ErrorNote code={ended} />}
      {seats && pages.length > 1 && (
        <label className="seat-page">
          Seats{' '}
          <select value={pageIndex} onChange={(event) => setChosenPage(Number(event.target.value))}>
            {pages.map((p, index) => (
              <option key={p.start} value={index}>
                {`${seats[p.start]!.number}–${seats[p.end - 1]!.number} (${choiceCounts(p)})`}
              </option>
            ))}
          </select>
        </label>
      )}
      {seats && (
        <ol className="seats" aria-label={`Seat map: choose a free seat to hold it; the arrow keys move between seats${pages.length > 1 ? ' of this page (choose another page above)' : ''}`} onKeyDown={moveFocus}>
          {shown.map((seat) => {
            // The seat being held, before the answer: the feed may say HELD first, which is the fan's
            // hold as likely as a rival's; neither "yours" nor "someone else's" until the answer says.
            const look: SeatLook = busySeat === seat.id && !mine.has(seat.id) && seat.status === 'HELD' ? 'HOLDING' : seatLook(seat, mySeatIds);
            const label =
              look === 'AVAILABLE'
                ? `Hold seat ${seat.number}, ${pointsWords(seat.price)}`
                : look === 'MINE'
                  ? `Seat ${seat.number}, held by you: ${inPayment.has(seat.id) ? 'in your payment' : 'press to release it'}`
                  : `Seat ${seat.number}, ${seatLookWords(look)}`;
            return (
              <li key={seat.id}>
                <button
                  type="button"
                  className={`seat seat-${look.toLowerCase()}`}
                  data-seat={seat.number}
                  data-status={seat.status}
                  data-look={look}
                  aria-label={label}
                  title={`Seat ${seat.number}: ${seatLookWords(look)}`}
                  aria-disabled={busySeat !== null || unavailable(seat, look)}
                  aria-busy={busySeat === seat.id}
                  tabIndex={seat.id === tabStop?.id ? 0 : -1}
                  onFocus={() => setFocusedSeat(seat.id)}
                  onClick={(event) => {
                    keepInPlace(event.currentTarget);
                    void choose(seat);
                  }}
                >
                  {seat.number}
                </button>
              </li>
            );
          })}
        </ol>
      )}
      <ErrorNote problem={error} />
    </section>
  );
}

export function SeatLegend() {
  return (
    <ul className="legend" aria-label="Seat colours">
      <li>
        <span className="seat seat-available" aria-hidden="true" /> free
      </li>
      <li>
        <span className="seat seat-mine" aria-hidden="true" /> held by you
      </li>
      <li>
        <span className="seat seat-held" aria-hidden="true" /> held by someone else
      </li>
      <li>
        <span className="seat seat-reserved" aria-hidden="true" /> sold
      </li>
    </ul>
  );
}
