import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { CANCEL, ENTER, HOLD, LEAVE, LOG_IN, PAY, STATUS } from '../support/operations';
import { signUpMany } from './support/client';
import { startTestServer, type TestServer } from './support/harness';
import { createConcert } from './support/fixtures';
import { activeFans, charge, hold, ledger, me, pay, queueState, seatFeed, seatIds } from './support/booking';
import { RedisServer } from './support/redis-server';
import { SeatStatus } from '../src/seats/seat';

// A Redis of this file's own, so it can be taken away.
const redis = new RedisServer();
let server: TestServer;
let api: Api;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  await redis.start();
  server = await startTestServer('booking_outage', { REDIS_URL: redis.url });
  api = new Api(server.url);
  process.on('unhandledRejection', onRejection);
});
afterAll(async () => {
  process.off('unhandledRejection', onRejection);
  await server.stop();
  await redis.stop();
});

/**
 * Redis goes away as the app next sends `script` about `about` (a seat channel, a concert's hash tag:
 * an earlier test's announcement retried in the background must not be the one), as a node does in a
 * failover, and is back a second later with its data. Returns what puts the script back should it
 * not have been sent.
 */
function redisGoneAtNext(script: string, about: string): () => void {
  const connection = server.app.redis as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = connection[script]!;
  connection[script] = async function (this: unknown, ...args: unknown[]) {
    if (!args.some((arg) => String(arg).includes(about))) return original.apply(this, args);
    connection[script] = original;
    redis.save();
    await redis.stop();
    setTimeout(() => void redis.start(), 1000);
    return original.apply(this, args);
  };
  return () => {
    connection[script] = original;
  };
}

describe('while Redis is away', () => {
  it('refuses holds and payments with SERVICE_UNAVAILABLE, changes nothing, and survives seat announcements', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    const ids = await seatIds(server, scheduleIds[0]!);
    await charge(fan!, 500);
    const held = await hold(fan!, ids[0]!);

    await redis.stop();
    expect(await fan!.api.errorCode(HOLD, { seatId: ids[1] })).toBe('SERVICE_UNAVAILABLE');
    // Sign-ins need only MySQL, but with nothing to count failed attempts they wait, rather than let guesses through.
    expect(await api.errorCode(LOG_IN, { email: fan!.email, password: 'a-wrong-guess' })).toBe('SERVICE_UNAVAILABLE');
    expect(await fan!.api.errorCode(PAY, { holdIds: [held.id], key: 'outage' })).toBe('SERVICE_UNAVAILABLE');
    expect(await ledger(server, fan!.id)).toEqual([{ kind: 'CHARGE', amount: 500, balance: 500 }]);
    // A seat change announced now (as right after a committed payment) must neither fail the caller
    // nor end the process: the event target publishes fire-and-forget.
    await server.app.services.seatEvents.announce([Number(ids[0])], SeatStatus.RESERVED);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(rejections).toEqual([]);

    await redis.start();
    await vi.waitFor(() => expect(server.app.redis.status).toBe('ready'), { timeout: 10_000, interval: 100 });
    // The new Redis is empty: the hold is gone, and MySQL still says nothing was paid.
    expect(await fan!.api.errorCode(PAY, { holdIds: [held.id], key: 'outage' })).toBe('HOLD_NOT_FOUND');
    expect((await me(fan!)).points).toBe(500);
    expect(await charge(fan!, 1)).toBe(501);
  });
});

describe('while Redis is frozen', () => {
  it('answers SERVICE_UNAVAILABLE within seconds instead of hanging, and works again once Redis thaws', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(api, concertId, 1);
    // SIGSTOP: the connections stay open and nothing is answered, as with a network that drops packets.
    await redis.pause();
    try {
      // What needs only MySQL is answered (the limit checks let it through; that the address's count
      // is then not asked too is test/limits-split.test.ts's).
      const account = await fan!.api.request<{ me: { points: number } }>('{ me { points } }');
      expect(account.data?.me.points).toBe(0);
      // That request's limit count went unanswered (2 s): the next ones are not kept waiting on
      // theirs. What needs only MySQL answers at once.
      const again = Date.now();
      expect((await fan!.api.request<{ me: { points: number } }>('{ me { points } }')).data?.me.points).toBe(0);
      expect(Date.now() - again).toBeLessThan(1500);
      const started = Date.now();
      const asked = await fan!.api.request(STATUS, { id: concertId });
      // A query asked for no change: the plain words.
      expect(asked.errors?.[0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' }, message: expect.not.stringMatching(/may or may not/) });
      // Each Redis step (the limit check, the status script) gives up after 2 s (REDIS_COMMAND_TIMEOUT_MS):
      // an answer within seconds, where it hung until the test's own timeout before.
      expect(Date.now() - started).toBeLessThan(15_000);
      // Leaving, given up on: the script stays sent and runs once Redis thaws, and the answer says it may.
      const left = await fan!.api.request(LEAVE, { id: concertId });
      expect(left.errors?.[0]).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' }, message: expect.stringMatching(/may or may not have been made\. Asking again is safe/) });
    } finally {
      redis.resume();
    }
    expect(await queueState(fan!, concertId)).toBe('NONE');
  });

  it('gives back the seat of a hold whose answer came too late: the fan told to try again holds nothing meanwhile', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2 });
    const [fan, rival] = await activeFans(api, concertId, 2);
    const [seat] = await seatIds(server, scheduleIds[0]!);
    // Redis freezes as the hold's script is sent, and thaws only once the caller has answered (past
    // the 2 s command timeout, however late a loaded machine runs its timers): the script runs then,
    // after the caller gave up on it, followed by the release sent behind it.
    const connection = server.app.redis as unknown as Record<string, (...args: unknown[]) => unknown>;
    const holdSeat = connection.holdSeat!;
    connection.holdSeat = async function (this: unknown, ...args: unknown[]) {
      await redis.pause();
      return holdSeat.apply(this, args);
    };
    try {
      expect(await fan!.api.errorCode(HOLD, { seatId: seat })).toBe('SERVICE_UNAVAILABLE');
    } finally {
      connection.holdSeat = holdSeat;
      redis.resume();
    }
    // The seat is free for anyone, the fan holds nothing unseen, and trying again works.
    const taken = await hold(rival!, seat!);
    expect(taken.id).toBeTruthy();
    expect((await me(fan!)).holds).toEqual([]);
    expect(await fan!.api.errorCode(HOLD, { seatId: seat })).toBe('SEAT_UNAVAILABLE');
  });
  it('tells seat maps of a payment whose announcement Redis did not take (gone right after the commit) once it is back', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2 });
    const [fan, watcher] = await activeFans(api, concertId, 2);
    const [seat] = await seatIds(server, scheduleIds[0]!);
    await charge(fan!, 500);
    const held = await hold(fan!, seat!);
    const { feed, close } = await seatFeed(server, watcher!, scheduleIds[0]!);
    // The announcement (after the commit) fails, and nothing else would tell the seat maps: the retry is what is tested.
    const restore = redisGoneAtNext('publishOnce', `seat-changed:${scheduleIds[0]}`);
    try {
      expect((await fan!.api.data<{ pay: { id: string } }>(PAY, { holdIds: [held.id], key: 'frozen-announcement' })).pay.id).toBeTruthy();
      // Told once Redis is back: not HELD for good.
      const told = await feed.until((message) => message.data?.seatChanged.id === seat && message.data.seatChanged.status === 'RESERVED', 20_000);
      expect(told.data?.seatChanged.status).toBe('RESERVED');
    } finally {
      restore();
      await close();
    }
  });
  it('ends the payer’s ACTIVE slot once Redis is back when it could not take that right after the commit, and admits the next in line', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 2 });
    const [fan] = await activeFans(api, concertId, 1);
    const [next] = await signUpMany(api, 1);
    expect((await next!.api.data<{ enterQueue: { state: string } }>(ENTER, { id: concertId })).enterQueue.state).toBe('WAITING');
    const [seat] = await seatIds(server, scheduleIds[0]!);
    await charge(fan!, 500);
    const held = await hold(fan!, seat!);
    const restore = redisGoneAtNext('queueEndActive', `{c:${concertId}}`);
    try {
      expect((await fan!.api.data<{ pay: { id: string } }>(PAY, { holdIds: [held.id], key: 'slot-end-lost' })).pay.id).toBeTruthy();
      // Not ACTIVE until its ACTIVE_TTL (15 min): ended once Redis is back, and the slot goes to the next fan.
      await vi.waitFor(async () => expect(await queueState(fan!, concertId)).toBe('NONE'), { timeout: 20_000, interval: 250 });
      await vi.waitFor(async () => expect(await queueState(next!, concertId)).toBe('ACTIVE'), { timeout: 10_000, interval: 250 });
    } finally {
      restore();
    }
  });

  it('tells seat maps of a cancelled seat whose announcement Redis did not take once it is back, while the seat is still free', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2 });
    const [fan, watcher] = await activeFans(api, concertId, 2);
    const [seat] = await seatIds(server, scheduleIds[0]!);
    await charge(fan!, 500);
    const held = await hold(fan!, seat!);
    const paid = await fan!.api.data<{ pay: { reservations: { id: string }[] } }>(PAY, { holdIds: [held.id], key: 'to-cancel' });
    const { feed, close } = await seatFeed(server, watcher!, scheduleIds[0]!);
    const restore = redisGoneAtNext('publishOrdered', `seat-changed:${scheduleIds[0]}`);
    try {
      const cancelled = await fan!.api.data<{ cancelReservation: { status: string } }>(CANCEL, { id: paid.pay.reservations[0]!.id });
      expect(cancelled.cancelReservation.status).toBe('CANCELLED');
      const told = await feed.until((message) => message.data?.seatChanged.id === seat && message.data.seatChanged.status === 'AVAILABLE', 20_000);
      expect(told.data?.seatChanged.status).toBe('AVAILABLE');
    } finally {
      restore();
      await close();
    }
  });
});

describe('Redis restarting from an older snapshot', () => {
  it('brings the seat counts back to what MySQL has at the next inventory check, though the sale lost is recent and its line began after the snapshot', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, seatCount: 2 });
    const [seat] = await seatIds(server, scheduleIds[0]!);
    const left = async () => (await api.data<{ concert: { availableSeats: number } }>('query($id: ID!) { concert(id: $id) { availableSeats } }', { id: concertId })).concert.availableSeats;
    expect(await left()).toBe(2);
    // The check has seen this Redis; then a snapshot, and after it a fan queues and buys: the
    // restored Redis will know neither the sale nor the line (nothing then points the check at it).
    await server.app.services.queue.checkInventory();
    redis.save();
    const [fan] = await activeFans(api, concertId, 1);
    await charge(fan!, 500);
    await pay(fan!, [(await hold(fan!, seat!)).id], 'after-the-snapshot');
    expect(await left()).toBe(1);
    // Redis dies and comes back from its snapshot: the seat count of a moment ago, complete-looking.
    await redis.stop();
    await redis.start();
    await vi.waitFor(() => expect(server.app.redis.status).toBe('ready'), { timeout: 10_000, interval: 100 });
    // The sale is seconds old, well inside the window the check allows commits on their way: only
    // the restart itself tells that the count is wrong.
    await server.app.services.queue.checkInventory();
    expect(await left()).toBe(1);
  });
});
