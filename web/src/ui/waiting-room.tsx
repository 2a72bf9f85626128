import { useContext, useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';
import { useClient, useMutation, type CombinedError } from 'urql';
import type { SocketState } from '../client';
import { errorCode } from '../logic/errors';
import { ACTIVE_PAUSED_MESSAGE, ALL_STARTED_MESSAGE, datesOnSale, estimatedWaitWords, ACTIVE_SOLD_OUT_MESSAGE, activeSupplyNews, announcement, overHttpWords, HOLDS_OUTLAST_TURN, HOLDS_STILL_PAYABLE, lineProgress, lostWords, PAUSED_MESSAGE, PREQUEUE_MESSAGE, SEAT_BACK_MESSAGE, seatSupply, seatsLeftWords, SOLD_OUT_MESSAGE, inLine, waitsInLine } from '../logic/queue';
import { choiceCounts, openingChoice, type SeatChange } from '../logic/seats';
import { formatCountdown, formatDateTime, remainingMs, spokenCountdown, TURN_ENDING_MS, turnEndingWarning } from '../logic/time';
import { ConcertDetail, EnterQueue, LeaveQueue, type HoldItem, type PaymentResult, type QueueStatus } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { useChosenOnce, useNow, useReached } from './hooks';
import { STATUS_CHECK_MS, useLine, useLineFeeds } from './line-feeds';
import { HoldsInMotionContext } from './my-holds';
import { SeatLegend, SeatMap } from './seat-map';
import { refocus } from './focus';
import { countWords, formatCount } from '../logic/numbers';

interface Concert {
  id: string;
  title: string;
  /** ACTIVE slots: a fan within those free is let in as soon as a seat is. */
  maxActiveUsers: number;
  /** The server's word (Concert.soldOut), as the fan's feed has it (see concert-page's liveSale). */
  soldOut: boolean;
  /** availableSeats: a date's seats neither sold nor held, as last read. */
  schedules: readonly { id: string; startsAt: string; availableSeats: number }[];
}

/** The fan paid while out of line or at the end of a turn: on this page, in another tab of the account, or not. */
type PaidOutOfLine = false | 'here' | 'elsewhere';

/**
 * The waiting room for one concert, live from the concert's line feed (see LineFeeds: it runs while
 * this page shows, and on other pages while the fan is in line). NONE → the button to enter, and
 * what was lost if the fan was in line without leaving; PREQUEUE → the fair draw explained and the
 * countdown to the opening; WAITING → position, people waiting, estimated wait, progress and seats
 * left (or admission paused while every seat is held); ACTIVE → time left and the seat maps; SOLD_OUT
 * → the line is closed until a cancellation brings a seat back: the feed then says NONE (or, while
 * it is silent, a read says Concert.soldOut is false) and the fan may enter again.
 */
export function WaitingRoom({
  concert,
  socket,
  holds,
  payment,
  paidElsewhere,
  paying,
  onHoldsChanged,
  onSeatChanged,
  onTurnEndedHolding,
  onEnter,
}: {
  concert: Concert;
  socket: SocketState;
  holds: readonly HoldItem[];
  /** The fan's latest payment on this page: paying ends the ACTIVE slot. */
  payment: PaymentResult | null;
  /** Moves with each payment made in another tab of the account, which ends the turn as one made here does. */
  paidElsewhere: number;
  /**
   * A payment from this page, or from another tab of the account, is on its way: being out of line and
   * every seat taken may be that payment's doing, told before its answer. That is said once the answer
   * is in, if still news.
   */
  paying: boolean;
  onHoldsChanged: () => void;
  onSeatChanged?: (change: SeatChange) => void;
  /**
   * The turn ended while the fan held seats here, not by a payment of theirs on this page (another tab
   * or device may have paid for them): whether they still hold seats here, as a read after it says.
   */
  onTurnEndedHolding: () => Promise<boolean>;
  /** The fan asks to enter the line (again): a payment of an earlier turn is over and done. */
  onEnter: () => void;
}) {
  const announce = useAnnounce();
  const feeds = useLineFeeds();
  useEffect(() => feeds.watch(concert.id), [feeds, concert.id]);
  const line = useLine(concert.id);
  const { status, lostFrom } = line;
  const [entering, enterQueue] = useMutation(EnterQueue);
  const [leaving, leaveQueue] = useMutation(LeaveQueue);
  // The last enter or leave's error: the next one's outcome replaces it, so a success clears it.
  const [actionError, setActionError] = useState<CombinedError | undefined>();
  const previous = useRef<QueueStatus | undefined>(undefined);

  // Out of line (NONE) since a cancellation reopened the sold-out line, the fan is told a seat came
  // back, not the generic "not in line" (before the paint: the sentence does not flicker away).
  const [reopened, setReopened] = useState(false);
  useLayoutEffect(() => {
    const fromSoldOut = previous.current?.state === 'SOLD_OUT'; // read now: the status effect moves it on
    if (status) setReopened((was) => status.state === 'NONE' && (was || fromSoldOut));
  }, [status]);

  // Paying ends the ACTIVE slot: being out of line after it (NONE, then SOLD_OUT if the fan bought the
  // last seat; either may come before or after the payment's answer) is no news, and is not said over
  // the payment's announcement (the ticket codes): until the answer it waits (outOfLineWhilePaying
  // below), then it is said only if the payment was refused. Once the fan is in line again (waiting, or
  // let in straight from out of line; not on ACTIVE alone: a status of the paid turn read late must not
  // undo this), all is said again. Layout effects, like the status's below: they run first when both
  // change at once.
  const paidOutOfLine = useRef<PaidOutOfLine>(false);
  // Set by the effects below, after the render that brought the payment: the sold-out box (which
  // tells a fan who just bought not to wait for a seat) reads it in the render this asks for, before paint.
  const [, paidSeen] = useReducer((renders: number) => renders + 1, 0);
  // A payment sent while waiting in line (for seats of an earlier turn) ends no turn, not even one given
  // before its answer: the state the fan was in as it was sent, here or in another tab (set below). Nor
  // does one whose turn's end was seen before its answer, once the fan is in line again (entered again,
  // here or in another tab).
  const payingFrom = useRef<string | undefined>(undefined);
  const outSincePaying = useRef(false);
  const paidWhileWaiting = () => {
    const from = payingFrom.current ?? previous.current?.state;
    return from !== undefined && waitsInLine(from);
  };
  const endedNoTurn = () => paidWhileWaiting() || (outSincePaying.current && status !== undefined && inLine(status.state));
  useLayoutEffect(() => {
    if (payment && !endedNoTurn()) {
      paidOutOfLine.current = 'here';
      paidSeen();
      feeds.paymentPaid(concert.id, false);
    }
  }, [payment, feeds, concert.id]);
  // The same for a payment made in another tab of the account (which told this one's line feeds); the
  // holds shown here are read again after the turn's end all the same (they may be shown until then).
  useLayoutEffect(() => {
    if (paidElsewhere > 0 && !endedNoTurn()) {
      paidOutOfLine.current = 'elsewhere';
      paidSeen();
    }
  }, [paidElsewhere]);
  // After the effects above, which read them as the answer comes (a payment settled after a reload was
  // sent by no one here: the last state seen stands in).
  useLayoutEffect(() => {
    payingFrom.current = paying ? previous.current?.state : undefined;
    outSincePaying.current = false;
  }, [paying]);
  useLayoutEffect(() => {
    if (paying && status && !inLine(status.state)) outSincePaying.current = true;
  }, [paying, status]);
  // Whether the fan holds seats, and what they lost: read when the status changes, not themselves a reason to say anything.
  const holding = useRef(false);
  holding.current = holds.length > 0;
  const lost = useRef(lostFrom);
  lost.current = lostFrom;
  // While the holds after a turn's end are read, the page does not say they can still be paid for: from
  // before the paint that shows the turn's end (a layout effect), not one frame after.
  const [readingHoldsAfterTurn, setReadingHoldsAfterTurn] = useState(false);
  // Out of line (NONE, SOLD_OUT) while this page's payment is on its way may be that payment's doing:
  // said once it is answered, if still news. Being let in or moving up is said at once.
  const outOfLineWhilePaying = paying && status !== undefined && !waitsInLine(status.state) && status.state !== 'ACTIVE';
  useLayoutEffect(() => {
    if (!status || outOfLineWhilePaying) return;
    const before = previous.current;
    // In line again (let in straight from out of line counts: entered again, here or in another tab).
    if (waitsInLine(status.state) || (status.state === 'ACTIVE' && before !== undefined && !inLine(before.state))) paidOutOfLine.current = false;
    previous.current = status;
    const say = (holdingSeats: boolean) => {
      const said = announcement(before, status, { afterPayment: paidOutOfLine.current !== false, holdingSeats, lostFrom: lost.current });
      if (said) announce(said);
    };
    const turnEndedHolding = before?.state === 'ACTIVE' && status.state !== 'ACTIVE' && holding.current && paidOutOfLine.current !== 'here';
    if (!turnEndedHolding) return say(holding.current);
    // The holds shown may have been sold by a payment elsewhere, which ended the turn: what is said of
    // them waits for the read that follows the turn's end (by then, this page's own payment may have
    // answered: it is no news then).
    let current = true;
    let said = false;
    setReadingHoldsAfterTurn(true);
    void onTurnEndedHolding().then((holdingSeats) => {
      if (!current) return;
      said = true;
      setReadingHoldsAfterTurn(false);
      say(holdingSeats);
    });
    return () => {
      current = false;
      setReadingHoldsAfterTurn(false);
      // A newer status came before the read (the feed's push after the leave's answer, say): the turn's
      // end is still to be said, so the next run starts from the status before it, and reads again.
      // Once said, the next runs start from the turn's end (compared with the turn, being let in again
      // would be no news).
      if (!said) previous.current = before;
    };
  }, [status, outOfLineWhilePaying, announce, onTurnEndedHolding]);
  // Entering, leaving or being let in swaps the buttons: the focus on one that went goes to the room's
  // heading; once let in, from there (or from the button) to the turn's.
  const state = status?.state;
  useEffect(() => {
    const roomTitle = document.getElementById('room-title');
    if (state === 'ACTIVE') refocus(document.getElementById('turn-title'), roomTitle);
    else refocus(roomTitle);
  }, [state]);

  // Sold out, the feed says when the concert sells again (NONE, `reopened` above). While it is silent
  // (down, or ended by a server that completes it after SOLD_OUT), the page asks; once the concert is
  // no longer sold out, the feed starts again (the status it sends first says what the fan may do now,
  // NONE usually).
  const seatsBack = useSeatsBack(concert.id, status?.state === 'SOLD_OUT' && line.silent);
  useEffect(() => {
    if (seatsBack) feeds.restart(concert.id);
  }, [seatsBack, feeds, concert.id]);

  const liveError = errorCode(line.error);
  // Once every date has started, nothing is offered to queue for. A fan in line is told so at once,
  // not "you will be let in" (the line may still move, and their turn would say it only then); one
  // ACTIVE goes on: their turn says so.
  const allStarted = useReached(Math.max(...concert.schedules.map((schedule) => Date.parse(schedule.startsAt))));
  const waitsForNothing = allStarted && (status?.state === 'WAITING' || status?.state === 'PREQUEUE');
  // Said aloud too: the place's text goes without the status changing, which says nothing by itself.
  useEffect(() => {
    if (waitsForNothing) announce(ALL_STARTED_MESSAGE);
  }, [waitsForNothing]);

  async function enter() {
    if (entering.fetching) return;
    onEnter();
    const wasClosed = status?.state === 'SOLD_OUT';
    const sent = feeds.send();
    const result = await enterQueue({ concertId: concert.id });
    setActionError(result.error);
    feeds.answered(concert.id, sent, result.data?.enterQueue);
    if (wasClosed && result.data && result.data.enterQueue.state !== 'SOLD_OUT') feeds.restart(concert.id);
  }
  async function leave() {
    if (leaving.fetching) return;
    feeds.askToLeave(concert.id);
    const sent = feeds.send();
    const result = await leaveQueue({ concertId: concert.id });
    setActionError(result.error);
    feeds.answered(concert.id, sent, result.data?.leaveQueue);
  }

  return (
    <section className="waiting-room card" aria-labelledby="room-title" data-state={status?.state ?? 'LOADING'}>
      <h3 id="room-title" tabIndex={-1}>
        Waiting room
      </h3>
      {line.overHttp && status && (
        <p className="reconnecting" role="status" data-testid="reconnecting">
          {overHttpWords({ unreachable: line.unreachable, socketLimit: liveError === 'SOCKET_LIMIT', active: status.state === 'ACTIVE', checkSeconds: STATUS_CHECK_MS / 1000 })}
        </p>
      )}
      {!status && !line.error && <p className="muted">Checking your place…</p>}
      {waitsForNothing && <AllStarted />}
      {status && !waitsForNothing && (
        <QueueBody
          status={status}
          concert={concert}
          socket={socket}
          holds={holds}
          holdsOutlastTurn={holds.length > 0 && !readingHoldsAfterTurn && !paying}
          seatsBack={seatsBack || reopened}
          lostFrom={lostFrom}
          start={line.start}
          paidOutOfLine={paidOutOfLine}
          paying={paying}
          onHoldsChanged={onHoldsChanged}
          onSeatChanged={onSeatChanged}
        />
      )}
      {(status?.state === 'NONE' || seatsBack) && allStarted && <AllStarted />}
      {(status?.state === 'NONE' || seatsBack) && !allStarted && (
        <button type="button" onClick={() => void enter()} aria-disabled={entering.fetching}>
          Enter the waiting room
        </button>
      )}
      {(status?.state === 'WAITING' || status?.state === 'ACTIVE' || status?.state === 'PREQUEUE') && (
        <button type="button" className="secondary" onClick={() => void leave()} aria-disabled={leaving.fetching}>
          Leave the waiting room
        </button>
      )}
      <ErrorNote error={actionError} />
      {liveError && liveError !== 'UNAUTHENTICATED' && <ErrorNote code={liveError} />}
    </section>
  );
}

function QueueBody({
  status,
  concert,
  socket,
  holds,
  holdsOutlastTurn,
  seatsBack,
  lostFrom,
  start,
  paidOutOfLine,
  paying,
  onHoldsChanged,
  onSeatChanged,
}: {
  status: QueueStatus;
  concert: Concert;
  /** A cancellation brought a seat back to the sold-out concert: the fan may enter again. */
  seatsBack: boolean;
  /** Out of line, what the fan lost without asking (see LineMemory.lostFrom). */
  lostFrom: string | null;
  /** Where the progress bar starts (see LineMemory.start). */
  start: number | null;
  /** The fan's own payment ended the turn (see WaitingRoom): what follows is no news. */
  paidOutOfLine: { readonly current: PaidOutOfLine };
  paying: boolean;
  socket: SocketState;
  holds: readonly HoldItem[];
  /** Out of line, the fan is told the seats they hold can still be paid for. */
  holdsOutlastTurn: boolean;
  onHoldsChanged: () => void;
  onSeatChanged?: (change: SeatChange) => void;
}) {
  switch (status.state) {
    case 'WAITING':
      return <Waiting status={status} start={start} capacity={concert.maxActiveUsers} />;
    case 'PREQUEUE':
      return <PreQueue status={status} />;
    case 'SOLD_OUT':
      return <SoldOut seatsBack={seatsBack} bought={paidOutOfLine.current !== false} />;
    case 'ACTIVE':
      return <Active status={status} concert={concert} socket={socket} holds={holds} paidOutOfLine={paidOutOfLine} paying={paying} onHoldsChanged={onHoldsChanged} onSeatChanged={onSeatChanged} />;
    case 'NONE':
      return (
        <p>
          {seatsBack ? SEAT_BACK_MESSAGE : lostFrom ? lostWords(lostFrom) : 'You are not in line for this concert. Enter the waiting room to get a place; you will be let in to choose seats in turn.'}
          {holdsOutlastTurn && ` ${HOLDS_OUTLAST_TURN}`}
        </p>
      );
    default:
      return <p>Waiting room: {String(status.state).toLowerCase()}.</p>;
  }
}

/** Said out of line, and in a turn, once every date of the concert has started. */
const AllStarted = () => <p data-testid="all-started">{ALL_STARTED_MESSAGE}</p>;

/** How often a sold-out page whose feed is silent asks whether a seat came back (a cancellation). */
const SOLD_OUT_POLL_MS = 15_000;
/**
 * Seat maps shown at once, each with its live feed. A concert of more dates shows one, chosen by
 * date: a map each made 100 feeds on the fan's one socket, which allows 20 operations at once.
 */
const MAPS_AT_ONCE = 4;
/** How long "no seat is free" must last before an admitted fan is told (see Active). */
const PAUSED_SETTLE_MS = 1_500;

/**
 * While `soldOut` (the fan's status is SOLD_OUT, and the feed silent), reads the concert (public)
 * every SOLD_OUT_POLL_MS, and says true once Concert.soldOut is false: a ticket was cancelled
 * and enterQueue works again. The reads go through the page's concert query, so its badges follow too.
 */
function useSeatsBack(concertId: string, soldOut: boolean): boolean {
  const client = useClient();
  const [back, setBack] = useState(false);
  useEffect(() => {
    setBack(false);
    if (!soldOut) return;
    let live = true;
    const check = () =>
      void client
        .query(ConcertDetail, { id: concertId }, { requestPolicy: 'network-only' })
        .toPromise()
        .then((result) => {
          if (live && result.data?.concert?.soldOut === false) setBack(true);
        });
    // The first read at a moment drawn within the period: a replica that goes away silences the feeds
    // of every sold-out page on it at once, and most are back on another before their read is due.
    let timer = setTimeout(function next() {
      check();
      timer = setTimeout(next, SOLD_OUT_POLL_MS);
    }, Math.random() * SOLD_OUT_POLL_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, concertId, soldOut]);
  return back && soldOut;
}

/** Before sales open: no position yet, a countdown to the opening, and the fair draw explained. */
function PreQueue({ status }: { status: QueueStatus }) {
  const now = useNow();
  const left = status.salesOpenAt ? remainingMs(status.salesOpenAt, now) : 0;
  return (
    <div className="prequeue" data-testid="prequeue">
      <p className="position">{PREQUEUE_MESSAGE}</p>
      {left > 0 ? (
        <p className="time-left">
          Sales open in{' '}
          <strong className="countdown" data-testid="opens-in" role="timer" aria-label={spokenCountdown(left)}>
            {formatCountdown(left)}
          </strong>
          {status.salesOpenAt && <span className="muted"> ({formatDateTime(status.salesOpenAt)})</span>}
        </p>
      ) : (
        <p className="time-left">Sales are opening: places are being drawn…</p>
      )}
      <p className="muted">
        Arriving early gives no advantage and arriving any time before the opening loses none: the order is drawn at random when sales open, and everyone who
        comes after the opening queues behind. Keep this tab open; your place appears here by itself.
      </p>
      <SeatsLeft seatsLeft={status.seatsLeft} />
    </div>
  );
}

/** Seats left while waiting, or why admission is paused (every seat held, none sold out). */
function SeatsLeft({ seatsLeft }: { seatsLeft: number }) {
  if (seatSupply(false, seatsLeft) === 'PAUSED') {
    return (
      <p className="paused" data-testid="paused">
        {PAUSED_MESSAGE}
      </p>
    );
  }
  return (
    <p className="seats-left" data-testid="seats-left">
      {seatsLeftWords(seatsLeft)}
    </p>
  );
}

/** Sold out; to a fan who has just bought here or in another tab (maybe the last seat), no advice to wait for one. */
function SoldOut({ seatsBack, bought }: { seatsBack: boolean; bought: boolean }) {
  return (
    <div className="sold-out" data-testid="sold-out">
      <p className="position">
        <strong>{SOLD_OUT_MESSAGE}</strong>
      </p>
      {seatsBack ? (
        <p>{SEAT_BACK_MESSAGE}</p>
      ) : (
        !bought && <p className="muted">Tickets can still come back when fans cancel. Keep this page open: a button to enter again appears here as soon as a seat is free.</p>
      )}
    </div>
  );
}

function Waiting({ status, start, capacity }: { status: QueueStatus; start: number | null; capacity: number }) {
  const progress = lineProgress(status.state, status.position, start);
  const others = Math.max(0, status.waiting - 1);
  return (
    <div className="queue">
      <p className="position" data-testid="position">
        You are number <strong>{status.position === null ? '…' : formatCount(status.position)}</strong> in line{status.position === 1 ? ': you are next' : ''}
      </p>
      <progress max={100} value={Math.round(progress * 100)} aria-label="Your progress through the line" />
      <dl className="facts">
        <div>
          <dt>People waiting</dt>
          <dd data-testid="waiting">{formatCount(status.waiting)}</dd>
        </div>
        <div>
          <dt>Estimated wait</dt>
          {/* The estimate assumes admission runs: while it is paused, it counts from when it resumes. */}
          <dd data-testid="wait">{estimatedWaitWords(status, capacity)}</dd>
        </div>
      </dl>
      <SeatsLeft seatsLeft={status.seatsLeft} />
      <p className="muted">
        {others === 0 ? 'Nobody else is waiting.' : `${countWords(others, 'other fan')} ${others === 1 ? 'is' : 'are'} waiting too.`} Keep this tab open; you will be let in automatically.
      </p>
    </div>
  );
}

function Active({
  status,
  concert,
  socket,
  holds,
  paidOutOfLine,
  paying,
  onHoldsChanged,
  onSeatChanged,
}: {
  status: QueueStatus;
  concert: Concert;
  socket: SocketState;
  holds: readonly HoldItem[];
  paidOutOfLine: { readonly current: PaidOutOfLine };
  /** The fan's payment is on its way (see WaitingRoom): every seat may read taken by it. */
  paying: boolean;
  onHoldsChanged: () => void;
  onSeatChanged?: (change: SeatChange) => void;
}) {
  const now = useNow();
  const left = status.activeUntil ? remainingMs(status.activeUntil, now) : 0;
  // The countdown's own label is read only on focus: the turn ending is said in the live region, once
  // per turn (the estimate of the server's clock may move the countdown back over the mark).
  const announce = useAnnounce();
  const before = useRef<number | undefined>(undefined);
  const warnedTurn = useRef<string | null>(null);
  /** The time left first seen in this turn. */
  const first = useRef<{ turn: string | null; ms: number } | undefined>(undefined);
  useEffect(() => {
    if (first.current?.turn !== status.activeUntil) first.current = { turn: status.activeUntil, ms: left };
    const warning = turnEndingWarning(before.current, left, first.current.ms);
    if (warning && warnedTurn.current !== status.activeUntil) {
      warnedTurn.current = status.activeUntil;
      announce(warning);
    }
    before.current = left;
  }, [left, announce, status.activeUntil]);
  // The dates' counts, each with the fan's holds there; the date shown opens and stays as a map's page does.
  const holdsIn = (scheduleId: string) => holds.filter((h) => h.seat.schedule.id === scheduleId);
  // Dates that have started are not offered (the API would still sell their seats).
  const schedules = datesOnSale(concert.schedules, now);
  const dates = schedules.map((schedule) => ({ free: schedule.availableSeats, mine: holdsIn(schedule.id).length }));
  const [chosenDate, setChosenDate] = useChosenOnce(schedules[openingChoice(dates)]?.id);
  // The date chosen may start during the turn: another is shown then.
  const shownDate = schedules.some((schedule) => schedule.id === chosenDate) ? chosenDate : schedules[openingChoice(dates)]?.id;
  // The turn goes on when nothing is left to choose (no surprise), but the fan is told at once, on
  // the page and aloud, as fans in line are: no seat free (one may come back) or sold. Not aloud to a
  // fan whose own payment took the last seat: it would cover the payment's announcement. Nor "no seat
  // is free" to a fan holding seats, or whose hold here may be about to read among them: the last free
  // one may be their own hold, or one being paid for (until the payment's answer, its seats may read
  // sold before it).
  const holdsMoving = useContext(HoldsInMotionContext).moving;
  const sold = seatSupply(concert.soldOut, status.seatsLeft);
  const supply = (sold === 'PAUSED' && (holds.length > 0 || holdsMoving)) || paying ? 'LEFT' : sold;
  const supplyBefore = useRef(supply);
  useEffect(() => {
    const say = () => {
      const news = activeSupplyNews(supplyBefore.current, supply, sold, holds.length > 0);
      if (news && !paidOutOfLine.current) announce(news);
      supplyBefore.current = supply;
    };
    if (supply !== 'PAUSED') return say();
    // No seat free is said once it has lasted a moment: the hold the fan just made may read in the
    // seat counts before it reads among their holds, and the last seat taken would be their own.
    const timer = setTimeout(say, PAUSED_SETTLE_MS);
    return () => clearTimeout(timer);
  }, [supply, sold, announce, holds.length, paidOutOfLine]);
  return (
    <div className="active">
      <h4 id="turn-title" className="your-turn" tabIndex={-1}>
        It is your turn: choose your seats.
      </h4>
      <p className="time-left">
        Time left:{' '}
        <strong className={left < TURN_ENDING_MS ? 'countdown urgent' : 'countdown'} data-testid="time-left" role="timer" aria-label={spokenCountdown(left)}>
          {formatCountdown(left)}
        </strong>
      </p>
      {supply === 'SOLD_OUT' && (
        <p className="sold-out" data-testid="active-sold-out">
          {ACTIVE_SOLD_OUT_MESSAGE}
          {holds.length > 0 && ` ${HOLDS_STILL_PAYABLE}`}
        </p>
      )}
      {supply === 'PAUSED' && (
        <p className="paused" data-testid="active-paused">
          {ACTIVE_PAUSED_MESSAGE}
        </p>
      )}
      {schedules.length === 0 && <AllStarted />}
      {schedules.length > 0 && <SeatLegend />}
      {schedules.length > MAPS_AT_ONCE && (
        <label className="schedule-choice">
          Date{' '}
          <select value={shownDate} onChange={(event) => setChosenDate(event.target.value)}>
            {schedules.map((schedule, index) => (
              <option key={schedule.id} value={schedule.id}>
                {`${formatDateTime(schedule.startsAt)} (${choiceCounts(dates[index]!)})`}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="seat-maps">
        {schedules
          .filter((schedule) => schedules.length <= MAPS_AT_ONCE || schedule.id === shownDate)
          .map((schedule) => (
            <SeatMap key={schedule.id} schedule={schedule} holds={holdsIn(schedule.id)} reconnects={socket.reconnects} onHoldsChanged={onHoldsChanged} onSeatChanged={onSeatChanged} />
          ))}
      </div>
    </div>
  );
}
