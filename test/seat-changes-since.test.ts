import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { RELEASE, SEAT_CHANGED_AFTER, SEAT_MAP_WITH_CURSOR } from '../support/operations';
import type { SeatEventTarget } from '../src/seats/seat-events';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, wsClient, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { metricSamples, metricSum } from './support/metrics';
import { activeFans, hold, seatFeed, seatIds } from './support/booking';
import { seatFeedWithRival } from './support/live-feed';
import { SeatStatus } from '../src/seats/seat';
import type { Redis } from 'ioredis';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('seat-changes-since');
  api = new Api(server.url);
});
afterAll(() => server.stop());

interface MapWithCursor {
  seatChangesCursor: string;
  seatMap: { ids: string[]; statuses: string[] };
}

async function mapWithCursor(fan: Account, scheduleId: string): Promise<MapWithCursor> {
  return (await fan.api.data<{ schedule: MapWithCursor }>(SEAT_MAP_WITH_CURSOR, { id: scheduleId })).schedule;
}

/** A concert of `seatCount` seats with two ACTIVE fans, its first schedule and that schedule's seat IDs. */
async function shopping(seatCount = 6) {
  const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount });
  const scheduleId = scheduleIds[0]!;
  const [fan, rival] = (await activeFans(api, concertId, 2)) as [Account, Account];
  return { scheduleId, fan, rival, ids: await seatIds(server, scheduleId) };
}

/** Statuses by seat: the map read, with the changes applied in the order heard. */
function applied(map: MapWithCursor['seatMap'], changes: { id: string; status: string }[]): Map<string, string> {
  const statuses = new Map(map.ids.map((id, i) => [id, map.statuses[i]!]));
  for (const change of changes) statuses.set(change.id, change.status);
  return statuses;
}

describe("seatChanged from a seat map's cursor", () => {
  it('starts with the changes made between the read and the subscription, then goes on live', async () => {
    const { scheduleId, fan, rival, ids } = await shopping();
    const read = await mapWithCursor(fan, scheduleId);
    expect(read.seatMap.statuses).toEqual(Array(6).fill('AVAILABLE'));

    // Made after the read and before the subscription: a feed from the moment of subscribing misses them.
    const first = await hold(rival, ids[0]!);
    await hold(rival, ids[1]!);
    await rival.api.data(RELEASE, { holdId: first.id });
    await hold(fan, ids[2]!);

    const replayed = async () => (await metricSamples(server.url, 'seat_changes_replayed_total')).get('{from="cursor"}') ?? 0;
    const replayedBefore = await replayed();
    const { feed, close } = await seatFeed(server, fan, scheduleId, SEAT_CHANGED_AFTER, read.seatChangesCursor);
    try {
      // The four changes came from the log (/metrics counts them)...
      expect((await replayed()) - replayedBefore).toBe(4);
      // ...told in the order of each seat's latest change: the fan's own hold comes last.
      const heard: { id: string; status: string }[] = [];
      await feed.until((message) => heard.push(message.data!.seatChanged) > 0 && message.data!.seatChanged.id === ids[2]);
      const now = await mapWithCursor(fan, scheduleId);
      expect(applied(read.seatMap, heard)).toEqual(applied(now.seatMap, []));
      expect(now.seatMap.statuses).toEqual(['AVAILABLE', 'HELD', 'HELD', 'AVAILABLE', 'AVAILABLE', 'AVAILABLE']);
      expect(heard.find((change) => change.id === ids[3])).toBeUndefined();

      // Live from there: the next change, and nothing told twice.
      await hold(rival, ids[3]!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ids[3], status: 'HELD' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(feed.pending()).toBe(0);
    } finally {
      await close();
    }
  });

  it("leaves out a live change the log already gave, also when its message comes after the log's answer", async () => {
    const { scheduleId, fan, rival, ids } = await shopping();
    const read = await mapWithCursor(fan, scheduleId);
    const events = server.app.services.seatEvents as unknown as { target: SeatEventTarget; changesSince: (scheduleId: number, after: string) => Promise<unknown> };
    // Live messages saying AVAILABLE reach the feed's listener 300 ms late, as a message on the
    // subscriber's connection can come after an answer on another; and while the feed starts, the
    // rival holds and releases a seat just before the log is read, its HELD heard live meanwhile.
    const addEventListener = events.target.addEventListener.bind(events.target);
    const changesSince = events.changesSince.bind(events);
    events.target.addEventListener = (topic, listener) =>
      addEventListener(topic, (event) => (event.detail.status === 'AVAILABLE' ? setTimeout(() => listener(event), 300) : listener(event)));
    let hooked = false;
    events.changesSince = async (id, after) => {
      // Once, for this feed's read (not for a catch-up of every feed, should the server's subscription drop meanwhile).
      if (id === Number(scheduleId) && !hooked) {
        hooked = true;
        const held = await hold(rival, ids[0]!);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await rival.api.data(RELEASE, { holdId: held.id });
      }
      return changesSince(id, after);
    };
    const client = wsClient(server.wsUrl, fan.token);
    try {
      const feed = new Feed<{ seatChanged: { id: string; status: string } }>(client, SEAT_CHANGED_AFTER, { id: scheduleId, after: read.seatChangesCursor });
      // The log's HELD then AVAILABLE, read at once, leave the seat's last word: AVAILABLE. Without
      // leaving out what the log had, the HELD heard live would follow it (the seat shown held), and
      // the late AVAILABLE would be said twice.
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ids[0], status: 'AVAILABLE' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      const more = [];
      while (feed.pending() > 0) more.push((await feed.next()).data?.seatChanged);
      expect(more).toEqual([]);
      await hold(rival, ids[1]!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ids[1], status: 'HELD' });
    } finally {
      events.target.addEventListener = addEventListener;
      events.changesSince = changesSince;
      await client.dispose();
    }
  });

  it("tells nothing twice when the server's Redis subscription comes back while a feed is catching up from its cursor", async () => {
    const { scheduleId, fan, rival, ids } = await shopping();
    const read = await mapWithCursor(fan, scheduleId);
    await hold(rival, ids[0]!);
    const events = server.app.services.seatEvents as unknown as { catchUpAll: () => Promise<void>; changesSince: (scheduleId: number, after: string) => Promise<unknown> };
    // The feed's own catch-up from the map's cursor is under way when every feed is told to catch up
    // (as when the subscription comes back): the second starts from where the first leaves the feed.
    const changesSince = events.changesSince.bind(events);
    let restored: Promise<void> | undefined;
    let reads = 0;
    events.changesSince = async (id, after) => {
      if (id === Number(scheduleId) && ++reads === 1) {
        restored = events.catchUpAll();
        // The feed's own read answers after the restore has looked at where every feed stands, and
        // the restore's read of the log (the second) after the feed has told what the first found.
        await new Promise((resolve) => setTimeout(resolve, 200));
      } else if (id === Number(scheduleId) && reads === 2) {
        await new Promise((resolve) => setTimeout(resolve, 600));
      }
      return changesSince(id, after);
    };
    const client = wsClient(server.wsUrl, fan.token);
    try {
      const feed = new Feed<{ seatChanged: { id: string; status: string } }>(client, SEAT_CHANGED_AFTER, { id: scheduleId, after: read.seatChangesCursor });
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ids[0], status: 'HELD' });
      await restored;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const more = [];
      while (feed.pending() > 0) more.push((await feed.next()).data?.seatChanged);
      expect(more).toEqual([]);
    } finally {
      events.changesSince = changesSince;
      await client.dispose();
    }
  });

  // One Redis's connection events, played here; a Cluster's subscriber moved for real: cluster-subscriber-move.test.ts.
  it.skipIf(process.env.TEST_REDIS_CLUSTER_NODES)("gives a change lost while the server's Redis subscription was away before a live one heard once it was back, before the return was noticed", async () => {
    const { scheduleId, first, second, feed, close } = await seatFeedWithRival(server);
    const events = server.app.services.seatEvents;
    const subscriber = (events as unknown as { subscriber: Redis }).subscriber;
    const topic = events.topic(Number(scheduleId));
    try {
      // The connection closes; a change is published while the channel is not subscribed (lost to
      // the feed, kept in the seat log); the channel is subscribed again and a change heard live,
      // before the return is noticed (on a Cluster, up to a quarter of a second later).
      subscriber.emit('close');
      await subscriber.unsubscribe(topic);
      await events.announce([Number(first)], SeatStatus.HELD);
      await subscriber.subscribe(topic);
      await events.announce([Number(second)], SeatStatus.HELD);
      subscriber.emit('ready');
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: second, status: 'HELD' });
    } finally {
      await close();
    }
  });

  it.skipIf(process.env.TEST_REDIS_CLUSTER_NODES)('gives a change lost while the subscription was away to a feed from before it, though a feed of the same schedule began after it', async () => {
    const { scheduleId, rival, first, second, feed, close } = await seatFeedWithRival(server);
    const events = server.app.services.seatEvents;
    const subscriber = (events as unknown as { subscriber: Redis }).subscriber;
    const topic = events.topic(Number(scheduleId));
    let later: Awaited<ReturnType<typeof seatFeed>> | undefined;
    try {
      subscriber.emit('close');
      await subscriber.unsubscribe(topic);
      await events.announce([Number(first)], SeatStatus.HELD);
      // The rival's feed begins past that change (its cursor is later): the log is read for both
      // feeds from the one furthest behind, or the first feed never hears of it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      later = await seatFeed(server, rival, scheduleId);
      subscriber.emit('ready');
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });
      await events.announce([Number(second)], SeatStatus.HELD);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: second, status: 'HELD' });
      // The later feed is told only what came after its start.
      expect((await later.feed.next()).data?.seatChanged).toMatchObject({ id: second, status: 'HELD' });
    } finally {
      await later?.close();
      await close();
    }
  });

  it("gives each change its own cursor, from which a new feed goes on (after a reconnect), and none to a seat read otherwise", async () => {
    const { scheduleId, fan, rival, ids } = await shopping();
    const read = await mapWithCursor(fan, scheduleId);
    const CURSORED = 'subscription($id: ID!, $after: String) { seatChanged(scheduleId: $id, after: $after) { id status seatChangesCursor } }';
    const first = await seatFeed(server, fan, scheduleId, CURSORED, read.seatChangesCursor);
    let cursor: string;
    try {
      await hold(rival, ids[0]!);
      const told = (await first.feed.next()).data!.seatChanged;
      expect(told).toMatchObject({ id: ids[0], status: 'HELD' });
      cursor = told.seatChangesCursor!;
      expect(cursor).toMatch(/^\d+-\d+$/);
    } finally {
      await first.close();
    }
    // Away: two more changes; from the last cursor heard, a new feed is told those two only.
    await hold(rival, ids[1]!);
    await hold(fan, ids[2]!);
    const again = await seatFeed(server, fan, scheduleId, CURSORED, cursor);
    try {
      const heard = [(await again.feed.next()).data!.seatChanged, (await again.feed.next()).data!.seatChanged];
      expect(heard.map(({ id, status }) => [id, status])).toEqual([
        [ids[1], 'HELD'],
        [ids[2], 'HELD'],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(again.feed.pending()).toBe(0);
    } finally {
      await again.close();
    }
    const seat = await fan.api.data<{ schedule: { seats: { seatChangesCursor: string | null }[] } }>('query($id: ID!) { schedule(id: $id) { seats { seatChangesCursor } } }', { id: scheduleId });
    expect(seat.schedule.seats.map((s) => s.seatChangesCursor)).toEqual(Array(6).fill(null));
  });

  it('is read before the map it goes with, once per operation, and without ACTIVE only needs a token', async () => {
    const { scheduleId, fan } = await shopping();
    const order: string[] = [];
    const seatMap = server.app.services.seatMap;
    const [cursor, seats] = [seatMap.cursor.bind(seatMap), seatMap.seats.bind(seatMap)];
    seatMap.cursor = async (id) => {
      order.push('cursor asked');
      const read = await cursor(id);
      // Slower than the map's reads would be: a map read beside the cursor would come first.
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push('cursor read');
      return read;
    };
    seatMap.seats = async (userId, id) => {
      order.push('map asked');
      return seats(userId, id);
    };
    try {
      const both = await fan.api.data<{ schedule: { seats: unknown[]; seatChangesCursor: string; again: { ids: string[] } } }>(
        'query($id: ID!) { schedule(id: $id) { seats { id } seatChangesCursor again: seatMap { ids } } }',
        { id: scheduleId },
      );
      expect(order).toEqual(['cursor asked', 'cursor read', 'map asked']);
      expect(both.schedule.seatChangesCursor).toMatch(/^\d+-\d+$/);
      expect(both.schedule.seats).toHaveLength(6);
    } finally {
      seatMap.cursor = cursor;
      seatMap.seats = seats;
    }
    const cursorOnly = 'query($id: ID!) { schedule(id: $id) { seatChangesCursor } }';
    const stranger = (await activeFans(api, (await createConcert(server, { maxActiveUsers: 1 })).concertId, 1))[0]!;
    expect((await stranger.api.data<{ schedule: { seatChangesCursor: string } }>(cursorOnly, { id: scheduleId })).schedule.seatChangesCursor).toMatch(/^\d+-\d+$/);
    expect(await api.errorCode(cursorOnly, { id: scheduleId })).toBe('UNAUTHENTICATED');
  });

  it('refuses with BAD_USER_INPUT a malformed cursor, one the log no longer keeps what came after, and one ahead of its clock, and keeps no feed open; a cursor on a quiet schedule stays good', async () => {
    const { scheduleId, fan, rival, ids } = await shopping();
    const quiet = await shopping();
    const { seatChangesCursor: quietCursor } = await mapWithCursor(quiet.fan, quiet.scheduleId);
    const [quietMs] = quietCursor.split('-').map(Number) as [number];
    await hold(rival, ids[0]!);
    const { seatChangesCursor } = await mapWithCursor(fan, scheduleId);
    const [ms] = seatChangesCursor.split('-').map(Number) as [number];
    const open = () => metricSum(server.url, 'seat_changed_subscribers');
    const before = await open();
    const client = wsClient(server.wsUrl, fan.token);
    const quietClient = wsClient(server.wsUrl, quiet.fan.token);
    try {
      // More than 30 s before the schedule's last change (which trimmed what was older); ten minutes
      // before now on a schedule with no change since (its log would have stayed that long after one).
      const refused = [
        ['yesterday', scheduleId, client],
        ['12-', scheduleId, client],
        // A sequence past 64 bits, which Redis refuses.
        [`${ms}-99999999999999999999`, scheduleId, client],
        [`${ms - 31_000}-0`, scheduleId, client],
        [`${ms + 120_000}-0`, scheduleId, client],
        ['', scheduleId, client],
        [`${quietMs - 601_000}-0`, quiet.scheduleId, quietClient],
      ] as const;
      for (const [after, id, socket] of refused) {
        const feed = new Feed(socket, SEAT_CHANGED_AFTER, { id, after });
        const answer = await feed.next();
        expect(answer.errors?.[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
      }
      expect(await open()).toBe(before);
    } finally {
      await Promise.all([client.dispose(), quietClient.dispose()]);
    }
    // Nothing changed on the quiet schedule for longer than the 30 s (as far as the log can tell: a
    // cursor from 5 minutes ago): followed, it tells the first change since.
    const stillGood = await seatFeed(server, quiet.fan, quiet.scheduleId, SEAT_CHANGED_AFTER, `${quietMs - 300_000}-0`);
    try {
      await hold(quiet.rival, quiet.ids[0]!);
      expect((await stillGood.feed.next()).data?.seatChanged).toMatchObject({ id: quiet.ids[0], status: 'HELD' });
    } finally {
      await stillGood.close();
    }
  });
});
