import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import type { SocketState } from '../client';
import { concertPageName, inLine, waitsInLine } from '../logic/queue';
import { formatDateTime } from '../logic/time';
import { withLiveCounts, type SeatChange } from '../logic/seats';
import { ConcertDetail, type HoldItem, type PaymentResult, type QueueStatus } from '../operations';
import { useAnnounce } from './announcer';
import { Cart } from './cart';
import { CONCERTS_REFRESH_MS, ConcertBadges, ScheduleLine, useRefresh, type SaleFacts } from './concerts';
import { ErrorNote } from './errors';
import { PaidElsewhereNote } from './paid-elsewhere';
import { FreeSeatsReport } from './seat-map';
import { WaitingRoom } from './waiting-room';
import { markOnce } from './marks';
import { useCoalesced, useLastGood, useTitle } from './hooks';
import { useLine, useLineFeeds } from './line-feeds';
import { HoldsInMotionContext, HoldsInPaymentContext, useMyHolds } from './my-holds';
import { pointsWords } from '../logic/points';

/**
 * How often at most an ACTIVE fan's page re-reads, while the seat maps change, the per-schedule counts
 * and, for changes that may be the fan's own doing on another device (MaybeOwnChanges), their holds.
 */
const REREAD_AFTER_CHANGES_MS = 5_000;
/** Over how long the pages of a sold-out concert that sells again read it again (see ConcertPage). */
const REOPENED_READ_SPREAD_MS = 5_000;

/** Why the seats changed, where it matters: a seat sold (maybe the last), or the fan's own holds. */
type SeatsChange = 'sold' | 'mine';

/** An unknown concert ID (a stale or mistyped link) is NOT_FOUND, or BAD_USER_INPUT when it is no number at all. */
const NO_SUCH_CONCERT = 'This concert does not exist.';
const CONCERT_WORDS = { NOT_FOUND: NO_SUCH_CONCERT, BAD_USER_INPUT: NO_SUCH_CONCERT };

export function ConcertPage({ concertId, loggedIn, socket }: { concertId: string; loggedIn: boolean; socket: SocketState }) {
  const [detail, refreshDetail] = useQuery({ query: ConcertDetail, variables: { id: concertId } });
  // The fan's queueStatus feed for the concert (see LineFeeds), once it speaks: seats left concert-wide, pushed.
  // A fan in line reads the counts from it (and, ACTIVE, as the seat map changes), and so does one out
  // of a closed line (SOLD_OUT: the feed says when it sells again); otherwise (out of line, the feed
  // silent, logged out) the page refreshes the counts itself, like the list.
  const line = useLine(concertId);
  const live = line.status;
  // The status as it is kept current: in line by the feed or, while it is silent, by the checks over
  // HTTP; out of line by the feed alone. A stale one (out of line, the feed silent) says nothing of
  // the sale: the title and badges then follow the concert read.
  const current = live && (inLine(live.state) || !line.silent) ? live : undefined;
  useRefresh(refreshDetail, live && (inLine(live.state) || live.state === 'SOLD_OUT') && !line.silent ? null : CONCERTS_REFRESH_MS);
  // Waiting in line, the per-schedule counts are not re-read (to spare polling by the whole line; the
  // badge's count is live): none is shown rather than an old one, and they are read again when they show.
  const waiting = live !== undefined && waitsInLine(live.state);
  const wasWaiting = useRef(false);
  useEffect(() => {
    if (wasWaiting.current && !waiting) refreshDetail({ requestPolicy: 'network-only' });
    wasWaiting.current = waiting;
  }, [waiting, refreshDetail]);
  // The same once a sold-out concert sells again (a cancellation; the fan's status leaves SOLD_OUT):
  // every page of the concert hears it at once, so each reads at its own moment within
  // REOPENED_READ_SPREAD_MS (meanwhile the live count of seats left says the concert sells: seatSupply).
  const soldOutLive = live?.state === 'SOLD_OUT';
  const wasSoldOut = useRef(false);
  useEffect(() => {
    const reopened = wasSoldOut.current && !soldOutLive;
    wasSoldOut.current = soldOutLive;
    if (!reopened) return;
    const timer = setTimeout(() => refreshDetail({ requestPolicy: 'network-only' }), Math.random() * REOPENED_READ_SPREAD_MS);
    return () => clearTimeout(timer);
  }, [soldOutLive, refreshDetail]);
  // A re-read that failed (the network gone for a moment) keeps the page, the fan's cart and place in
  // line with it, under the error, and is made again with backoff.
  const read = useLastGood(detail.data?.concert, detail.error, refreshDetail);
  // Dates whose map is open count their free seats from it, live (see withLiveCounts). A map that
  // closes (the turn over) leaves its last count until the concert is read again: the read before it
  // may be seconds older.
  const [liveFree, setLiveFree] = useState<ReadonlyMap<string, number>>(new Map());
  const closedMaps = useRef(new Set<string>());
  const reportFree = useCallback((scheduleId: string, free: number | undefined) => {
    if (free === undefined) closedMaps.current.add(scheduleId);
    else {
      closedMaps.current.delete(scheduleId);
      setLiveFree((counts) => withCount(counts, scheduleId, free));
    }
  }, []);
  useEffect(() => setLiveFree((counts) => withoutClosed(counts, closedMaps.current)), [read]);
  const concert = useMemo(() => read && withLiveCounts(read, liveFree), [read, liveFree]);
  // A stale SOLD_OUT still names the page while the read agrees.
  useTitle(concertPageName(concert?.title ?? 'Concert', current ?? (live?.state === 'SOLD_OUT' && concert?.soldOut ? live : undefined)));
  // Per-schedule counts follow the live seat map (while the fan is ACTIVE) and the fan's own holds,
  // at most every REREAD_AFTER_CHANGES_MS: only the admitted re-read them, never the whole line.
  const { soon: refreshCounts, urgent: refreshCountsUrgently } = useCoalesced(() => refreshDetail({ requestPolicy: 'network-only' }), REREAD_AFTER_CHANGES_MS);
  // A seat sold while at most one is free (the count lags a tick) may have been the last one: read at
  // once, unless a read went out lately, so an ACTIVE fan is told the concert sold out then, not
  // "no seat is free" until the next re-read. Whether it was the last, only the concert's count
  // says (a seat map shows one schedule).
  // Read when called (a ref), so the callback stays the same: effects that depend on it (the cart's
  // note of a hold that ran out) must not run again as the count moves.
  // The fan's own holds changing (held, released, paid, run out) are read at once too, as the
  // fan watches the counts for them: otherwise the date lines contradict the live badge for seconds.
  const fewFree = useRef(false);
  fewFree.current = live !== undefined && live.seatsLeft <= 1;
  const onSeatsChanged = useCallback(
    (cause?: SeatsChange) => (cause === 'mine' || (cause === 'sold' && fewFree.current) ? refreshCountsUrgently() : refreshCounts()),
    [refreshCounts, refreshCountsUrgently],
  );
  useEffect(() => {
    if (concert) markOnce('ct:concert-rendered');
  }, [concert]);
  // Back after the socket dropped: the seat changes missed meanwhile moved the counts too (the seat
  // maps read themselves again; nothing else would make the counts follow until the next change).
  const reconnects = socket.reconnects;
  useEffect(() => {
    if (reconnects > 0) refreshCounts();
  }, [reconnects, refreshCounts]);

  return (
    <FreeSeatsReport.Provider value={reportFree}>
      <section aria-labelledby="concert-title">
        <p>
          <a href="#/">← All concerts</a>
        </p>
        <ErrorNote error={detail.error} words={CONCERT_WORDS} read />
        {concert && (
          <>
            <div className="title-line">
              <h2 id="concert-title" tabIndex={-1}>
                {concert.title}
              </h2>
              <ConcertBadges concert={current ? liveSale(concert, current, !line.silent) : concert} />
            </div>
            <p className="muted">{concert.venue}</p>
            <ul className="schedules">
              {concert.schedules.map((schedule) => (
                <ScheduleLine key={schedule.id} schedule={schedule} showCount={!waiting} />
              ))}
            </ul>
            {loggedIn ? <Booking concert={concert} socket={socket} onSeatsChanged={onSeatsChanged} /> : <p>Sign up or log in (above) to queue for tickets.</p>}
          </>
        )}
      </section>
    </FreeSeatsReport.Provider>
  );
}

/** The counts with this schedule's set; the same map when nothing changes, so nothing renders again. */
function withCount(counts: ReadonlyMap<string, number>, scheduleId: string, free: number): ReadonlyMap<string, number> {
  return counts.get(scheduleId) === free ? counts : new Map(counts).set(scheduleId, free);
}

/** The counts without those of maps that have closed (a read of the concert replaces them); the same map when there are none. */
function withoutClosed(counts: ReadonlyMap<string, number>, closed: ReadonlySet<string>): ReadonlyMap<string, number> {
  return [...counts.keys()].some((id) => closed.has(id)) ? new Map([...counts].filter(([id]) => !closed.has(id))) : counts;
}

/**
 * The concert's sale as the fan's feed has it, newer than the concert read: seats left, sold out and,
 * in line, the opening (salesOpenAt is set while PREQUEUE, where an operator may move it, and null
 * once sales are open, WAITING or ACTIVE). Out of a turn, a running feed (`feedRuns`) also says
 * whether the concert is sold out, and when it no longer is: a status out of a turn reads SOLD_OUT
 * while it is, pushed within a tick. In a turn it does not say, and with the feed silent it may be
 * older than the read: the read's word counts too.
 */
function liveSale(concert: SaleFacts, live: QueueStatus, feedRuns: boolean): SaleFacts {
  const soldOut = live.state === 'SOLD_OUT' || ((live.state === 'ACTIVE' || !feedRuns) && concert.soldOut);
  return { ...concert, availableSeats: live.seatsLeft, soldOut, salesOpenAt: inLine(live.state) ? live.salesOpenAt : concert.salesOpenAt };
}

function Booking({
  concert,
  socket,
  onSeatsChanged,
}: {
  concert: { id: string; title: string; maxActiveUsers: number; soldOut: boolean; schedules: readonly { id: string; startsAt: string; availableSeats: number }[] };
  socket: SocketState;
  /** The seats changed: the counts are to be read again. */
  onSeatsChanged: (cause?: SeatsChange) => void;
}) {
  const announce = useAnnounce();
  const myHolds = useMyHolds(REREAD_AFTER_CHANGES_MS);
  const { reread: rereadHolds, seatChanged, turnEnded } = myHolds;
  const refreshHolds = useCallback(() => {
    rereadHolds();
    onSeatsChanged('mine');
  }, [rereadHolds, onSeatsChanged]);
  const onSeatChanged = (change: SeatChange) => {
    onSeatsChanged(change.status === 'RESERVED' ? 'sold' : undefined);
    seatChanged(change);
  };
  const holdsStillHere = useCallback(async () => (await turnEnded()).some((hold) => hold.seat.schedule.concert.id === concert.id), [turnEnded, concert.id]);
  const [payment, setPayment] = useState<PaymentResult | null>(null);
  // Counted to end what is said of the last turn: the payment's card, shown through a new turn,
  // contradicted the balance; the cart's note of holds that ran out.
  const [entries, setEntries] = useState(0);
  const enteredAgain = useCallback(() => {
    setPayment(null);
    setEntries((n) => n + 1);
  }, []);
  // The same list until a read changes it: the cart's effects that compare reads run once a read.
  const holds = useMemo(() => (myHolds.holds ?? []).filter((hold) => hold.seat.schedule.concert.id === concert.id), [myHolds.holds, concert.id]);

  const feeds = useLineFeeds();
  // The cart's payment on its way: the cart's buttons wait, and the waiting room holds back what the
  // payment may cause before its answer (the seats it buys may read sold or held first).
  const [paying, setPaying] = useState(false);
  const onPaying = useCallback(() => {
    setPaying(true);
    feeds.paymentSent(concert.id, false);
  }, [feeds, concert.id]);
  const onPayEnded = useCallback(() => setPaying(false), []);
  const [unsettled, setUnsettled] = useState<readonly HoldItem[] | null>(null);
  // The seats of the payment on its way (all the cart shows, as Pay pays) or unanswered.
  const seatsInPayment = useMemo(() => new Set((unsettled ?? (paying ? holds : [])).map((hold) => hold.seat.id)), [unsettled, paying, holds]);
  const onPayFailed = useCallback((refused: boolean) => feeds.paymentFailed(concert.id, refused, false), [feeds, concert.id]);
  const onPaid = useCallback((paid: PaymentResult) => setPayment(paid), []);
  // A payment from another tab of the account ends the turn here too, and may come before its answer there.
  const { payingElsewhere, paidElsewhere } = useLine(concert.id);
  // Said after the waiting room's own news of the same render (its effects run first, a child's): what
  // the line says as the payment is answered must not cover the ticket codes.
  useEffect(() => {
    if (payment) announce(`Payment complete. ${payment.reservations.length === 1 ? 'Your ticket code is' : 'Your ticket codes are'} ${payment.reservations.map((r) => r.code).join(', ')}.`);
  }, [payment, announce]);

  return (
    <>
      {payment && (
        <section className="card paid" aria-labelledby="paid-title" data-testid="payment">
          <h3 id="paid-title" tabIndex={-1}>
            Payment complete
          </h3>
          <p>
            {pointsWords(payment.amount)} paid; {pointsWords(payment.balance)} left.
          </p>
          <ul className="tickets">
            {payment.reservations.map((r) => (
              <li key={r.id}>
                Seat {r.seat.number}
                {/* Seats of several dates (seat 10 on each, say) are told apart by their date. */}
                {severalDates(payment) && (
                  <>
                    {' '}
                    on <time dateTime={r.seat.schedule.startsAt}>{formatDateTime(r.seat.schedule.startsAt)}</time>
                  </>
                )}
                : ticket code <code className="ticket-code">{r.code}</code>
              </li>
            ))}
          </ul>
          <p>
            <a href="#/tickets">View all your tickets</a>
          </p>
        </section>
      )}
      <PaidElsewhereNote holds={holds} payingElsewhere={payingElsewhere} paidElsewhere={paidElsewhere} entries={entries} />
      <ErrorNote error={myHolds.error} read />
      <Cart
        concertId={concert.id}
        holds={holds}
        holdsKnown={myHolds.holds !== undefined}
        onHoldsChanged={refreshHolds}
        paying={paying}
        onPaying={onPaying}
        onPayEnded={onPayEnded}
        onPayFailed={onPayFailed}
        onPaid={onPaid}
        focusWhenGone={payment ? 'paid-title' : 'concert-title'}
        entries={entries}
        unsettled={unsettled}
        onUnsettled={setUnsettled}
      />
      <HoldsInPaymentContext.Provider value={seatsInPayment}>
        <HoldsInMotionContext.Provider value={myHolds.motion}>
          <WaitingRoom
            concert={concert}
            socket={socket}
            holds={holds}
            payment={payment}
            paidElsewhere={paidElsewhere}
            paying={paying || payingElsewhere}
            onHoldsChanged={refreshHolds} onSeatChanged={onSeatChanged} onTurnEndedHolding={holdsStillHere}
            onEnter={enteredAgain}
          />
        </HoldsInMotionContext.Provider>
      </HoldsInPaymentContext.Provider>
    </>
  );
}

/** Whether the payment bought seats of more than one date. */
const severalDates = (payment: PaymentResult) => new Set(payment.reservations.map((r) => r.seat.schedule.id)).size > 1;
