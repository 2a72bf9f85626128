import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useClient, useMutation, useSubscription, type CombinedError } from 'urql';
import type { SocketState } from '../client';
import { feedRetryMs } from '../logic/connection';
import { errorCode, isTransient, problemOf } from '../logic/errors';
import { announcement, HOLDS_OUTLAST_TURN, inLine, lineProgress, PAUSED_MESSAGE, PREQUEUE_MESSAGE, rememberStart, SEAT_BACK_MESSAGE, seatSupply, seatsLeftWords, SOLD_OUT_MESSAGE, waitsInLine, type KeyValueStore } from '../logic/queue';
import { NewestSource } from '../logic/newest';
import type { SeatChange } from '../logic/seats';
import { formatCountdown, formatDateTime, formatWait, remainingMs, spokenCountdown, TURN_ENDING_MS, turnEndingWarning } from '../logic/time';
import { ConcertDetail, EnterQueue, LeaveQueue, QueueStatusNow, QueueStatusSubscription, type HoldItem, type PaymentResult, type QueueStatus } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { useNow } from './hooks';
import { SeatLegend, SeatMap } from './seat-map';
import { refocus } from './focus';

interface Concert {
  id: string;
  title: string;
  schedules: readonly { id: string; startsAt: string }[];
}

const memory = new Map<string, string>();
const memoryStore: KeyValueStore = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => void memory.set(k, v), removeItem: (k) => void memory.delete(k) };

function safeStorage(): KeyValueStore {
  try {
    return window.sessionStorage;
  } catch {
    return memoryStore; // storage disabled: remember for the page's life
  }
}

/**
 * While the fan is in line and the live feed is down, their status is asked over HTTP this often: the
 * queueStatus query counts as presence (service.md), so the place is kept, well inside
 * PRESENCE_GRACE_SECONDS (60 s by default), and the place shown stays current.
 */
const STATUS_CHECK_MS = 15_000;
/** The first such check, once the feed has been down this long: a socket starting, or back at its first retry, needs none. */
const FIRST_STATUS_CHECK_MS = 3_000;

/**
 * The waiting room for one concert, live over the queueStatus subscription (sent at once on
 * subscribe and on every change, and again after a reconnect, so the place shown is always the
 * server's). NONE → the button to enter; PREQUEUE → the fair draw explained and the countdown to the
 * opening; WAITING → position, people waiting, estimated wait, progress and seats left (or admission
 * paused while every seat is held); ACTIVE → time left and the seat maps; SOLD_OUT → the line is
 * closed (the subscription completes) until a cancellation brings a seat back: then Concert.soldOut
 * reads false, the subscription starts again and the fan may enter again. While the feed is down (the
 * socket reconnecting, or never connecting through a proxy that blocks WebSockets), a fan in line is
 * kept there by asking the status over HTTP (STATUS_CHECK_MS).
 */
export function WaitingRoom({
  concert,
  socket,
  holds,
  payment,
  onHoldsChanged,
  onSeatChanged,
  onTurnEndedHolding,
  onStatus,
}: {
  concert: Concert;
  socket: SocketState;
  holds: readonly HoldItem[];
  /** The fan's latest payment on this page: paying ends the ACTIVE slot. */
  payment: PaymentResult | null;
  onHoldsChanged: () => void;
  onSeatChanged?: (change: SeatChange) => void;
  /**
   * The turn ended while the fan held seats here, not by a payment of theirs on this page (another tab
   * or device may have paid for them): whether they still hold seats here, as a read after it says.
   */
  onTurnEndedHolding: () => Promise<boolean>;
  /** Every status shown (pushed, or our own enter/leave answer): the page's seat counts follow it. */
  onStatus?: (status: QueueStatus) => void;
}) {
  const announce = useAnnounce();
  const client = useClient();
  const [live, resubscribe] = useSubscription({ query: QueueStatusSubscription, variables: { concertId: concert.id } });
  const [entering, enterQueue] = useMutation(EnterQueue);
  const [leaving, leaveQueue] = useMutation(LeaveQueue);
  // The last enter or leave's error: the next one's outcome replaces it, so a success clears it.
  const [actionError, setActionError] = useState<CombinedError | undefined>();
  const [status, setStatus] = useState<QueueStatus | undefined>();
  const previous = useRef<QueueStatus | undefined>(undefined);

  // The newest status from the subscription or from our own requests' answers (see NewestSource).
  const [sources] = useState(() => new NewestSource<string>());
  useEffect(() => {
    if (!live.data) return;
    sources.live(concert.id);
    setStatus(live.data.queueStatus);
  }, [live.data, sources, concert.id]);
  /** Shows the status answered to a request sent when sources.send() said `sent`, unless the feed spoke since. */
  const showAnswer = useCallback(
    (sent: number, answer: QueueStatus | undefined) => {
      if (answer && sources.takeAnswer(concert.id, sent)) setStatus(answer);
    },
    [sources, concert.id],
  );

  useEffect(() => {
    if (status) onStatus?.(status);
  }, [status, onStatus]);

  // Out of line (NONE) since a cancellation reopened the sold-out line, the fan is told a seat came
  // back, not the generic "not in line" (before the paint: the sentence does not flicker away).
  const [reopened, setReopened] = useState(false);
  useLayoutEffect(() => {
    const fromSoldOut = previous.current?.state === 'SOLD_OUT'; // read now: the status effect moves it on
    if (status) setReopened((was) => status.state === 'NONE' && (was || fromSoldOut));
  }, [status]);

  // Paying ends the ACTIVE slot: being out of line after it (NONE, then SOLD_OUT if the fan bought the
  // last seat; either may come before or after the payment's answer) is no news, and is not said over
  // the payment's announcement (the ticket codes). Once the fan waits in line again, all is said again
  // (not on ACTIVE alone: a status of the paid turn read late must not undo this).
  const paidOutOfLine = useRef(false);
  useEffect(() => {
    if (payment && !(previous.current && waitsInLine(previous.current.state))) paidOutOfLine.current = true;
  }, [payment]);
  // Whether the fan holds seats: read when the status changes, not itself a reason to say anything.
  const holding = useRef(false);
  holding.current = holds.length > 0;
  // While the holds after a turn's end are read, the page does not say they can still be paid for.
  const [readingHoldsAfterTurn, setReadingHoldsAfterTurn] = useState(false);
  useEffect(() => {
    if (!status) return;
    if (waitsInLine(status.state)) paidOutOfLine.current = false;
    const before = previous.current;
    previous.current = status;
    const say = (holdingSeats: boolean) => {
      const said = announcement(before, status, { afterPayment: paidOutOfLine.current, holdingSeats });
      if (said) announce(said);
    };
    const turnEndedHolding = before?.state === 'ACTIVE' && status.state !== 'ACTIVE' && holding.current && !paidOutOfLine.current;
    if (!turnEndedHolding) return say(holding.current);
    // The holds shown may have been sold by a payment elsewhere, which ended the turn: what is said of
    // them waits for the read that follows the turn's end (by then, this page's own payment may have
    // answered: it is no news then).
    let current = true;
    setReadingHoldsAfterTurn(true);
    void onTurnEndedHolding().then((holdingSeats) => {
      if (!current) return;
      setReadingHoldsAfterTurn(false);
      say(holdingSeats);
    });
    return () => {
      current = false;
      setReadingHoldsAfterTurn(false);
      // A newer status came before the read (the feed's push after the leave's answer, say): the turn's
      // end is still to be said, so the next run starts from the status before it, and reads again.
      previous.current = before;
    };
  }, [status, announce, onTurnEndedHolding]);
  // Entering, leaving or being let in swaps the buttons: the focus on one that went goes to the room's
  // heading; once let in, from there (or from the button) to the turn's.
  const state = status?.state;
  useEffect(() => {
    const roomTitle = document.getElementById('room-title');
    if (state === 'ACTIVE') refocus(document.getElementById('turn-title'), roomTitle);
    else refocus(roomTitle);
  }, [state]);

  // SOLD_OUT completed the subscription; once the concert is no longer sold out, listen again (the
  // status it sends first says what the fan may do now, NONE usually).
  const seatsBack = useSeatsBack(concert.id, status?.state === 'SOLD_OUT');
  useEffect(() => {
    if (seatsBack) resubscribe();
  }, [seatsBack, resubscribe]);

  const liveError = errorCode(live.error);
  // A feed that failed for a reason that says "not now" (a busy server, a rate limit, the network, a
  // socket over the account's limit) is started again, backing off: otherwise the page would freeze on
  // the last place shown, and the fan, no longer present, would lose it.
  const feedRetries = useRef(0);
  useEffect(() => {
    if (live.data) feedRetries.current = 0;
  }, [live.data]);
  useEffect(() => {
    const delay = feedRetryMs(problemOf(live.error), feedRetries.current);
    if (delay === undefined) return;
    feedRetries.current += 1;
    const timer = setTimeout(resubscribe, delay);
    return () => clearTimeout(timer);
  }, [live.error, resubscribe]);

  // The feed is down while the socket is (reconnecting, or never connected at all), or after it failed
  // for a passing reason (started again above). A fan in line then shows presence, and learns the
  // status, over HTTP; so does a fan whose status is not known yet (a socket that never connects would
  // otherwise leave "Checking your place…" for good).
  const feedDown = socket.status !== 'connected' || isTransient(liveError);
  const askOverHttp = feedDown && (status === undefined || inLine(status.state));
  const [unreachable, setUnreachable] = useState(false);
  useEffect(() => {
    if (!askOverHttp) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    // Each wait drawn at random around its length: the fans of a replica that died all lost their
    // sockets at once, and must not all ask at the same instant, again and again.
    const after = (ms: number) => {
      timer = setTimeout(() => void check(), ms * (0.85 + Math.random() * 0.3));
    };
    const check = async () => {
      const sent = sources.send();
      const result = await client.query(QueueStatusNow, { concertId: concert.id }, { requestPolicy: 'network-only' }).toPromise();
      if (stopped) return;
      // Only a request that got no answer says the server is out of reach (not RATE_LIMITED, say).
      setUnreachable(errorCode(result.error) === 'NETWORK');
      showAnswer(sent, result.data?.queueStatus);
      after(STATUS_CHECK_MS);
    };
    after(FIRST_STATUS_CHECK_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
      setUnreachable(false);
    };
  }, [askOverHttp, client, concert.id, sources, showAnswer]);

  async function enter() {
    const wasClosed = status?.state === 'SOLD_OUT';
    const sent = sources.send();
    const result = await enterQueue({ concertId: concert.id });
    setActionError(result.error);
    showAnswer(sent, result.data?.enterQueue);
    if (wasClosed && result.data && result.data.enterQueue.state !== 'SOLD_OUT') resubscribe();
  }
  async function leave() {
    const sent = sources.send();
    const result = await leaveQueue({ concertId: concert.id });
    setActionError(result.error);
    showAnswer(sent, result.data?.leaveQueue);
  }

  return (
    <section className="waiting-room card" aria-labelledby="room-title" data-state={status?.state ?? 'LOADING'}>
      <h2 id="room-title" tabIndex={-1}>Waiting room</h2>
      {askOverHttp && status && (
        <p className="reconnecting" role="status" data-testid="reconnecting">
          {unreachable
            ? 'The server is not answering right now. Your place in line is kept only for a short while without contact: check your connection; this page keeps trying.'
            : `Reconnecting… your place in line is kept: meanwhile this page checks it about every ${STATUS_CHECK_MS / 1000} seconds.`}
        </p>
      )}
      {!status && !live.error && <p className="muted">Checking your place…</p>}
      {status && <QueueBody status={status} concert={concert} socket={socket} holds={holds} holdsOutlastTurn={holds.length > 0 && !readingHoldsAfterTurn} seatsBack={seatsBack || reopened} onHoldsChanged={onHoldsChanged} onSeatChanged={onSeatChanged} />}
      {(status?.state === 'NONE' || seatsBack) && (
        <button type="button" onClick={() => void enter()} disabled={entering.fetching}>
          Enter the waiting room
        </button>
      )}
      {(status?.state === 'WAITING' || status?.state === 'ACTIVE' || status?.state === 'PREQUEUE') && (
        <button type="button" className="secondary" onClick={() => void leave()} disabled={leaving.fetching}>
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
  onHoldsChanged,
  onSeatChanged,
}: {
  status: QueueStatus;
  concert: Concert;
  /** A cancellation brought a seat back to the sold-out concert: the fan may enter again. */
  seatsBack: boolean;
  socket: SocketState;
  holds: readonly HoldItem[];
  /** Out of line, the fan is told the seats they hold can still be paid for. */
  holdsOutlastTurn: boolean;
  onHoldsChanged: () => void;
  onSeatChanged?: (change: SeatChange) => void;
}) {
  switch (status.state) {
    case 'WAITING':
      return <Waiting status={status} concertId={concert.id} />;
    case 'PREQUEUE':
      return <PreQueue status={status} />;
    case 'SOLD_OUT':
      return <SoldOut seatsBack={seatsBack} />;
    case 'ACTIVE':
      return <Active status={status} concert={concert} socket={socket} holds={holds} onHoldsChanged={onHoldsChanged} onSeatChanged={onSeatChanged} />;
    case 'NONE':
      return (
        <p>
          {seatsBack ? SEAT_BACK_MESSAGE : 'You are not in line for this concert. Enter the waiting room to get a place; you will be let in to choose seats in turn.'}
          {holdsOutlastTurn && ` ${HOLDS_OUTLAST_TURN}`}
        </p>
      );
    default:
      return <p>Waiting room: {String(status.state).toLowerCase()}.</p>;
  }
}

/** How often a sold-out page asks whether a seat came back (a cancellation); there is no public feed for it. */
const SOLD_OUT_POLL_MS = 3_000;

/**
 * While the fan's status is SOLD_OUT, reads the concert (public) at once and every few seconds, and
 * says true once Concert.soldOut is false: a ticket was cancelled and enterQueue works again. The
 * reads go through the page's concert query, so its badges follow too.
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
    check();
    const timer = setInterval(check, SOLD_OUT_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
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
          <strong className="countdown" data-testid="opens-in" aria-label={spokenCountdown(left)}>
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

function SoldOut({ seatsBack }: { seatsBack: boolean }) {
  return (
    <div className="sold-out" data-testid="sold-out">
      <p className="position">
        <strong>{SOLD_OUT_MESSAGE}</strong>
      </p>
      {seatsBack ? (
        <p>{SEAT_BACK_MESSAGE}</p>
      ) : (
        <p className="muted">Tickets can still come back when fans cancel. Keep this page open: it checks every few seconds, and a button to enter again appears here when a seat is free.</p>
      )}
    </div>
  );
}

function Waiting({ status, concertId }: { status: QueueStatus; concertId: string }) {
  const start = rememberStart(safeStorage(), concertId, status);
  const progress = lineProgress(status.state, status.position, start);
  const others = Math.max(0, status.waiting - 1);
  return (
    <div className="queue">
      <p className="position" data-testid="position">
        You are number <strong>{status.position}</strong> in line{status.position === 1 ? ': you are next' : ''}
      </p>
      <progress max={100} value={Math.round(progress * 100)} aria-label="Your progress through the line" />
      <dl className="facts">
        <div>
          <dt>People waiting</dt>
          <dd data-testid="waiting">{status.waiting}</dd>
        </div>
        <div>
          <dt>Estimated wait</dt>
          <dd>{formatWait(status.estimatedWaitSeconds)}</dd>
        </div>
      </dl>
      <SeatsLeft seatsLeft={status.seatsLeft} />
      <p className="muted">
        {others === 0 ? 'Nobody else is waiting.' : `${others} other ${others === 1 ? 'fan is' : 'fans are'} waiting too.`} Keep this tab open; you will be let in automatically.
      </p>
    </div>
  );
}

function Active({ status, concert, socket, holds, onHoldsChanged, onSeatChanged }: { status: QueueStatus; concert: Concert; socket: SocketState; holds: readonly HoldItem[]; onHoldsChanged: () => void; onSeatChanged?: (change: SeatChange) => void }) {
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
  return (
    <div className="active">
      <h3 id="turn-title" className="your-turn" tabIndex={-1}>
        It is your turn: choose your seats.
      </h3>
      <p className="time-left">
        Time left: <strong className={left < TURN_ENDING_MS ? 'countdown urgent' : 'countdown'} data-testid="time-left" aria-label={spokenCountdown(left)}>{formatCountdown(left)}</strong>
      </p>
      <SeatLegend />
      <div className="seat-maps">
        {concert.schedules.map((schedule) => (
          <SeatMap key={schedule.id} schedule={schedule} holds={holds.filter((h) => h.seat.schedule.id === schedule.id)} reconnects={socket.reconnects} onHoldsChanged={onHoldsChanged} onSeatChanged={onSeatChanged} />
        ))}
      </div>
    </div>
  );
}
