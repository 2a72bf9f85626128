import WebSocket from 'ws';
import { countRedisKeys, wipeRedisKeys } from '../support/sandbox';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../src/redis';
import { schedulerRefreshMs } from '../src/workers/repeating-job';
import { Api } from '../support/graphql-client';
import { CANCEL, ENTER, LEAVE, type QueueStatus, STATUS, STATUS_SUBSCRIPTION } from '../support/operations';
import { createConnection } from 'mysql2/promise';
import { ADMIN, databaseOf, startTestServer, TEST_MYSQL_ROOT, type TestServer } from './support/harness';
import { Feed, logIn, signUpMany, wsClient, type Account } from './support/client';
import { spawnProcess, spawnServer, type ServerProcess } from './support/process';
import { createConcert } from './support/fixtures';
import { untilLockWait } from './support/mysql-locks';
import { activeFans, availableSeats, charge, hold, pay, seatIds } from './support/booking';
import { COUNTS_PUSH_MS } from '../src/queue/live-status';

const INTERVAL_MS = 100;
/**
 * A change of the line's counts and pace alone is pushed at the first tick past COUNTS_PUSH_MS: the
 * tests allow 3 s more, for that tick and the push across processes on a loaded host.
 */
const COUNTS_PUSHED_WITHIN_MS = COUNTS_PUSH_MS + 3000;

let server: TestServer;
const children: ServerProcess[] = [];

beforeAll(async () => {
  server = await startTestServer('queue_replicas', { ACTIVE_TTL_SECONDS: '60', ADMISSION_INTERVAL_MS: String(INTERVAL_MS) });
});
afterAll(async () => {
  await Promise.all(children.map((child) => child.stop()));
  await server.stop();
});

/** Another replica of the same deployment: same database, same Redis, its own process. */
async function replica(overrides: Record<string, string>): Promise<ServerProcess> {
  const child = await spawnServer({ ...server.env, ...overrides });
  children.push(child);
  return child;
}

async function tickCount(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^queue_tick_duration_seconds_count (\d+)/m.exec(text)?.[1] ?? 0);
}

/** A concert of one slot taken by `holder`, and a fan next in line who watches from `watchOn`. */
async function fanBehindHolder(watchOn: ServerProcess) {
  const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
  const [holder, fan] = (await signUpMany(new Api(server.url), 2)) as [Account, Account];
  await holder.api.data(ENTER, { id: concertId });
  await fan.api.data(ENTER, { id: concertId });
  const client = wsClient(watchOn.wsUrl, fan.token);
  const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
  return { concertId, holder, client, feed };
}

describe('scale-out', () => {
  it('pushes the ACTIVE made by one replica’s worker to a subscriber on an API-only replica', async () => {
    const apiOnly = await replica({ RUN_WORKERS: 'false' });
    const { concertId, holder, client, feed } = await fanBehindHolder(apiOnly);
    try {
      await feed.until((m) => m.data?.queueStatus.state === 'WAITING' && m.data.queueStatus.position === 1);
      await holder.api.data(LEAVE, { id: concertId });
      const active = await feed.until((m) => m.data?.queueStatus.state === 'ACTIVE', 3000);
      expect(active.data?.queueStatus.activeUntil).toBeTruthy();
      // The API-only replica ran no tick of its own.
      expect(await tickCount(apiOnly.url.replace('/graphql', '/metrics'))).toBe(0);
    } finally {
      await client.dispose();
    }
  });

  it('takes a capacity an admin set through an API-only replica at the worker replica’s next ticks', async () => {
    const apiOnly = await replica({ RUN_WORKERS: 'false' });
    const { concertId, client, feed } = await fanBehindHolder(apiOnly);
    try {
      await feed.until((m) => m.data?.queueStatus.state === 'WAITING' && m.data.queueStatus.position === 1);
      const admin = await logIn(new Api(apiOnly.url), ADMIN.email, ADMIN.password);
      await admin.api.data('mutation($id: ID!) { setMaxActiveUsers(concertId: $id, maxActiveUsers: 2) { id } }', { id: concertId });
      // A few ticks of the worker (every 100 ms here), and the push across processes.
      await feed.until((m) => m.data?.queueStatus.state === 'ACTIVE', 3000);
    } finally {
      await client.dispose();
    }
  });

  it('pushes the line’s length to a fan at the front of a stalled line within seconds, on an API-only replica, though the fan’s place does not move', async () => {
    const apiOnly = await replica({ RUN_WORKERS: 'false' });
    const { concertId, holder, client, feed } = await fanBehindHolder(apiOnly);
    try {
      await feed.until((m) => m.data?.queueStatus.state === 'WAITING' && m.data.queueStatus.waiting === 1);
      for (const behind of await signUpMany(new Api(server.url), 3)) await behind.api.data(ENTER, { id: concertId });
      const entered = Date.now();
      const longer = await feed.until((m) => m.data?.queueStatus.waiting === 4, COUNTS_PUSHED_WITHIN_MS + 2000);
      expect(longer.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
      // At most every 5 s, however many ticks (ten a second here) see the length change.
      expect(Date.now() - entered).toBeLessThan(COUNTS_PUSHED_WITHIN_MS);
    } finally {
      await client.dispose();
      await holder.api.data(LEAVE, { id: concertId });
    }
  });

  it('pushes a new estimated wait to a fan at the front of a stalled line when only the pace changes, on an API-only replica', async () => {
    const apiOnly = await replica({ RUN_WORKERS: 'false' });
    const { concertId, holder, client, feed } = await fanBehindHolder(apiOnly);
    try {
      const first = await feed.until((m) => m.data?.queueStatus.state === 'WAITING' && m.data.queueStatus.position === 1);
      // Nobody admitted since the holder: the slowest pace, a turn per ACTIVE_TTL_SECONDS.
      expect(first.data?.queueStatus.estimatedWaitSeconds).toBe(60);
      // A fan enters behind: the line's new length is pushed (within 5 s), so the pace's push below is
      // one the fan is told after another, not the first since subscribing (which goes out whatever it says).
      const [behind] = (await signUpMany(new Api(server.url), 1)) as [Account];
      await behind.api.data(ENTER, { id: concertId });
      const longer = await feed.until((m) => m.data?.queueStatus.waiting === 2, COUNTS_PUSHED_WITHIN_MS);
      expect(longer.data?.queueStatus.estimatedWaitSeconds).toBe(60);
      // As if 30 fans had been admitted in the last 20 s: the measured pace (90 a minute) now sets the estimate.
      const admissions = redisKeys(server.env.REDIS_KEY_PREFIX as string).queue(Number(concertId)).admissions;
      await server.app.redis.rpush(admissions, `${Date.now() - 20_000}:0`);
      await server.app.redis.lpush(admissions, `${Date.now() - 10_000}:30`);
      const changed = Date.now();
      const faster = await feed.until((m) => (m.data?.queueStatus.estimatedWaitSeconds ?? 60) < 60, COUNTS_PUSHED_WITHIN_MS + 2000);
      expect(faster.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1, waiting: 2 });
      expect(Date.now() - changed).toBeLessThan(COUNTS_PUSHED_WITHIN_MS);
    } finally {
      await client.dispose();
      await holder.api.data(LEAVE, { id: concertId });
    }
  });

  it('pushes the number ACTIVE to an ACTIVE fan within seconds, on an API-only replica, though the fan’s own status does not move', async () => {
    const apiOnly = await replica({ RUN_WORKERS: 'false' });
    const { concertId } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan, ...others] = (await signUpMany(new Api(server.url), 3)) as [Account, ...Account[]];
    await fan.api.data(ENTER, { id: concertId });
    const client = wsClient(apiOnly.wsUrl, fan.token);
    try {
      const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      await feed.until((m) => m.data?.queueStatus.state === 'ACTIVE' && m.data.queueStatus.active === 1);
      for (const other of others) await other.api.data(ENTER, { id: concertId });
      const entered = Date.now();
      await feed.until((m) => m.data?.queueStatus.active === 3, COUNTS_PUSHED_WITHIN_MS + 2000);
      expect(Date.now() - entered).toBeLessThan(COUNTS_PUSHED_WITHIN_MS);
    } finally {
      await client.dispose();
    }
  });

  it('with two worker processes, runs each tick once and never admits past capacity', async () => {
    const second = await replica({ RUN_WORKERS: 'true' });
    const capacity = 5;
    const { concertId } = await createConcert(server, { maxActiveUsers: capacity });
    const fans = await signUpMany(new Api(server.url), 40);
    const ticksBefore = (await tickCount(server.url.replace('/graphql', '/metrics'))) + (await tickCount(second.url.replace('/graphql', '/metrics')));
    const started = Date.now();
    await Promise.all(fans.map((fan) => fan.api.data(ENTER, { id: concertId })));
    // Free a slot now and then, so both workers keep admitting while we watch.
    const seen: number[] = [];
    for (let round = 0; round < 20; round++) {
      const { queueStatus } = await fans[0]!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId });
      seen.push(queueStatus.active);
      if (round % 4 === 3) {
        const statuses = await Promise.all(fans.map((fan) => fan.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })));
        const activeFan = fans.find((_, i) => statuses[i]!.queueStatus.state === 'ACTIVE');
        if (activeFan) await activeFan.api.data(LEAVE, { id: concertId });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(Math.max(...seen)).toBe(capacity);
    await vi.waitFor(async () => {
      const states = await Promise.all(fans.map(async (fan) => (await fan.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })).queueStatus.state));
      expect(states.filter((s) => s === 'ACTIVE')).toHaveLength(capacity);
      // Forty status reads a look: on a loaded run one look alone outlasted waitFor's default second.
    }, { timeout: 10_000, interval: 200 });
    const elapsed = Date.now() - started;
    const ticks = (await tickCount(server.url.replace('/graphql', '/metrics'))) + (await tickCount(second.url.replace('/graphql', '/metrics'))) - ticksBefore;
    // Both workers running every tick would make about twice elapsed/interval.
    expect(ticks).toBeLessThanOrEqual(Math.ceil((elapsed / INTERVAL_MS) * 1.3) + 2);
    expect(ticks).toBeGreaterThan(0);
  });

  it('shuts down on SIGTERM within 10 s, exit code 0, closing open subscriptions', async () => {
    const child = await replica({ RUN_WORKERS: 'true' });
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [fan] = await signUpMany(new Api(server.url), 1);
    const client = wsClient(child.wsUrl, fan!.token);
    const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    await feed.next();
    const started = Date.now();
    const code = await child.stop();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await vi.waitFor(() => expect(feed.done || feed.pending() > 0).toBe(true), { timeout: 3000 });
    await client.dispose();
  });

  it('answers a request still running at SIGTERM (here 3 s behind a row lock) before it exits, within 10 s, Redis still open for its follow-up', async () => {
    const child = await replica({ RUN_WORKERS: 'true' });
    const api = new Api(server.url);
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: 100 });
    const [fan] = (await activeFans(api, concertId, 1)) as [Account];
    const [seatId] = (await seatIds(server, scheduleIds[0]!)) as [string];
    await charge(fan, 100);
    const [reservation] = (await pay(fan, [(await hold(fan, seatId)).id], 'buy')).reservations;
    expect(await availableSeats(api, scheduleIds[0]!)).toBe(0);
    const lock = await createConnection(TEST_MYSQL_ROOT);
    try {
      await lock.query(`use \`${databaseOf(server)}\``);
      await lock.query('begin');
      await lock.query('select id from users where id = ? for update', [fan.id]);
      // A cancellation whose refund waits on the fan's row; SIGTERM comes while it waits, the row is
      // let go 3 s later (the server drains requests for 7 s: 4 s left to answer, on a loaded host too).
      const cancelled = new Api(child.url).as(fan.token).request(CANCEL, { id: reservation!.id });
      await untilLockWait(databaseOf(server));
      const started = Date.now();
      const stopped = child.stop();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await lock.query('commit');
      expect((await cancelled).data).toEqual({ cancelReservation: expect.objectContaining({ status: 'CANCELLED' }) });
      expect(await stopped).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Counted free after the commit by the stopping replica, in Redis, which it closes only once its
      // requests are answered (closed before, the seat would read sold until the inventory check heals it).
      expect(await availableSeats(api, scheduleIds[0]!)).toBe(1);
    } finally {
      await lock.end();
    }
  }, 120_000);

  it('exits 0 within 10 s even when a socket never answers the close', async () => {
    // Its own timeout: under load the start-up alone took over 30 s.
    const child = await replica({ RUN_WORKERS: 'true' });
    // A client that completed the handshake, then stopped reading: the close frame is never answered.
    const socket = new WebSocket(child.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise((resolve) => socket.once('message', resolve));
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const started = Date.now();
    try {
      expect(await child.stop()).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      socket.terminate();
    }
  }, 120_000);

  it('exits 0 on a SIGTERM that arrives while it is still starting', async () => {
    // The test environment sets no JWT_SECRET, so the process warns at the very start of start-up,
    // long before it listens.
    expect(server.env.JWT_SECRET).toBeUndefined();
    const { child, exited } = await spawnProcess({ ...server.env, RUN_WORKERS: 'true' }, (entry) => entry.msg?.startsWith('JWT_SECRET is not set') ?? false);
    try {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('losing Redis data', () => {
  it('brings the admission ticks back after the BullMQ keys vanish', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [holder, fan] = await signUpMany(new Api(server.url), 2);
    await holder!.api.data(ENTER, { id: concertId });
    await vi.waitFor(async () => expect((await holder!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })).queueStatus.state).toBe('ACTIVE'));
    // As after a failover to an empty replica: the job scheduler and its pending job are gone.
    const jobs = `${server.env.REDIS_KEY_PREFIX}:{jobs}`;
    expect(await countRedisKeys(server.app.redis, jobs)).toBeGreaterThan(0);
    await wipeRedisKeys(server.app.redis, jobs);
    await fan!.api.data(ENTER, { id: concertId });
    await holder!.api.data(LEAVE, { id: concertId });
    await vi.waitFor(async () => expect((await fan!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })).queueStatus.state).toBe('ACTIVE'), {
      timeout: schedulerRefreshMs(INTERVAL_MS) + 3000,
      interval: 100,
    });
  });
});
