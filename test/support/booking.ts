import { Cluster } from 'ioredis';
import { expect, vi } from 'vitest';
import { redisKeys, type RedisClient } from '../../src/redis';
import type { Api } from '../../support/graphql-client';
import { AVAILABLE, CHARGE, ENTER, HOLD, ME, PAY, SEAT_CHANGED, SEATS, STATUS, type Hold, type LedgerEntry, type Me, type Payment, type QueueStatus, type Seat, type SeatStatus } from '../../support/operations';
import { Feed, signUpMany, wsClient, type Account } from './client';
import type { TestServer } from './harness';

export const seats = async (fan: Account, scheduleId: string, status?: SeatStatus) =>
  (await fan.api.data<{ schedule: { seats: Seat[] } }>(SEATS, { id: scheduleId, status })).schedule.seats;
/** A schedule's seats left, as the public concert list shows them (Query.schedule needs a token). */
export const availableSeats = async (api: Api, scheduleId: string) =>
  (await api.data<{ concerts: { schedules: { id: string; availableSeats: number }[] }[] }>(AVAILABLE)).concerts.flatMap((concert) => concert.schedules).find((schedule) => schedule.id === scheduleId)
    ?.availableSeats;
export const hold = async (fan: Account, seatId: string) => (await fan.api.data<{ holdSeat: Hold }>(HOLD, { seatId })).holdSeat;
export const charge = async (fan: Account, amount: number) => (await fan.api.data<{ chargePoints: { points: number } }>(CHARGE, { amount })).chargePoints.points;
export const pay = async (fan: Account, holdIds: string[], key: string) => (await fan.api.data<{ pay: Payment }>(PAY, { holdIds, key })).pay;
export const me = async (fan: Account, limit?: number) => (await fan.api.data<{ me: Me }>(ME, { limit })).me;
export const queueStatusOf = async (fan: Account, concertId: string) => (await fan.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId })).queueStatus;
/** Asks for the fan's status every `everyMs` (a sign of presence; errors and all, as a client goes on asking) until the returned function is called. */
export function pollStatus(fan: Account, concertId: string, everyMs = 500): () => void {
  let on = true;
  void (async () => {
    while (on) {
      await fan.api.request(STATUS, { id: concertId }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return () => {
    on = false;
  };
}
export const queueState = async (fan: Account, concertId: string) => (await queueStatusOf(fan, concertId)).state;

/** Seat IDs of a schedule in seat-number order, read straight from the database (setup, not behaviour). */
export async function seatIds(server: TestServer, scheduleId: string): Promise<string[]> {
  const rows = await server.app.orm.em.getConnection().execute<{ id: number }[]>('select id from seats where schedule_id = ? order by number', [scheduleId]);
  return rows.map((row) => String(row.id));
}

/** Puts every fan in the concert's queue and waits until all are ACTIVE (the concert needs the capacity). */
export async function admit(fans: Account[], concertId: string): Promise<void> {
  await Promise.all(fans.map((fan) => fan.api.data(ENTER, { id: concertId })));
  // Everyone has entered, so once nobody is waiting every one of them has been admitted.
  await vi.waitFor(
    async () => {
      const { queueStatus } = await fans[0]!.api.data<{ queueStatus: QueueStatus }>(STATUS, { id: concertId });
      expect(queueStatus.waiting).toBe(0);
      expect(queueStatus.state).toBe('ACTIVE');
    },
    { timeout: 15_000, interval: 50 },
  );
}

/** `count` new fans, ACTIVE for the concert. */
export async function activeFans(api: Api, concertId: string, count: number): Promise<Account[]> {
  const fans = await signUpMany(api, count);
  await admit(fans, concertId);
  return fans;
}

/**
 * A seatChanged feed that is live on the server: the subscription carries no initial message, so this
 * waits until the server's Redis channel for the schedule has a subscriber before returning.
 */
export async function seatFeed(
  server: TestServer,
  fan: Account,
  scheduleId: string,
  query = SEAT_CHANGED,
  /** seatChanged's `after`: a seat map's cursor (the query must declare $after). */
  after?: string,
): Promise<{ feed: Feed<{ seatChanged: Seat & { schedule: { id: string } } }>; close: () => Promise<void> }> {
  const [schedule] = await server.app.orm.em.getConnection().execute<{ concertId: number }[]>('select concert_id as concertId from schedules where id = ?', [scheduleId]);
  const watchCount = redisKeys(server.env.REDIS_KEY_PREFIX!).queue(Number(schedule!.concertId)).watchCount;
  const client = wsClient(server.wsUrl, fan.token);
  const feed = new Feed<{ seatChanged: Seat & { schedule: { id: string } } }>(client, query, after === undefined ? { id: scheduleId } : { id: scheduleId, after });
  // Live once the server holds the fan's presence for it (the ACTIVE gate joins after the channel is
  // subscribed). The channel having a subscriber would not do: another fan's feed may hold it already.
  await vi.waitFor(async () => expect(Number((await server.app.redis.hget(watchCount, fan.id)) ?? 0)).toBeGreaterThan(0), { timeout: 5000, interval: 20 });
  return {
    feed,
    close: async () => {
      feed.close();
      await client.dispose();
    },
  };
}

/**
 * Sells the seats to the user straight in MySQL (one payment, a reservation each), as a sale made
 * behind the app would be: Redis learns of it only once its counts are rebuilt (forgetInventory).
 */
export async function sellInMysql(server: TestServer, userId: string, seatIds: string[], key: string): Promise<void> {
  const connection = server.app.orm.em.getConnection();
  const { insertId: paymentId } = await connection.execute<{ insertId: number }>(
    "insert into payments (user_id, idempotency_key, request_hash, amount, balance) values (?, ?, 'x', 0, 0)",
    [userId, key],
    'run',
  );
  for (const [i, seatId] of seatIds.entries()) {
    await connection.execute('insert into reservations (code, seat_id, user_id, payment_id, price) values (?, ?, ?, ?, 100)', [`TK-${paymentId}-${i}`, seatId, userId, paymentId], 'run');
  }
}

/**
 * Deletes the schedules' seat counts from Redis, as when Redis loses its data: for setups that sell
 * seats straight in MySQL, behind the app. The next read rebuilds them from MySQL.
 */
export async function forgetInventory(server: TestServer, scheduleIds: string[]): Promise<void> {
  const keys = redisKeys(server.env.REDIS_KEY_PREFIX!);
  // One DEL per key: each schedule's key lives in its own slot on a Redis Cluster.
  await Promise.all(scheduleIds.map((id) => server.app.redis.del(keys.inventory(Number(id)).sold)));
}

/** The whole ledger of a user, oldest first, straight from the database. */
export async function ledger(server: TestServer, userId: string): Promise<LedgerEntry[]> {
  const rows = await server.app.orm.em
    .getConnection()
    .execute<{ kind: LedgerEntry['kind']; amount: number; balance: number }[]>('select kind, amount, balance from point_transactions where user_id = ? order by id', [userId]);
  return rows.map((row) => ({ kind: row.kind, amount: Number(row.amount), balance: Number(row.balance) }));
}

/** Every entry's balance is the one before plus its amount, and the last one is the current balance. */
export function expectConsistentLedger(entries: LedgerEntry[], balance: number): void {
  let running = 0;
  for (const entry of entries) {
    running += entry.amount;
    expect(entry.balance).toBe(running);
  }
  expect(running).toBe(balance);
}

/** Subscribers of a channel: on a cluster each node counts only its own connections, so all are asked. */
export async function channelSubscribers(redis: RedisClient, channel: string): Promise<number> {
  const nodes = redis instanceof Cluster ? redis.nodes('all') : [redis];
  const counts = await Promise.all(nodes.map(async (node) => ((await node.pubsub('NUMSUB', channel)) as [string, number])[1]));
  return counts.reduce((sum, count) => sum + count, 0);
}
