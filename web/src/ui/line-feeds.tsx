import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useClient, useSubscription, type CombinedError } from 'urql';
import type { SocketState } from '../client';
import { feedRetryMs } from '../logic/connection';
import { errorCode, isTransient, problemOf } from '../logic/errors';
import { NewestSource } from '../logic/newest';
import { inLine, LineMemory } from '../logic/queue';
import { QueueStatusNow, QueueStatusSubscription, type QueueStatus } from '../operations';
import { tellOtherTabs, useOtherTabs, type AccountChange } from './other-tabs';
import { browserStorage, tabStorage } from '../tab-storage';

/**
 * While the fan is in line and the live feed is down, their status is asked over HTTP this often: the
 * queueStatus query counts as presence (service.md), so the place is kept, well inside
 * PRESENCE_GRACE_SECONDS (60 s by default), and the place shown stays current.
 */
export const STATUS_CHECK_MS = 15_000;
/** The first such check, once the feed has been down this long: a socket starting, or back at its first retry, needs none. */
const FIRST_STATUS_CHECK_MS = 3_000;

/**
 * How old the lines handed down by the account's last tab may be for a new tab to take them
 * (LineMemory.adoptHandDown): a fan back within hours is told what became of the place; after that,
 * nothing is said.
 */
const HANDED_DOWN_MAX_MS = 6 * 60 * 60 * 1000;

/** What the app knows of the fan in one concert's line. */
export interface Line {
  /** The newest status, pushed or answered to the fan's own request (see NewestSource); undefined until one came. */
  status: QueueStatus | undefined;
  /** Out of line, what the fan lost without asking (LineMemory.lostFrom). */
  lostFrom: string | null;
  /** Where the progress bar starts in this entry into the line (LineMemory.start). */
  start: number | null;
  /** The feed's error (one that says "not now" is retried, backing off). */
  error: CombinedError | undefined;
  /** The feed is down, so the status is asked over HTTP (which keeps the place). */
  overHttp: boolean;
  /** Such a request got no answer: the server is out of reach. */
  unreachable: boolean;
  /**
   * Nothing would be pushed now: no feed runs yet, it is down, or the server ended it (one of an
   * earlier version completes it after SOLD_OUT). Pages then ask for what they need themselves.
   */
  silent: boolean;
  /** Another tab of the account is paying for seats of the concert (see paymentSent). */
  payingElsewhere: boolean;
  /** Moves with each payment another tab of the account made for seats of the concert. */
  paidElsewhere: number;
}

const NO_LINE: Line = { status: undefined, lostFrom: null, start: null, error: undefined, overHttp: false, unreachable: false, silent: true, payingElsewhere: false, paidElsewhere: 0 };

/**
 * The longest another tab's payment is taken to be on its way without word of its outcome: that tab
 * may have closed, or logged out, before its answer.
 */
const PAYING_ELSEWHERE_MAX_MS = 20_000;

/**
 * How long after a payment went unanswered the line's news is still taken as maybe its doing: one that
 * went through ended the turn before answering, but the NONE may come over the socket after.
 */
const UNANSWERED_SETTLE_MS = 3_000;

/**
 * The fan's queueStatus feeds, one per concert, for the whole app rather than one page: the feed is
 * the fan's presence (service.md), so a fan in line keeps the place while reading My tickets or the
 * list. A concert's feed runs while its page shows it (`watch`) or while the fan is in its line
 * (PREQUEUE, WAITING, ACTIVE), and stops once neither holds (out of line, NONE or SOLD_OUT, on
 * another page). One instance per session: logging out stops every feed. What this tab remembers of
 * the account's lines (LineMemory) starts again, after a reload, the feeds of the lines the fan was
 * in; `forget` drops it at log-out.
 */
export class LineFeeds {
  private readonly memory: LineMemory;
  private readonly lines = new Map<string, Line>();
  private readonly watchers = new Map<string, number>();
  private readonly restarts = new Map<string, () => void>();
  private readonly sources = new NewestSource<string>();
  private readonly listeners = new Set<() => void>();
  /** Per concert, the end of the wait for word of a payment's outcome (PAYING_ELSEWHERE_MAX_MS, UNANSWERED_SETTLE_MS). */
  private readonly paymentTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private running: readonly string[] = [];

  constructor(userId: string | null) {
    this.memory = new LineMemory(tabStorage(), `ct:lines:${userId ?? ''}`, { store: browserStorage(), key: `ct:lines-handed-down:${userId ?? ''}`, now: Date.now });
    this.memory.adoptHandDown(HANDED_DOWN_MAX_MS);
    this.memory.forgetPaymentsUnderWay();
    for (const concertId of this.memory.inLine()) this.lines.set(concertId, this.remembered(concertId));
    this.settle();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The concerts whose feed runs. */
  concerts = (): readonly string[] => this.running;

  line(concertId: string): Line {
    return this.lines.get(concertId) ?? NO_LINE;
  }

  /** A page shows the concert: its feed runs (at least) until the returned function is called. */
  watch(concertId: string): () => void {
    this.watchers.set(concertId, (this.watchers.get(concertId) ?? 0) + 1);
    if (!this.lines.has(concertId)) this.lines.set(concertId, this.remembered(concertId));
    this.settle();
    return () => {
      this.watchers.set(concertId, (this.watchers.get(concertId) ?? 1) - 1);
      this.settle();
    };
  }

  /** The concert's feed pushed a status. */
  pushed(concertId: string, status: QueueStatus): void {
    this.sources.live(concertId);
    this.show(concertId, status);
  }

  /** A request about the concert's line goes out: give what this returns to `answered`. */
  send(): number {
    return this.sources.send();
  }

  /** The status answered to a request sent when `send` said `sent`: shown, unless the feed spoke since. */
  answered(concertId: string, sent: number, answer: QueueStatus | undefined): void {
    if (answer && this.sources.takeAnswer(concertId, sent)) this.show(concertId, answer);
  }

  /**
   * The fan asks, here, to be out of the concert's line: before the answer or the feed's NONE, so that
   * neither this tab nor the account's others take it for a place lost.
   */
  askToLeave(concertId: string): void {
    this.leaving(concertId);
    tellOtherTabs('leave', concertId);
  }

  /** The fan asks to be out of the concert's line, here or in another tab (see LineMemory.leaving). */
  leaving(concertId: string): void {
    this.memory.leaving(concertId);
    this.update(concertId, { lostFrom: this.memory.lostFrom(concertId) });
  }

  /**
   * A payment for seats of the concert is sent, from this tab or another of the account (`elsewhere`):
   * from a turn (ACTIVE), it ends the turn unless refused (see LineMemory.paying). Another tab's is
   * taken as failed, outcome unknown, after PAYING_ELSEWHERE_MAX_MS without word.
   */
  paymentSent(concertId: string, elsewhere: boolean): void {
    this.memory.paying(concertId);
    this.stopWaiting(concertId);
    if (!elsewhere) return;
    this.paymentTimers.set(
      concertId,
      setTimeout(() => this.paymentFailed(concertId, false, true), PAYING_ELSEWHERE_MAX_MS),
    );
    this.update(concertId, { payingElsewhere: true });
  }

  /** The fan paid for seats of the concert, here or in another tab (see LineMemory.paid). */
  paymentPaid(concertId: string, elsewhere: boolean): void {
    this.memory.paid(concertId);
    this.stopWaiting(concertId);
    const paidElsewhere = this.line(concertId).paidElsewhere + (elsewhere ? 1 : 0);
    this.update(concertId, { lostFrom: this.memory.lostFrom(concertId), ...(elsewhere && { payingElsewhere: false, paidElsewhere }) });
  }

  /**
   * The payment did not pay: refused for sure, or not known to, which holds for UNANSWERED_SETTLE_MS
   * more (see LineMemory.paymentFailed).
   */
  paymentFailed(concertId: string, refused: boolean, elsewhere: boolean): void {
    this.stopWaiting(concertId);
    if (refused) this.settleFailed(concertId, true);
    else this.paymentTimers.set(concertId, setTimeout(() => this.settleFailed(concertId, false), UNANSWERED_SETTLE_MS));
    if (elsewhere) this.update(concertId, { payingElsewhere: false });
  }

  private settleFailed(concertId: string, refused: boolean): void {
    this.paymentTimers.delete(concertId);
    this.memory.paymentFailed(concertId, refused);
    this.update(concertId, { lostFrom: this.memory.lostFrom(concertId) });
  }

  private stopWaiting(concertId: string): void {
    clearTimeout(this.paymentTimers.get(concertId));
    this.paymentTimers.delete(concertId);
  }

  /** The feed's own state, from the component that runs it. */
  report(concertId: string, feed: Pick<Line, 'error' | 'overHttp' | 'unreachable' | 'silent'>): void {
    this.update(concertId, feed);
  }

  /** Lets `restart` start the concert's feed again (one that ended, see Line.silent); returns what stops it. */
  onRestart(concertId: string, restart: () => void): () => void {
    this.restarts.set(concertId, restart);
    return () => this.restarts.delete(concertId);
  }

  /** Starts the concert's feed again (see onRestart). */
  restart(concertId: string): void {
    this.restarts.get(concertId)?.();
  }

  /** The places in line the fan holds here and has not asked to give up (LineMemory.placesHeld). */
  placesHeld(): { concertId: string; state: string }[] {
    return this.memory.placesHeld();
  }

  /** The session ends (logging out): this tab forgets the account's lines. */
  forget(): void {
    this.memory.clear();
    for (const concertId of [...this.paymentTimers.keys()]) this.stopWaiting(concertId);
  }

  private remembered(concertId: string): Line {
    return { ...NO_LINE, lostFrom: this.memory.lostFrom(concertId), start: this.memory.start(concertId) };
  }

  private show(concertId: string, status: QueueStatus): void {
    this.memory.seen(concertId, status);
    this.update(concertId, { status, lostFrom: this.memory.lostFrom(concertId), start: this.memory.start(concertId) });
    this.settle();
  }

  /** Changes a running line (one whose feed stopped is gone: a late word about it changes nothing). */
  private update(concertId: string, change: Partial<Line>): void {
    const line = this.lines.get(concertId);
    if (!line) return;
    this.lines.set(concertId, { ...line, ...change });
    this.tell();
  }

  /** Stops the feeds no longer needed: no page shows the concert, and the fan is out of its line. */
  private settle(): void {
    for (const [concertId, line] of this.lines) {
      const shown = (this.watchers.get(concertId) ?? 0) > 0;
      const kept = line.status ? inLine(line.status.state) : this.memory.inLine().includes(concertId);
      if (!shown && !kept) this.lines.delete(concertId);
    }
    const running = [...this.lines.keys()];
    if (running.join() === this.running.join()) return;
    this.running = running;
    this.tell();
  }

  private tell(): void {
    for (const listener of this.listeners) listener();
  }
}

export const LineFeedsContext = createContext(new LineFeeds(null));

export function useLineFeeds(): LineFeeds {
  return useContext(LineFeedsContext);
}

/** The fan in the concert's line, as the app knows it (nothing unless its feed runs). */
export function useLine(concertId: string): Line {
  const feeds = useLineFeeds();
  return useSyncExternalStore(feeds.subscribe, () => feeds.line(concertId));
}

/** What another tab of the account did that may take the fan out of a line by their own choice, or not after all. */
const LEAVES: readonly AccountChange[] = ['leave', 'paying', 'payment', 'payRefused', 'payUnanswered'];

/**
 * Whether the server completed the subscription: urql's state keeps its last result's hasNext (not in
 * its type), false once the server completed it.
 */
const completed = (state: object): boolean => 'hasNext' in state && state.hasNext === false;

/** Runs the session's line feeds (one Feed per concert, see LineFeeds), whatever page shows. */
export function LineFeedRunners({ socket }: { socket: SocketState }) {
  const feeds = useLineFeeds();
  const concerts = useSyncExternalStore(feeds.subscribe, feeds.concerts);
  // Left, or paying (which ends a turn), in another tab of the account: the NONE that comes here is no
  // place lost, unless that payment is refused (as in the paying tab, see Booking).
  useOtherTabs(LEAVES, (concertId, what) => {
    if (!concertId) return;
    if (what === 'leave') feeds.leaving(concertId);
    else if (what === 'paying') feeds.paymentSent(concertId, true);
    else if (what === 'payment') feeds.paymentPaid(concertId, true);
    else feeds.paymentFailed(concertId, what === 'payRefused', true);
  });
  return (
    <>
      {concerts.map((concertId) => (
        <Feed key={concertId} concertId={concertId} socket={socket} feeds={feeds} />
      ))}
    </>
  );
}

/**
 * One concert's feed: the queueStatus subscription (sent at once on subscribe and on every change,
 * and again after a reconnect, so the place shown is always the server's). While the feed is down
 * (the socket reconnecting, or never connecting through a proxy that blocks WebSockets), a fan in
 * line is kept there by asking the status over HTTP (STATUS_CHECK_MS).
 */
function Feed({ concertId, socket, feeds }: { concertId: string; socket: SocketState; feeds: LineFeeds }) {
  const client = useClient();
  const [live, resubscribe] = useSubscription({ query: QueueStatusSubscription, variables: { concertId } });
  const { status } = useLine(concertId);
  useEffect(() => {
    if (live.data) feeds.pushed(concertId, live.data.queueStatus);
  }, [live.data, feeds, concertId]);
  useEffect(() => feeds.onRestart(concertId, resubscribe), [feeds, concertId, resubscribe]);

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
  const overHttp = feedDown && (status === undefined || inLine(status.state));
  const silent = feedDown || live.error !== undefined || (live.data !== undefined && completed(live));
  const [unreachable, setUnreachable] = useState(false);
  useEffect(() => {
    if (!overHttp) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    // Each wait drawn at random around its length: the fans of a replica that died all lost their
    // sockets at once, and must not all ask at the same instant, again and again.
    const after = (ms: number) => {
      timer = setTimeout(() => void check(), ms * (0.85 + Math.random() * 0.3));
    };
    const check = async () => {
      const sent = feeds.send();
      const result = await client.query(QueueStatusNow, { concertId }, { requestPolicy: 'network-only' }).toPromise();
      if (stopped) return;
      // Only a request that got no answer says the server is out of reach (not RATE_LIMITED, say).
      setUnreachable(errorCode(result.error) === 'NETWORK');
      feeds.answered(concertId, sent, result.data?.queueStatus);
      after(STATUS_CHECK_MS);
    };
    after(FIRST_STATUS_CHECK_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
      setUnreachable(false);
    };
  }, [overHttp, client, concertId, feeds]);

  useEffect(() => feeds.report(concertId, { error: live.error, overHttp, unreachable, silent }), [feeds, concertId, live.error, overHttp, unreachable, silent]);
  return null;
}
