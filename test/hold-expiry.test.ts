import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { HOLD, PAY, RELEASE } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { createConcert } from './support/fixtures';
import { activeFans, availableSeats, charge, hold, me, seatFeed, seatIds, seats } from './support/booking';
import { redisKeys } from '../src/redis';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('hold_expiry', { HOLD_TTL_SECONDS: '1', MAX_HOLDS_PER_SCHEDULE: '2' });
  api = new Api(server.url);
});
afterAll(() => server.stop());

describe('hold expiry', () => {
  it('a failed payment leaves a hold its own expiry: it lapses then, unlisted, and can no longer be paid', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const held = await hold(fan!, seatId!);
    // The payment keeps its holds while it runs (up to 30 s past their expiry), and fails: they go back to their own.
    expect(await fan!.api.errorCode(PAY, { holdIds: [held.id], key: 'broke' })).toBe('INSUFFICIENT_POINTS');
    // Listed with its own expiry, not the payment's keep (on a loaded machine it may have lapsed already: a 1 s TTL).
    for (const listed of (await me(fan!)).holds) expect([listed.id, listed.expiresAt]).toEqual([held.id, held.expiresAt]);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(held.expiresAt) + 700 - Date.now())));
    expect((await me(fan!)).holds).toEqual([]);
    await charge(fan!, 1000);
    expect(await fan!.api.errorCode(PAY, { holdIds: [held.id], key: 'broke-then-paid' })).toBe('HOLD_NOT_FOUND');
    expect((await me(fan!)).points).toBe(1000);
  });

  it('turns the seat AVAILABLE and pushes seatChanged when a hold lapses, with nobody asking', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const scheduleId = scheduleIds[0]!;
    const [watcher, fan, rival] = await activeFans(api, concertId, 3);
    const [seatId] = await seatIds(server, scheduleId);
    const { feed, close } = await seatFeed(server, watcher!, scheduleId);

    const held = await hold(fan!, seatId!);
    expect(Date.parse(held.expiresAt) - Date.now()).toBeLessThanOrEqual(1000);
    expect((await feed.next()).data?.seatChanged).toMatchObject({ id: seatId, status: 'HELD' });
    // Nothing reads the schedule meanwhile: the hold-expiry job alone must notice the lapse.
    const lapsed = await feed.next(4000);
    expect(lapsed.data?.seatChanged).toMatchObject({ id: seatId, status: 'AVAILABLE', schedule: { id: scheduleId } });
    await close();

    expect((await seats(watcher!, scheduleId, 'AVAILABLE')).map((s) => s.id)).toContain(seatId);
    expect(await availableSeats(api, scheduleId)).toBe(10);
    expect((await me(fan!)).holds).toEqual([]);
    expect(await fan!.api.errorCode(RELEASE, { holdId: held.id })).toBe('HOLD_NOT_FOUND');
    await charge(fan!, 1000);
    expect(await fan!.api.errorCode(PAY, { holdIds: [held.id], key: 'late' })).toBe('HOLD_NOT_FOUND');
    expect((await me(fan!)).points).toBe(1000);
    expect((await hold(rival!, seatId!)).seat.status).toBe('HELD');
  });

  it('gives back the per-schedule allowance and stops visiting schedules with no holds left', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const scheduleId = scheduleIds[0]!;
    const [fan] = await activeFans(api, concertId, 1);
    const ids = await seatIds(server, scheduleId);
    await hold(fan!, ids[0]!);
    await hold(fan!, ids[1]!);
    expect(await fan!.api.errorCode(HOLD, { seatId: ids[2] })).toBe('HOLD_LIMIT_REACHED');
    const index = redisKeys(server.env.REDIS_KEY_PREFIX!).holdIndex;
    expect(await server.app.redis.smembers(index)).toContain(scheduleId);

    await vi.waitFor(async () => expect(await server.app.redis.smembers(index)).not.toContain(scheduleId), { timeout: 4000, interval: 100 });
    // Every hold key gone (the inventory's bitmap, which holds read too, outlives them).
    const holdKeys = Object.entries(redisKeys(server.env.REDIS_KEY_PREFIX!).holds(Number(scheduleId))).flatMap(([name, key]) => (name === 'sold' ? [] : [key]));
    expect(await server.app.redis.exists(...holdKeys)).toBe(0);
    await hold(fan!, ids[2]!);
    await hold(fan!, ids[3]!);
    expect((await me(fan!)).holds.map((h) => h.seat.id).sort()).toEqual([ids[2], ids[3]].sort());
  });
});
