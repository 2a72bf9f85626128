import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../src/redis';
import { Api } from '../support/graphql-client';
import { HOLD, LEAVE, type QueueStatus, RELEASE, SEATS, STATUS_SUBSCRIPTION } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUpMany, wsClient } from './support/client';
import { createConcert } from './support/fixtures';
import { spawnServer } from './support/process';
import { activeFans, charge, hold, pay, seatFeed, seatIds, queueStatusOf as status } from './support/booking';
import { IDLE_S, presenceHelpers, presenceServer, sleep } from './support/presence';

const GRACE_S = 2;

let server: TestServer;
let api: Api;
const { children, closers, enter, inLine, subscribe, poll, metric, fullConcert, closeAll } = presenceHelpers(() => server);

beforeAll(async () => {
  server = await presenceServer('presence', GRACE_S);
  api = new Api(server.url);
});
afterAll(async () => {
  await closeAll();
  await server.stop();
});

describe('presence of WAITING fans', () => {
  it('drops a silent fan after the grace; those behind move up and their subscriptions say so; polling and subscribed fans stay', async () => {
    const { concertId } = await fullConcert();
    const [silent, subscribed, polling] = await signUpMany(api, 3);
    expect((await enter(silent!, concertId)).position).toBe(1);
    expect((await enter(subscribed!, concertId)).position).toBe(2);
    expect((await enter(polling!, concertId)).position).toBe(3);
    const { feed } = subscribe(server.wsUrl, subscribed!, concertId);
    expect((await feed.next()).data?.queueStatus.position).toBe(2);
    poll(polling!, concertId);
    const droppedBefore = await metric('queue_dropped_absent_total');

    const moved = await feed.until((m) => m.data?.queueStatus.position === 1, (GRACE_S + 3) * 1000);
    expect(moved.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1, waiting: 2 });
    expect(await inLine(silent!, concertId)).toEqual({ waiting: false, active: false });
    expect(await metric('queue_dropped_absent_total')).toBeGreaterThan(droppedBefore);

    // Twice the grace later, the present fans still hold their places.
    await sleep(2 * GRACE_S * 1000);
    expect(await status(polling!, concertId)).toMatchObject({ state: 'WAITING', position: 2 });
    expect(await inLine(subscribed!, concertId)).toEqual({ waiting: true, active: false });

    // The dropped fan is NONE, and coming back means the back of the line.
    expect((await status(silent!, concertId)).state).toBe('NONE');
    expect(await enter(silent!, concertId)).toMatchObject({ state: 'WAITING', position: 3 });
  });

  it('holds a fan who re-subscribes at once on their socket without the replica taking its holds for lost: one name, no fan read anew', async () => {
    const { concertId } = await createConcert(server);
    const line = redisKeys(server.app.config.redisPrefix).queue(Number(concertId));
    const fans = await signUpMany(api, 30);
    const clients = fans.map((fan) => wsClient(server.wsUrl, fan.token));
    closers.push(() => Promise.all(clients.map((client) => client.dispose())).then(() => undefined));
    const feeds = clients.map((client) => new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId }));
    await Promise.all(feeds.map((feed) => feed.next()));
    const resyncsBefore = await metric('queue_live_resyncs_total');
    const refusedBefore = await metric('rate_limit_refusals_total');
    const names = new Set<string>();
    // Ten fans close their subscription and open it again at once, for several beats (one every 333 ms),
    // a few times a beat: at most ~40 messages a second each, within a socket's message budget (50 a
    // second after a burst of 200). Faster, a fast host had sockets cut for flooding mid-test, and their
    // fans were rightly let go.
    const until = Date.now() + 3000;
    await Promise.all([
      ...feeds.slice(0, 10).map(async (_feed, i) => {
        while (Date.now() < until) {
          feeds[i]!.close();
          feeds[i] = new Feed(clients[i]!, STATUS_SUBSCRIPTION, { id: concertId });
          expect((await feeds[i]!.next()).data?.queueStatus).toBeDefined();
          await sleep(50 + Math.random() * 30);
        }
      }),
      (async () => {
        while (Date.now() < until) {
          for (const name of await server.app.redis.zrange(line.replicas, 0, -1)) names.add(name);
          await sleep(20);
        }
      })(),
    ]);
    expect(names.size).toBe(1);
    expect(await metric('queue_live_resyncs_total')).toBe(resyncsBefore);
    // No socket cut, nothing refused: every fan's last subscription is open.
    expect(await metric('rate_limit_refusals_total')).toBe(refusedBefore);
    expect(await server.app.redis.zcard(line.watchers)).toBe(30);
    for (const feed of feeds) feed.close();
  });

  it('keeps the place of a fan who reconnects within the grace', async () => {
    const { concertId } = await fullConcert();
    const [fan, behind] = await signUpMany(api, 2);
    await enter(fan!, concertId);
    await enter(behind!, concertId);
    poll(behind!, concertId);
    const first = subscribe(server.wsUrl, fan!, concertId);
    expect((await first.feed.next()).data?.queueStatus.position).toBe(1);
    await sleep(1000);
    await first.close();
    // Back 0.8 s into the 2 s grace: the new socket has 1.2 s to register, even on a busy machine.
    await sleep(GRACE_S * 1000 - 1200);
    const again = subscribe(server.wsUrl, fan!, concertId);
    expect((await again.feed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
    await sleep(2 * GRACE_S * 1000);
    expect(await inLine(fan!, concertId)).toEqual({ waiting: true, active: false });
  });

  it('drops a silent PREQUEUE fan before opening too', async () => {
    const { concertId } = await createConcert(server, { salesOpenAt: new Date(Date.now() + 3_600_000) });
    const [silent, present] = await signUpMany(api, 2);
    expect((await enter(silent!, concertId)).state).toBe('PREQUEUE');
    expect((await enter(present!, concertId)).state).toBe('PREQUEUE');
    const { feed } = subscribe(server.wsUrl, present!, concertId);
    expect((await feed.next()).data?.queueStatus).toMatchObject({ state: 'PREQUEUE', waiting: 2 });
    await vi.waitFor(async () => expect((await inLine(silent!, concertId)).waiting).toBe(false), { timeout: (GRACE_S + 3) * 1000, interval: 100 });
    expect(await inLine(present!, concertId)).toEqual({ waiting: true, active: false });
  });

  it('answers a WAITING fan with an estimated wait from the first answer', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const fans = await signUpMany(api, 4);
    const answers = await Promise.all(fans.map((fan) => enter(fan, concertId)));
    for (const answer of answers.filter((a) => a.state === 'WAITING')) expect(answer.estimatedWaitSeconds).toBeGreaterThan(0);
    expect(answers.filter((a) => a.state === 'WAITING').length).toBeGreaterThan(0);
  });
});

describe('presence of ACTIVE fans', () => {
  it('takes the slot of an idle ACTIVE fan and gives it to the next present fan; seat-map polling keeps a slot', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 2 });
    const [idle, browsing, next] = await signUpMany(api, 3);
    await enter(idle!, concertId);
    await enter(browsing!, concertId);
    await vi.waitFor(async () => expect((await inLine(browsing!, concertId)).active).toBe(true), { timeout: 5000, interval: 50 });
    // Browsing the seat map is a sign of presence.
    let browse = true;
    closers.push(() => {
      browse = false;
    });
    void (async () => {
      while (browse) {
        await browsing!.api.request(SEATS, { id: scheduleIds[0] });
        await sleep(500);
      }
    })();
    await enter(next!, concertId);
    const { feed } = subscribe(server.wsUrl, next!, concertId);
    expect((await feed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
    const [droppedBefore, recycledBefore] = [await metric('queue_dropped_absent_total'), await metric('queue_slots_recycled_total')];

    const admitted = await feed.until((m) => m.data?.queueStatus.state === 'ACTIVE', (IDLE_S + 3) * 1000);
    expect(admitted.data?.queueStatus.activeUntil).toBeTruthy();
    expect(await inLine(idle!, concertId)).toEqual({ waiting: false, active: false });
    expect(await inLine(browsing!, concertId)).toEqual({ waiting: false, active: true });
    expect(await metric('queue_dropped_absent_total')).toBeGreaterThan(droppedBefore);
    expect(await metric('queue_slots_recycled_total')).toBeGreaterThan(recycledBefore);
    browse = false;
    // The subscribed fan keeps the slot past the idle time.
    await sleep((IDLE_S + 1) * 1000);
    expect(await inLine(next!, concertId)).toEqual({ waiting: false, active: true });
  });

  it('keeps the slot of a fan whose only sign of life is an open seatChanged subscription; closing it starts the idle clock', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1 });
    const [fan] = await signUpMany(api, 1);
    await enter(fan!, concertId);
    await vi.waitFor(async () => expect((await inLine(fan!, concertId)).active).toBe(true), { timeout: 5000, interval: 50 });
    const seats = await seatFeed(server, fan!, scheduleIds[0]!);
    closers.push(seats.close);
    await sleep((IDLE_S + 2) * 1000);
    expect(await inLine(fan!, concertId)).toEqual({ waiting: false, active: true });
    await seats.close();
    await vi.waitFor(async () => expect(await inLine(fan!, concertId)).toEqual({ waiting: false, active: false }), { timeout: (IDLE_S + 3) * 1000, interval: 100 });
  });
  it('keeps the slot of a fan whose only activity is holding, then releasing, seats; once they stop, the slot lapses after the idle time', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 4 });
    const [fan] = await signUpMany(api, 1);
    await enter(fan!, concertId);
    await vi.waitFor(async () => expect((await inLine(fan!, concertId)).active).toBe(true), { timeout: 5000, interval: 50 });
    // Admission (at or before now) was the last sign of presence other than holds.
    const admitted = Date.now();
    const seats = await seatIds(server, scheduleIds[0]!);
    const step = (IDLE_S * 1000) / 3;
    // Each kind of call alone spans more than the idle time, so each must count for the slot to stay.
    const held = [];
    for (const seat of seats) {
      await sleep(step);
      held.push(await hold(fan!, seat));
    }
    expect(Date.now() - admitted).toBeGreaterThan((IDLE_S + 0.5) * 1000);
    expect(await inLine(fan!, concertId)).toEqual({ waiting: false, active: true });

    const lastHold = Date.now();
    for (const { id } of held) {
      await sleep(step);
      expect(await fan!.api.data(RELEASE, { holdId: id })).toEqual({ releaseHold: true });
    }
    expect(Date.now() - lastHold).toBeGreaterThan((IDLE_S + 0.5) * 1000);
    expect(await inLine(fan!, concertId)).toEqual({ waiting: false, active: true });

    // Silent from now on: the slot goes one idle time after the last release, not before.
    const stopped = Date.now();
    await vi.waitFor(async () => expect(await inLine(fan!, concertId)).toEqual({ waiting: false, active: false }), { timeout: (IDLE_S + 3) * 1000, interval: 100 });
    expect(Date.now() - stopped).toBeGreaterThan((IDLE_S - 1) * 1000);
  });

  it('keeps the place of a waiting fan whose only activity is paying for holds from an earlier slot', async () => {
    // A fifth seat stays free, so admission does not pause while the payer holds four.
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 5, price: 100 });
    const [payer] = await activeFans(api, concertId, 1);
    const [holder] = await signUpMany(api, 1);
    await charge(payer!, 400);
    const held = [];
    for (const seat of (await seatIds(server, scheduleIds[0]!)).slice(0, 4)) held.push(await hold(payer!, seat));
    // The payer gives up the slot (holds stay) to a present fan, and queues again behind them.
    await payer!.api.data(LEAVE, { id: concertId });
    await enter(holder!, concertId);
    const { feed } = subscribe(server.wsUrl, holder!, concertId);
    await feed.until((m) => m.data?.queueStatus.state === 'ACTIVE', 5000);
    expect((await enter(payer!, concertId)).state).toBe('WAITING');
    const entered = Date.now();
    // Paying, one hold at a time, spans more than the grace: each payment must count. Payments start
    // a set time apart, however long each takes (on a loaded machine one may take a second).
    let lastStart = entered;
    for (const [i, { id }] of held.entries()) {
      await sleep(Math.max(0, lastStart + (GRACE_S * 1000) / 2.5 - Date.now()));
      lastStart = Date.now();
      await pay(payer!, [id], `presence-${concertId}-${i}`);
    }
    expect(Date.now() - entered).toBeGreaterThan((GRACE_S + 0.5) * 1000);
    expect(await inLine(payer!, concertId)).toEqual({ waiting: true, active: false });
  });

  it('leaves a fan who lost the slot for idleness their holds: the fan admitted in their place cannot take the seat, and they can still pay', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2, price: 100 });
    const [idle] = await activeFans(api, concertId, 1);
    const [next] = await signUpMany(api, 1);
    await charge(idle!, 100);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const held = await hold(idle!, seatId!);
    // The next fan stays present (subscribed) while the idle one goes silent.
    await enter(next!, concertId);
    const { feed } = subscribe(server.wsUrl, next!, concertId);
    await feed.until((m) => m.data?.queueStatus.state === 'ACTIVE', (IDLE_S + 4) * 1000);
    expect(await inLine(idle!, concertId)).toEqual({ waiting: false, active: false });

    expect(await next!.api.errorCode(HOLD, { seatId })).toBe('SEAT_UNAVAILABLE');
    const paid = await pay(idle!, [held.id], `idle-${concertId}`);
    expect(paid.reservations.map((r) => r.seat.id)).toEqual([seatId]);
  });
});

describe('an idle ACTIVE fan, with a presence grace far longer than the idle time', () => {
  it('loses the slot after the idle time (ACTIVE_IDLE_SECONDS), not the grace', async () => {
    const longGrace = await presenceServer('presence_long_grace', 30);
    const helpers = presenceHelpers(() => longGrace);
    try {
      const { concertId } = await createConcert(longGrace, { maxActiveUsers: 1 });
      const [idle] = await signUpMany(new Api(longGrace.url), 1);
      await helpers.enter(idle!, concertId);
      await vi.waitFor(async () => expect((await helpers.inLine(idle!, concertId)).active).toBe(true), { timeout: 5000, interval: 50 });
      // Silent from now on: the slot goes after IDLE_S and a tick or two, long before the 30 s grace.
      await vi.waitFor(async () => expect(await helpers.inLine(idle!, concertId)).toEqual({ waiting: false, active: false }), { timeout: (IDLE_S + 6) * 1000, interval: 200 });
    } finally {
      await helpers.closeAll();
      await longGrace.stop();
    }
  }, 30_000);
});

describe('presence across replicas', () => {
  it('counts a subscription on an API-only replica', async () => {
    const apiOnly = await spawnServer({ ...server.env, RUN_WORKERS: 'false' });
    children.push(apiOnly);
    const { concertId } = await fullConcert();
    const [remote, silent] = await signUpMany(api, 2);
    await enter(remote!, concertId);
    await enter(silent!, concertId);
    const { feed } = subscribe(apiOnly.wsUrl, remote!, concertId);
    expect((await feed.next()).data?.queueStatus.position).toBe(1);
    await vi.waitFor(async () => expect((await inLine(silent!, concertId)).waiting).toBe(false), { timeout: (GRACE_S + 3) * 1000, interval: 100 });
    await sleep(GRACE_S * 1000);
    expect(await inLine(remote!, concertId)).toEqual({ waiting: true, active: false });
  });
});

describe('with no tick between the grace and the call', () => {
  let manual: TestServer;
  beforeAll(async () => {
    // No workers: ticks run only when the test says, so the only judge of a lapse is the call itself.
    // Its ticks are due every 5 s: the seconds without one here are the gap between two ticks, not a
    // line left unattended (three missed), when nobody would be judged absent.
    manual = await startTestServer('presence_manual', { RUN_WORKERS: 'false', ADMISSION_INTERVAL_MS: '5000', ACTIVE_TTL_SECONDS: '120', PRESENCE_GRACE_SECONDS: '3', ACTIVE_IDLE_SECONDS: '3' });
  });
  afterAll(() => manual.stop());

  it('a fan silent past the grace asks and is told NONE, not kept in line; an idle ACTIVE fan is refused seats', async () => {
    const { concertId, scheduleIds } = await createConcert(manual, { maxActiveUsers: 1 });
    const local = new Api(manual.url);
    const [active, silent, behind] = await signUpMany(local, 3);
    await enter(active!, concertId);
    await manual.app.services.queue.admitTick();
    expect(await enter(silent!, concertId)).toMatchObject({ state: 'WAITING', position: 1 });
    expect(await enter(behind!, concertId)).toMatchObject({ state: 'WAITING', position: 2 });
    const stopPolling = poll(behind!, concertId);
    const [droppedBefore, recycledBefore] = [await metric('queue_dropped_absent_total', manual), await metric('queue_slots_recycled_total', manual)];

    // Past both: the fan behind polls every half second meanwhile, a margin of 2.5 s under the grace.
    await sleep(3600);
    // No tick has run since the grace ended: the silent fan's own call finds the place gone, and does not renew it.
    expect(await status(silent!, concertId)).toMatchObject({ state: 'NONE', position: null });
    expect(await status(behind!, concertId)).toMatchObject({ state: 'WAITING', position: 1 });
    // The ACTIVE fan, idle as long, has lost the slot: seats are refused, as for anyone not admitted.
    expect(await active!.api.errorCode(SEATS, { id: scheduleIds[0] })).toBe('NOT_ACTIVE');
    expect(await metric('queue_dropped_absent_total', manual)).toBe(droppedBefore + 2);
    // The slot goes to the fan who waited, at the next tick: counted as recycled.
    expect(await metric('queue_slots_recycled_total', manual)).toBe(recycledBefore + 1);
    // Coming back means the back of the line, and the next tick admits the fan who stayed.
    expect(await enter(silent!, concertId)).toMatchObject({ state: 'WAITING', position: 2 });
    await manual.app.services.queue.admitTick();
    expect(await status(behind!, concertId)).toMatchObject({ state: 'ACTIVE' });
    stopPolling();
  });

  it('an idle ACTIVE fan who enters again loses the slot and queues at the back; with nobody else waiting, no slot counts as recycled', async () => {
    const { concertId } = await createConcert(manual, { maxActiveUsers: 1 });
    const [fan] = await signUpMany(new Api(manual.url), 1);
    await enter(fan!, concertId);
    await manual.app.services.queue.admitTick();
    expect(await status(fan!, concertId)).toMatchObject({ state: 'ACTIVE' });
    const [droppedBefore, recycledBefore] = [await metric('queue_dropped_absent_total', manual), await metric('queue_slots_recycled_total', manual)];
    await sleep(3600);
    expect(await enter(fan!, concertId)).toMatchObject({ state: 'WAITING', position: 1 });
    expect(await metric('queue_dropped_absent_total', manual)).toBe(droppedBefore + 1);
    expect(await metric('queue_slots_recycled_total', manual)).toBe(recycledBefore);
  });
});
