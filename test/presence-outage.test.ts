import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, STATUS_SUBSCRIPTION, type QueueStatus } from '../support/operations';
import { activeFans, pollStatus, queueStatusOf } from './support/booking';
import { Feed, signUpMany, wsClient, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { startTestServer, type TestServer } from './support/harness';
import { MariaDbServer } from './support/mariadb-server';
import { RedisServer } from './support/redis-server';

/**
 * Presence while our own Redis is away: fans who go on showing presence, as far as they can, keep
 * their place however long the outage; absence is judged again, a grace after Redis is back.
 */
const GRACE_SECONDS = 2;
const redis = new RedisServer();
let server: TestServer;

beforeAll(async () => {
  await redis.start();
  server = await startTestServer('presence_outage', { REDIS_URL: redis.url, PRESENCE_GRACE_SECONDS: String(GRACE_SECONDS), ACTIVE_IDLE_SECONDS: String(GRACE_SECONDS) });
});
afterAll(async () => {
  await server?.stop();
  await redis.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const untilReady = () => vi.waitFor(() => expect(server.app.redis.status).toBe('ready'), { timeout: 15_000, interval: 100 });

/** Each fan asks for their status every 400 ms (pollStatus) until `stop` ends one fan's asking, or everyone's. */
function keepPolling(fans: Account[], concertId: string): { stop: (fan?: Account) => void } {
  const stops = new Map(fans.map((fan) => [fan, pollStatus(fan, concertId, 400)] as const));
  return {
    stop: (fan) => {
      for (const [who, stop] of stops) if (!fan || who === fan) stop();
    },
  };
}

/** A line of one ACTIVE holder and three fans behind, in entry order. */
async function line(on = server): Promise<{ concertId: string; holder: Account; waiting: Account[] }> {
  const { concertId } = await createConcert(on, { maxActiveUsers: 1 });
  const [holder] = await activeFans(new Api(on.url), concertId, 1);
  const waiting = await signUpMany(new Api(on.url), 3);
  for (const fan of waiting) await fan.api.data(ENTER, { id: concertId });
  return { concertId, holder: holder!, waiting };
}

describe('a Redis outage longer than the grace', () => {
  it('loses nobody who kept asking: the line comes back as it was, and absence is judged again a grace later', async () => {
    const { concertId, holder, waiting } = await line();
    const polls = keepPolling([holder, ...waiting], concertId);
    try {
      await sleep(1000);
      await redis.pause();
      await sleep((GRACE_SECONDS + 3) * 1000);
      redis.resume();
      await untilReady();
      // Well past one grace after Redis came back, with the fans still asking.
      await sleep((GRACE_SECONDS + 2) * 1000);
      expect((await queueStatusOf(holder, concertId)).state).toBe('ACTIVE');
      const places = await Promise.all(waiting.map((fan) => queueStatusOf(fan, concertId)));
      expect(places.map((status: QueueStatus) => [status.state, status.position])).toEqual([
        ['WAITING', 1],
        ['WAITING', 2],
        ['WAITING', 3],
      ]);
      // One stops asking: gone after the grace, and the fan behind moves up.
      polls.stop(waiting[1]);
      await vi.waitFor(async () => expect((await queueStatusOf(waiting[2]!, concertId)).position).toBe(2), { timeout: (GRACE_SECONDS + 5) * 1000, interval: 200 });
    } finally {
      polls.stop();
    }
  });

  it('loses nobody subscribed when Redis restarts with its data, whichever gets back to it first, the replica or the tick', async () => {
    const { concertId, holder, waiting } = await line();
    const polls = keepPolling([holder], concertId);
    const clients = waiting.map((fan) => wsClient(server.wsUrl, fan.token));
    const feeds = waiting.map((_fan, i) => new Feed<{ queueStatus: QueueStatus }>(clients[i]!, STATUS_SUBSCRIPTION, { id: concertId }));
    try {
      for (const feed of feeds) await feed.next();
      await sleep(1000);
      redis.save();
      await redis.stop();
      await sleep((GRACE_SECONDS + 3) * 1000);
      await redis.start();
      await untilReady();
      await sleep((GRACE_SECONDS + 2) * 1000);
      const places = await Promise.all(waiting.map((fan) => queueStatusOf(fan, concertId)));
      expect(places.map((status: QueueStatus) => [status.state, status.position])).toEqual([
        ['WAITING', 1],
        ['WAITING', 2],
        ['WAITING', 3],
      ]);
    } finally {
      polls.stop();
      for (const feed of feeds) feed.close();
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});

describe('a Redis back from an older snapshot', () => {
  it('holds no presence for a subscription that ended after the snapshot: that fan lapses a grace later, and the slot goes to the fan still there', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [holder] = await activeFans(new Api(server.url), concertId, 1);
    const [waiting] = await signUpMany(new Api(server.url), 1);
    await waiting!.api.data(ENTER, { id: concertId });
    const clients = [holder!, waiting!].map((fan) => wsClient(server.wsUrl, fan.token));
    const [holderFeed, waitingFeed] = clients.map((client) => new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId }));
    try {
      expect((await holderFeed!.next()).data?.queueStatus.state).toBe('ACTIVE');
      expect((await waitingFeed!.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
      // Both subscriptions hold their fan's presence in the snapshot.
      await sleep(1000);
      redis.save();
      // Then the holder closes the page and leaves; the fan behind gets the slot.
      holderFeed!.close();
      await clients[0]!.dispose();
      await holder!.api.data(LEAVE, { id: concertId });
      await vi.waitFor(async () => expect((await waitingFeed!.next(100).catch(() => undefined))?.data?.queueStatus.state).toBe('ACTIVE'), { timeout: 5000, interval: 50 });
      // Redis dies and comes back from the snapshot: the holder ACTIVE again, their presence still held
      // by this replica's subscription that has ended since.
      await redis.stop();
      await redis.start();
      await untilReady();
      expect((await queueStatusOf(holder!, concertId)).state).toBe('ACTIVE');
      // The holder shows no presence: a grace (and a missed beat) later they lose the slot, which goes
      // to the fan still subscribed (ACTIVE_TTL is 15 minutes: only the presence rule can do it).
      await vi.waitFor(async () => expect((await queueStatusOf(waiting!, concertId)).state).toBe('ACTIVE'), { timeout: (GRACE_SECONDS * 3 + 6) * 1000, interval: 250 });
      expect((await queueStatusOf(holder!, concertId)).state).toBe('NONE');
    } finally {
      for (const feed of [holderFeed, waitingFeed]) feed!.close();
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});

describe('a MySQL that stops answering', () => {
  // Ticks wait on MySQL (the capacities), one statement timeout each, seconds apart: no outage of
  // ours for presence, which Redis goes on recording. Half a grace (5 s) is the gap that counts.
  const mysql = new MariaDbServer();
  let slow: TestServer;
  beforeAll(async () => {
    await mysql.start();
    slow = await startTestServer('presence_mysql_frozen', { DATABASE_URL: `${mysql.rootUrl}/concert`, MYSQL_STATEMENT_TIMEOUT_MS: '2500', PRESENCE_GRACE_SECONDS: '10', ACTIVE_IDLE_SECONDS: '10' });
  }, 120_000);
  afterAll(async () => {
    await slow?.stop();
    await mysql.remove();
  });

  it('still drops a fan who stopped asking, a grace later, however late the ticks', async () => {
    const { concertId, holder, waiting } = await line(slow);
    const polls = keepPolling([holder, ...waiting], concertId);
    try {
      await sleep(1000);
      await mysql.freeze();
      polls.stop(waiting[1]);
      await vi.waitFor(async () => expect((await queueStatusOf(waiting[2]!, concertId)).position).toBe(2), { timeout: 18_000, interval: 250 });
      expect((await queueStatusOf(waiting[0]!, concertId)).position).toBe(1);
    } finally {
      polls.stop();
      mysql.thaw();
    }
  });
});
