import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../src/redis';
import { Api } from '../support/graphql-client';
import { ENTER, HOLD, LEAVE, type QueueStatus, RELEASE, SEATS, STATUS_SUBSCRIPTION } from '../support/operations';
import { metricSum } from './support/metrics';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUp, signUpMany, wsClient, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { spawnServer, type ServerProcess } from './support/process';
import { activeFans, charge, hold, pay, pollStatus, seatFeed, seatIds, queueStatusOf as status } from './support/booking';

const GRACE_S = 2;
const IDLE_S = 3;
/** Sockets per account: a fan may hold them all on a replica that dies. */
const MAX_SOCKETS = 2;

let server: TestServer;
let api: Api;
const children: ServerProcess[] = [];
const closers: (() => Promise<void> | void)[] = [];

/** A server of this file: holds an ACTIVE slot long enough, with `graceSeconds` of presence grace. */
const presenceServer = (name: string, graceSeconds: number) =>
  startTestServer(name, {
    ACTIVE_TTL_SECONDS: '120',
    PRESENCE_GRACE_SECONDS: String(graceSeconds),
    ACTIVE_IDLE_SECONDS: String(IDLE_S),
    MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
  });

beforeAll(async () => {
  server = await presenceServer('presence', GRACE_S);
  api = new Api(server.url);
});
afterAll(async () => {
  for (const close of closers) await close();
  await Promise.all(children.map((child) => child.stop()));
  await server.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const enter = async (fan: Account, id: string) => (await fan.api.data<{ enterQueue: QueueStatus }>(ENTER, { id })).enterQueue;

/** Whether the fan is in the concert's line or ACTIVE, read straight from Redis: asking the API would be a sign of presence. */
async function inLine(fan: Account, concertId: string, on: TestServer = server): Promise<{ waiting: boolean; active: boolean }> {
  const k = redisKeys(on.app.config.redisPrefix).queue(Number(concertId));
  const [wait, active] = await Promise.all([on.app.redis.zscore(k.wait, fan.id), on.app.redis.zscore(k.active, fan.id)]);
  return { waiting: wait !== null, active: active !== null };
}

/** A queueStatus subscription of the fan on the given server; closed at the end of the file at the latest. */
function subscribe(wsUrl: string, fan: Account, concertId: string) {
  const client = wsClient(wsUrl, fan.token);
  const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
  const close = async () => {
    feed.close();
    await client.dispose();
  };
  closers.push(close);
  return { feed, close };
}

/** A subscription as subscribe opens it, retried every 100 ms while the server refuses the socket (MAX_SOCKETS_PER_USER); with its first status. */
async function subscribeWhenLet(wsUrl: string, fan: Account, concertId: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const attempt = subscribe(wsUrl, fan, concertId);
    try {
      const first = (await attempt.feed.next()).data?.queueStatus;
      if (first) return { ...attempt, first };
    } catch {
      // closed with 4429: the account's sockets are all counted
    }
    await attempt.close();
    if (Date.now() > deadline) throw new Error(`no socket let in within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Polls the fan's status every half second (a sign of presence) until stopped; stopped at the end of the file at the latest. */
function poll(fan: Account, concertId: string): () => void {
  const stop = pollStatus(fan, concertId);
  closers.push(stop);
  return stop;
}

const metric = (name: string, on: TestServer = server) => metricSum(on.url, name);

/** Capacity 1, its slot taken by a holder who keeps it by polling: everyone else stays in line. */
async function fullConcert(on: TestServer = server): Promise<{ concertId: string; holder: Account }> {
  const { concertId } = await createConcert(on, { maxActiveUsers: 1 });
  const holder = await signUp(on === server ? api : new Api(on.url));
  await enter(holder, concertId);
  poll(holder, concertId);
  await vi.waitFor(async () => expect((await inLine(holder, concertId, on)).active).toBe(true), { timeout: 5000, interval: 50 });
  return { concertId, holder };
}

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
    const resyncsBefore = await metricSum(server.url, 'queue_live_resyncs_total');
    const names = new Set<string>();
    // Ten fans close their subscription and open it again at once, for several beats (one every 333 ms).
    const until = Date.now() + 3000;
    await Promise.all([
      ...feeds.slice(0, 10).map(async (_feed, i) => {
        while (Date.now() < until) {
          feeds[i]!.close();
          feeds[i] = new Feed(clients[i]!, STATUS_SUBSCRIPTION, { id: concertId });
          await feeds[i]!.next();
          await sleep(Math.random() * 30);
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
    expect(await metricSum(server.url, 'queue_live_resyncs_total')).toBe(resyncsBefore);
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

/** An API-only replica, and two fans in line (behind the holder of the one slot) who will watch there. */
async function twoFansBesideReplica(on: TestServer): Promise<{ replica: ServerProcess; concertId: string; fans: [Account, Account] }> {
  const replica = await spawnServer({ ...on.env, RUN_WORKERS: 'false' });
  children.push(replica);
  const { concertId } = await fullConcert(on);
  const fans = (await signUpMany(new Api(on.url), 2)) as [Account, Account];
  for (const fan of fans) await enter(fan, concertId);
  return { replica, concertId, fans };
}

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

/**
 * A grace of 6 s (a socket lease of 3 s, a beat every second): a fan whose sockets died with a replica
 * has the grace to reconnect elsewhere, and a lapse counted from the wrong moment comes seconds, not
 * tenths of one, from the right one, on a loaded host too.
 */
const LONG_GRACE_S = 6;

describe('presence across replicas, with a longer grace', () => {
  let long: TestServer;
  beforeAll(async () => {
    long = await presenceServer('presence_replicas', LONG_GRACE_S);
  });
  afterAll(() => long?.stop());

  it('lets the fans of a SIGKILLed replica lapse after the grace, unless they reconnect elsewhere', async () => {
    const {
      replica: doomed,
      concertId,
      fans: [stranded, moving],
    } = await twoFansBesideReplica(long);
    const a = subscribe(doomed.wsUrl, stranded!, concertId);
    // The moving fan has every socket the account may open on the doomed replica (two tabs, say).
    const b = Array.from({ length: MAX_SOCKETS }, () => subscribe(doomed.wsUrl, moving!, concertId));
    expect((await a.feed.next()).data?.queueStatus.position).toBe(1);
    for (const { feed } of b) expect((await feed.next()).data?.queueStatus.position).toBe(2);
    // Present for longer than the grace while the replica lives.
    await sleep(LONG_GRACE_S * 1000 + 500);
    expect(await inLine(stranded!, concertId, long)).toEqual({ waiting: true, active: false });

    const killed = Date.now();
    doomed.child.kill('SIGKILL');
    await doomed.stop();
    // The dead sockets stop counting against MAX_SOCKETS_PER_USER (a lease of half the grace) soon
    // enough to reconnect within the grace, after which the fan would be gone.
    const elsewhere = await subscribeWhenLet(long.wsUrl, moving!, concertId);
    expect(Date.now() - killed).toBeLessThan(LONG_GRACE_S * 1000);
    expect(elsewhere.first).toMatchObject({ state: 'WAITING', position: 2 });
    await vi.waitFor(async () => expect((await inLine(stranded!, concertId, long)).waiting).toBe(false), { timeout: (LONG_GRACE_S + 3) * 1000, interval: 100 });
    // Not before one grace after the death: the replica may have lived almost a beat past its last beat.
    expect(Date.now() - killed).toBeGreaterThanOrEqual(LONG_GRACE_S * 1000);
    await elsewhere.feed.until((m) => m.data?.queueStatus.position === 1);
    await sleep(LONG_GRACE_S * 1000);
    expect(await inLine(moving!, concertId, long)).toEqual({ waiting: true, active: false });
  });

  it('counts a fan’s presence from their last sign, not from the death of a replica they had left', async () => {
    const {
      replica: doomed,
      concertId,
      fans: [moved, poller],
    } = await twoFansBesideReplica(long);
    for (const fan of [moved!, poller!]) expect((await subscribe(doomed.wsUrl, fan, concertId).feed.next()).data?.queueStatus.state).toBe('WAITING');
    const replicas = redisKeys(long.app.config.redisPrefix).queue(Number(concertId)).replicas;
    // The doomed replica alone holds fans of this concert.
    const [dead, ...others] = await long.app.redis.zrange(replicas, 0, -1);
    expect(others).toEqual([]);

    doomed.child.kill('SIGKILL');
    await doomed.stop();
    const died = Date.now();
    // One fan moves to another replica, then closes that socket too; the other only polls over HTTP.
    const elsewhere = subscribe(long.wsUrl, moved!, concertId);
    expect((await elsewhere.feed.next()).data?.queueStatus.state).toBe('WAITING');
    poll(poller!, concertId);
    await sleep(died + 1500 - Date.now());
    // The dead replica is released about one grace after its last beat (some 4.5 s from now): not yet.
    expect(await long.app.redis.zscore(replicas, dead!)).not.toBeNull();
    const closing = Date.now();
    await elsewhere.close();
    // What counts when the dead replica's hold is released is the later socket's end (and every
    // poll), not its last beat: counted from that beat, the tick that releases it would drop the fan
    // at once (the fan's grace ended with it).
    await vi.waitFor(async () => expect(await long.app.redis.zscore(replicas, dead!)).toBeNull(), { timeout: (LONG_GRACE_S + 5) * 1000, interval: 50 });
    expect(await inLine(moved!, concertId, long)).toEqual({ waiting: true, active: false });
    // Gone one grace after the socket's end, not before.
    await vi.waitFor(async () => expect((await inLine(moved!, concertId, long)).waiting).toBe(false), { timeout: (LONG_GRACE_S + 3) * 1000, interval: 100 });
    expect(Date.now() - closing).toBeGreaterThanOrEqual(LONG_GRACE_S * 1000);
    expect(await inLine(poller!, concertId, long)).toEqual({ waiting: true, active: false });
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
