import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, SEAT_CHANGED, STATUS_SUBSCRIPTION, type QueueStatus } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUpMany, wsClient } from './support/client';
import { createConcert } from './support/fixtures';
import { activeFans, charge, hold, pay, queueState, queueStatusOf, seatIds } from './support/booking';
import { metricSamples, metricSum, metricSums } from './support/metrics';
import { spawnServer, type ServerProcess } from './support/process';

const INTERVAL_MS = 250;

// The ticks run on `server`; `apiOnly` shares its MySQL and Redis and runs none.
let server: TestServer;
let apiOnly: ServerProcess;

beforeAll(async () => {
  server = await startTestServer('metrics', { ADMISSION_INTERVAL_MS: String(INTERVAL_MS) });
  apiOnly = await spawnServer({ ...server.env, RUN_WORKERS: 'false' });
});
afterAll(async () => {
  await apiOnly?.stop();
  await server?.stop();
});

const perConcert = async (url: string, name: string, concertId: string) => (await metricSamples(url, name)).get(`{concert="${concertId}"}`);

describe('per-concert gauges', () => {
  it('read the same on every replica, whichever runs the ticks, and go with the line', async () => {
    const open = await createConcert(server, { maxActiveUsers: 1, seatCount: 7 });
    const later = await createConcert(server, { salesOpenAt: new Date(Date.now() + 3_600_000) });
    const fans = await signUpMany(new Api(server.url), 5);
    for (const fan of fans.slice(0, 3)) await fan.api.data(ENTER, { id: open.concertId });
    for (const fan of fans.slice(3)) await fan.api.data(ENTER, { id: later.concertId });

    for (const url of [server.url, apiOnly.url]) {
      await vi.waitFor(
        async () => {
          expect(await perConcert(url, 'queue_active', open.concertId)).toBe(1);
          expect(await perConcert(url, 'queue_waiting', open.concertId)).toBe(2);
          expect(await perConcert(url, 'queue_prequeue', open.concertId)).toBe(0);
          expect(await perConcert(url, 'inventory_seats_left', open.concertId)).toBe(7);
          expect(await perConcert(url, 'queue_prequeue', later.concertId)).toBe(2);
          expect(await perConcert(url, 'queue_waiting', later.concertId)).toBe(0);
        },
        { timeout: 5000, interval: 100 },
      );
    }

    for (const fan of fans.slice(0, 3)) await fan.api.data(LEAVE, { id: open.concertId });
    for (const fan of fans.slice(3)) await fan.api.data(LEAVE, { id: later.concertId });
    for (const url of [server.url, apiOnly.url]) {
      await vi.waitFor(
        async () => {
          for (const name of ['queue_waiting', 'queue_prequeue', 'queue_active', 'inventory_seats_left']) {
            for (const { concertId } of [open, later]) expect(await perConcert(url, name, concertId)).toBeUndefined();
          }
        },
        { timeout: 5000, interval: 100 },
      );
    }
  });
});

describe('queue_admitted_per_tick', () => {
  it('observes each tick once, however many concerts it visits', async () => {
    // Three concerts in the tick's index (a fan ACTIVE in each, another waiting).
    const fans = await signUpMany(new Api(server.url), 6);
    for (let i = 0; i < 3; i++) {
      const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
      for (const fan of fans.slice(2 * i, 2 * i + 2)) await fan.api.data(ENTER, { id: concertId });
    }
    // Each pair read in one scrape: a tick between two scrapes would count in one figure and not the other.
    const figures = ['queue_admitted_total', 'queue_admitted_per_tick_count', 'queue_admitted_per_tick_sum'];
    const [admittedBefore = 0, countBefore = 0, sumBefore = 0] = await metricSums(server.url, figures);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const [admittedAfter = 0, countAfter = 0, sumAfter = 0] = await metricSums(server.url, figures);
    const elapsed = Date.now() - started;
    const observed = countAfter - countBefore;
    // Every ADMISSION_INTERVAL_MS (half of them at least, on a loaded host), not at some default pace.
    expect(observed).toBeGreaterThanOrEqual(Math.floor(elapsed / INTERVAL_MS / 2));
    // Once per tick (about 8 here), not once per concert per tick (about 24).
    expect(observed).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL_MS) + 2);
    expect(sumAfter - sumBefore).toBe(admittedAfter - admittedBefore);
  });
});

describe('queue_status_pushes_total', () => {
  it('counts the first status a subscription gets', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [holder, fan] = await signUpMany(new Api(server.url), 2);
    await holder!.api.data(ENTER, { id: concertId });
    await fan!.api.data(ENTER, { id: concertId });
    // The holder let in first: a tick doing so after the subscription would move the fan up, a second push.
    await vi.waitFor(async () => expect((await queueStatusOf(holder!, concertId)).state).toBe('ACTIVE'), { timeout: 5000, interval: 50 });
    const before = await metricSum(apiOnly.url, 'queue_status_pushes_total');
    const client = wsClient(apiOnly.wsUrl, fan!.token);
    try {
      const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await feed.next()).data?.queueStatus.state).toBe('WAITING');
      expect(await metricSum(apiOnly.url, 'queue_status_pushes_total')).toBe(before + 1);
    } finally {
      await client.dispose();
    }
  });
});

describe('live subscription gauges', () => {
  it('count the queueStatus and seatChanged feeds open on the process, and let go of each when its socket goes', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    const [fan] = await activeFans(new Api(server.url), concertId, 1);
    const gauges = () => metricSums(apiOnly.url, ['queue_status_subscribers', 'seat_changed_subscribers']);
    const before = await gauges();
    const client = wsClient(apiOnly.wsUrl, fan!.token);
    const status = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect((await status.next()).data?.queueStatus.state).toBe('ACTIVE');
    const seats = new Feed(client, SEAT_CHANGED, { id: scheduleIds[0] });
    await vi.waitFor(async () => expect(await gauges()).toEqual([before[0]! + 1, before[1]! + 1]), { timeout: 5000, interval: 50 });
    // The seat map's feed alone closed, then the socket with the rest.
    seats.close();
    await vi.waitFor(async () => expect(await gauges()).toEqual([before[0]! + 1, before[1]!]), { timeout: 5000, interval: 50 });
    await client.dispose();
    await vi.waitFor(async () => expect(await gauges()).toEqual(before), { timeout: 5000, interval: 50 });
  });
});

describe('sales counters', () => {
  it('count a payment, its seats and its points once, however often it is asked again', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 3 });
    const [fan] = await activeFans(new Api(server.url), concertId, 1);
    const [first, second] = await seatIds(server, scheduleIds[0]!);
    await charge(fan!, 10_000);
    const holds = [await hold(fan!, first!), await hold(fan!, second!)];
    const names = ['payments_total', 'seats_sold_total', 'points_paid_total'];
    const before = await metricSums(server.url, names);
    const payment = await pay(fan!, holds.map((held) => held.id), 'sales-counters');
    // The retry is answered with the first payment: no sale of its own.
    expect((await pay(fan!, holds.map((held) => held.id), 'sales-counters')).id).toBe(payment.id);
    expect(await metricSums(server.url, names)).toEqual([before[0]! + 1, before[1]! + 2, before[2]! + payment.amount]);
  });
});

describe('a slot that runs out, and a gauge at 0', () => {
  it('inventory_seats_left reads 0, not nothing, while the one seat is held; queue_expired_total counts the ACTIVE slot that runs out with nobody waiting', async () => {
    const quick = await startTestServer('metrics_expiry', { ADMISSION_INTERVAL_MS: '200', ACTIVE_TTL_SECONDS: '4' });
    try {
      const { concertId, scheduleIds } = await createConcert(quick, { maxActiveUsers: 1, seatCount: 1 });
      const before = await metricSum(quick.url, 'queue_expired_total');
      const [fan] = await activeFans(new Api(quick.url), concertId, 1);
      const [seatId] = await seatIds(quick, scheduleIds[0]!);
      await hold(fan!, seatId!);
      await vi.waitFor(
        async () => {
          expect(await perConcert(quick.url, 'queue_active', concertId)).toBe(1);
          expect(await perConcert(quick.url, 'inventory_seats_left', concertId)).toBe(0);
        },
        { timeout: 3000, interval: 100 },
      );
      // Nobody waits: the tick that ends the slot admits no one in its place.
      await vi.waitFor(async () => expect(await queueState(fan!, concertId)).toBe('NONE'), { timeout: 8000, interval: 200 });
      await vi.waitFor(async () => expect((await metricSum(quick.url, 'queue_expired_total')) - before).toBe(1), { timeout: 3000, interval: 100 });
    } finally {
      await quick.stop();
    }
  });
});
