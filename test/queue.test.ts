import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { ENTER, LEAVE, type QueueStatus, STATUS } from '../support/operations';
import { ADMIN, startTestServer, type TestServer } from './support/harness';
import { logIn, signUp, signUpMany, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { queueStatusOf as status } from './support/booking';
import { redisKeys } from '../src/redis';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('queue', { ACTIVE_TTL_SECONDS: '120' });
  api = new Api(server.url);
});
afterAll(() => server.stop());

const enter = async (fan: Account, id: string) => (await fan.api.data<{ enterQueue: QueueStatus }>(ENTER, { id })).enterQueue;
const leave = async (fan: Account, id: string) => (await fan.api.data<{ leaveQueue: QueueStatus }>(LEAVE, { id })).leaveQueue;
const waitForState = (fan: Account, id: string, state: QueueStatus['state']) =>
  vi.waitFor(async () => expect((await status(fan, id)).state).toBe(state), { timeout: 10_000, interval: 50 });

/** A concert with capacity 1 whose one slot is taken, so everyone else stays WAITING. */
async function fullConcert(): Promise<{ concertId: string; holder: Account }> {
  const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
  const holder = await signUp(api);
  await enter(holder, concertId);
  await waitForState(holder, concertId, 'ACTIVE');
  return { concertId, holder };
}

describe('entering', () => {
  it('keeps FIFO order with exact positions for fans entering one by one', async () => {
    const { concertId } = await fullConcert();
    const fans = await signUpMany(api, 5);
    for (const [index, fan] of fans.entries()) {
      const entered = await enter(fan, concertId);
      expect(entered).toMatchObject({ concertId, state: 'WAITING', position: index + 1, waiting: index + 1, active: 1, activeUntil: null });
    }
    for (const [index, fan] of fans.entries()) {
      const current = await status(fan, concertId);
      expect(current.position).toBe(index + 1);
      expect(current.waiting).toBe(5);
      expect(current.estimatedWaitSeconds).toBeGreaterThan(0);
    }
  });

  it('gives 150 fans entering at the same moment the distinct positions 1..150', async () => {
    const { concertId } = await fullConcert();
    const fans = await signUpMany(api, 150);
    const entered = await Promise.all(fans.map((fan) => enter(fan, concertId)));
    expect(entered.every((s) => s.state === 'WAITING')).toBe(true);
    const positions = (await Promise.all(fans.map((fan) => status(fan, concertId)))).map((s) => s.position);
    expect([...positions].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    // Order of arrival is the order of the tickets: what each fan was told at entry never contradicts the final order.
    const told = entered.map((s) => s.position ?? 0);
    expect(new Set(told).size).toBe(150);
  });

  it('is idempotent: entering again keeps the place (WAITING) and the slot (ACTIVE)', async () => {
    const { concertId, holder } = await fullConcert();
    const [first, second, third] = await signUpMany(api, 3);
    for (const fan of [first, second, third]) await enter(fan!, concertId);
    const again = await Promise.all([enter(second!, concertId), enter(second!, concertId), enter(second!, concertId)]);
    expect(again.map((s) => s.position)).toEqual([2, 2, 2]);
    expect((await status(third!, concertId)).position).toBe(3);
    const before = await status(holder, concertId);
    const reentered = await enter(holder, concertId);
    expect(reentered.state).toBe('ACTIVE');
    expect(reentered.activeUntil).toBe(before.activeUntil);
  });

  it('answers NOT_FOUND for an unknown concert, BAD_USER_INPUT for a bad ID, UNAUTHENTICATED without a token', async () => {
    const fan = await signUp(api);
    expect(await fan.api.errorCode(ENTER, { id: '999999' })).toBe('NOT_FOUND');
    expect(await fan.api.errorCode(STATUS, { id: '999999' })).toBe('NOT_FOUND');
    expect(await fan.api.errorCode(ENTER, { id: 'x1' })).toBe('BAD_USER_INPUT');
    expect(await api.errorCode(ENTER, { id: '1' })).toBe('UNAUTHENTICATED');
  });

  it('reads a concert this replica does not know once, however many fans ask at the same moment', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 7 });
    const { concerts, queue } = server.app.services;
    const reads = vi.spyOn(concerts, 'find');
    try {
      const capacities = await Promise.all(Array.from({ length: 200 }, () => queue.requireConcert(Number(concertId))));
      expect(capacities).toEqual(Array(200).fill(7));
      expect(reads).toHaveBeenCalledTimes(1);
      // Every caller of an unknown concert hears NOT_FOUND, and nothing is remembered: a later call reads again.
      const unknown = await Promise.allSettled(Array.from({ length: 50 }, () => queue.requireConcert(987_654)));
      expect(unknown.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'found'))).toEqual(Array(50).fill('NOT_FOUND'));
      expect(reads).toHaveBeenCalledTimes(2);
      await expect(queue.requireConcert(987_654)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(reads).toHaveBeenCalledTimes(3);
    } finally {
      reads.mockRestore();
    }
  });

  it('reports NONE with no position for a fan who never entered', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const fan = await signUp(api);
    expect(await status(fan, concertId)).toMatchObject({ state: 'NONE', position: null, estimatedWaitSeconds: null, activeUntil: null });
  });
});

describe('admission', () => {
  it('admits in order up to capacity and no further', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 3 });
    const fans = await signUpMany(api, 8);
    for (const fan of fans) await enter(fan, concertId);
    await vi.waitFor(async () => expect((await status(fans[0]!, concertId)).active).toBe(3), { timeout: 10_000, interval: 50 });
    await new Promise((resolve) => setTimeout(resolve, 400)); // several more ticks
    const states = await Promise.all(fans.map((fan) => status(fan, concertId)));
    expect(states.map((s) => s.state)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING', 'WAITING', 'WAITING', 'WAITING']);
    expect(states.slice(3).map((s) => s.position)).toEqual([1, 2, 3, 4, 5]);
    const admittedAt = Date.parse(states[0]!.activeUntil!) - 120_000;
    expect(Math.abs(admittedAt - Date.now())).toBeLessThan(10_000);
  });

  it('admits more at the next tick when an admin raises the capacity', async () => {
    const { concertId, holder } = await fullConcert();
    const fans = await signUpMany(api, 4);
    for (const fan of fans) await enter(fan, concertId);
    const admin = await logIn(api, ADMIN.email, ADMIN.password);
    await admin.api.data('mutation($id: ID!) { setMaxActiveUsers(concertId: $id, maxActiveUsers: 3) { id } }', { id: concertId });
    await waitForState(fans[1]!, concertId, 'ACTIVE');
    expect((await status(fans[0]!, concertId)).state).toBe('ACTIVE');
    expect((await status(holder, concertId)).state).toBe('ACTIVE');
    expect(await status(fans[2]!, concertId)).toMatchObject({ state: 'WAITING', position: 1, active: 3 });
  });

  it('admits nobody after an admin lowers the capacity until fewer than the new one are ACTIVE', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 3 });
    const actives = await signUpMany(api, 3);
    for (const fan of actives) await enter(fan, concertId);
    for (const fan of actives) await waitForState(fan, concertId, 'ACTIVE');
    const [next, after] = (await signUpMany(api, 2)) as [Account, Account];
    await enter(next, concertId);
    await enter(after, concertId);
    const admin = await logIn(api, ADMIN.email, ADMIN.password);
    await admin.api.data('mutation($id: ID!) { setMaxActiveUsers(concertId: $id, maxActiveUsers: 1) { id } }', { id: concertId });
    await leave(actives[0]!, concertId);
    await leave(actives[1]!, concertId);
    // Ten ticks with one ACTIVE, as many as the new capacity: nobody comes in.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await status(next, concertId)).toMatchObject({ state: 'WAITING', position: 1, active: 1 });
    await leave(actives[2]!, concertId);
    await waitForState(next, concertId, 'ACTIVE');
    expect(await status(after, concertId)).toMatchObject({ state: 'WAITING', position: 1, active: 1 });
  });
});

describe('leaving', () => {
  it('moves everyone behind a leaving WAITING fan up by one', async () => {
    const { concertId } = await fullConcert();
    const fans = await signUpMany(api, 4);
    for (const fan of fans) await enter(fan, concertId);
    expect(await leave(fans[1]!, concertId)).toMatchObject({ state: 'NONE', position: null, waiting: 3 });
    expect((await Promise.all(fans.map((fan) => status(fan, concertId)))).map((s) => s.position)).toEqual([1, null, 2, 3]);
  });

  it('frees the slot of a leaving ACTIVE fan for the next in line', async () => {
    const { concertId, holder } = await fullConcert();
    const [next, after] = await signUpMany(api, 2);
    await enter(next!, concertId);
    await enter(after!, concertId);
    expect(await leave(holder, concertId)).toMatchObject({ state: 'NONE', active: 0 });
    await waitForState(next!, concertId, 'ACTIVE');
    expect(await status(after!, concertId)).toMatchObject({ state: 'WAITING', position: 1 });
    // Entering again after leaving starts at the back.
    expect(await enter(holder, concertId)).toMatchObject({ state: 'WAITING', position: 2 });
  });

  it('keeps moving when the tick’s index loses the concert and its fans only poll over HTTP', async () => {
    const { concertId, holder } = await fullConcert();
    const [next] = await signUpMany(api, 1);
    await enter(next!, concertId);
    // On a Redis Cluster the index lives on another node, which may fail over without this line's keys.
    await server.app.redis.del(redisKeys(server.app.config.redisPrefix).queueIndex);
    await leave(holder, concertId);
    // No live feed beats for these fans: their status calls are what tells the tick where to look.
    await waitForState(next!, concertId, 'ACTIVE');
  });

  it('puts a concert the tick’s index lost back at the next entry, though nobody polls', async () => {
    const { concertId, holder } = await fullConcert();
    const [first, second] = await signUpMany(api, 2);
    await enter(first!, concertId);
    const keys = redisKeys(server.app.config.redisPrefix);
    // As if the first entrant's write to the index had failed (its node away) after its entry.
    await server.app.redis.srem(keys.queueIndex, concertId);
    // Past the once-a-second refresh the status reads of fullConcert made.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Not the line's first: no write waited for, but the index is refreshed all the same.
    await enter(second!, concertId);
    await leave(holder, concertId);
    // Read from Redis, not by a status call (which would refresh the index itself).
    await vi.waitFor(async () => expect(await server.app.redis.zscore(keys.queue(Number(concertId)).active, String(first!.id))).not.toBeNull(), { timeout: 5_000, interval: 50 });
  });

  it('answers a fan’s status even when the tick’s index cannot be written', async () => {
    const { concertId } = await fullConcert();
    const [fan] = await signUpMany(api, 1);
    await enter(fan!, concertId);
    const index = redisKeys(server.app.config.redisPrefix).queueIndex;
    const members = await server.app.redis.smembers(index);
    // A string where the set belongs (on a Cluster: the index's node failing over while the line's answers).
    await server.app.redis.set(index, 'unwritable');
    try {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await status(fan!, concertId)).toMatchObject({ state: 'WAITING', position: 1 });
    } finally {
      await server.app.redis.del(index);
      if (members.length > 0) await server.app.redis.sadd(index, ...members);
    }
  });
});
