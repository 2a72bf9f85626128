/**
 * A fan, played as a real client: GraphQL over HTTP and its own graphql-ws socket, presenting its
 * own client address in X-Forwarded-For. A fan is one async function, suspended between events: it
 * holds no timer while it waits in line, only its socket. Everything it sees and does is logged with wall-clock times
 * (comparable across the processes of one machine) for the report.
 */
import { inspect } from 'node:util';
import { CANCEL, CHARGE, ENTER, HOLD, LEAVE, PAY, SEATS, STATUS, type Hold, type Payment, type QueueStatus, type Reservation, type Seat } from '../../support/operations';
import { postGraphql, type HttpAnswer } from './fan-http';
import { prng, type FanPlan } from './plan';
import { StatusSocket, type StatusHandlers } from './status-socket';
import { sleep } from '../lib/util';

export interface Stage {
  /** Per replica: HTTP and WS URLs. */
  urls: { url: string; wsUrl: string }[];
  concertId: string;
  scheduleId: string;
  /** Wall-clock ms of salesOpenAt. */
  openAt: number;
  /** Wall-clock ms after which every fan stops. */
  stopAt: number;
  activeTtlSeconds: number;
  thinkMs: [number, number];
  price: number;
}

/** [operation, start ms, duration ms, error code or ''] */
export type OpRecord = [string, number, number, string];

export interface FanLog {
  index: number;
  userId: number;
  prequeue: boolean;
  enterSentAt: number;
  enterDoneAt: number;
  enterState: string;
  /** First WAITING position seen after PREQUEUE (the draw's result). */
  drawPosition?: number;
  /** Admission time on the server's clock (activeUntil − ACTIVE_TTL). */
  admittedAt?: number;
  admitSeenAt?: number;
  gaveUpAt?: number;
  /** From when the fan was gone (socket closed for good, no more requests). */
  absentFrom?: number;
  soldOutAt?: number;
  /** The line said NONE while the fan was waiting and present, and kept saying it. */
  lostPlaceAt?: number;
  /** NONE pushes while waiting that the next tick contradicted (a stale status overtaking a newer one). */
  staleNone?: number;
  paidAt?: number;
  leftAt?: number;
  outcome: string;
  seatsBought: number;
  paymentIds: string[];
  /** Both answers of a double submit named the same payment. */
  doubleSubmitSame?: boolean;
  lapsed: { seatId: string; expiresAt: number }[];
  cancelled: { seatId: string; at: number }[];
  /** Receipt times of queueStatus pushes after the first one of each subscription. */
  pushes: number[];
  /** Every change of state seen, and every end of a subscription: [ms, state or end, position, subscription number]. */
  seen: [number, string, number | null, number][];
  dropped: boolean;
  ops: OpRecord[];
}


class FanClient {
  private readonly url: URL;

  constructor(
    private readonly plan: FanPlan,
    url: string,
    private readonly log: FanLog,
  ) {
    this.url = new URL(url);
  }

  async call<T>(name: string, query: string, variables: Record<string, unknown>): Promise<HttpAnswer<T>> {
    const start = Date.now();
    const answer = await postGraphql<T>(this.url, this.plan.token, this.plan.ip, query, variables);
    this.log.ops.push([name, start, Date.now() - start, answer.code]);
    return answer;
  }
}

/** How often a fan whose subscription ended while waiting (not by its own doing) opens a new one. */
const RESUBSCRIBES = 3;

/**
 * The fan's view of the line: its latest status, from the enterQueue answer and then its
 * subscription, which it can close and reopen. Position pushes are only logged; the fan's loop
 * wakes when the state changes or the subscription ends (no polling timer per fan).
 */
class StatusFeed implements StatusHandlers {
  latest?: QueueStatus;
  /** Why the current subscription ended, while it is down. */
  endedBy?: string;
  private socket?: StatusSocket;
  private waiter?: () => void;
  private generation = 0;
  private openedAt = 0;
  private first = true;

  constructor(
    private readonly plan: FanPlan,
    private readonly wsUrl: string,
    private readonly stage: Stage,
    private readonly log: FanLog,
  ) {}

  open(): void {
    this.first = true;
    this.endedBy = undefined;
    this.generation++;
    this.openedAt = Date.now();
    this.socket = new StatusSocket(this.wsUrl, this.plan.token, this.plan.ip, this.stage.concertId, this);
    this.socket.open();
  }

  opened(at: number): void {
    this.log.ops.push(['ws connect', this.openedAt, at - this.openedAt, '']);
  }

  acknowledged(at: number): void {
    this.log.ops.push(['ws connection_ack', this.openedAt, at - this.openedAt, '']);
  }

  status(status: QueueStatus, at: number): void {
    if (this.first) {
      this.log.ops.push(['subscribe', this.openedAt, at - this.openedAt, '']);
      this.first = false;
    } else this.log.pushes.push(at);
    this.update(status, at);
  }

  ended(reason: string, at: number): void {
    if (this.first) this.log.ops.push(['subscribe', this.openedAt, at - this.openedAt, reason === 'complete' ? 'COMPLETE' : reason.toUpperCase()]);
    this.log.seen.push([at, reason, null, this.generation]);
    this.endedBy = reason;
    this.socket = undefined;
    this.wake();
  }

  update(status: QueueStatus, at = Date.now()): void {
    if (this.log.prequeue && this.log.drawPosition === undefined && status.state === 'WAITING' && status.position !== null) this.log.drawPosition = status.position;
    if (status.state === 'ACTIVE' && this.log.admittedAt === undefined && status.activeUntil) {
      this.log.admittedAt = Date.parse(status.activeUntil) - this.stage.activeTtlSeconds * 1000;
      this.log.admitSeenAt = at;
    }
    const changed = status.state !== this.latest?.state;
    this.latest = status;
    if (changed) {
      // Only changes of state are kept: a position push per tick per fan would be millions of entries.
      this.log.seen.push([at, status.state, status.position, this.generation]);
      this.wake();
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Resolves when the state changes or the subscription ends, or after `ms`. */
  change(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, Math.max(0, ms));
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(abruptly = false): void {
    this.socket?.close(abruptly);
    this.socket = undefined;
  }
}

const WAITING_STATES = new Set(['WAITING', 'PREQUEUE']);
/** A shopping fan's persistence: lost races in all, lost races in a row before looking at the map again, looks at the map. */
const MAX_HOLD_ATTEMPTS = 16;
const LOSSES_BEFORE_REREAD = 3;
const MAX_MAP_READS = 4;
/** Which seats a fan wants: the best (lowest-numbered) share of the free ones, and at least this many. */
const BEST_SEATS_SHARE = 0.1;
const BEST_SEATS_AT_LEAST = 4;

export async function playFan(plan: FanPlan, stage: Stage): Promise<FanLog> {
  const random = prng(plan.seed);
  const think = () => stage.thinkMs[0] + random() * (stage.thinkMs[1] - stage.thinkMs[0]);
  const { url, wsUrl } = stage.urls[plan.replica] as { url: string; wsUrl: string };
  const log: FanLog = { index: plan.index, userId: plan.userId, prequeue: false, enterSentAt: 0, enterDoneAt: 0, enterState: '', outcome: 'unfinished', seatsBought: 0, paymentIds: [], lapsed: [], cancelled: [], pushes: [], seen: [], dropped: false, ops: [] };
  const api = new FanClient(plan, url, log);
  const feed = new StatusFeed(plan, wsUrl, stage, log);
  const gone = (outcome: string) => {
    feed.close();
    log.absentFrom ??= Date.now();
    log.outcome = outcome;
    return log;
  };

  await sleep(stage.openAt + plan.arriveAt - Date.now());
  // As in the web app, the concert page subscribes to queueStatus as it opens, and the fan presses
  // Enter once the page is live. From its entry on, the line hears of the fan at every tick through
  // that socket's replica, however long the socket took to start (seconds, in the burst).
  const arrivedAt = Date.now();
  // The pre-queue wait does not count against patience: fans expect to wait for the opening.
  const patienceFrom = Math.max(arrivedAt, stage.openAt);
  let resubscribes = 0;
  feed.open();
  while (feed.latest === undefined) {
    const now = Date.now();
    if (plan.patienceMs !== null && now >= patienceFrom + plan.patienceMs) {
      log.gaveUpAt = now;
      return gone('gave up before entering');
    }
    if (now > stage.stopAt) return gone('page never live');
    if (feed.endedBy !== undefined) {
      if (resubscribes++ >= RESUBSCRIBES) return gone(`subscription failed ${feed.endedBy}`);
      await sleep(1000);
      feed.open();
      continue;
    }
    await feed.change(Math.max(10, Math.min(plan.patienceMs === null ? Infinity : patienceFrom + plan.patienceMs, stage.stopAt + 1) - now));
  }

  log.enterSentAt = Date.now();
  const entered = await api.call<{ enterQueue: QueueStatus }>('enterQueue', ENTER, { id: stage.concertId });
  log.enterDoneAt = Date.now();
  if (!entered.data) return gone(`enter failed ${entered.code}`);
  log.enterState = entered.data.enterQueue.state;
  log.prequeue = log.enterState === 'PREQUEUE';
  feed.update(entered.data.enterQueue);
  if (entered.data.enterQueue.state === 'SOLD_OUT') {
    log.soldOutAt = log.enterDoneAt;
    return gone('sold out');
  }

  // ---- waiting: wakes on a change of state, a lost subscription, or the fan's own deadlines ----
  let dropped = false;
  while (feed.latest && feed.latest.state !== 'ACTIVE') {
    const state = feed.latest.state;
    const now = Date.now();
    if (state === 'SOLD_OUT') {
      log.soldOutAt = now;
      return gone('sold out');
    }
    if (state === 'NONE') {
      // A NONE computed just before the fan entered can be pushed just after (a tick's refresh
      // overtaken by the fan's own). The fan asks the line itself, as a page reload would: only a
      // NONE the line confirms is a lost place.
      const asked = await api.call<{ queueStatus: QueueStatus }>('queueStatus', STATUS, { id: stage.concertId });
      if (asked.data && asked.data.queueStatus.state !== 'NONE') {
        log.staleNone = (log.staleNone ?? 0) + 1;
        feed.update(asked.data.queueStatus);
        continue;
      }
      log.lostPlaceAt = now;
      return gone('lost place');
    }
    if (now > stage.stopAt) return gone('stopped waiting');
    const waited = now - patienceFrom;
    if (plan.patienceMs !== null && waited >= plan.patienceMs && WAITING_STATES.has(state)) {
      log.gaveUpAt = now;
      return gone('gave up');
    }
    if (!dropped && plan.dropAfterMs !== null && waited >= plan.dropAfterMs) {
      dropped = true;
      log.dropped = true;
      feed.close(true);
      await sleep(1000 + random() * 1000);
      feed.open();
      continue;
    }
    if (feed.endedBy !== undefined) {
      // The service ended the subscription while the fan still waits: a client reconnects.
      if (resubscribes++ >= RESUBSCRIBES) return gone(`subscription lost ${feed.endedBy}`);
      await sleep(1000);
      feed.open();
      continue;
    }
    // Before the opening `waited` is negative, so these deadlines fall after it.
    const deadlines = [stage.stopAt - now + 1];
    if (plan.patienceMs !== null) deadlines.push(plan.patienceMs - waited);
    if (!dropped && plan.dropAfterMs !== null) deadlines.push(plan.dropAfterMs - waited);
    await feed.change(Math.max(10, Math.min(...deadlines)));
  }
  if (!feed.latest) return gone('no status');

  // ---- admitted: shopping ----
  await sleep(think());
  if (plan.behaviour === 'walkAway') return gone('walked away');
  const holds: Hold[] = [];
  const tried = new Set<string>();
  let reads = 0;
  let seats: Seat[] = [];
  const readMap = async () => {
    reads++;
    const map = await api.call<{ schedule: { seats: Seat[] } }>('seats', SEATS, { id: stage.scheduleId, status: 'AVAILABLE' });
    seats = map.data?.schedule.seats ?? [];
    return map.code;
  };
  let code = await readMap();
  let attempts = 0;
  // Lost races since the map was read: past LOSSES_BEFORE_REREAD the fan's map is stale, and it
  // looks again, as a fan does at a seat map that has turned grey under its cursor. Before, fans
  // worked through a stale map and gave up on it while seats were still free ("no seat").
  let losses = 0;
  while (holds.length < plan.seats && attempts < MAX_HOLD_ATTEMPTS && code === '' && Date.now() < stage.stopAt) {
    const candidates = seats.filter((seat) => !tried.has(seat.id));
    if (candidates.length === 0 || losses >= LOSSES_BEFORE_REREAD) {
      if (reads >= MAX_MAP_READS) break;
      // Nothing free on the map: seats may come back (lapses, cancellations) in a moment.
      if (candidates.length === 0) await sleep(300);
      code = await readMap();
      losses = 0;
      continue;
    }
    // Rivals want the best seats: pick among the lowest-numbered tenth of the free ones (at least 4).
    // With every fan aiming at the same 4 seats, 200 ACTIVE fans spent their slots mostly losing
    // races and re-reading the map (a full seat map through GraphQL, the replicas' costliest read).
    const window = Math.max(BEST_SEATS_AT_LEAST, Math.ceil(candidates.length * BEST_SEATS_SHARE));
    const seat = candidates[Math.floor(random() * Math.min(candidates.length, window))] as Seat;
    tried.add(seat.id);
    const held = await api.call<{ holdSeat: Hold }>('holdSeat', HOLD, { seatId: seat.id });
    if (held.data) {
      holds.push(held.data.holdSeat);
      losses = 0;
    } else if (held.code === 'NOT_ACTIVE') break;
    else {
      attempts++;
      losses++;
    }
  }
  if (holds.length === 0) {
    await api.call('leaveQueue', LEAVE, { id: stage.concertId });
    log.leftAt = Date.now();
    return gone(code === 'NOT_ACTIVE' ? 'not active' : 'no seat');
  }
  await sleep(think());
  if (plan.behaviour === 'lapse') {
    await api.call('leaveQueue', LEAVE, { id: stage.concertId });
    log.leftAt = Date.now();
    log.lapsed = holds.map((hold) => ({ seatId: hold.seat.id, expiresAt: Date.parse(hold.expiresAt) }));
    return gone('let holds lapse');
  }

  // ---- paying ----
  const total = holds.reduce((sum, hold) => sum + hold.seat.price, 0);
  const key = `rehearsal-${plan.userId}-${Math.floor(random() * 1e9)}`;
  const holdIds = holds.map((hold) => hold.id);
  await api.call('chargePoints', CHARGE, { amount: plan.underfunded ? Math.max(1, total - Math.ceil(stage.price / 2)) : total });
  const pay = () => api.call<{ pay: Payment }>('pay', PAY, { holdIds, key });
  let paid: Payment | undefined;
  for (let attempt = 0; attempt < 3 && !paid; attempt++) {
    if (plan.doubleSubmit && attempt === 0) {
      const [a, b] = await Promise.all([pay(), pay()]);
      if (a.data && b.data) log.doubleSubmitSame = a.data.pay.id === b.data.pay.id;
      paid = a.data?.pay ?? b.data?.pay;
      if (!paid && (a.code === 'INSUFFICIENT_POINTS' || b.code === 'INSUFFICIENT_POINTS')) await api.call('chargePoints', CHARGE, { amount: stage.price });
      else if (!paid) break;
      continue;
    }
    const result = await pay();
    paid = result.data?.pay;
    if (!paid && result.code === 'INSUFFICIENT_POINTS') await api.call('chargePoints', CHARGE, { amount: stage.price });
    else if (!paid) break;
  }
  if (!paid) return gone('payment failed');
  log.paidAt = Date.now();
  log.paymentIds.push(paid.id);
  log.seatsBought = paid.reservations.length;
  feed.close();
  log.absentFrom = Date.now();

  if (plan.cancel) {
    await sleep(500 + random() * 1500);
    const reservation = paid.reservations[0] as Reservation;
    const cancelled = await api.call<{ cancelReservation: Reservation }>('cancelReservation', CANCEL, { id: reservation.id });
    if (cancelled.data?.cancelReservation.status === 'CANCELLED') {
      log.cancelled.push({ seatId: reservation.seat.id, at: Date.now() });
      log.seatsBought--;
    }
  }
  log.outcome = 'bought';
  return log;
}

/** Plays every fan of `plans` at once (each on its own schedule); resolves when all are done. */
export function playFans(plans: FanPlan[], stage: Stage): Promise<FanLog[]> {
  return Promise.all(
    plans.map((plan) =>
      playFan(plan, stage).catch((error: unknown) => {
        // A client-side failure is the rehearsal's own, not the service's: logged as the fan's outcome.
        const reason = error instanceof Error ? error.message : inspect(error, { depth: 1 }).replace(/\s+/g, ' ');
        return { index: plan.index, userId: plan.userId, prequeue: false, enterSentAt: 0, enterDoneAt: 0, enterState: '', outcome: `client crashed: ${reason.slice(0, 120)}`, seatsBought: 0, paymentIds: [], lapsed: [], cancelled: [], pushes: [], seen: [], dropped: false, ops: [] } satisfies FanLog;
      }),
    ),
  );
}
