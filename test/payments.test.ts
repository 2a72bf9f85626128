import { UniqueConstraintViolationException } from '@mikro-orm/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODE_INDEX } from '../src/payments/payment-service';
import { redisKeys } from '../src/redis';
import { Api } from '../support/graphql-client';
import { CANCEL, HOLD, LEAVE, PAY, RELEASE, type Payment } from '../support/operations';
import { wipeRedisKeys } from '../support/sandbox';
import { startTestServer, type TestServer } from './support/harness';
import { signUp, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { activeFans, admit, availableSeats, charge, expectConsistentLedger, hold, ledger, me, pay, queueState, seatFeed, seatIds, seats, sellInMysql } from './support/booking';

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('payments');
  api = new Api(server.url);
});
afterAll(() => server.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CODE = /^TK-[0-9A-HJKMNP-TV-Z]{8}$/;

async function rows(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await server.app.orm.em.getConnection().execute<{ n: number }[]>(sql, params);
  return Number(row?.n);
}

/** A concert of `seatCount` seats at `price` with `count` ACTIVE fans, each charged `points`. */
async function booking(count: number, points: number, options: { seatCount?: number; price?: number } = {}) {
  const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: count + 5, seatCount: options.seatCount ?? 10, price: options.price ?? 100 });
  const fans = await activeFans(api, concertId, count);
  await Promise.all(fans.map((fan) => charge(fan, points)));
  return { concertId, scheduleId: scheduleIds[0]!, fans, seats: await seatIds(server, scheduleIds[0]!) };
}

describe('pay', () => {
  it('tells the payer’s own seat feed its seats are RESERVED before that feed ends with NOT_ACTIVE (paying ends the turn)', async () => {
    const { scheduleId, fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const held = [await hold(fan, ids[0]!), await hold(fan, ids[1]!)];
    const { feed, close } = await seatFeed(server, fan, scheduleId);
    try {
      await pay(fan, held.map((h) => h.id), 'own-feed');
      const reserved: string[] = [];
      const ended = await feed.until((message) => {
        if (message.data?.seatChanged.status === 'RESERVED') reserved.push(message.data.seatChanged.id);
        return message.errors !== undefined;
      }, 10_000);
      expect(ended.errors?.[0]?.extensions?.code).toBe('NOT_ACTIVE');
      expect(reserved.sort()).toEqual([ids[0], ids[1]].sort());
    } finally {
      await close();
    }
  });

  it('deducts the total, reserves each seat with a unique code, frees the holds and ends the ACTIVE slot', async () => {
    const { concertId, scheduleId, fans, seats: ids } = await booking(2, 1000);
    const [fan, watcher] = fans as [Account, Account];
    const held = [await hold(fan, ids[0]!), await hold(fan, ids[1]!)];
    const { feed, close } = await seatFeed(server, watcher, scheduleId);

    const payment = await pay(fan, held.map((h) => h.id), 'first');
    expect(payment).toMatchObject({ amount: 200, balance: 800 });
    expect(payment.reservations.map((r) => [r.seat.id, r.price, r.seat.status])).toEqual([
      [ids[0], 100, 'RESERVED'],
      [ids[1], 100, 'RESERVED'],
    ]);
    const codes = payment.reservations.map((r) => r.code);
    expect(codes.every((code) => CODE.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(2);

    // The holds' HELD, announced just before the feed subscribed, may still arrive first on a Redis
    // Cluster (a message crosses the cluster bus to the subscriber's node).
    const sold = () => feed.until((message) => message.data?.seatChanged.status !== 'HELD');
    const pushed = [(await sold()).data?.seatChanged, (await sold()).data?.seatChanged];
    expect(pushed.map((seat) => [seat?.id, seat?.status]).sort()).toEqual([
      [ids[0], 'RESERVED'],
      [ids[1], 'RESERVED'],
    ]);
    await close();

    const after = await me(fan);
    expect(after.points).toBe(800);
    expect(after.holds).toEqual([]);
    // Newest first: seats are reserved in ID order, so the second seat's reservation is the newer one.
    expect(after.reservations.map((r) => [r.seat.id, r.code])).toEqual([
      [ids[1], codes[1]],
      [ids[0], codes[0]],
    ]);
    expect(after.pointHistory[0]).toEqual({ kind: 'PAYMENT', amount: -200, balance: 800 });
    expectConsistentLedger(await ledger(server, fan.id), 800);
    expect(await queueState(fan, concertId)).toBe('NONE');
    expect((await seats(watcher, scheduleId, 'RESERVED')).map((s) => s.id)).toEqual([ids[0], ids[1]]);
    expect(await availableSeats(api, scheduleId)).toBe(8);
    expect(await watcher.api.errorCode(HOLD, { seatId: ids[0] })).toBe('SEAT_UNAVAILABLE');
  });

  it('reserves its seats in seat ID order where that differs from their order as text (…99 before …100), as its hold IDs sort', async () => {
    // The next seats' IDs cross a power of ten: as text (and in hold IDs) "100000" sorts before "99999".
    const sql = server.app.orm.em.getConnection();
    const next = await rows('select max(id) + 1 as n from seats');
    await sql.execute(`alter table seats auto_increment = ${10 ** String(next).length - 1}`);
    const { fans, seats: [low, high] } = await booking(1, 1000, { seatCount: 2 });
    expect(String(high) < String(low!)).toBe(true);
    const payment = await pay(fans[0]!, [(await hold(fans[0]!, low!)).id, (await hold(fans[0]!, high!)).id], 'in-seat-order');
    // Reserved in that order (so payments of shared seats lock their rows in one order): the later seat's reservation is the newer.
    expect(payment.reservations.map((r) => r.seat.id)).toEqual([low, high]);
    expect(Number(payment.reservations[0]!.id)).toBeLessThan(Number(payment.reservations[1]!.id));
  });

  it('needs live holds but no ACTIVE state', async () => {
    const { concertId, fans, seats: ids } = await booking(1, 500);
    const [fan] = fans as [Account];
    const held = await hold(fan, ids[0]!);
    await fan.api.data(LEAVE, { id: concertId });
    expect(await pay(fan, [held.id, held.id], 'after-leaving')).toMatchObject({ amount: 100, balance: 400, reservations: [{ seat: { id: ids[0] } }] });
  });

  it('refuses with INSUFFICIENT_POINTS and changes nothing: balance, ledger, holds, seats', async () => {
    const { scheduleId, fans, seats: ids } = await booking(2, 150);
    const [fan, watcher] = fans as [Account, Account];
    const held = [await hold(fan, ids[0]!), await hold(fan, ids[1]!)];
    const before = await me(fan);

    // Also when sent many times at once: no twin may slip through, none may fail otherwise.
    const results = await Promise.all(Array.from({ length: 20 }, () => fan.api.request(PAY, { holdIds: held.map((h) => h.id), key: 'short' })));
    expect(results.map((result) => result.errors?.[0]?.extensions?.code)).toEqual(results.map(() => 'INSUFFICIENT_POINTS'));
    const after = await me(fan);
    expect(after).toEqual(before);
    expect(after.holds.map((h) => h.id).sort()).toEqual(held.map((h) => h.id).sort());
    expect(await ledger(server, fan.id)).toEqual([{ kind: 'CHARGE', amount: 150, balance: 150 }]);
    expect((await seats(watcher, scheduleId, 'HELD')).map((s) => s.id)).toEqual([ids[0], ids[1]]);
    expect(await rows('select count(*) as n from payments where user_id = ?', [fan.id])).toBe(0);

    // The failed attempt used up nothing: with enough points the same key goes through.
    await charge(fan, 50);
    expect(await pay(fan, held.map((h) => h.id), 'short')).toMatchObject({ amount: 200, balance: 0 });
  });

  it('a release racing the fan’s own payment of that hold never both succeeds: while the payment runs, the release is refused', async () => {
    const { concertId, fans, seats: ids } = await booking(1, 100_000, { seatCount: 60 });
    const [fan] = fans as [Account];
    let paid = 0;
    // Fifty rounds (its own timeout: on a loaded machine they took over a minute).
    for (const [round, seatId] of ids.slice(0, 50).entries()) {
      const held = await hold(fan, seatId);
      // The release sent 0 to 18 ms after the payment: some land while its transaction runs (without
      // the refusal, about one round in fifteen answered both as done).
      const [payment, release] = await Promise.all([
        fan.api.request<{ pay: Payment }>(PAY, { holdIds: [held.id], key: `race-${round}` }),
        sleep((round % 10) * 2).then(() => fan.api.request<{ releaseHold: boolean }>(RELEASE, { holdId: held.id })),
      ]);
      // One of them: a seat sold while its release said "released" would be announced free meanwhile.
      expect([payment.data?.pay !== undefined, release.data?.releaseHold === true].filter(Boolean)).toHaveLength(1);
      if (!release.data?.releaseHold) expect(release.errors?.[0]?.extensions?.code).toBe('HOLD_NOT_FOUND');
      if (payment.data?.pay) {
        paid++;
        // Paying ended the fan's turn: back in for the next round.
        await admit([fan], concertId);
      }
    }
    expect(paid).toBeGreaterThan(0);
  }, 180_000);

  it('a payment whose keeping fails in Redis for one show hands back the holds it marked in the others', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5, schedules: 2 });
    const [fan] = (await activeFans(api, concertId, 1)) as [Account];
    await charge(fan, 1000);
    const [first, second] = [await hold(fan, (await seatIds(server, scheduleIds[0]!))[0]!), await hold(fan, (await seatIds(server, scheduleIds[1]!))[0]!)];
    // The second show's keys are broken (a wrong type): its script fails, after the first's has marked.
    const broken = redisKeys(server.app.config.redisPrefix).holds(Number(scheduleIds[1])).paying;
    await server.app.redis.set(broken, 'not a hash');
    expect(await fan.api.errorCode(PAY, { holdIds: [first.id, second.id], key: 'one-show-broken' })).toBe('INTERNAL_SERVER_ERROR');
    await server.app.redis.del(broken);
    // At once, not after a 5 s wait for a payment that is over.
    const started = Date.now();
    expect(await fan.api.data(RELEASE, { holdId: first.id })).toEqual({ releaseHold: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('commits nothing when its note to the inventory check fails (without it, a count left wrong by a death after the commit would never be healed)', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = (await activeFans(api, concertId, 1)) as [Account];
    await charge(fan, 500);
    const held = await hold(fan, (await seatIds(server, scheduleIds[0]!))[0]!);
    // The notes' key broken (a wrong type): the note fails in Redis itself.
    const notes = redisKeys(server.app.config.redisPrefix).seatsChanging;
    await server.app.redis.set(notes, 'not a sorted set');
    try {
      expect(await fan.api.errorCode(PAY, { holdIds: [held.id], key: 'unnoted' })).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      await server.app.redis.del(notes);
    }
    expect((await me(fan)).points).toBe(500);
    const [row] = await server.app.orm.em.getConnection().execute<{ n: number }[]>('select count(*) as n from payments where user_id = ?', [fan.id]);
    expect(Number(row!.n)).toBe(0);
  });

  it('a failed payment hands its holds back at once: the fan may release them', async () => {
    const { fans, seats: ids } = await booking(1, 50);
    const [fan] = fans as [Account];
    const held = await hold(fan, ids[0]!);
    expect(await fan.api.errorCode(PAY, { holdIds: [held.id], key: 'short' })).toBe('INSUFFICIENT_POINTS');
    expect(await fan.api.data(RELEASE, { holdId: held.id })).toEqual({ releaseHold: true });
    // Also one refused for a hold among them that is not the fan's: the others were kept, and are handed back.
    const [mine, gone] = [await hold(fan, ids[1]!), await hold(fan, ids[2]!)];
    await fan.api.data(RELEASE, { holdId: gone.id });
    expect(await fan.api.errorCode(PAY, { holdIds: [mine.id, gone.id], key: 'partly' })).toBe('HOLD_NOT_FOUND');
    expect(await fan.api.data(RELEASE, { holdId: mine.id })).toEqual({ releaseHold: true });
  });

  it('charges once for 20 identical payments sent at once, and returns that payment to every one of them; seat maps hear each seat sold once', async () => {
    const { fans, scheduleId, seats: ids } = await booking(2, 1000);
    const [fan, watcher] = fans as [Account, Account];
    const holdIds = [(await hold(fan, ids[0]!)).id, (await hold(fan, ids[1]!)).id];
    const { feed, close } = await seatFeed(server, watcher, scheduleId);

    const results = await Promise.all(Array.from({ length: 20 }, () => fan.api.request<{ pay: Payment }>(PAY, { holdIds, key: 'burst' })));
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const payments = results.map((result) => result.data!.pay);
    // The one that paid answers from what it wrote, its twins from the database: the same answer.
    for (const payment of payments) expect(payment).toEqual(payments[0]);
    expect(payments[0]).toMatchObject({ amount: 200, balance: 800 });
    expect(payments[0]!.reservations).toHaveLength(2);

    expect((await me(fan)).points).toBe(800);
    const entries = await ledger(server, fan.id);
    expect(entries.filter((entry) => entry.kind === 'PAYMENT')).toEqual([{ kind: 'PAYMENT', amount: -200, balance: 800 }]);
    expectConsistentLedger(entries, 800);
    expect(await rows('select count(*) as n from reservations where user_id = ?', [fan.id])).toBe(2);
    // A retry long after (holds gone) still gets the first payment, in any hold order.
    expect(await pay(fan, [...holdIds].reverse(), 'burst')).toEqual(payments[0]);

    // The watcher's own hold marks the end of what the payments announced.
    await hold(watcher, ids[2]!);
    const reserved: string[] = [];
    await feed.until(({ data }) => {
      if (data?.seatChanged.status === 'RESERVED') reserved.push(data.seatChanged.id);
      return data?.seatChanged.id === ids[2];
    });
    await close();
    expect(reserved.sort()).toEqual([ids[0], ids[1]].sort());
  });

  it('tells seat maps of a payment’s seats once, from whichever of its request and retries follows it up first, whatever their order', async () => {
    const { fans, scheduleId, seats: ids } = await booking(1, 1000);
    const [watcher] = fans as [Account];
    const { feed, close } = await seatFeed(server, watcher, scheduleId);
    const [schedule] = await server.app.orm.em.getConnection().execute<{ concertId: number }[]>('select concert_id as concertId from schedules where id = ?', [scheduleId]);
    const paid = [0, 1].map((i) => ({ id: Number(ids[i]), scheduleId: Number(scheduleId), concertId: Number(schedule!.concertId), number: i + 1, price: 100 }));
    // A payment's request and nineteen retries, each following the payment up at once (as a retry
    // does when it gets there before the request's own follow-up), then a late one.
    const events = server.app.services.seatEvents;
    await Promise.all(Array.from({ length: 20 }, () => events.announcePaid(424_242, paid, 60_000)));
    await events.announcePaid(424_242, paid, 60_000);
    // Another payment of its own is told as well.
    await events.announcePaid(424_243, [{ ...paid[0]!, id: Number(ids[2]), number: 3 }], 60_000);
    const told: string[] = [];
    await feed.until(({ data }) => {
      told.push(`${data?.seatChanged.id} ${data?.seatChanged.status}`);
      return data?.seatChanged.id === ids[2];
    });
    await close();
    expect(told).toEqual([`${ids[0]} RESERVED`, `${ids[1]} RESERVED`, `${ids[2]} RESERVED`]);
  });

  it('sells a hold once to 6 payments of it under different keys sent at once; the others are told the hold is gone, not short of points', async () => {
    // 150 points: enough for one payment, so a loser that waited for the row lock finds too few.
    for (const points of [1000, 150]) {
      const { fans, seats: ids } = await booking(1, points);
      const [fan] = fans as [Account];
      const { id } = await hold(fan, ids[0]!);

      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => fan.api.request<{ pay: Payment }>(PAY, { holdIds: [id], key: `key-${i}` })));
      expect(results.filter((result) => result.data?.pay)).toHaveLength(1);
      expect(results.flatMap((result) => result.errors ?? []).map((error) => error.extensions?.code)).toEqual(Array(5).fill('HOLD_NOT_FOUND'));
      expect((await me(fan)).points).toBe(points - 100);
      expectConsistentLedger(await ledger(server, fan.id), points - 100);
      expect(await rows('select count(*) as n from payments where user_id = ?', [fan.id])).toBe(1);
    }
  });

  it('refuses a key already used for other holds with IDEMPOTENCY_KEY_REUSED, changing nothing', async () => {
    const { concertId, fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const first = await hold(fan, ids[0]!);
    await pay(fan, [first.id], 'key-1');
    // Paying made the fan NONE: come back through the queue for a second seat.
    await admit([fan], concertId);
    const second = await hold(fan, ids[1]!);
    const before = await me(fan);

    expect(await fan.api.errorCode(PAY, { holdIds: [second.id], key: 'key-1' })).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await fan.api.errorCode(PAY, { holdIds: [first.id, second.id], key: 'key-1' })).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await me(fan)).toEqual(before);
    expect((await pay(fan, [second.id], 'key-2')).amount).toBe(100);
  });

  it('a key is its user’s own: another fan paying with the same key pays for their own holds', async () => {
    const { fans, seats: ids } = await booking(2, 1000);
    const [first, second] = fans as [Account, Account];
    const [a, b] = [await hold(first, ids[0]!), await hold(second, ids[1]!)];
    const [paidA, paidB] = await Promise.all([pay(first, [a.id], 'shared-key'), pay(second, [b.id], 'shared-key')]);
    expect(paidA).toMatchObject({ amount: 100, balance: 900, reservations: [{ seat: { id: ids[0] } }] });
    expect(paidB).toMatchObject({ amount: 100, balance: 900, reservations: [{ seat: { id: ids[1] } }] });
    expect(paidA.id).not.toBe(paidB.id);
  });

  it('payments of different holds and charges racing them never lose an update nor take the balance below zero', async () => {
    // 150 points, two holds of 100 each paid at once under their own keys: one goes through.
    const { fans, seats: ids } = await booking(1, 150);
    const [fan] = fans as [Account];
    const held = [await hold(fan, ids[0]!), await hold(fan, ids[1]!)];
    const results = await Promise.all(held.map((h, i) => fan.api.request<{ pay: Payment }>(PAY, { holdIds: [h.id], key: `own-${i}` })));
    expect(results.filter((result) => result.data?.pay)).toHaveLength(1);
    expect(results.flatMap((result) => result.errors ?? []).map((error) => error.extensions?.code)).toEqual(['INSUFFICIENT_POINTS']);
    expect((await me(fan)).points).toBe(50);
    expectConsistentLedger(await ledger(server, fan.id), 50);

    // Four holds paid one by one at once, with ten charges of 10 among them: whichever order they
    // commit in, the balance is what the ledger sums to, every charge counted.
    const { fans: [buyer], seats: more } = await booking(1, 250);
    const holds = await Promise.all(more.slice(0, 4).map((seat) => hold(buyer!, seat)));
    const [payments, charges] = await Promise.all([
      Promise.all(holds.map((h, i) => buyer!.api.request<{ pay: Payment }>(PAY, { holdIds: [h.id], key: `each-${i}` }))),
      Promise.all(Array.from({ length: 10 }, () => charge(buyer!, 10))),
    ]);
    const paid = payments.filter((result) => result.data?.pay).length;
    expect(payments.flatMap((result) => result.errors ?? []).map((error) => error.extensions?.code)).toEqual(Array(4 - paid).fill('INSUFFICIENT_POINTS'));
    // 250 alone pays for two, whenever the charges land.
    expect(paid).toBeGreaterThanOrEqual(2);
    expect(charges).toHaveLength(10);
    const balance = 250 + 100 - 100 * paid;
    expect((await me(buyer!)).points).toBe(balance);
    expectConsistentLedger(await ledger(server, buyer!.id), balance);
    expect(await rows('select count(*) as n from reservations where user_id = ?', [buyer!.id])).toBe(paid);
  });

  it('keeps the holds of a fan who left the queue until they are paid', async () => {
    const { concertId, fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const held = await hold(fan, ids[0]!);
    await fan.api.data(LEAVE, { id: concertId });
    expect(await queueState(fan, concertId)).toBe('NONE');
    expect((await me(fan)).holds.map((h) => h.id)).toEqual([held.id]);
    expect((await pay(fan, [held.id], 'after-leaving')).amount).toBe(100);
  });

  it('treats keys that differ only in case or in trailing spaces as different keys; the same key still finds its payment', async () => {
    const { concertId, fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const firstHold = (await hold(fan, ids[0]!)).id;
    const first = await pay(fan, [firstHold], 'Order-7');
    await admit([fan], concertId);
    const second = await pay(fan, [(await hold(fan, ids[1]!)).id], 'order-7');
    expect(second.id).not.toBe(first.id);
    await admit([fan], concertId);
    const third = await pay(fan, [(await hold(fan, ids[2]!)).id], 'order-7 ');
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    expect((await me(fan)).points).toBe(700);
    // A retry with the exact key is the first payment again, charging nothing.
    expect((await pay(fan, [firstHold], 'Order-7')).id).toBe(first.id);
    expect((await me(fan)).points).toBe(700);
  });

  it('a retry that finds its payment committed does what its first request may not have done after the commit', async () => {
    const { fans, scheduleId, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const held = await hold(fan, ids[0]!);
    const paid = await pay(fan, [held.id], 'reply-lost');
    expect(await availableSeats(api, scheduleId)).toBe(9);
    // As if the first request had stopped right after its COMMIT (the reply lost, the process killed):
    // the seat was never counted sold.
    await server.app.services.inventory.mark([{ scheduleId: Number(scheduleId), number: 1 }], false);
    expect(await availableSeats(api, scheduleId)).toBe(10);
    // The client's retry gets the payment, charges nothing more, and counts the seat.
    expect((await pay(fan, [held.id], 'reply-lost')).id).toBe(paid.id);
    expect(await availableSeats(api, scheduleId)).toBe(9);
    expect((await me(fan)).points).toBe(900);
    // Once the ticket is cancelled, a retry still answers the payment but counts no seat sold again.
    await fan.api.data('mutation($id: ID!) { cancelReservation(reservationId: $id) { status } }', { id: paid.reservations[0]!.id });
    expect(await availableSeats(api, scheduleId)).toBe(10);
    expect((await pay(fan, [held.id], 'reply-lost')).id).toBe(paid.id);
    expect(await availableSeats(api, scheduleId)).toBe(10);
  });

  it("refuses another fan's hold with HOLD_NOT_FOUND, changing nothing", async () => {
    const { fans, seats: ids } = await booking(2, 1000);
    const [owner, thief] = fans as [Account, Account];
    const held = await hold(owner, ids[0]!);
    expect(await thief.api.errorCode(PAY, { holdIds: [held.id], key: 'mine-now' })).toBe('HOLD_NOT_FOUND');
    const mine = await hold(thief, ids[1]!);
    expect(await thief.api.errorCode(PAY, { holdIds: [mine.id, held.id], key: 'both' })).toBe('HOLD_NOT_FOUND');
    expect((await me(thief)).points).toBe(1000);
    expect((await me(thief)).holds.map((h) => h.id)).toEqual([mine.id]);
    expect((await me(owner)).holds.map((h) => h.id)).toEqual([held.id]);
  });

  it('answers BAD_USER_INPUT for no holds or a bad key, HOLD_NOT_FOUND for a made-up hold', async () => {
    const { concertId, fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const held = await hold(fan, ids[0]!);
    expect(await fan.api.errorCode(PAY, { holdIds: [], key: 'k' })).toBe('BAD_USER_INPUT');
    expect(await fan.api.errorCode(PAY, { holdIds: [held.id], key: '' })).toBe('BAD_USER_INPUT');
    expect(await fan.api.errorCode(PAY, { holdIds: [held.id], key: 'k'.repeat(129) })).toBe('BAD_USER_INPUT');
    // Characters are code points: 129 emoji are too many, 128 (256 UTF-16 units, 512 bytes) fit.
    expect(await fan.api.errorCode(PAY, { holdIds: [held.id], key: '🎫'.repeat(129) })).toBe('BAD_USER_INPUT');
    // Not text: stored as UTF-8, '\ud800' and '\udbff' would be one key.
    expect(await fan.api.errorCode(PAY, { holdIds: [held.id], key: 'key-\ud800' })).toBe('BAD_USER_INPUT');
    expect(await fan.api.errorCode(PAY, { holdIds: ['not-a-hold'], key: 'k' })).toBe('HOLD_NOT_FOUND');
    expect(await api.errorCode(PAY, { holdIds: [held.id], key: 'k' })).toBe('UNAUTHENTICATED');
    expect((await pay(fan, [held.id], 'k'.repeat(128))).amount).toBe(100);
    await admit([fan], concertId);
    expect((await pay(fan, [(await hold(fan, ids[1]!)).id], '🎫'.repeat(128))).amount).toBe(100);
  });
});

describe('answers from what the request wrote', () => {
  // Measured on a replica of its own without workers: the admission tick's SQL counts elsewhere.
  let quiet: TestServer;
  beforeAll(async () => {
    quiet = await startTestServer('payments', { RUN_WORKERS: 'false' }, { reset: false });
  });
  afterAll(() => quiet.stop());
  const statements = async () => Number(/^mysql_statements_total (\d+)/m.exec(await (await fetch(quiet.url.replace('/graphql', '/metrics'))).text())?.[1]);
  async function statementsFor(fan: Account, query: string, variables: Record<string, unknown>): Promise<number> {
    const before = await statements();
    const answer = await new Api(quiet.url, fan.token).request(query, variables);
    expect(answer.errors).toBeUndefined();
    return (await statements()) - before;
  }

  it('sends no SQL after a payment or a cancellation commits, seats included: MySQL gone by then cannot turn a done sale into an error', async () => {
    const ROUNDS = 3;
    const { fans, seats: ids } = await booking(2 * ROUNDS + 1, 1000);
    // The replica's first sale of the concert reads what later ones find ready (its seats, their counts): out of the way.
    await statementsFor(fans[2 * ROUNDS]!, PAY, { holdIds: [(await hold(fans[2 * ROUNDS]!, ids[2 * ROUNDS]!)).id], key: 'first' });
    const ID_ONLY = 'mutation($holdIds: [ID!]!, $key: String!) { pay(holdIds: $holdIds, idempotencyKey: $key) { id reservations { id } } }';
    const CANCEL_ID_ONLY = 'mutation($id: ID!) { cancelReservation(reservationId: $id) { id } }';
    const paid = { bare: [] as number[], full: [] as number[] };
    const cancelled = { bare: [] as number[], full: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const [plain, withSeats] = [fans[2 * round]!, fans[2 * round + 1]!];
      paid.bare.push(await statementsFor(plain, ID_ONLY, { holdIds: [(await hold(plain, ids[2 * round]!)).id], key: 'bare' }));
      paid.full.push(await statementsFor(withSeats, PAY, { holdIds: [(await hold(withSeats, ids[2 * round + 1]!)).id], key: 'full' }));
      const [reservation] = (await me(withSeats)).reservations;
      expect(reservation!.seat).toMatchObject({ status: 'RESERVED' });
      cancelled.bare.push(await statementsFor(plain, CANCEL_ID_ONLY, { id: (await me(plain)).reservations[0]!.id }));
      cancelled.full.push(await statementsFor(withSeats, CANCEL, { id: reservation!.id }));
    }
    expect(paid.full).toEqual(paid.bare);
    expect(cancelled.full).toEqual(cancelled.bare);
  });
});

describe('the database as the final fence', () => {
  it('sells a seat once when Redis loses its data between a hold and a rival hold, both paying at once', async () => {
    const { concertId, fans, seats: ids } = await booking(2, 1000);
    const [first, rival] = fans as [Account, Account];
    const lost = await hold(first, ids[0]!);

    // Redis loses this server's data (as on failover to an empty replica). Only this file's keys go,
    // since other test files share the Redis; BullMQ's are kept so the admission tick keeps running.
    const prefix = server.env.REDIS_KEY_PREFIX!;
    await wipeRedisKeys(server.app.redis, prefix, [`${prefix}:{jobs}`]);

    await admit([first, rival], concertId);
    const taken = await hold(rival, ids[0]!);
    const results = await Promise.all([
      first.api.request<{ pay: Payment }>(PAY, { holdIds: [lost.id], key: 'a' }),
      rival.api.request<{ pay: Payment }>(PAY, { holdIds: [taken.id], key: 'b' }),
    ]);

    expect(await rows('select count(*) as n from reservations where seat_id = ?', [ids[0]])).toBe(1);
    const paid = results.filter((result) => result.data?.pay);
    expect(paid).toHaveLength(1);
    const [winner, loser] = results[0]!.data?.pay ? [first, rival] : [rival, first];
    expect(results.find((result) => !result.data?.pay)?.errors?.[0]?.extensions?.code).toBe('HOLD_NOT_FOUND');
    expect((await me(winner)).points).toBe(900);
    expect((await me(loser)).points).toBe(1000);
    expectConsistentLedger(await ledger(server, winner.id), 900);
    expect(await ledger(server, loser.id)).toEqual([{ kind: 'CHARGE', amount: 1000, balance: 1000 }]);
  });

  it('rolls a payment back whole when one of its seats was sold behind Redis', async () => {
    const { fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const held = [await hold(fan, ids[0]!), await hold(fan, ids[1]!)];
    // Another replica's payment for seat 2, committed while Redis had forgotten its hold.
    const other = await signUp(api);
    await sellInMysql(server, other.id, [ids[1]!], 'elsewhere');

    expect(await fan.api.errorCode(PAY, { holdIds: held.map((h) => h.id), key: 'fenced' })).toBe('HOLD_NOT_FOUND');
    expect((await me(fan)).points).toBe(1000);
    expect(await ledger(server, fan.id)).toEqual([{ kind: 'CHARGE', amount: 1000, balance: 1000 }]);
    expect(await rows('select count(*) as n from reservations where seat_id = ?', [ids[0]])).toBe(0);
    expect(await rows('select count(*) as n from payments where user_id = ?', [fan.id])).toBe(0);
  });

  it('tells a ticket-code collision (draw another code) from a sold seat (HOLD_NOT_FOUND) by the index MySQL names', async () => {
    const { fans, seats: ids } = await booking(1, 1000);
    const [fan] = fans as [Account];
    const driver = server.app.orm.em.getDriver();
    const { insertId: paymentId } = await driver.execute<{ insertId: number }>("insert into payments (user_id, idempotency_key, request_hash, amount, balance) values (?, 'codes', 'x', 0, 0)", [fan.id], 'run');
    const reserve = (code: string, seatId: string) => driver.execute('insert into reservations (code, seat_id, user_id, payment_id, price) values (?, ?, ?, ?, 100)', [code, seatId, fan.id, paymentId], 'run');
    await reserve('TK-SAMECODE', ids[0]!);
    const collision = await reserve('TK-SAMECODE', ids[1]!).catch((error: unknown) => error);
    const sold = await reserve('TK-OTHERONE', ids[0]!).catch((error: unknown) => error);
    expect(collision).toBeInstanceOf(UniqueConstraintViolationException);
    expect((collision as Error).message).toContain(CODE_INDEX);
    expect(sold).toBeInstanceOf(UniqueConstraintViolationException);
    expect((sold as Error).message).not.toContain(CODE_INDEX);
  });
});
