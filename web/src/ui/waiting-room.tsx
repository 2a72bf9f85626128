import { useEffect, useRef, useState } from 'react';
import { useMutation, useSubscription } from 'urql';
import type { SocketState } from '../client';
import { errorCode } from '../logic/errors';
import { announcement, lineProgress, rememberStart, type KeyValueStore } from '../logic/queue';
import { formatCountdown, formatWait, remainingMs, spokenCountdown } from '../logic/time';
import { EnterQueue, LeaveQueue, QueueStatusSubscription, type HoldItem, type QueueStatus } from '../operations';
import { setToken } from '../session';
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
 * server's). NONE → the button to enter; WAITING → position, people waiting, estimated wait and
 * progress; ACTIVE → time left and the seat maps.
 */
export function WaitingRoom({ concert, socket, holds, onHoldsChanged, onSeatsChanged }: { concert: Concert; socket: SocketState; holds: readonly HoldItem[]; onHoldsChanged: () => void; onSeatsChanged?: () => void }) {
  const announce = useAnnounce();
  const [live] = useSubscription({ query: QueueStatusSubscription, variables: { concertId: concert.id } });
  const [entering, enterQueue] = useMutation(EnterQueue);
  const [leaving, leaveQueue] = useMutation(LeaveQueue);
  const [status, setStatus] = useState<QueueStatus | undefined>();
  const previous = useRef<QueueStatus | undefined>(undefined);

  // The newest status from the subscription or from our own enter/leave answer.
  useEffect(() => {
    if (live.data) setStatus(live.data.queueStatus);
  }, [live.data]);

  useEffect(() => {
    if (!status) return;
    const said = announcement(previous.current, status);
    if (said) announce(said);
    previous.current = status;
  }, [status, announce]);

  const liveError = errorCode(live.error);
  useEffect(() => {
    if (liveError === 'UNAUTHENTICATED') setToken(null, 'UNAUTHENTICATED');
  }, [liveError]);

  async function enter() {
    const result = await enterQueue({ concertId: concert.id });
    if (result.data) setStatus(result.data.enterQueue);
  }
  async function leave() {
    const result = await leaveQueue({ concertId: concert.id });
    if (result.data) setStatus(result.data.leaveQueue);
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
      {status && <QueueBody status={status} concert={concert} socket={socket} holds={holds} onHoldsChanged={onHoldsChanged} onSeatsChanged={onSeatsChanged} />}
      {status?.state === 'NONE' && (
        <button type="button" onClick={() => void enter()} disabled={entering.fetching}>
          Enter the waiting room
        </button>
      )}
      {(status?.state === 'WAITING' || status?.state === 'ACTIVE') && (
        <button type="button" className="secondary" onClick={() => void leave()} disabled={leaving.fetching}>
          Leave the waiting room
        </button>
      )}
      <ErrorNote error={entering.error ?? leaving.error} />
      {liveError && liveError !== 'UNAUTHENTICATED' && <ErrorNote code={liveError} />}
    </section>
  );
}

function QueueBody({ status, concert, socket, holds, onHoldsChanged, onSeatsChanged }: { status: QueueStatus; concert: Concert; socket: SocketState; holds: readonly HoldItem[]; onHoldsChanged: () => void; onSeatsChanged?: () => void }) {
  switch (status.state) {
    case 'WAITING':
      return <Waiting status={status} concertId={concert.id} />;
    case 'ACTIVE':
      return <Active status={status} concert={concert} socket={socket} holds={holds} onHoldsChanged={onHoldsChanged} onSeatsChanged={onSeatsChanged} />;
    case 'NONE':
      return <p>You are not in line for this concert. Enter the waiting room to get a place; you will be let in to choose seats in turn.</p>;
    default:
      // New states (PREQUEUE with its countdown, SOLD_OUT) get their own view here once the schema has them.
      return <p>Waiting room: {String(status.state).toLowerCase()}.</p>;
  }
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
