import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys, runScript } from '../src/redis';
import { HOLD_SEAT } from '../src/redis/hold-scripts';
import { Api } from '../support/graphql-client';
import { ENTER, HOLD, LEAVE, PAY, RELEASE, type QueueStatus } from '../support/operations';
import { databaseOf, startTestServer, type TestServer } from './support/harness';
import { lockUserRow, untilLockWait } from './support/mysql-locks';
import { type Account } from './support/client';
import { activeFans, charge, hold, ledger, me, seatFeed, seatIds, seats } from './support/booking';
import { createConcert } from './support/fixtures';

const HOLD_TTL_SECONDS = 3;

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('booking_integrity', { HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS) });
  api = new Api(server.url);
});
afterAll(() => server.stop());

const holdKeys = (scheduleId: string) => redisKeys(server.env.REDIS_KEY_PREFIX!).holds(Number(scheduleId));

/**
 * A payer (500 points) holding a seat (the first of each of `shows` dates) pays while another session
 * holds the payer's row lock; `meanwhile` runs once the payment waits on that lock (with the first
 * date's hold), then the lock is let go.
 */
async function paymentWhileRowLocked(
  key: string,
  meanwhile: (setup: { scheduleId: string; payer: Account; holdId: string; rival: Account; seatId: string }) => Promise<void>,
  shows = 1,
) {
  const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, price: 100, schedules: shows });
  const [payer, rival] = (await activeFans(api, concertId, 2)) as [Account, Account];
  const firstSeats = await Promise.all(scheduleIds.map(async (scheduleId) => (await seatIds(server, scheduleId))[0]!));
  const seatId = firstSeats[0]!;
  await charge(payer, 500);
  const held = [];
  for (const seat of firstSeats) held.push(await hold(payer, seat));
  const session = await lockUserRow(databaseOf(server), payer.id);
  const pending = payer.api.request<{ pay: { id: string } }>(PAY, { holdIds: held.map((h) => h.id), key });
  try {
    await untilLockWait(databaseOf(server));
    await meanwhile({ scheduleId: scheduleIds[0]!, payer, holdId: held[0]!.id, rival, seatId });
  } finally {
    await session.query('ROLLBACK');
    await session.end();
  }
  return { scheduleIds, payer, rival, seatId, payment: await pending };
}

/** Redis loses the date's holds (a failover to a replica that lacked them). */
const loseHolds = (scheduleId: string) => {
  const k = holdKeys(scheduleId);
  return server.app.redis.del(k.bySeat, k.expiry, k.perUser);
};

/** Redis loses the date's holds, and a rival holds the seat the payment is about to sell. */
async function rivalHoldsLostSeat({ scheduleId, rival, seatId }: { scheduleId: string; rival: Account; seatId: string }): Promise<void> {
  await loseHolds(scheduleId);
  expect((await hold(rival, seatId)).seat.status).toBe('HELD');
}

/** A payment that sold and charged nothing. */
async function expectNothingSold(payment: { errors?: readonly { extensions?: { code?: unknown } }[] }, payer: Account): Promise<void> {
  expect(payment.errors?.[0]?.extensions?.code).toBe('HOLD_NOT_FOUND');
  expect((await me(payer)).points).toBe(500);
  expect((await ledger(server, payer.id)).map((entry) => entry.kind)).toEqual(['CHARGE']);
}

describe('a hold is all or nothing', () => {
  it('gives the seat back at once when the check after taking the lock fails', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const sql = server.app.orm.em.getConnection();
    // A real MySQL failure between the Redis lock and the listing: the reservations table is away.
    await sql.execute('RENAME TABLE reservations TO reservations_away');
    try {
      const failed = await fan!.api.request(HOLD, { seatId });
      expect(failed.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await sql.execute('RENAME TABLE reservations_away TO reservations');
    }
    // Nothing stayed behind: the seat is free, the hold count untouched, the fan can hold it now.
    expect(await server.app.redis.hlen(holdKeys(scheduleIds[0]!).bySeat)).toBe(0);
    expect((await seats(fan!, scheduleIds[0]!, 'HELD')).map((s) => s.id)).toEqual([]);
    expect((await hold(fan!, seatId!)).seat.status).toBe('HELD');
  });
});

describe('a payment waiting on MySQL', () => {
  it('keeps its holds past their TTL, so no rival can hold a seat it is about to sell', async () => {
    const { scheduleIds, rival, seatId, payment } = await paymentWhileRowLocked('slow-payment', async ({ rival, seatId }) => {
      await new Promise((resolve) => setTimeout(resolve, HOLD_TTL_SECONDS * 1000 + 500));
      expect(await rival.api.errorCode(HOLD, { seatId })).toBe('SEAT_UNAVAILABLE');
    });
    expect(payment.data?.pay.id).toBeDefined();
    expect((await seats(rival, scheduleIds[0]!, 'RESERVED')).map((s) => s.id)).toEqual([seatId]);
    expect((await me(rival)).holds).toEqual([]);
  });

  it('makes the payer’s own release of the hold wait for it (paid, the hold is gone), also when another payment of the hold fails meanwhile', async () => {
    let released: { done: boolean; answer?: Promise<string | undefined> } = { done: false };
    const { scheduleIds, rival, seatId, payment } = await paymentWhileRowLocked('paid-first', async ({ scheduleId, payer, holdId, seatId }) => {
      // A second payment of the hold, with a hold that does not exist beside it, fails: its mark goes,
      // the waiting payment's stays.
      const madeUp = `${scheduleId}.${Number(seatId) + 1}.AAAAAAAAAAAA`;
      expect(await payer.api.errorCode(PAY, { holdIds: [holdId, madeUp], key: 'second' })).toBe('HOLD_NOT_FOUND');
      const answer = payer.api.errorCode(RELEASE, { holdId });
      released = { done: false, answer };
      void answer.then(() => (released.done = true));
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Still waiting: released now, the seat would be announced free while the payment sells it.
      expect(released.done).toBe(false);
    });
    expect(payment.data?.pay.id).toBeDefined();
    expect(await released.answer).toBe('HOLD_NOT_FOUND');
    expect((await seats(rival, scheduleIds[0]!, 'RESERVED')).map((s) => s.id)).toEqual([seatId]);
  });

  it('sells nothing and charges nothing when Redis lost its holds and a rival holds the seat by commit time', async () => {
    const { scheduleIds, payer, rival, seatId, payment } = await paymentWhileRowLocked('lost-holds', rivalHoldsLostSeat);
    await expectNothingSold(payment, payer);
    expect((await seats(rival, scheduleIds[0]!, 'HELD')).map((s) => s.id)).toEqual([seatId]);
    expect((await me(rival)).holds.map((h) => h.seat.id)).toEqual([seatId]);
  });

  it('sells nothing when Redis lost the holds of one of its dates and a rival holds that seat by commit time, though the other date’s hold is live', async () => {
    const { scheduleIds, payer, rival, seatId, payment } = await paymentWhileRowLocked('two-dates', rivalHoldsLostSeat, 2);
    await expectNothingSold(payment, payer);
    expect((await seats(rival, scheduleIds[0]!, 'HELD')).map((s) => s.id)).toEqual([seatId]);
    expect(await seats(rival, scheduleIds[1]!, 'RESERVED')).toEqual([]);
  });

  it('sells nothing when Redis lost its hold and the payer holds the seat again meanwhile: the payment named the lost hold, and the new one stays the payer’s', async () => {
    let again = '';
    const { payer, payment } = await paymentWhileRowLocked('held-again', async ({ scheduleId, payer, holdId, seatId }) => {
      await loseHolds(scheduleId);
      again = (await hold(payer, seatId)).id;
      expect(again).not.toBe(holdId);
    });
    await expectNothingSold(payment, payer);
    expect((await me(payer)).holds.map((h) => h.id)).toEqual([again]);
  });
});

/** The server's count of lapsed holds. */
const expiredCount = async () => Number(/^holds_expired_total (\d+)/m.exec(await (await fetch(server.url.replace('/graphql', '/metrics'))).text())?.[1]);

/** That count, once every hold left by earlier tests has lapsed (within HOLD_TTL_SECONDS): a test's own lapses are then all it moves by. */
async function expiredCountWhenQuiet(): Promise<number> {
  const holdIndex = redisKeys(server.env.REDIS_KEY_PREFIX!).holdIndex;
  await vi.waitFor(async () => expect(await server.app.redis.scard(holdIndex)).toBe(0), { timeout: (HOLD_TTL_SECONDS + 5) * 1000, interval: 100 });
  return await expiredCount();
}

describe('announcements', () => {
  it('never tells seat maps that a sold seat is AVAILABLE when a hold on it lapses; lapsed holds are counted', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, price: 100 });
    const scheduleId = scheduleIds[0]!;
    const [buyer, watcher] = await activeFans(api, concertId, 2);
    const [sold, other] = await seatIds(server, scheduleId);
    await charge(buyer!, 500);
    const held = await hold(buyer!, sold!);
    await buyer!.api.data(PAY, { holdIds: [held.id], key: 'sold' });
    const expiredBefore = await expiredCountWhenQuiet();

    const { feed, close } = await seatFeed(server, watcher!, scheduleId);
    try {
      // A hold outliving its seat's sale (as when its release after the commit failed), lapsing on its own:
      // the sale's note forgotten, so the inventory check (HoldService.releaseSold) does not free it first.
      // A check that read the note just before may still be running (its SQL slow on a loaded host): it
      // is let finish (checks run every 10 ticks, 1 s here) before the hold is made.
      await server.app.redis.del(redisKeys(server.env.REDIS_KEY_PREFIX!).seatsChanging);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const k = holdKeys(scheduleId);
      await runScript(server.app.redis, HOLD_SEAT, k, Number(sold!), Number(buyer!.id), `${scheduleId}.${sold}.stalestalest`, 200, 10);
      await server.app.redis.sadd(redisKeys(server.env.REDIS_KEY_PREFIX!).holdIndex, scheduleId);
      await vi.waitFor(async () => expect(await server.app.redis.hlen(k.bySeat)).toBe(0), { timeout: 5000, interval: 50 });
      // Counted once the server has the sweep's answer, which can come a moment after Redis shows it.
      await vi.waitFor(async () => expect(await expiredCount()).toBe(expiredBefore + 1), { timeout: 2000, interval: 50 });

      // Up to the other seat's HELD, nothing says the sold one is free (its own HELD and RESERVED,
      // announced just before the feed subscribed, may still arrive first on a Redis Cluster).
      await hold(watcher!, other!);
      const said: unknown[] = [];
      const next = await feed.until((message) => message.data?.seatChanged.id === other || (said.push(message.data?.seatChanged.status), false));
      expect(next.data?.seatChanged).toMatchObject({ id: other, status: 'HELD' });
      expect(said).not.toContain('AVAILABLE');
      expect(await expiredCount()).toBe(expiredBefore + 1);
    } finally {
      await close();
    }
  });
});

describe('lapsed holds', () => {
  it('are counted also when a request meets them before the sweep does', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const scheduleId = scheduleIds[0]!;
    const [fan] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleId);
    const expiredBefore = await expiredCountWhenQuiet();
    // A 100 ms hold the sweep does not know of (not in its index): only the seat map's read purges it.
    await runScript(server.app.redis, HOLD_SEAT, holdKeys(scheduleId), Number(seatId), Number(fan!.id), `${scheduleId}.${seatId}.lapsinglapsi`, 100, 10);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await seats(fan!, scheduleId, 'HELD')).toEqual([]);
    expect(await expiredCount()).toBe(expiredBefore + 1);
  });
});

describe('paying ends the ACTIVE slot only', () => {
  it('leaves a payer who is WAITING again in the line at the same place', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, price: 100 });
    const [payer] = await activeFans(api, concertId, 1);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    await charge(payer!, 500);
    const held = await hold(payer!, seatId!);
    // The payer gives the slot away (holds stay), someone else takes it, and the payer queues again.
    await payer!.api.data(LEAVE, { id: concertId });
    await activeFans(api, concertId, 1);
    const { enterQueue } = await payer!.api.data<{ enterQueue: QueueStatus }>(ENTER, { id: concertId });
    expect(enterQueue).toMatchObject({ state: 'WAITING', position: 1 });

    await payer!.api.data(PAY, { holdIds: [held.id], key: 'while-waiting' });
    const { queueStatus } = await payer!.api.data<{ queueStatus: QueueStatus }>('query($id: ID!) { queueStatus(concertId: $id) { state position } }', { id: concertId });
    expect(queueStatus).toMatchObject({ state: 'WAITING', position: 1 });
  });
});

describe('seat maps', () => {
  it('show a sold seat RESERVED, not HELD, while a hold left on it (its release after the commit lost) still lives', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, price: 100 });
    const scheduleId = scheduleIds[0]!;
    const [buyer, watcher] = await activeFans(api, concertId, 2);
    const [sold] = await seatIds(server, scheduleId);
    await charge(buyer!, 500);
    await buyer!.api.data(PAY, { holdIds: [(await hold(buyer!, sold!)).id], key: 'left-hold' });
    // The sale's note forgotten, and a check that read it let finish: the inventory check
    // (HoldService.releaseSold) does not free the hold below before the map is read.
    await server.app.redis.del(redisKeys(server.env.REDIS_KEY_PREFIX!).seatsChanging);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const k = holdKeys(scheduleId);
    await runScript(server.app.redis, HOLD_SEAT, k, Number(sold!), Number(buyer!.id), `${scheduleId}.${sold}.leftleftleft`, 10_000, 10);
    try {
      expect((await seats(watcher!, scheduleId)).find((s) => s.id === sold)?.status).toBe('RESERVED');
      expect((await seats(watcher!, scheduleId, 'HELD')).map((s) => s.id)).toEqual([]);
      expect((await me(buyer!)).reservations.map((r) => r.seat.status)).toEqual(['RESERVED']);
      // The hold was there all along: MySQL's word won over it.
      expect(await server.app.redis.hexists(k.bySeat, sold!)).toBe(1);
    } finally {
      await server.app.redis.del(k.bySeat, k.expiry, k.perUser, k.takenUntil);
    }
  });
});
