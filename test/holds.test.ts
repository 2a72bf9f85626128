import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { AppError } from '../src/errors';
import { redisKeys, runScript } from '../src/redis';
import { HOLD_SEAT } from '../src/redis/hold-scripts';
import { SeatCatalog } from '../src/seats/seat-catalog';
import type { SeatInfo } from '../src/seats/seat';
import { type Hold, HOLD, LEAVE, RELEASE, SEAT_CHANGED, SEATS } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUp, wsClient } from './support/client';
import { createConcert } from './support/fixtures';
import { activeFans, admit, availableSeats, charge, forgetInventory, hold, me, pay, queueStatusOf, seatFeed, seatIds, seats, sellInMysql } from './support/booking';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('holds', { MAX_HOLDS_PER_SCHEDULE: '3' });
  api = new Api(server.url);
});
afterAll(() => server.stop());

describe('the ACTIVE gate', () => {
  it('opens seats, holdSeat and seatChanged only for the concert the fan is ACTIVE for', async () => {
    const a = await createConcert(server, { maxActiveUsers: 5 });
    const b = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, a.concertId, 1);
    const [aSeat] = await seatIds(server, a.scheduleIds[0]!);
    const [bSeat] = await seatIds(server, b.scheduleIds[0]!);

    expect(await seats(fan!, a.scheduleIds[0]!)).toHaveLength(10);
    expect(await fan!.api.errorCode(SEATS, { id: b.scheduleIds[0] })).toBe('NOT_ACTIVE');
    expect(await fan!.api.errorCode(HOLD, { seatId: bSeat })).toBe('NOT_ACTIVE');
    const client = wsClient(server.wsUrl, fan!.token);
    const refused = new Feed(client, SEAT_CHANGED, { id: b.scheduleIds[0] });
    expect((await refused.next()).errors?.[0]?.extensions?.code).toBe('NOT_ACTIVE');
    await client.dispose();

    // Never queued at all: nothing opens; without a token: UNAUTHENTICATED; availableSeats stays public.
    const stranger = await signUp(api);
    expect(await stranger.api.errorCode(SEATS, { id: a.scheduleIds[0] })).toBe('NOT_ACTIVE');
    expect(await stranger.api.errorCode(HOLD, { seatId: aSeat })).toBe('NOT_ACTIVE');
    expect(await api.errorCode(SEATS, { id: a.scheduleIds[0] })).toBe('UNAUTHENTICATED');
    expect(await api.errorCode(HOLD, { seatId: aSeat })).toBe('UNAUTHENTICATED');
    expect(await availableSeats(api, a.scheduleIds[0]!)).toBe(10);
  });

  it('refuses holdSeat to a fan not ACTIVE also for a seat this replica has already looked up for an ACTIVE fan', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    // Held and released by the ACTIVE fan: the seat is in the replica's seat cache now.
    await fan!.api.data(RELEASE, { holdId: (await hold(fan!, seatId!)).id });
    const stranger = await signUp(api);
    expect(await stranger.api.errorCode(HOLD, { seatId })).toBe('NOT_ACTIVE');
    expect((await me(stranger)).holds).toEqual([]);
    expect((await seats(fan!, scheduleIds[0]!, 'HELD')).map((s) => s.id)).toEqual([]);
  });

  it('answers Schedule.seatMap as Schedule.seats in lists by seat number, live, and gates it alike', async () => {
    const a = await createConcert(server, { maxActiveUsers: 5, seatCount: 6, price: 250 });
    const b = await createConcert(server, { maxActiveUsers: 5 });
    const scheduleId = a.scheduleIds[0]!;
    const [fan, buyer] = await activeFans(api, a.concertId, 2);
    const ids = await seatIds(server, scheduleId);
    const MAP = 'query($id: ID!) { schedule(id: $id) { seatMap { ids prices statuses } } }';
    type Lists = { ids: string[]; prices: number[]; statuses: string[] };
    const lists = async () => (await fan!.api.data<{ schedule: { seatMap: Lists } }>(MAP, { id: scheduleId })).schedule.seatMap;
    const asSeats = async () => {
      const map = await seats(fan!, scheduleId);
      return { ids: map.map((seat) => seat.id), prices: map.map((seat) => seat.price), statuses: map.map((seat) => seat.status) };
    };
    // Read once before anything changes (the seats themselves are kept from then on), then after each change.
    expect(await lists()).toEqual({ ids, prices: Array(6).fill(250), statuses: Array(6).fill('AVAILABLE') });
    const held = await hold(fan!, ids[1]!);
    await sellInMysql(server, buyer!.id, [ids[4]!], 'seat-map-lists');
    expect(await lists()).toEqual({ ids, prices: Array(6).fill(250), statuses: ['AVAILABLE', 'HELD', 'AVAILABLE', 'AVAILABLE', 'RESERVED', 'AVAILABLE'] });
    expect(await lists()).toEqual(await asSeats());
    await fan!.api.data(RELEASE, { holdId: held.id });
    expect((await lists()).statuses).toEqual(['AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'AVAILABLE', 'RESERVED', 'AVAILABLE']);

    expect(await fan!.api.errorCode(MAP, { id: b.scheduleIds[0] })).toBe('NOT_ACTIVE');
    expect(await (await signUp(api)).api.errorCode(MAP, { id: scheduleId })).toBe('NOT_ACTIVE');
    expect(await api.errorCode(MAP, { id: scheduleId })).toBe('UNAUTHENTICATED');
  });

  it('ends seatChanged with NOT_ACTIVE at the first tick after the fan leaves, while a fan still ACTIVE keeps it', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const scheduleId = scheduleIds[0]!;
    const [leaver, stayer] = await activeFans(api, concertId, 2);
    const [first, second] = await seatIds(server, scheduleId);
    const left = await seatFeed(server, leaver!, scheduleId);
    const stays = await seatFeed(server, stayer!, scheduleId);
    try {
      await hold(stayer!, first!);
      expect((await left.feed.next()).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });
      expect((await stays.feed.next()).data?.seatChanged).toMatchObject({ id: first, status: 'HELD' });

      await leaver!.api.data(LEAVE, { id: concertId });
      expect((await left.feed.next()).errors?.[0]?.extensions?.code).toBe('NOT_ACTIVE');

      // The fan still ACTIVE hears the next change; the one who left hears nothing more.
      await hold(stayer!, second!);
      expect((await stays.feed.next()).data?.seatChanged).toMatchObject({ id: second, status: 'HELD' });
      expect(left.feed.pending()).toBe(0);
    } finally {
      await Promise.all([left.close(), stays.close()]);
    }
  });

  it('answers BAD_USER_INPUT for non-numeric IDs and NOT_FOUND for unknown seats and schedules', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    expect(await fan!.api.errorCode(HOLD, { seatId: 'seat-1' })).toBe('BAD_USER_INPUT');
    expect(await fan!.api.errorCode(HOLD, { seatId: '-3' })).toBe('BAD_USER_INPUT');
    expect(await fan!.api.errorCode(HOLD, { seatId: '999999999' })).toBe('NOT_FOUND');
    const client = wsClient(server.wsUrl, fan!.token);
    const unknown = new Feed(client, SEAT_CHANGED, { id: '999999999' });
    expect((await unknown.next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const malformed = new Feed(client, SEAT_CHANGED, { id: 'x' });
    expect((await malformed.next()).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await client.dispose();
  });
});

describe('seatChanged on a replica just started', () => {
  it('takes a burst of subscriptions at once (on a Redis Cluster its pub/sub connection opened with the first one and crashed the process) and tells each of them', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 21 });
    const scheduleId = scheduleIds[0]!;
    const fans = await activeFans(api, concertId, 21);
    const fresh = await startTestServer('holds', { MAX_HOLDS_PER_SCHEDULE: '3' }, { reset: false });
    const clients = fans.slice(1).map((fan) => wsClient(fresh.wsUrl, fan.token));
    try {
      const feeds = clients.map((client) => new Feed<{ seatChanged: { id: string; status: string } }>(client, SEAT_CHANGED, { id: scheduleId }));
      // Every feed listening (the server holds each fan's presence for it, as seatFeed waits): the
      // first change each one hears is a hold taken after this.
      const watchCount = redisKeys(server.env.REDIS_KEY_PREFIX!).queue(Number(concertId)).watchCount;
      await vi.waitFor(
        async () => {
          const counts = await server.app.redis.hmget(watchCount, ...fans.slice(1).map((fan) => fan.id));
          expect(counts.every((count) => Number(count ?? 0) > 0)).toBe(true);
        },
        { timeout: 10_000, interval: 50 },
      );
      const [seatId] = await seatIds(server, scheduleId);
      await hold(fans[0]!, seatId!);
      for (const feed of feeds) expect((await feed.next()).data?.seatChanged).toMatchObject({ id: seatId, status: 'HELD' });
      expect((await fetch(fresh.url.replace('/graphql', '/healthz'))).status).toBe(200);
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
      await fresh.stop();
    }
  });
});

describe('holding a seat', () => {
  it('lasts the defaults: a hold HOLD_TTL_SECONDS (300), an admission ACTIVE_TTL_SECONDS (900)', async () => {
    // This server sets neither: the contract's defaults apply.
    expect([server.env.HOLD_TTL_SECONDS, server.env.ACTIVE_TTL_SECONDS]).toEqual([undefined, undefined]);
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const before = Date.now();
    const [fan] = await activeFans(api, concertId, 1);
    const { activeUntil } = await queueStatusOf(fan!, concertId);
    // Admitted by a tick at most a second after entering (ticks every 100 ms here).
    expect(Date.parse(activeUntil!) - before).toBeGreaterThanOrEqual(900_000 - 1000);
    expect(Date.parse(activeUntil!) - Date.now()).toBeLessThanOrEqual(900_000 + 1000);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const sent = Date.now();
    const held = await hold(fan!, seatId!);
    expect(Date.parse(held.expiresAt) - sent).toBeGreaterThanOrEqual(300_000 - 1000);
    expect(Date.parse(held.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000 + 1000);
  });
  it('gives one of 200 simultaneous fans the seat and every other one SEAT_UNAVAILABLE', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 250, seatCount: 5 });
    const fans = await activeFans(api, concertId, 200);
    const [seatId] = await seatIds(server, scheduleIds[0]!);

    const results = await Promise.all(fans.map((fan) => fan.api.request<{ holdSeat: Hold }>(HOLD, { seatId })));
    const winners = results.flatMap((result, index) => (result.data?.holdSeat ? [{ fan: fans[index]!, hold: result.data.holdSeat }] : []));
    const codes = results.flatMap((result) => result.errors?.map((error) => error.extensions?.code) ?? []);
    expect(winners).toHaveLength(1);
    expect(codes).toHaveLength(199);
    expect(new Set(codes)).toEqual(new Set(['SEAT_UNAVAILABLE']));

    const winner = winners[0]!;
    expect(winner.hold.seat).toMatchObject({ id: seatId, status: 'HELD' });
    expect((await me(winner.fan)).holds.map((h) => h.id)).toEqual([winner.hold.id]);
    expect(await availableSeats(api, scheduleIds[0]!)).toBe(4);
    expect((await seats(fans[0]!, scheduleIds[0]!, 'HELD')).map((s) => s.id)).toEqual([seatId]);
  });

  it('returns the same hold to a fan who holds the seat again, even many times at once', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const first = await hold(fan!, seatId!);
    const again = await Promise.all(Array.from({ length: 5 }, () => hold(fan!, seatId!)));
    expect(again.map((h) => [h.id, h.expiresAt])).toEqual(again.map(() => [first.id, first.expiresAt]));
    expect((await me(fan!)).holds).toHaveLength(1);
    expect(await availableSeats(api, scheduleIds[0]!)).toBe(9);
  });

  it('stops at MAX_HOLDS_PER_SCHEDULE per schedule with HOLD_LIMIT_REACHED', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, schedules: 2 });
    const [fan] = await activeFans(api, concertId, 1);
    const first = await seatIds(server, scheduleIds[0]!);
    const held = [await hold(fan!, first[0]!), await hold(fan!, first[1]!), await hold(fan!, first[2]!)];
    expect(await fan!.api.errorCode(HOLD, { seatId: first[3] })).toBe('HOLD_LIMIT_REACHED');
    // Re-holding one already held is no new hold; another schedule has its own limit.
    expect((await hold(fan!, first[0]!)).id).toBe(held[0]!.id);
    const [otherSchedule] = await seatIds(server, scheduleIds[1]!);
    await hold(fan!, otherSchedule!);
    // Releasing one makes room again.
    await fan!.api.data(RELEASE, { holdId: held[1]!.id });
    await hold(fan!, first[3]!);
    expect((await seats(fan!, scheduleIds[0]!, 'HELD')).map((s) => s.id).sort()).toEqual([first[0], first[2], first[3]].sort());
  });

  it('refuses sold seats asked for at once with free ones as SEAT_UNAVAILABLE, without taking the fan’s place under the limit, and at the limit too', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 20 });
    const [buyer, fan] = await activeFans(api, concertId, 2);
    const ids = await seatIds(server, scheduleIds[0]!);
    const sold = ids.slice(0, 16);
    const free = ids.slice(16, 19);
    // Sold and counted (the inventory rebuilt from MySQL has their bits), as a fan's stale seat map would still offer them.
    await sellInMysql(server, buyer!.id, sold, 'stale-map');
    await forgetInventory(server, scheduleIds);
    expect(await availableSeats(api, scheduleIds[0]!)).toBe(4);
    const answers = await Promise.all([...sold, ...free].map((seatId) => fan!.api.request(HOLD, { seatId })));
    const codes = answers.map((answer) => answer.errors?.[0]?.extensions?.code ?? 'OK');
    expect(codes.slice(0, 16)).toEqual(sold.map(() => 'SEAT_UNAVAILABLE'));
    expect(codes.slice(16)).toEqual(['OK', 'OK', 'OK']);
    // At the limit now: a sold seat is still SEAT_UNAVAILABLE (gone for good; the limit's answer would
    // tell the fan to release a seat to get it), a free one the limit's.
    expect(await fan!.api.errorCode(HOLD, { seatId: sold[0] })).toBe('SEAT_UNAVAILABLE');
    expect(await fan!.api.errorCode(HOLD, { seatId: ids[19] })).toBe('HOLD_LIMIT_REACHED');
  });

  it('lists the fan’s holds in me.holds soonest to lapse first', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const ids = await seatIds(server, scheduleIds[0]!);
    const held = [];
    // Out of seat order, a few milliseconds apart: distinct expiries.
    for (const seatId of [ids[4]!, ids[1]!, ids[7]!]) {
      held.push(await hold(fan!, seatId));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const listed = (await me(fan!)).holds;
    expect(listed.map((h) => h.id)).toEqual(held.map((h) => h.id));
    const expiries = listed.map((h) => new Date(h.expiresAt).getTime());
    expect(expiries).toEqual([...expiries].sort((a, b) => a - b));
  });

  it('never holds a reserved seat', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    // A sale recorded in MySQL only (as after Redis lost its data): MySQL wins.
    await sellInMysql(server, fan!.id, [seatId!], 'setup');
    await forgetInventory(server, scheduleIds);
    expect(await fan!.api.errorCode(HOLD, { seatId })).toBe('SEAT_UNAVAILABLE');
    expect((await seats(fan!, scheduleIds[0]!, 'RESERVED')).map((s) => s.id)).toEqual([seatId]);
    expect(await availableSeats(api, scheduleIds[0]!)).toBe(9);
  });
  it('finishes a hold whose first request stopped after taking the lock, and gives the lock back if the seat was sold', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const scheduleId = scheduleIds[0]!;
    const [watcher, fan] = await activeFans(api, concertId, 2);
    const [seatId, soldId] = await seatIds(server, scheduleId);
    const keys = redisKeys(server.env.REDIS_KEY_PREFIX!);
    // What a request leaves when it stops right after the script: a Redis timeout answered
    // SERVICE_UNAVAILABLE while the script still ran, or the process was killed.
    const lockOnly = (seat: string) => runScript(server.app.redis, HOLD_SEAT, keys.holds(Number(scheduleId)), Number(seat), Number(fan!.id), `${scheduleId}.${seat}.leftbehind01`, 60_000, 10);
    const { feed, close } = await seatFeed(server, watcher!, scheduleId);
    try {
      await lockOnly(seatId!);
      expect((await me(fan!)).holds).toEqual([]);
      expect(await server.app.redis.sismember(keys.holdIndex, scheduleId)).toBe(0);

      // Holding again (the client's retry) finishes it: listed, announced, visited by the expiry sweep.
      const retried = await hold(fan!, seatId!);
      expect(retried.id).toBe(`${scheduleId}.${seatId}.leftbehind01`);
      expect((await me(fan!)).holds.map((h) => h.id)).toEqual([retried.id]);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: seatId, status: 'HELD' });
      expect(await server.app.redis.sismember(keys.holdIndex, scheduleId)).toBe(1);

      // A lock left on a seat sold meanwhile in MySQL is no hold: the retry is refused and frees it.
      await sellInMysql(server, watcher!.id, [soldId!], 'sold-meanwhile');
      await lockOnly(soldId!);
      expect(await fan!.api.errorCode(HOLD, { seatId: soldId })).toBe('SEAT_UNAVAILABLE');
      expect(await server.app.redis.hexists(keys.holds(Number(scheduleId)).bySeat, soldId!)).toBe(0);
      expect((await me(fan!)).holds.map((h) => h.id)).toEqual([retried.id]);
    } finally {
      await close();
    }
  });

  it('keeps a hold another request of the fan’s was answered with, though the request that took it fails after', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    // The first request's check in MySQL waits for the second request's answer, then times out.
    const holds = server.app.services.holds as unknown as { isReserved: (seatId: number) => Promise<boolean> };
    const isReserved = holds.isReserved;
    let checking = () => {};
    const firstChecking = new Promise<void>((resolve) => (checking = resolve));
    let timeOut = () => {};
    const timedOut = new Promise<void>((resolve) => (timeOut = resolve));
    holds.isReserved = async () => {
      holds.isReserved = isReserved;
      checking();
      await timedOut;
      throw new AppError('SERVICE_UNAVAILABLE', 'The database did not answer in time.');
    };
    try {
      const first = fan!.api.errorCode(HOLD, { seatId });
      await firstChecking;
      // The fan's retry (a double click, another tab) is handed the hold and finishes it.
      const second = await hold(fan!, seatId!);
      timeOut();
      expect(await first).toBe('SERVICE_UNAVAILABLE');
      expect((await me(fan!)).holds.map((h) => h.id)).toEqual([second.id]);
      await fan!.api.data(RELEASE, { holdId: second.id });
    } finally {
      holds.isReserved = isReserved;
      timeOut();
    }
  });
});

describe('releasing a hold', () => {
  it('frees the seat for others; releasing again, another fan or a made-up ID get HOLD_NOT_FOUND', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [owner, rival] = await activeFans(api, concertId, 2);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const held = await hold(owner!, seatId!);

    expect(await rival!.api.errorCode(HOLD, { seatId })).toBe('SEAT_UNAVAILABLE');
    expect(await rival!.api.errorCode(RELEASE, { holdId: held.id })).toBe('HOLD_NOT_FOUND');
    for (const holdId of ['nonsense', `${scheduleIds[0]}.${seatId}.AAAAAAAAAAAA`, `${held.id}x`]) {
      expect(await owner!.api.errorCode(RELEASE, { holdId })).toBe('HOLD_NOT_FOUND');
    }
    expect((await me(owner!)).holds).toHaveLength(1);

    expect(await owner!.api.data(RELEASE, { holdId: held.id })).toEqual({ releaseHold: true });
    // Released, the hold no longer exists: a second release is HOLD_NOT_FOUND (errors.md), for anyone.
    expect(await owner!.api.errorCode(RELEASE, { holdId: held.id })).toBe('HOLD_NOT_FOUND');
    expect(await rival!.api.errorCode(RELEASE, { holdId: held.id })).toBe('HOLD_NOT_FOUND');
    expect((await me(owner!)).holds).toEqual([]);
    expect(await availableSeats(api, scheduleIds[0]!)).toBe(10);
    expect((await hold(rival!, seatId!)).seat.status).toBe('HELD');
  });

  it('answers SERVICE_UNAVAILABLE after 5 s, the hold kept, when a payment of it (one whose process died, say) still marks it', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [owner] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const held = await hold(owner!, seatId!);
    // As a payment leaves it before it commits: one payment keeping the hold for another minute.
    const k = redisKeys(server.app.config.redisPrefix).holds(Number(scheduleIds[0]));
    const [seconds] = await server.app.redis.time();
    await server.app.redis.hset(k.paying, seatId!, `1:${Number(seconds) * 1000 + 60_000}`);
    const started = Date.now();
    expect(await owner!.api.errorCode(RELEASE, { holdId: held.id })).toBe('SERVICE_UNAVAILABLE');
    expect(Date.now() - started).toBeGreaterThanOrEqual(4900);
    expect((await me(owner!)).holds.map((h) => h.id)).toEqual([held.id]);
    // Once the payment is over (here: its mark gone), the release goes through.
    await server.app.redis.hdel(k.paying, seatId!);
    expect(await owner!.api.data(RELEASE, { holdId: held.id })).toEqual({ releaseHold: true });
  });

  it('answers HOLD_NOT_FOUND for a hold whose seat MySQL has sold (a payment whose cleanup in Redis failed), marked or not', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [owner] = await activeFans(api, concertId, 1);
    const [first, second] = await seatIds(server, scheduleIds[0]!);
    const [plain, marked] = [await hold(owner!, first!), await hold(owner!, second!)];
    await sellInMysql(server, owner!.id, [first!, second!], 'cleanup-lost');
    const k = redisKeys(server.app.config.redisPrefix).holds(Number(scheduleIds[0]));
    const [seconds] = await server.app.redis.time();
    await server.app.redis.hset(k.paying, second!, `1:${Number(seconds) * 1000 + 60_000}`);
    // Sold is gone: not "released" (the seat is not free), nor "try again" for a payment that is over.
    expect(await owner!.api.errorCode(RELEASE, { holdId: plain.id })).toBe('HOLD_NOT_FOUND');
    expect(await owner!.api.errorCode(RELEASE, { holdId: marked.id })).toBe('HOLD_NOT_FOUND');
  });

  it('never announces a seat free that MySQL has sold (a payment committing while its hold is released)', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [owner, watcher] = await activeFans(api, concertId, 2);
    const [seatId, other] = await seatIds(server, scheduleIds[0]!);
    const { feed, close } = await seatFeed(server, watcher!, scheduleIds[0]!);
    try {
      const held = await hold(owner!, seatId!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: seatId, status: 'HELD' });
      // The owner's payment has committed (its own announcement on its way) when the release runs.
      await sellInMysql(server, owner!.id, [seatId!], 'paid-while-released');
      // The hold became a ticket: gone (HOLD_NOT_FOUND), not released.
      expect(await owner!.api.errorCode(RELEASE, { holdId: held.id })).toBe('HOLD_NOT_FOUND');
      // The next change the feed carries is another seat's: the sold one was never announced AVAILABLE.
      await hold(owner!, other!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: other, status: 'HELD' });
    } finally {
      await close();
    }
  });

  it('leaves a seat a rival took the moment it was let go shown HELD, though the release’s AVAILABLE went out after the rival’s HELD', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [owner, rival, watcher] = await activeFans(api, concertId, 3);
    const [seatId, other] = await seatIds(server, scheduleIds[0]!);
    const held = await hold(owner!, seatId!);
    const { feed, close } = await seatFeed(server, watcher!, scheduleIds[0]!);
    // The release's check that MySQL has not sold the seat (made before it is announced free) waits
    // until the rival, who took the seat once its lock was let go, has had its HELD heard.
    const catalog = (server.app.services.seatEvents as unknown as { catalog: SeatCatalog }).catalog;
    const reservedAmong = catalog.reservedAmong.bind(catalog);
    let rivalHeard!: () => void;
    const heard = new Promise<void>((resolve) => (rivalHeard = resolve));
    let released!: () => void;
    const lockLetGo = new Promise<void>((resolve) => (released = resolve));
    catalog.reservedAmong = async (ids: number[]) => {
      if (ids.length === 1 && ids[0] === Number(seatId)) {
        released();
        await heard;
      }
      return reservedAmong(ids);
    };
    try {
      const release = owner!.api.data(RELEASE, { holdId: held.id });
      await lockLetGo;
      catalog.reservedAmong = reservedAmong;
      await hold(rival!, seatId!);
      await feed.until((message) => message.data?.seatChanged.id === seatId && message.data.seatChanged.status === 'HELD', 5000);
      rivalHeard();
      await release;
      // Whatever the feed said of the seat after that, its last word is the rival's hold: a change of
      // another seat afterwards marks the end of what the release sent.
      await hold(owner!, other!);
      const after: string[] = [];
      await feed.until((message) => {
        if (message.data?.seatChanged.id === seatId) after.push(message.data.seatChanged.status);
        return message.data?.seatChanged.id === other;
      }, 5000);
      expect(after.at(-1)).toBe('HELD');
    } finally {
      catalog.reservedAmong = reservedAmong;
      rivalHeard();
      await close();
    }
  });
});

describe('a sale whose follow-up in Redis was lost (its process killed right after the commit)', () => {
  it('frees the buyer’s hold on the sold seat at the next inventory check, long before it would lapse, and tells seat maps RESERVED', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 3 });
    const [buyer, watcher] = await activeFans(api, concertId, 2);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const { feed, close } = await seatFeed(server, watcher!, scheduleIds[0]!);
    try {
      await hold(buyer!, seatId!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: seatId, status: 'HELD' });
      // What a payment does before its commit (the concert noted changing), then the commit; the
      // follow-up that frees the hold and tells the seat maps never runs. The hold has 300 s left.
      await server.app.services.inventory.noteChanging([Number(concertId)]);
      await sellInMysql(server, buyer!.id, [seatId!], 'follow-up-lost');
      // The inventory check runs every ten ticks (1 s here).
      expect((await feed.until((message) => message.data?.seatChanged.status === 'RESERVED', 5000)).data?.seatChanged.id).toBe(seatId);
      expect((await me(buyer!)).holds).toEqual([]);
    } finally {
      await close();
    }
  });

  it('frees the holds a payment kept, its follow-up a moment behind, and tells the payment’s seats RESERVED once: all of them, and not again when the payment tells them', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 3 });
    const [buyer, watcher] = await activeFans(api, concertId, 2);
    const [first, second] = await seatIds(server, scheduleIds[0]!);
    const { feed, close } = await seatFeed(server, watcher!, scheduleIds[0]!);
    try {
      const held = [await hold(buyer!, first!), await hold(buyer!, second!)];
      for (let i = 0; i < 2; i++) expect((await feed.next()).data?.seatChanged.status).toBe('HELD');
      // A payment of both, up to its commit; its follow-up has freed one hold when the check comes
      // (freed first here, so no check can come between the sale and it).
      const { holds, seatEvents } = server.app.services;
      const refs = await holds.keepForPayment(Number(buyer!.id), held.map((h) => h.id));
      expect(await holds.releasePaid(Number(buyer!.id), [refs[0]!])).toEqual([refs[0]]);
      await server.app.services.inventory.noteChanging([Number(concertId)]);
      await sellInMysql(server, buyer!.id, [first!, second!], 'follow-up-behind');
      // The check frees the other and tells both seats, as the payment would.
      const told = [(await feed.next(5000)).data?.seatChanged, (await feed.next(5000)).data?.seatChanged];
      expect(told.map((seat) => [seat?.id, seat?.status]).sort()).toEqual([
        [first, 'RESERVED'],
        [second, 'RESERVED'],
      ]);
      expect((await me(buyer!)).holds).toEqual([]);
      // The payment's own announcement, late, tells nothing again.
      const [{ paymentId }] = await server.app.orm.em.getConnection().execute<{ paymentId: number }[]>('SELECT payment_id AS paymentId FROM reservations WHERE seat_id = ?', [first]);
      const catalog = (seatEvents as unknown as { catalog: SeatCatalog }).catalog;
      await seatEvents.announcePaid(paymentId, await catalog.findMany([Number(first), Number(second)]), holds.longestHoldMs());
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(feed.pending()).toBe(0);
    } finally {
      await close();
    }
  });
});

describe('the seat map', () => {
  it('shows each status, filters by status, and pushes every change over seatChanged', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 4, price: 250 });
    const scheduleId = scheduleIds[0]!;
    const [watcher, fan] = await activeFans(api, concertId, 2);
    const ids = await seatIds(server, scheduleId);
    const { feed, close } = await seatFeed(server, watcher!, scheduleId);

    const held = await hold(fan!, ids[1]!);
    expect((await feed.next()).data?.seatChanged).toEqual({ id: ids[1], number: 2, price: 250, status: 'HELD', schedule: { id: scheduleId } });
    expect((await seats(watcher!, scheduleId)).map((s) => [s.number, s.status])).toEqual([
      [1, 'AVAILABLE'],
      [2, 'HELD'],
      [3, 'AVAILABLE'],
      [4, 'AVAILABLE'],
    ]);
    expect((await seats(watcher!, scheduleId, 'AVAILABLE')).map((s) => s.number)).toEqual([1, 3, 4]);

    await fan!.api.data(RELEASE, { holdId: held.id });
    expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ids[1], status: 'AVAILABLE' });
    expect(await seats(watcher!, scheduleId, 'HELD')).toEqual([]);
    // A refused hold changes nothing, so it says nothing.
    await hold(watcher!, ids[0]!);
    expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ids[0], status: 'HELD' });
    expect(await fan!.api.errorCode(HOLD, { seatId: ids[0] })).toBe('SEAT_UNAVAILABLE');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(feed.pending()).toBe(0);
    await close();
  });

  it('tells a schedule’s feed of its own seats only, not of another date of the same concert', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2, schedules: 2 });
    const [first, second] = scheduleIds as [string, string];
    const [watcher, fan] = await activeFans(api, concertId, 2);
    const { feed, close } = await seatFeed(server, watcher!, first);
    try {
      // Every kind of change on the other date: held, released, held again and paid.
      const [otherSeat] = await seatIds(server, second);
      const released = await hold(fan!, otherSeat!);
      await fan!.api.data(RELEASE, { holdId: released.id });
      await charge(fan!, 100);
      await pay(fan!, [(await hold(fan!, otherSeat!)).id], 'other-date');
      // Then one on this date, which must be the first thing the feed says.
      const [ownSeat] = await seatIds(server, first);
      await hold(watcher!, ownSeat!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: ownSeat, status: 'HELD', schedule: { id: first } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(feed.pending()).toBe(0);
    } finally {
      await close();
    }
  });

  it('closes the seats of a concert the fan left while another concert stays open', async () => {
    const a = await createConcert(server, { maxActiveUsers: 5 });
    const b = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, a.concertId, 1);
    await admit([fan!], b.concertId);
    expect(await seats(fan!, b.scheduleIds[0]!)).toHaveLength(10);
    await fan!.api.data('mutation($id: ID!) { leaveQueue(concertId: $id) { state } }', { id: b.concertId });
    expect(await fan!.api.errorCode(SEATS, { id: b.scheduleIds[0] })).toBe('NOT_ACTIVE');
    expect(await seats(fan!, a.scheduleIds[0]!)).toHaveLength(10);
  });
});

describe('availableSeats across schedules', () => {
  it('counts each schedule of a concert on its own in one batched answer: held, reserved, and both at once', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, schedules: 3 });
    const [fan] = await activeFans(api, concertId, 1);
    const [a, b] = [await seatIds(server, scheduleIds[0]!), await seatIds(server, scheduleIds[1]!)];
    await hold(fan!, a[0]!);
    await hold(fan!, b[0]!);
    await hold(fan!, b[1]!);
    // Schedule b: one seat sold elsewhere, and b[0] sold while its hold is still live (released after commit).
    await sellInMysql(server, fan!.id, [b[5]!, b[0]!], 'avail');
    await forgetInventory(server, scheduleIds);
    const { concert } = await api.data<{ concert: { schedules: { id: string; availableSeats: number }[] } }>('query($id: ID!) { concert(id: $id) { schedules { id availableSeats } } }', { id: concertId });
    // b[0] counts as held and as reserved until its hold goes (a payment releases it right after its
    // commit): for that moment the count is one low, never high.
    expect(concert.schedules).toEqual([
      { id: scheduleIds[0], availableSeats: 9 },
      { id: scheduleIds[1], availableSeats: 6 },
      { id: scheduleIds[2], availableSeats: 10 },
    ]);
    // Asked alone, each schedule gives the same number.
    for (const [i, expected] of [9, 6, 10].entries()) expect(await availableSeats(api, scheduleIds[i]!)).toBe(expected);
  });
});

describe('the seat catalog (a schedule’s seats, which never change)', () => {
  it('reads a schedule’s seats once for readers arriving together, keeps at most its bound of seats in all, and reads a schedule let go again', async () => {
    const [a, b] = [(await createConcert(server, { seatCount: 10 })).scheduleIds[0]!, (await createConcert(server, { seatCount: 10 })).scheduleIds[0]!].map(Number) as [number, number];
    const catalog = new SeatCatalog(server.app.orm, 100, 15);
    const [first, second] = await Promise.all([catalog.ofSchedule(a), catalog.ofSchedule(a)]);
    expect(second).toBe(first);
    expect(first.map((seat) => seat.number)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(await catalog.ofSchedule(a)).toBe(first);
    // b's 10 seats and a's 10 are past the bound of 15: a, the oldest, goes, and is read anew when asked.
    const bSeats = await catalog.ofSchedule(b);
    const again = await catalog.ofSchedule(a);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    // Reading a again let b go in turn.
    expect(await catalog.ofSchedule(b)).not.toBe(bSeats);
    // Within the bound both stay.
    const roomy = new SeatCatalog(server.app.orm, 100, 20);
    const [aKept, bKept] = [await roomy.ofSchedule(a), await roomy.ofSchedule(b)];
    expect([await roomy.ofSchedule(a), await roomy.ofSchedule(b)]).toEqual([aKept, bKept]);
    expect(await roomy.ofSchedule(a)).toBe(aKept);
    expect(await roomy.ofSchedule(b)).toBe(bKept);
  });

  it('keeps its bound whichever of two reads under way ends first', async () => {
    /** A catalog whose reads end when the test says, in the order it chooses. */
    class Paced extends SeatCatalog {
      readonly ends = new Map<number, () => void>();
      protected override readSchedule(scheduleId: number): Promise<SeatInfo[]> {
        const read = super.readSchedule(scheduleId);
        return new Promise((resolve, reject) => this.ends.set(scheduleId, () => read.then(resolve, reject)));
      }
    }
    const [a, b] = [(await createConcert(server, { seatCount: 10 })).scheduleIds[0]!, (await createConcert(server, { seatCount: 10 })).scheduleIds[0]!].map(Number) as [number, number];
    for (const order of [[b, a], [a, b]] as const) {
      const catalog = new Paced(server.app.orm, 100, 15);
      const reads = new Map([a, b].map((id) => [id, catalog.ofSchedule(id)]));
      for (const id of order) {
        catalog.ends.get(id)!();
        await reads.get(id);
      }
      // 20 seats against a bound of 15: one of the two is let go, the other kept (the same read).
      expect([a, b].filter((id) => catalog.ofSchedule(id) === reads.get(id))).toHaveLength(1);
    }
  });
});
