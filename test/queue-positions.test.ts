import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../src/redis';
import { wipeRedisKeys } from '../support/sandbox';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, type QueueStatus, STATUS_SUBSCRIPTION } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUpMany, wsClient, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { spawnServer, type ServerProcess } from './support/process';

// Live positions are derived on each replica from the departures log, not read per fan: this file
// holds them to ZRANK + 1 after every tick while fans enter, leave, go absent and get admitted, with
// subscribers on two replicas. Ticks are run by the test (no worker), so each check sees one tick's
// outcome with nothing moving meanwhile.
const GRACE_S = 2;
const ACTIVE_TTL_S = 1;

let server: TestServer;
let replica: ServerProcess;
let api: Api;
const clients: ReturnType<typeof wsClient>[] = [];

beforeAll(async () => {
  server = await startTestServer('queue_positions', { RUN_WORKERS: 'false', PRESENCE_GRACE_SECONDS: String(GRACE_S), ACTIVE_TTL_SECONDS: String(ACTIVE_TTL_S) });
  api = new Api(server.url);
  replica = await spawnServer({ ...server.env });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  await replica.stop();
  await server.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Watched {
  fan: Account;
  feed: Feed<{ queueStatus: QueueStatus }>;
  last?: QueueStatus;
}

/** Places pushed later than the one before them (see latest): none, ever. */
const movedBack: string[] = [];
afterEach(() => expect(movedBack.splice(0)).toEqual([]));

/** The newest status the subscriber has received. */
async function latest(watched: Watched): Promise<QueueStatus | undefined> {
  while (watched.feed.pending() > 0) {
    const message = await watched.feed.next();
    if (!message.data) throw new Error(`error message: ${JSON.stringify(message.errors)}`);
    const before = watched.last;
    watched.last = message.data.queueStatus;
    // The order only ever moves up: a fan still in line never hears a later place than the last one.
    // Noted, and checked after each test: latest runs inside vi.waitFor, which would retry past a failed expect.
    if (before?.state === 'WAITING' && watched.last.state === 'WAITING' && (watched.last.position as number) > (before.position as number)) {
      movedBack.push(`fan ${watched.fan.id}: ${before.position} then ${watched.last.position}`);
    }
  }
  return watched.last;
}

describe('live positions', () => {
  it('equal ZRANK + 1 after every tick under churn (enter, leave, absence, admission), on two replicas', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 3 });
    const k = redisKeys(server.app.config.redisPrefix).queue(Number(concertId));
    const redis = server.app.redis;
    const fans = await signUpMany(api, 48);
    // 32 subscribers, alternating between the replicas; 16 fans who enter and then show no sign of life.
    const watched: Watched[] = fans.slice(0, 32).map((fan, i) => {
      const client = wsClient(i % 2 === 0 ? server.wsUrl : replica.wsUrl, fan.token);
      clients.push(client);
      return { fan, feed: new Feed(client, STATUS_SUBSCRIPTION, { id: concertId }) };
    });
    const silent = fans.slice(32);
    for (const w of watched) {
      w.last = (await w.feed.next()).data?.queueStatus;
      expect(w.last?.state).toBe('NONE');
    }

    const truth = async (fan: Account) => {
      const [rank, until] = await Promise.all([redis.zrank(k.wait, fan.id), redis.zscore(k.active, fan.id)]);
      if (rank !== null) return { state: 'WAITING', position: rank + 1 };
      // A slot that ran out since the tick is still ACTIVE to Redis until the next tick removes it.
      return { state: until !== null ? 'ACTIVE' : 'NONE', position: null };
    };
    const enter = (fan: Account) => fan.api.data(ENTER, { id: concertId });
    const leave = (fan: Account) => fan.api.data(LEAVE, { id: concertId });

    let checked = 0;
    for (let round = 0; round < 10; round++) {
      // Churn between ticks: a few subscribers and silent fans enter (or come back), a few leave.
      const entering = [...watched.filter((_, i) => (i + round) % 5 === 0).map((w) => w.fan), ...silent.filter((_, i) => (i + round) % 6 === 0)];
      await Promise.all(entering.map(enter));
      if (round % 2 === 1) await Promise.all(watched.filter((_, i) => (i * 7 + round) % 11 === 0).map((w) => leave(w.fan)));
      await server.app.services.queue.admitTick();

      await vi.waitFor(
        async () => {
          for (const w of watched) {
            const expected = await truth(w.fan);
            const status = await latest(w);
            expect({ state: status?.state, position: status?.position ?? null }, `fan ${w.fan.id} after tick ${round}`).toEqual(expected);
          }
        },
        { timeout: 3000, interval: 50 },
      );
      checked += watched.filter((w) => w.last?.state === 'WAITING').length;
      await sleep(600);
    }
    // The churn was real: many WAITING positions compared, and silent fans were dropped as absent.
    expect(checked).toBeGreaterThan(50);
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(Number(/^queue_dropped_absent_total\{state="waiting"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it('are right for a fan whose enter lands while their subscription is reading the place', async () => {
    const { concertId: id } = await createConcert(server, { maxActiveUsers: 1 });
    const concertId = Number(id);
    const { queue, liveQueue } = server.app.services;
    const fans = await signUpMany(api, 21);
    await queue.enter(Number(fans[0]!.id), concertId);
    for (const fan of fans.slice(1)) {
      const userId = Number(fan.id);
      // Issued back to back: the subscription's read goes out first, the enter right behind it, and
      // the enter's news may reach the feed before or after the read's answer.
      const [stream] = await Promise.all([liveQueue.watch(userId, concertId), queue.enter(userId, concertId)]);
      const iterator = stream[Symbol.asyncIterator]();
      let last = (await iterator.next()).value as { state: string; position: number | null };
      for (;;) {
        const next = await Promise.race([iterator.next(), sleep(300).then(() => undefined)]);
        if (!next) break;
        last = next.value as typeof last;
      }
      const rank = await server.app.redis.zrank(redisKeys(server.app.config.redisPrefix).queue(concertId).wait, fan.id);
      expect(last, `fan ${fan.id}`).toMatchObject({ state: 'WAITING', position: rank! + 1 });
      await iterator.return?.();
    }
  });

  it('never reach a fan, once their enter is answered, as the place they had before it (a long push overtaken)', async () => {
    const { concertId: id, scheduleIds } = await createConcert(server, { maxActiveUsers: 1 });
    const concertId = Number(id);
    const { queue, liveQueue, inventory } = server.app.services;
    // Followers who are not accounts (the feed asks Redis, not MySQL): enough that one push to them
    // all takes many slices of the event loop, with the fan last.
    const others = (await Promise.all(Array.from({ length: 3000 }, (_, i) => liveQueue.watch(900_000_000 + i, concertId)))).map((s) => s[Symbol.asyncIterator]());
    await Promise.all(others.map((other) => other.next()));
    const [fan] = await signUpMany(api, 1);
    const userId = Number(fan!.id);
    const stream = (await liveQueue.watch(userId, concertId))[Symbol.asyncIterator]();
    const pushed: { at: number; state: string }[] = [];
    const reading = (async () => {
      for (let next = await stream.next(); !next.done; next = await stream.next()) pushed.push({ at: performance.now(), state: next.value.state });
    })();
    await vi.waitFor(() => expect(pushed.map((p) => p.state)).toEqual(['NONE']));
    // A seat taken: the tick's seats left change, so it pushes every fan followed.
    await inventory.mark([{ scheduleId: Number(scheduleIds[0]), number: 1 }], true);
    await queue.admitTick();
    // The push has begun (the first follower has heard) when the fan enters.
    await others[0]!.next();
    await queue.enter(userId, concertId);
    const answeredAt = performance.now();
    await sleep(500);
    // The fresh read's WAITING may come just before the answer is taken here, or after: never a NONE after.
    expect(pushed.filter((p) => p.at > answeredAt && p.state === 'NONE')).toEqual([]);
    expect(pushed.at(-1)?.state).toBe('WAITING');
    await Promise.all([stream, ...others].map((s) => s.return?.()));
    await reading;
  });

  it('reach a fan who enters twice at once (a double click)', async () => {
    const { concertId: id } = await createConcert(server, { maxActiveUsers: 1 });
    const concertId = Number(id);
    const { queue, liveQueue } = server.app.services;
    const [fan] = await signUpMany(api, 1);
    const userId = Number(fan!.id);
    const stream = (await liveQueue.watch(userId, concertId))[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ state: 'NONE' });
    // The second enter's news comes while the first one's fresh read is pushed: that push is skipped,
    // and the read after it finds the same place.
    await Promise.all([queue.enter(userId, concertId), queue.enter(userId, concertId)]);
    const next = await Promise.race([stream.next(), sleep(2000).then(() => undefined)]);
    expect(next?.value).toMatchObject({ state: 'WAITING', position: 1 });
    await stream.return?.();
  });

  it('give every listener of a fan its first status, the fan entering while one joins', async () => {
    const { concertId: id } = await createConcert(server, { maxActiveUsers: 1 });
    const concertId = Number(id);
    const { queue, liveQueue } = server.app.services;
    for (const fan of await signUpMany(api, 20)) {
      const userId = Number(fan.id);
      const first = (await liveQueue.watch(userId, concertId))[Symbol.asyncIterator]();
      expect((await first.next()).value).toMatchObject({ state: 'NONE' });
      // A second tab: enters and subscribes at once.
      const [, watched] = await Promise.all([queue.enter(userId, concertId), liveQueue.watch(userId, concertId)]);
      const second = watched[Symbol.asyncIterator]();
      // The second may first hear the NONE read before the enter; each then hears WAITING (waited for,
      // up to 5 s: a loaded host may push it late), and nothing heard shortly after takes it back.
      const lastHeard = async (stream: typeof first) => {
        const deadline = Date.now() + 5000;
        const within = (ms: number) => Promise.race([stream.next(), sleep(Math.max(0, ms)).then(() => undefined)]);
        let state: string | undefined;
        while (state !== 'WAITING') {
          const next = await within(deadline - Date.now());
          if (!next || next.done) return state;
          state = next.value.state;
        }
        const after = await within(300);
        return after && !after.done ? after.value.state : state;
      };
      expect(await Promise.all([lastHeard(first), lastHeard(second)]), `fan ${userId}`).toEqual(['WAITING', 'WAITING']);
      await Promise.all([first.return?.(), second.return?.()]);
    }
  });

  it('let go of a seat feed refused NOT_ACTIVE while the fan’s own change was pending', async () => {
    const { concertId: id } = await createConcert(server, { maxActiveUsers: 1 });
    const concertId = Number(id);
    const { liveQueue, queue } = server.app.services;
    const [fan] = await signUpMany(api, 1);
    const userId = Number(fan!.id);
    let returned = 0;
    const never: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => undefined),
        return: async () => {
          returned++;
          return { done: true, value: undefined };
        },
      }),
    };
    // The fan enters and is admitted just after the seat feed's join read their place (NONE): the
    // join is refused on that read, with the fan's news pending.
    const read = queue.watchPlaces.bind(queue);
    Object.assign(queue, {
      watchPlaces: async (...args: Parameters<typeof read>) => {
        const places = await read(...args);
        if (args[2].includes(userId)) {
          Object.assign(queue, { watchPlaces: read });
          await queue.enter(userId, concertId);
          await queue.admitTick();
          await sleep(300);
        }
        return places;
      },
    });
    try {
      expect(await liveQueue.whileActive(userId, concertId, never).then(() => 'opened', (error: { code?: string }) => error.code)).toBe('NOT_ACTIVE');
    } finally {
      Object.assign(queue, { watchPlaces: read });
    }
    // Its source closed, and nothing follows the fan for it (their presence is not held for it).
    await vi.waitFor(() => expect(returned).toBe(1), { timeout: 2000 });
    const watchCount = redisKeys(server.app.config.redisPrefix).queue(concertId).watchCount;
    await vi.waitFor(async () => expect(await server.app.redis.hget(watchCount, fan!.id)).toBeNull(), { timeout: 2000 });
  });

  it('are read anew once when sales open, and followed from the log after that', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1, salesOpenAt: new Date(Date.now() + 3_600_000) });
    const fans = await signUpMany(api, 4);
    const watched: Watched[] = [];
    for (const [i, fan] of fans.entries()) {
      const client = wsClient(i % 2 === 0 ? server.wsUrl : replica.wsUrl, fan.token);
      clients.push(client);
      const w: Watched = { fan, feed: new Feed(client, STATUS_SUBSCRIPTION, { id: concertId }) };
      w.last = (await w.feed.next()).data?.queueStatus;
      await fan.api.data(ENTER, { id: concertId });
      watched.push(w);
    }
    const resyncs = async () => Number(/^queue_live_resyncs_total (\d+)/m.exec(await (await fetch(server.url.replace('/graphql', '/metrics'))).text())?.[1]);
    const before = await resyncs();
    await server.app.services.queue.setSalesOpenAt(Number(concertId), null);
    await server.app.services.queue.admitTick();
    await vi.waitFor(async () => {
      for (const w of watched) expect((await latest(w))?.state).not.toBe('PREQUEUE');
    }, { timeout: 5000, interval: 100 });
    expect(await resyncs()).toBe(before + 1);
    // Later ticks move the line (a leave each) without reading every place again.
    for (const w of watched.slice(0, 3)) {
      await w.fan.api.data(LEAVE, { id: concertId });
      await server.app.services.queue.admitTick();
    }
    const k = redisKeys(server.app.config.redisPrefix).queue(Number(concertId));
    const last = watched[3]!;
    await vi.waitFor(async () => {
      const rank = await server.app.redis.zrank(k.wait, last.fan.id);
      expect(await latest(last)).toMatchObject(rank === null ? { state: 'ACTIVE' } : { state: 'WAITING', position: rank + 1 });
    }, { timeout: 5000, interval: 100 });
    expect(await resyncs()).toBe(before + 1);
  });

  it('serve a fan whose seat feed (refused: not ACTIVE) and status feed start together', async () => {
    const { concertId: id } = await createConcert(server, { maxActiveUsers: 1 });
    const concertId = Number(id);
    const { liveQueue } = server.app.services;
    const [fan, other] = await signUpMany(api, 2);
    const userId = Number(fan!.id);
    const never: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => undefined), return: async () => ({ done: true, value: undefined }) }) };
    // Another fan's join keeps the concert's loop busy, so the next step takes both of these at once:
    // the gate closes on its first status while the watcher is joining the same fan.
    const busy = liveQueue.watch(Number(other!.id), concertId);
    const [gated, watched] = await Promise.allSettled([liveQueue.whileActive(userId, concertId, never), liveQueue.watch(userId, concertId)]);
    await (await busy)[Symbol.asyncIterator]().return?.();
    expect(gated.status === 'rejected' && (gated.reason as { code?: string }).code).toBe('NOT_ACTIVE');
    expect(watched.status).toBe('fulfilled');
    const stream = (watched as PromiseFulfilledResult<AsyncIterable<{ state: string }>>).value[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ state: 'NONE' });
    await fan!.api.data(ENTER, { id });
    expect((await stream.next()).value).toMatchObject({ state: 'WAITING', position: 1 });
    await stream.return?.();
  });

  it('recover when Redis loses the line: fans read anew, hold their presence again, and positions are exact once they re-enter', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const k = redisKeys(server.app.config.redisPrefix).queue(Number(concertId));
    const fans = await signUpMany(api, 6);
    const watched: Watched[] = [];
    for (const [i, fan] of fans.entries()) {
      await fan.api.data(ENTER, { id: concertId });
      const client = wsClient(i % 2 === 0 ? server.wsUrl : replica.wsUrl, fan.token);
      clients.push(client);
      const w: Watched = { fan, feed: new Feed(client, STATUS_SUBSCRIPTION, { id: concertId }) };
      w.last = (await w.feed.next()).data?.queueStatus;
      watched.push(w);
    }
    await server.app.services.queue.admitTick();
    // Everything about the concert's line is gone: places, presence, the departures log and its epoch.
    await wipeRedisKeys(server.app.redis, `${server.app.config.redisPrefix}:{c:${concertId}}`);
    await server.app.services.queue.admitTick();
    await vi.waitFor(async () => {
      for (const w of watched) expect((await latest(w))?.state, `fan ${w.fan.id}`).toBe('NONE');
    }, { timeout: 5000, interval: 100 });
    // They come back in reverse order; silent but subscribed, they keep their places past the grace.
    for (const w of [...watched].reverse()) await w.fan.api.data(ENTER, { id: concertId });
    await sleep((GRACE_S + 2) * 1000);
    await server.app.services.queue.admitTick();
    await vi.waitFor(async () => {
      for (const w of watched) {
        const rank = await server.app.redis.zrank(k.wait, w.fan.id);
        const active = await server.app.redis.zscore(k.active, w.fan.id);
        expect(rank !== null || active !== null, `fan ${w.fan.id} still in line`).toBe(true);
        expect(await latest(w), `fan ${w.fan.id}`).toMatchObject(rank === null ? { state: 'ACTIVE' } : { state: 'WAITING', position: rank + 1 });
      }
    }, { timeout: 5000, interval: 100 });

    // A replica forgotten alone (a tick took it for dead while it stalled) learns so at its next beat
    // and holds its fans' presence again.
    await server.app.redis.del(k.replicas, k.watchers, k.watchSums, k.watchCount);
    await vi.waitFor(async () => expect(await server.app.redis.hlen(k.watchCount)).toBe(watched.length), { timeout: 3000, interval: 50 });

    // One registration lost alone, the replica's beat kept (a failover that lost only the last writes):
    // the next beat finds its holds are not the fans it follows, and holds them all again, under a new
    // name (the old one, silent from then, is released as a dead replica's).
    const lost = watched[0]!.fan.id;
    const [member] = (await server.app.redis.zrange(k.watchers, 0, -1)).filter((m) => m.endsWith(`:${lost}`));
    await server.app.redis.zrem(k.watchers, member!);
    await server.app.redis.hdel(k.watchCount, lost);
    await vi.waitFor(async () => {
      const held = (await server.app.redis.zrange(k.watchers, 0, -1)).filter((m) => m.endsWith(`:${lost}`));
      expect(held).toHaveLength(1);
      expect(held[0]).not.toBe(member);
      expect(await server.app.redis.hget(k.watchCount, lost)).toBe('1');
    }, { timeout: 3000, interval: 50 });
  });
});

describe('live positions, on a line whose slots last (ACTIVE_TTL_SECONDS 900) and whose ticks the test runs', () => {
  let quiet: TestServer;
  const quietClients: ReturnType<typeof wsClient>[] = [];
  beforeAll(async () => {
    quiet = await startTestServer('queue_positions_lasting', { RUN_WORKERS: 'false' });
  });
  afterAll(async () => {
    await Promise.all(quietClients.map((client) => client.dispose()));
    await quiet.stop();
  });

  /** A concert whose one slot a holder has taken; then `count` fans enter, in order. */
  async function behindHolder(count: number) {
    const { concertId } = await createConcert(quiet, { maxActiveUsers: 1 });
    const [holder, ...fans] = (await signUpMany(new Api(quiet.url), count + 1)) as [Account, ...Account[]];
    await holder.api.data(ENTER, { id: concertId });
    await quiet.app.services.queue.admitTick();
    for (const fan of fans) await fan.api.data(ENTER, { id: concertId });
    return { concertId, fans, k: redisKeys(quiet.env.REDIS_KEY_PREFIX!).queue(Number(concertId)) };
  }
  const follow = (fan: Account, concertId: string) => {
    const client = wsClient(quiet.wsUrl, fan.token);
    quietClients.push(client);
    return new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
  };

  it('move a fan up by the absent ahead only, when absent fans ahead and behind drop in one tick and the one behind lapsed first', async () => {
    const { concertId, fans, k } = await behindHolder(3);
    const [ahead, fan, behind] = fans as [Account, Account, Account];
    const feed = follow(fan, concertId);
    expect((await feed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 2 });
    // Both silent past the grace (the tests' hour), `behind` the longer: the tick's sweep logs it first.
    // The line has been attended all along.
    const redis = quiet.app.redis;
    const [seconds] = await redis.time();
    const hoursAgo = (hours: number) => Number(seconds) * 1000 - hours * 3_600_000;
    await redis.hset(k.stats, 'resumedAt', hoursAgo(10));
    await redis.zadd(k.seen, hoursAgo(3), behind.id, hoursAgo(2), ahead.id);
    await quiet.app.services.queue.admitTick();
    expect(await redis.zrange(k.wait, 0, -1)).toEqual([fan.id]);
    expect((await feed.until((m) => m.data?.queueStatus.position !== 2)).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
  });

  it('count a leave once for a fan who starts following between it and the next tick (a leave announces no tick; the place read then counts it)', async () => {
    const { concertId, fans, k } = await behindHolder(3);
    const [leaver, fan, other] = fans as [Account, Account, Account];
    // `other` is followed first: this process follows the concert's log from here.
    const otherFeed = follow(other, concertId);
    expect((await otherFeed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 3 });
    await leaver.api.data(LEAVE, { id: concertId });
    const fanFeed = follow(fan, concertId);
    expect((await fanFeed.next()).data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
    await quiet.app.services.queue.admitTick();
    // The tick moves `other` by the leave it had not heard of yet; anything it tells `fan` has come by a moment later.
    await otherFeed.until((m) => m.data?.queueStatus.position === 2);
    await sleep(300);
    expect(await quiet.app.redis.zrank(k.wait, fan.id)).toBe(0);
    const pushed: (number | null | undefined)[] = [];
    while (fanFeed.pending() > 0) pushed.push((await fanFeed.next()).data?.queueStatus.position);
    expect(pushed.filter((position) => position !== 1)).toEqual([]);
  });
});
