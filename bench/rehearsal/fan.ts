/**
 * A fan, played as a real client: GraphQL over HTTP (fetch) and graphql-ws (ws), presenting its own
 * client address in X-Forwarded-For. Everything it sees and does is logged with wall-clock times
 * (comparable across the processes of one machine) for the report.
 */
import { inspect } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GqlResponse } from '../../support/graphql-client';
import { CANCEL, CHARGE, ENTER, HOLD, LEAVE, PAY, SEATS, STATUS_SUBSCRIPTION, type Hold, type Payment, type QueueStatus, type Reservation, type Seat } from '../../support/operations';
import { prng, type FanPlan } from './plan';
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
  /** The line said NONE while the fan was waiting and present. */
  lostPlaceAt?: number;
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
  /** Every status seen: [ms, state, position, subscription number]. */
  seen: [number, string, number | null, number][];
  dropped: boolean;
  ops: OpRecord[];
}


function socketClass(ip: string): unknown {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { 'x-forwarded-for': ip } });
    }
  };
}

class FanClient {
  constructor(
    private readonly plan: FanPlan,
    private readonly url: string,
    private readonly log: FanLog,
  ) {}

  async call<T>(name: string, query: string, variables: Record<string, unknown>): Promise<{ data?: T; code: string }> {
    const start = Date.now();
    let code = '';
    let data: T | undefined;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.plan.token}`, 'x-forwarded-for': this.plan.ip },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as GqlResponse<T>;
      if (body.errors?.length) code = body.errors[0]?.extensions?.code ?? 'UNKNOWN';
      else data = body.data ?? undefined;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      code = `NETWORK:${cause?.code ?? (error as Error).message.slice(0, 40)}`;
    }
    this.log.ops.push([name, start, Date.now() - start, code]);
    return { data, code };
  }
}

/** The queueStatus subscription of one socket, with a way to wait for the next status. */
class StatusFeed {
  latest?: QueueStatus;
  private waiters: (() => void)[] = [];
  private client?: Client;
  private first = true;
  private opened = 0;

  constructor(
    private readonly plan: FanPlan,
    private readonly wsUrl: string,
    private readonly stage: Stage,
    private readonly log: FanLog,
  ) {}

  open(): void {
    this.first = true;
    const generation = ++this.opened;
    const started = Date.now();
    this.client = createClient({
      url: this.wsUrl,
      webSocketImpl: socketClass(this.plan.ip),
      connectionParams: { authorization: `Bearer ${this.plan.token}` },
      retryAttempts: 0,
      lazy: true,
    });
    this.client.subscribe<QueueStatus>(
      { query: STATUS_SUBSCRIPTION, variables: { id: this.stage.concertId } },
      {
        next: (message) => {
          const status = (message.data as { queueStatus?: QueueStatus } | undefined)?.queueStatus;
          if (!status) return;
          const now = Date.now();
          this.log.seen.push([now, status.state, status.position, generation]);
          if (this.first) {
            this.log.ops.push(['subscribe', started, now - started, '']);
            this.first = false;
          } else this.log.pushes.push(now);
          this.update(status);
        },
        error: (error) => {
          const code = Array.isArray(error) ? String((error[0] as { extensions?: { code?: string } })?.extensions?.code ?? 'UNKNOWN') : 'SOCKET';
          this.log.ops.push(['subscribe', started, Date.now() - started, code]);
          this.log.seen.push([Date.now(), `error ${code} ${inspect(error, { depth: 2 }).replace(/\s+/g, ' ').slice(0, 200)}`, null, generation]);
          this.wake();
        },
        complete: () => {
          this.log.seen.push([Date.now(), 'complete', null, generation]);
          this.wake();
        },
      },
    );
  }

  update(status: QueueStatus): void {
    if (this.log.prequeue && this.log.drawPosition === undefined && status.state === 'WAITING' && status.position !== null) this.log.drawPosition = status.position;
    if (status.state === 'ACTIVE' && this.log.admittedAt === undefined && status.activeUntil) {
      this.log.admittedAt = Date.parse(status.activeUntil) - this.stage.activeTtlSeconds * 1000;
      this.log.admitSeenAt = Date.now();
    }
    this.latest = status;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves at the next status (or socket end), or after `ms`. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.dispose();
  }
}

const WAITING_STATES = new Set(['WAITING', 'PREQUEUE']);

export async function playFan(plan: FanPlan, stage: Stage): Promise<FanLog> {
  const random = prng(plan.seed);
  const think = () => stage.thinkMs[0] + random() * (stage.thinkMs[1] - stage.thinkMs[0]);
  const { url, wsUrl } = stage.urls[plan.replica] as { url: string; wsUrl: string };
  const log: FanLog = { index: plan.index, userId: plan.userId, prequeue: false, enterSentAt: 0, enterDoneAt: 0, enterState: '', outcome: 'unfinished', seatsBought: 0, paymentIds: [], lapsed: [], cancelled: [], pushes: [], seen: [], dropped: false, ops: [] };
  const api = new FanClient(plan, url, log);
  const feed = new StatusFeed(plan, wsUrl, stage, log);
  const gone = async (outcome: string) => {
    await feed.close();
    log.absentFrom ??= Date.now();
    log.outcome = outcome;
    return log;
  };

  await sleep(stage.openAt + plan.arriveAt - Date.now());
  log.enterSentAt = Date.now();
  const entered = await api.call<{ enterQueue: QueueStatus }>('enterQueue', ENTER, { id: stage.concertId });
  log.enterDoneAt = Date.now();
  if (!entered.data) return gone(`enter failed ${entered.code}`);
  log.enterState = entered.data.enterQueue.state;
  log.prequeue = log.enterState === 'PREQUEUE';
  feed.open();
  feed.update(entered.data.enterQueue);

  // ---- waiting ----
  const waitStart = Date.now();
  let dropped = false;
  while (feed.latest && feed.latest.state !== 'ACTIVE') {
    const state = feed.latest.state;
    const now = Date.now();
    if (state === 'SOLD_OUT') {
      log.soldOutAt = now;
      return gone('sold out');
    }
    if (state === 'NONE') {
      log.lostPlaceAt = now;
      return gone('lost place');
    }
    if (now > stage.stopAt) return gone('stopped waiting');
    // The pre-queue wait does not count against patience: fans expect to wait for the opening.
    const waited = now - Math.max(waitStart, stage.openAt);
    if (plan.patienceMs !== null && waited >= plan.patienceMs && WAITING_STATES.has(state)) {
      log.gaveUpAt = now;
      return gone('gave up');
    }
    if (!dropped && plan.dropAfterMs !== null && waited >= plan.dropAfterMs) {
      dropped = true;
      log.dropped = true;
      await feed.close();
      await sleep(1000 + random() * 1000);
      feed.open();
      continue;
    }
    const deadlines = [stage.stopAt - now, 1000];
    if (plan.patienceMs !== null) deadlines.push(plan.patienceMs - waited);
    if (!dropped && plan.dropAfterMs !== null) deadlines.push(plan.dropAfterMs - waited);
    await feed.next(Math.max(10, Math.min(...deadlines)));
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
  while (holds.length < plan.seats && attempts < 12 && code === '' && Date.now() < stage.stopAt) {
    const candidates = seats.filter((seat) => !tried.has(seat.id));
    if (candidates.length === 0) {
      if (reads >= 4) break;
      await sleep(300);
      code = await readMap();
      continue;
    }
    // Rivals want the best seats: pick among the lowest-numbered free ones.
    const seat = candidates[Math.floor(random() * Math.min(candidates.length, 4))] as Seat;
    tried.add(seat.id);
    const held = await api.call<{ holdSeat: Hold }>('holdSeat', HOLD, { seatId: seat.id });
    if (held.data) holds.push(held.data.holdSeat);
    else if (held.code === 'NOT_ACTIVE') break;
    else attempts++;
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
  await feed.close();
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
