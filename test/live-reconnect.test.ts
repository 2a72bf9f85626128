import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { type QueueStatus, STATUS_SUBSCRIPTION } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUpMany, wsClient } from './support/client';
import { createConcert } from './support/fixtures';
import { hold, seatFeed, seatIds, sellInMysql } from './support/booking';
import { fanAndRivalAdmitted, followedOutOfLine, seatFeedWithRival } from './support/live-feed';
import { RedisServer } from './support/redis-server';
import { metricSamples } from './support/metrics';
import { redisKeys, runScript } from '../src/redis';
import { registerScripts } from '../src/redis/script';
import { QUEUE_ENTER } from '../src/redis/queue-scripts';
import { drawPreQueueScore } from '../src/queue/draw';
import { watchBeat } from '../src/queue/queue-service';

// A Redis of this file's own, so cutting its pub/sub connections touches no other test's server.
const redis = new RedisServer();
let server: TestServer;
const clients: ReturnType<typeof wsClient>[] = [];

beforeAll(async () => {
  await redis.start();
  // An ACTIVE fan keeps the slot longer without presence than a waiting one keeps the place (as by default).
  server = await startTestServer('live_reconnect', { REDIS_URL: redis.url, RUN_WORKERS: 'false', ACTIVE_IDLE_SECONDS: '7200' });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await server?.stop();
  await redis.stop();
});

describe('live feed after its Redis subscription drops', () => {
  it("reads its fans' places anew once reconnected, so a change announced meanwhile is not lost", async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [fan] = await signUpMany(new Api(server.url), 1);
    const client = wsClient(server.wsUrl, fan!.token);
    clients.push(client);
    const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect((await feed.next()).data?.queueStatus.state).toBe('NONE');

    // Cut the server's pub/sub connections, then enter at once: the enter's announcement goes out
    // while nobody listens (ioredis reconnects after 50 ms at the earliest), and no tick runs.
    const admin = new Redis(redis.url);
    try {
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }
    await server.app.services.queue.enter(Number(fan!.id), Number(concertId));
    const status = await feed.until((m) => m.data?.queueStatus.state === 'WAITING', 5000);
    expect(status.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
  });
});

describe('live feed whose first read after a reconnect fails', () => {
  it('reads again shortly, not a heartbeat later (the command connection may be back a moment after the subscription)', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [ahead, fan] = await signUpMany(new Api(server.url), 2);
    await server.app.services.queue.enter(Number(ahead!.id), Number(concertId));
    const client = wsClient(server.wsUrl, fan!.token);
    clients.push(client);
    const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect((await feed.next()).data?.queueStatus.state).toBe('NONE');
    const keys = redisKeys(server.env.REDIS_KEY_PREFIX!);
    const admin = new Redis(redis.url);
    const { queue } = server.app.services;
    // The server's reads of this concert's places: scripts are given back to the server the moment
    // the second one (the reconnect's read and its first retry) has failed.
    let failed = 0;
    let restored: Promise<number> | undefined;
    const watchPlaces = queue.watchPlaces.bind(queue);
    const reads = vi.spyOn(queue, 'watchPlaces').mockImplementation(async (...args) => {
      try {
        return await watchPlaces(...args);
      } catch (error) {
        if (args[0] === Number(concertId) && ++failed === 2) restored = admin.call('ACL', 'SETUSER', 'default', '+@all').then(() => Date.now());
        throw error;
      }
    });
    try {
      // Scripts refused to the server's user until then: the read the reconnect asks for fails, and so
      // does a retry. The entry is made meanwhile (by this test, as another user), announced to nobody.
      // The server's subscriptions are up (an earlier test may have cut them a moment ago).
      await vi.waitFor(async () => expect(String(await admin.client('LIST'))).toMatch(/ flags=P /), { timeout: 3000, interval: 50 });
      await admin.call('ACL', 'SETUSER', 'tester', 'on', 'nopass', '~*', '&*', '+@all');
      await admin.auth('tester', 'any');
      await admin.call('ACL', 'SETUSER', 'default', '-@scripting');
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
      registerScripts(admin, [QUEUE_ENTER]);
      await runScript(admin, QUEUE_ENTER, keys.queue(Number(concertId)), Number(fan.id), drawPreQueueScore(), 1, `${keys.channels.queueTicks}:nobody`, Number(concertId));
      await vi.waitFor(() => expect(restored).toBeDefined(), { timeout: 10_000, interval: 20 });
      const restoredAt = await restored!;
      const status = await feed.until((m) => m.data?.queueStatus.state === 'WAITING', 10_000);
      expect(status.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 2 });
      // After two failures in a row the loop waits 500 ms (250 ms, doubling); a heartbeat interval is
      // 5 s here: the retry came well before one (1.5 s of slack for a loaded host).
      expect(watchBeat(server.app.config.presenceGraceSeconds).intervalMs).toBe(5000);
      expect(Date.now() - restoredAt).toBeLessThan(500 + 1500);
    } finally {
      reads.mockRestore();
      await admin.call('ACL', 'SETUSER', 'default', '+@all');
      admin.disconnect();
    }
  });
});

describe('live feed whose subscription moved without a reconnect event (a Redis Cluster switching its subscriber node)', () => {
  /**
   * A followed fan who enters while the replica's subscription is away: the enter's message is lost
   * (sent here to a channel nobody hears) and the entry is in no log the feed follows, so only reading
   * the place anew can find it. Another fan, ahead, takes the one slot at the next tick.
   */
  async function unheardEntry() {
    const { concertId, fan, feed } = await followedOutOfLine(server, 1, clients);
    const keys = redisKeys(server.env.REDIS_KEY_PREFIX!);
    const line = keys.queue(Number(concertId));
    await runScript(server.app.redis, QUEUE_ENTER, line, Number(fan.id), drawPreQueueScore(), 1, `${keys.channels.queueTicks}:nobody`, Number(concertId));
    expect(await server.app.redis.zscore(line.wait, fan.id)).not.toBeNull();
    return { feed, keys };
  }

  it("reads its fans' places anew when the next tick's number shows a tick message was lost", async () => {
    const { feed, keys } = await unheardEntry();
    // A tick's message was lost with it; the connection never reported a drop.
    await server.app.redis.incr(keys.tickSeq);
    await server.app.services.queue.admitTick();
    const status = await feed.until((m) => m.data?.queueStatus.state !== 'NONE', 5000);
    expect(status.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
  });

  it('reads nothing anew while tick numbers follow each other', async () => {
    const { feed } = await unheardEntry();
    await server.app.services.queue.admitTick();
    await expect(feed.until((m) => m.data?.queueStatus.state !== 'NONE', 1000)).rejects.toThrow();
  });
});

describe('live positions after a failover that lost the departures log’s last entry', () => {
  /**
   * Six fans in line behind the one slot, f5 followed at 5; f1 leaves (f5 told 4), then a failover's
   * replica never had that leave: f1 back in line, the log one entry shorter, its epoch the same.
   */
  async function logTakenBack() {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const id = Number(concertId);
    const { queue } = server.app.services;
    const redis = server.app.redis as Redis;
    const line = redisKeys(server.env.REDIS_KEY_PREFIX!).queue(id);
    const [holder, ...fans] = await signUpMany(new Api(server.url), 7);
    const [f1, , , , f5] = fans;
    await queue.enter(Number(holder!.id), id);
    await queue.admitTick();
    for (const fan of fans) await queue.enter(Number(fan.id), id);
    const client = wsClient(server.wsUrl, f5!.token);
    clients.push(client);
    const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect((await feed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 5 });
    const seqBefore = (await redis.hget(line.stats, 'logSeq'))!;
    const atBefore = (await redis.hget(line.stats, 'logAt')) ?? '';
    const f1Score = (await redis.zscore(line.wait, f1!.id))!;
    await queue.leave(Number(f1!.id), id);
    await queue.admitTick();
    await feed.until((m) => m.data?.queueStatus.position === 4);
    const lost = (await redis.hget(line.stats, 'logSeq'))!;
    await redis.xdel(line.departures, `${lost}-0`);
    await redis.call('XSETID', line.departures, `${seqBefore}-0`);
    await redis.hset(line.stats, 'logSeq', seqBefore, 'logAt', atBefore);
    await redis.zadd(line.wait, f1Score, f1!.id);
    /** f5's positions told until `ms` pass with nothing more. */
    const told: (number | null | undefined)[] = [];
    const heardFor = async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      while (feed.pending() > 0) told.push((await feed.next()).data?.queueStatus.position);
    };
    return { id, concertId, fans, feed, told, heardFor };
  }

  it('are read anew, not moved by the new entries that took the lost one’s number', async () => {
    const { id, fans, feed, told, heardFor } = await logTakenBack();
    const [, f2, f3, , f5, f6] = fans;
    const { queue } = server.app.services;
    // New entries under the lost one's number and the next: f6 (behind f5) leaves, then f2 (ahead).
    await queue.leave(Number(f6!.id), id);
    await queue.leave(Number(f2!.id), id);
    await queue.admitTick();
    expect((await queue.status(Number(f5!.id), id)).position).toBe(4);
    // Read anew: still 4 (f1 back, f2 gone), so nothing to tell; moved by the new entries, 3.
    await heardFor(1000);
    expect(told).not.toContain(3);
    // And followed exactly from there: f3 (ahead) leaves.
    await queue.leave(Number(f3!.id), id);
    await queue.admitTick();
    await feed.until((m) => {
      told.push(m.data?.queueStatus.position);
      return m.data?.queueStatus.position === 3;
    }, 5000);
    await heardFor(500);
    expect(told.at(-1)).toBe(3);
    expect((await queue.status(Number(f5!.id), id)).position).toBe(3);
  });

  it('are read anew when a fan joining before the next tick finds the log behind the entry applied last', async () => {
    const { id, concertId, fans, told, heardFor } = await logTakenBack();
    const [, f2, f3, , f5, f6] = fans;
    const { queue } = server.app.services;
    // f3 subscribes: its place is read with the log as it is now, behind the entry this process applied.
    const client = wsClient(server.wsUrl, f3!.token);
    clients.push(client);
    const joined = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect((await joined.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 3 });
    // f5 is read anew: 5 (f1 back).
    await heardFor(1000);
    expect(told.at(-1)).toBe(5);
    await queue.leave(Number(f6!.id), id);
    await queue.leave(Number(f2!.id), id);
    await queue.admitTick();
    await heardFor(1000);
    expect(told.at(-1)).toBe(4);
    expect((await queue.status(Number(f5!.id), id)).position).toBe(4);
  });
});

describe("a fan's second subscription", () => {
  it('keeps their presence held when the first one ends while the second is joining', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [fan] = await signUpMany(new Api(server.url), 1);
    const [userId, concert] = [Number(fan!.id), Number(concertId)];
    const live = server.app.services.liveQueue;
    await server.app.services.queue.enter(userId, concert);
    const first = (await live.watch(userId, concert))[Symbol.asyncIterator]();
    expect((await first.next()).value).toMatchObject({ state: 'WAITING' });

    const admin = new Redis(redis.url);
    const seen = redisKeys(server.env.REDIS_KEY_PREFIX!).queue(concert).seen;
    try {
      // The second subscription's place is being read (its script waits on paused writes) when the first ends.
      await admin.client('PAUSE', 5000, 'WRITE');
      const joining = live.watch(userId, concert);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.return?.();
      await admin.client('UNPAUSE');
      const second = (await joining)[Symbol.asyncIterator]();
      expect((await second.next()).value).toMatchObject({ state: 'WAITING' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Still held by the open subscription (WATCHED, which never lapses), not counting down from now.
      expect(Number(await admin.zscore(seen, String(userId)))).toBe(2 ** 52);
      await second.return?.();
    } finally {
      await admin.client('UNPAUSE');
      admin.disconnect();
    }
  });
});

describe('live feed after its Redis subscription drops, figures', () => {
  it('pushes a seats-left change made while it was away to fans whose place did not move', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 3 });
    const [holder, fan, outside] = await signUpMany(new Api(server.url), 3);
    const queue = server.app.services.queue;
    await queue.enter(Number(holder!.id), Number(concertId));
    await queue.enter(Number(fan!.id), Number(concertId));
    await queue.admitTick();
    const client = wsClient(server.wsUrl, fan!.token);
    clients.push(client);
    const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
    expect((await feed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1, seatsLeft: 3 });

    // A seat is sold elsewhere (committed, its count updated), and a tick counts it while the pub/sub
    // connections are down: its announcement is lost, and the fan's place does not move.
    await sellInMysql(server, outside!.id, [(await seatIds(server, scheduleIds[0]!))[0]!], 'sold-elsewhere');
    await server.app.services.inventory.mark([{ scheduleId: Number(scheduleIds[0]), number: 1 }], true);
    const channel = redisKeys(server.env.REDIS_KEY_PREFIX!).channels.queueTicks;
    const admin = new Redis(redis.url);
    try {
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
      await queue.admitTick();
      // Nobody was subscribed yet when the tick announced it (ioredis reconnects after 100 ms at the earliest).
      expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
    } finally {
      admin.disconnect();
    }
    const status = await feed.until((m) => m.data?.queueStatus.seatsLeft === 2, 5000);
    expect(status.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
  });
});

describe('a replica a tick took for dead', () => {
  it('holds its fans again when a new subscription registers before its next heartbeat', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 2 });
    const [fan, newcomer] = await signUpMany(new Api(server.url), 2);
    const [concert, keys] = [Number(concertId), redisKeys(server.env.REDIS_KEY_PREFIX!).queue(Number(concertId))];
    const { queue, liveQueue } = server.app.services;
    await queue.enter(Number(fan!.id), concert);
    await queue.admitTick();
    const followed = (await liveQueue.watch(Number(fan!.id), concert))[Symbol.asyncIterator]();
    expect((await followed.next()).value).toMatchObject({ state: 'ACTIVE' });
    const admin = new Redis(redis.url);
    try {
      expect(Number(await admin.zscore(keys.activeSeen, fan!.id))).toBe(2 ** 52);
      // The replica stalled past the grace: its last beat is old, and a tick releases its fans.
      const [seconds] = await admin.time();
      const replicas = await admin.zrange(keys.replicas, 0, -1);
      const deadAfterMs = watchBeat(server.app.config.presenceGraceSeconds).deadAfterMs;
      for (const replica of replicas) await admin.zadd(keys.replicas, Number(seconds) * 1000 - deadAfterMs - 1000, replica);
      await queue.admitTick();
      expect(Number(await admin.zscore(keys.activeSeen, fan!.id))).toBeLessThan(2 ** 52);
      // Back, it registers a new fan before its heartbeat: that must not hide that its fans were let go.
      await queue.enter(Number(newcomer!.id), concert);
      const joined = (await liveQueue.watch(Number(newcomer!.id), concert))[Symbol.asyncIterator]();
      await joined.next();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(Number(await admin.zscore(keys.activeSeen, fan!.id))).toBe(2 ** 52);
      await Promise.all([followed.return?.(), joined.return?.()]);
    } finally {
      admin.disconnect();
    }
  });
});

describe('a seatChanged feed after its Redis subscription drops', () => {
  it('is told, once, a seat change published while it was away, from the seat log', async () => {
    const { scheduleId, rival, first, second, feed, close } = await seatFeedWithRival(server);
    const replayed = async () => (await metricSamples(server.url, 'seat_changes_replayed_total')).get('{from="reconnect"}') ?? 0;
    const replayedBefore = await replayed();
    try {
      const topic = server.app.services.seatEvents.topic(Number(scheduleId));
      const admin = new Redis(redis.url);
      try {
        expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
        await hold(rival, first);
        // Nobody was subscribed when the hold was announced (ioredis reconnects after 100 ms at the earliest).
        expect(await admin.pubsub('NUMSUB', topic)).toEqual([topic, 0]);
      } finally {
        admin.disconnect();
      }
      expect((await feed.next(5000)).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });
      expect((await replayed()) - replayedBefore).toBe(1);
      // Live again, and the change from the log not told twice.
      await hold(rival, second);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: second, status: 'HELD' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(feed.pending()).toBe(0);
    } finally {
      await close();
    }
  });

  it('begun with no cursor, is given from the log only what changed after it began, not a change from before', async () => {
    const { scheduleId, fan, rival, first: before, second: during } = await fanAndRivalAdmitted(server);
    // Logged before the feed begins: a map read after it already shows it.
    await hold(rival, before);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { feed, close } = await seatFeed(server, fan, scheduleId);
    try {
      const admin = new Redis(redis.url);
      try {
        expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
        await hold(rival, during);
      } finally {
        admin.disconnect();
      }
      expect((await feed.next(5000)).data?.seatChanged).toMatchObject({ id: during, status: 'HELD' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(feed.pending()).toBe(0);
    } finally {
      await close();
    }
  });
});
