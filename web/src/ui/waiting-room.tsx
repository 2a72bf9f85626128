import { useEffect, useRef, useState } from 'react';
import { useClient, useMutation, useSubscription } from 'urql';
import type { SocketState } from '../client';
import { feedRetryMs } from '../logic/connection';
import { errorCode, problemOf } from '../logic/errors';
import { announcement, lineProgress, PAUSED_MESSAGE, PREQUEUE_MESSAGE, rememberStart, seatSupply, seatsLeftWords, SOLD_OUT_MESSAGE, type KeyValueStore } from '../logic/queue';
import { NewestSource } from '../logic/newest';
import { formatCountdown, formatDateTime, formatWait, remainingMs, spokenCountdown } from '../logic/time';
import { ConcertDetail, EnterQueue, LeaveQueue, QueueStatusSubscription, type HoldItem, type QueueStatus } from '../operations';
import { useAnnounce } from './announcer';
import { ErrorNote } from './errors';
import { useNow } from './hooks';
import { SeatLegend, SeatMap } from './seat-map';

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
 * The waiting room for one concert, live over the queueStatus subscription (sent at once on
 * subscribe and on every change, and again after a reconnect, so the place shown is always the
 * server's). NONE → the button to enter; PREQUEUE → the fair draw explained and the countdown to the
 * opening; WAITING → position, people waiting, estimated wait, progress and seats left (or admission
 * paused while every seat is held); ACTIVE → time left and the seat maps; SOLD_OUT → the line is
 * closed (the subscription completes) until a cancellation brings a seat back: then Concert.soldOut
 * reads false, the subscription starts again and the fan may enter again.
 */
export function WaitingRoom({
  concert,
  socket,
  holds,
  onHoldsChanged,
  onSeatsChanged,
  onStatus,
}: {
  concert: Concert;
  socket: SocketState;
  holds: readonly HoldItem[];
  onHoldsChanged: () => void;
  onSeatsChanged?: () => void;
  /** Every status shown (pushed, or our own enter/leave answer): the page's seat counts follow it. */
  onStatus?: (status: QueueStatus) => void;
}) {
  const announce = useAnnounce();
  const [live, resubscribe] = useSubscription({ query: QueueStatusSubscription, variables: { concertId: concert.id } });
  const [entering, enterQueue] = useMutation(EnterQueue);
  const [leaving, leaveQueue] = useMutation(LeaveQueue);
  const [status, setStatus] = useState<QueueStatus | undefined>();
  const previous = useRef<QueueStatus | undefined>(undefined);

  // The newest status from the subscription or from our own enter/leave answer (see NewestSource).
  const [sources] = useState(() => new NewestSource<string>());
  useEffect(() => {
    if (!live.data) return;
    sources.live(concert.id);
    setStatus(live.data.queueStatus);
  }, [live.data, sources, concert.id]);
  const unlessLiveSpoke = async <T,>(request: Promise<T>, statusOf: (answer: T) => QueueStatus | undefined): Promise<QueueStatus | undefined> => {
    const sent = sources.send();
    const answer = statusOf(await request);
    if (answer && sources.answerIsNewest(concert.id, sent)) setStatus(answer);
    return answer;
  };

  useEffect(() => {
    if (status) onStatus?.(status);
  }, [status, onStatus]);

  useEffect(() => {
    if (!status) return;
    const said = announcement(previous.current, status);
    if (said) announce(said);
    previous.current = status;
  }, [status, announce]);

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

  async function enter() {
    const wasClosed = status?.state === 'SOLD_OUT';
    const entered = await unlessLiveSpoke(enterQueue({ concertId: concert.id }), (result) => result.data?.enterQueue);
    if (wasClosed && entered && entered.state !== 'SOLD_OUT') resubscribe();
  }
  async function leave() {
    await unlessLiveSpoke(leaveQueue({ concertId: concert.id }), (result) => result.data?.leaveQueue);
  }

  const reconnecting = socket.status === 'reconnecting';
  return (
    <section className="waiting-room card" aria-labelledby="room-title" data-state={status?.state ?? 'LOADING'}>
      <h2 id="room-title">Waiting room</h2>
      {reconnecting && (
        <p className="reconnecting" role="status" data-testid="reconnecting">
          Reconnecting… your place in line is kept.
        </p>
      )}
      {!status && !live.error && <p className="muted">Checking your place…</p>}
      {status && <QueueBody status={status} concert={concert} socket={socket} holds={holds} seatsBack={seatsBack} onHoldsChanged={onHoldsChanged} onSeatsChanged={onSeatsChanged} />}
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
      <ErrorNote error={entering.error ?? leaving.error} />
      {liveError && liveError !== 'UNAUTHENTICATED' && <ErrorNote code={liveError} />}
    </section>
  );
}

function QueueBody({ status, concert, socket, holds, seatsBack, onHoldsChanged, onSeatsChanged }: { status: QueueStatus; concert: Concert; seatsBack: boolean; socket: SocketState; holds: readonly HoldItem[]; onHoldsChanged: () => void; onSeatsChanged?: () => void }) {
  switch (status.state) {
    case 'WAITING':
      return <Waiting status={status} concertId={concert.id} />;
    case 'PREQUEUE':
      return <PreQueue status={status} />;
    case 'SOLD_OUT':
      return <SoldOut seatsBack={seatsBack} />;
    case 'ACTIVE':
      return <Active status={status} concert={concert} socket={socket} holds={holds} onHoldsChanged={onHoldsChanged} onSeatsChanged={onSeatsChanged} />;
    case 'NONE':
      return <p>You are not in line for this concert. Enter the waiting room to get a place; you will be let in to choose seats in turn.</p>;
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
        <p>A ticket was cancelled and a seat is free again: enter the waiting room to try for it.</p>
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
        {status.position === 1 ? (
          <>You are next in line</>
        ) : (
          <>
            You are number <strong>{status.position}</strong> in line
          </>
        )}
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

function Active({ status, concert, socket, holds, onHoldsChanged, onSeatsChanged }: { status: QueueStatus; concert: Concert; socket: SocketState; holds: readonly HoldItem[]; onHoldsChanged: () => void; onSeatsChanged?: () => void }) {
  const now = useNow();
  const left = status.activeUntil ? remainingMs(status.activeUntil, now) : 0;
  return (
    <div className="active">
      <p className="your-turn">It is your turn: choose your seats.</p>
      <p className="time-left">
        Time left: <strong className={left < 60_000 ? 'countdown urgent' : 'countdown'} data-testid="time-left" aria-label={spokenCountdown(left)}>{formatCountdown(left)}</strong>
      </p>
      <SeatLegend />
      <div className="seat-maps">
        {concert.schedules.map((schedule) => (
          <SeatMap key={schedule.id} schedule={schedule} holds={holds.filter((h) => h.seat.schedule.id === schedule.id)} reconnects={socket.reconnects} onHoldsChanged={onHoldsChanged} onSeatsChanged={onSeatsChanged} />
        ))}
      </div>
    </div>
  );
}
