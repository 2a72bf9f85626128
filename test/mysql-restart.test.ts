import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { CANCEL, CHARGE, ENTER, LEAVE, ME, PAY, RELEASE, SIGN_UP, type QueueStatus } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { sqlTransaction } from '../src/database/sql-transaction';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { MariaDbServer } from './support/mariadb-server';
import { redisKeys } from '../src/redis';
import { User } from '../src/entities';
import type { AppError } from '../src/errors';
import { signUpMany, type Account } from './support/client';
import { createConcert } from './support/fixtures';
import { activeFans, charge, forgetInventory, hold, me, pay, seatFeed, seatIds, queueStatusOf as state } from './support/booking';

// MySQL stops mid-sale (a private MariaDB this file starts, stops with SIGTERM and starts again, or
// freezes with SIGSTOP and thaws).
let mysql: MariaDbServer;
let server: TestServer;
let api: Api;

beforeAll(async () => {
  mysql = new MariaDbServer();
  await mysql.start();
  server = await startTestServer('mysql_restart', { DATABASE_URL: `${mysql.rootUrl}/concert`, MYSQL_STATEMENT_TIMEOUT_MS: '1500' });
  api = new Api(server.url);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await mysql?.remove();
});

/**
 * Runs `request` with MySQL frozen as soon as `service[step]` (the last step of a transaction before
 * its COMMIT) returns: the COMMIT waits in its socket past the statement bound (1.5 s here), and
 * MySQL thaws `thawAfterMs` later, while the request waits for the user's row to learn what the
 * COMMIT did; or, with `'after the answer'`, only once the request has answered: MySQL stays silent
 * throughout, however slowly a loaded machine runs the request's timers.
 */
async function frozenAfter<S extends object, K extends keyof S, T>(service: S, step: K, request: () => Promise<T>, thawAfterMs: number | 'after the answer' = 2200): Promise<T> {
  const original = service[step] as (...args: unknown[]) => Promise<unknown>;
  service[step] = (async (...args: unknown[]) => {
    const result = await original.apply(service, args);
    await mysql.freeze();
    if (thawAfterMs !== 'after the answer') setTimeout(() => mysql.thaw(), thawAfterMs);
    return result;
  }) as S[K];
  try {
    return await request();
  } finally {
    service[step] = original as S[K];
    if (thawAfterMs !== 'after the answer') await new Promise((resolve) => setTimeout(resolve, thawAfterMs + 300));
    mysql.thaw();
  }
}

/** An ACTIVE fan with 500 points holding the one seat (100 points) of a new concert. */
async function buyerHolding() {
  const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: 100 });
  const [buyer] = (await activeFans(api, concertId, 1)) as [Account];
  await charge(buyer, 500);
  return { buyer, held: await hold(buyer, (await seatIds(server, scheduleIds[0]!))[0]!) };
}

/** The buyer of buyerHolding paid once: 100 points gone, one reservation, and a ledger on UTC times (though this server's clock is not). */
async function expectBoughtOnce(buyer: Account): Promise<void> {
  const after = await me(buyer);
  expect(after.points).toBe(400);
  expect(after.reservations).toHaveLength(1);
  const { me: history } = await buyer.api.data<{ me: { pointHistory: { createdAt: string }[] } }>('{ me { pointHistory(limit: 5) { createdAt } } }');
  for (const { createdAt } of history.pointHistory) expect(Math.abs(Date.parse(createdAt) - Date.now())).toBeLessThan(120_000);
}

const readyz = async () => (await fetch(server.url.replace('/graphql', '/readyz'))).status;

describe('MySQL restarting mid-sale', () => {
  it('answers SERVICE_UNAVAILABLE quickly while it is away, keeps the line moving, and recovers by itself', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [first, second] = (await signUpMany(api, 2)) as [Account, Account];
    await first.api.data(ENTER, { id: concertId });
    await vi.waitFor(async () => expect((await state(first, concertId)).state).toBe('ACTIVE'), { timeout: 5000 });
    await second.api.data(ENTER, { id: concertId });
    expect((await state(second, concertId)).state).toBe('WAITING');
    // A tick has read the capacity from MySQL before it goes away.
    await new Promise((resolve) => setTimeout(resolve, 300));

    await mysql.stop();
    try {
      // Operations that need MySQL fail fast with the contract's code; readiness says so.
      const started = Date.now();
      const charge = await first.api.request(CHARGE, { amount: 10 });
      expect(charge.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(8000);
      expect(await readyz()).toBe(503);
      // The process itself is fine: liveness stays 200, so an orchestrator does not restart it for MySQL's outage.
      expect((await fetch(server.url.replace('/graphql', '/healthz'))).status).toBe(200);

      // The line runs on Redis: the slot `first` gives up goes to `second` at the next tick.
      await first.api.data(LEAVE, { id: concertId });
      await vi.waitFor(async () => expect((await state(second, concertId)).state).toBe('ACTIVE'), { timeout: 5000, interval: 100 });
    } finally {
      await mysql.start();
    }

    // Back without restarting the service.
    await vi.waitFor(async () => expect(await readyz()).toBe(200), { timeout: 15_000, interval: 200 });
    await vi.waitFor(async () => expect((await second.api.request<{ chargePoints: { points: number } }>(CHARGE, { amount: 10 })).data?.chargePoints.points).toBe(10), {
      timeout: 15_000,
      interval: 200,
    });
  });

  it('tells live seat maps of a seat whose hold was released while it was away, once it is back', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 2, seatCount: 2 });
    const [watcher, fan] = (await activeFans(api, concertId, 2)) as [Account, Account];
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const { feed, close } = await seatFeed(server, watcher, scheduleIds[0]!);
    try {
      const held = await hold(fan, seatId!);
      expect((await feed.next()).data?.seatChanged).toMatchObject({ id: seatId, status: 'HELD' });
      await mysql.stop();
      try {
        // The hold lives in Redis: released, though MySQL cannot say whether the seat was sold meanwhile.
        expect(await fan.api.data(RELEASE, { holdId: held.id })).toEqual({ releaseHold: true });
      } finally {
        await mysql.start();
      }
      // The retries' waits double from 0.5 s: one lands within 16 s of MySQL's return.
      expect((await feed.next(30_000)).data?.seatChanged).toMatchObject({ id: seatId, status: 'AVAILABLE' });
    } finally {
      await close();
    }
  }, 60_000);

  it('keeps admitting while it is away on a replica that never read the concert: by the capacity the line stored', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    // Two replicas of their own (no workers, a key prefix of their own): ticks run only when this test says.
    const env = { DATABASE_URL: `${mysql.rootUrl}/concert`, RUN_WORKERS: 'false', REDIS_KEY_PREFIX: `${server.env.REDIS_KEY_PREFIX}:manual` };
    const serving = await startTestServer('mysql_restart', env, { reset: false });
    const fresh = await startTestServer('mysql_restart', env, { reset: false });
    try {
      const [first, second] = (await signUpMany(new Api(serving.url), 2)) as [Account, Account];
      await first.api.data(ENTER, { id: concertId });
      await serving.app.services.queue.admitTick();
      await second.api.data(ENTER, { id: concertId });
      expect([(await state(first, concertId)).state, (await state(second, concertId)).state]).toEqual(['ACTIVE', 'WAITING']);

      await mysql.stop();
      try {
        await first.api.data(LEAVE, { id: concertId });
        // `fresh` has never served this concert nor ticked it: MySQL cannot tell it the capacity now.
        await fresh.app.services.queue.admitTick();
        expect((await state(second, concertId)).state).toBe('ACTIVE');
        expect(await fresh.app.redis.hget(redisKeys(env.REDIS_KEY_PREFIX).queue(Number(concertId)).stats, 'cap')).toBe('1');
      } finally {
        await mysql.start();
      }
    } finally {
      await serving.stop();
      await fresh.stop();
    }
  });

  it('keeps a sold-out line closed while its seat counts cannot be rebuilt', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1 });
    const [buyer] = await activeFans(api, concertId, 1);
    const [late] = await signUpMany(api, 1);
    await charge(buyer!, 100);
    await pay(buyer!, [(await hold(buyer!, (await seatIds(server, scheduleIds[0]!))[0]!)).id], 'the-only-seat');
    const knock = async () => (await late!.api.data<{ enterQueue: QueueStatus }>(ENTER, { id: concertId })).enterQueue.state;
    await vi.waitFor(async () => expect(await knock()).toBe('SOLD_OUT'), { timeout: 5000, interval: 100 });

    await mysql.stop();
    try {
      // Redis loses the counts while MySQL, which they are rebuilt from, is away: the ticks cannot read
      // them (nor can an entry, which answers SERVICE_UNAVAILABLE), and the line stays closed.
      await forgetInventory(server, scheduleIds);
      await server.app.redis.sadd(redisKeys(server.env.REDIS_KEY_PREFIX!).queueIndex, concertId);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await server.app.redis.hget(redisKeys(server.env.REDIS_KEY_PREFIX!).queue(Number(concertId)).stats, 'soldOut')).toBe('1');
    } finally {
      await mysql.start();
    }
  });

  it('answers SERVICE_UNAVAILABLE within the statement timeout while MySQL is frozen mid-payment; the retry after it thaws charges once', async () => {
    const { buyer, held } = await buyerHolding();

    await mysql.freeze();
    try {
      // Connections stay open and nothing answers: without a bound, each request waits until TCP gives up.
      for (const [query, variables] of [
        // The ORM's own flush, whose transaction could not begin.
        [SIGN_UP, { email: 'frozen-sign-up@example.test', password: 'password-123' }],
        [PAY, { holdIds: [held.id], key: 'frozen' }],
        [ME, {}],
      ] as const) {
        const started = Date.now();
        const answer = await buyer.api.request(query, variables);
        expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
        expect(Date.now() - started).toBeLessThan(6000);
      }
    } finally {
      mysql.thaw();
    }

    // The cut-off transaction was rolled back: the same payment goes through once, once only.
    await vi.waitFor(async () => expect((await buyer.api.request(PAY, { holdIds: [held.id], key: 'frozen' })).errors).toBeUndefined(), { timeout: 15_000, interval: 200 });
    await expectBoughtOnce(buyer);
  }, 60_000);

  it('answers a payment whose COMMIT went unanswered with what MySQL did once it answers again: paid, or an error with nothing charged', async () => {
    const { buyer, held } = await buyerHolding();

    // The payment's last step before its COMMIT is the check of its holds in Redis.
    const answer = await frozenAfter(server.app.services.holds, 'confirm', () =>
      buyer.api.request<{ pay: { balance: number } }>(PAY, { holdIds: [held.id], key: 'unanswered' }),
    );

    // Whichever way MySQL settled it, the answer says so.
    const after = await me(buyer);
    if (answer.data) {
      expect(answer.data.pay.balance).toBe(400);
      expect(after.points).toBe(400);
      expect(after.reservations).toHaveLength(1);
    } else {
      expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(answer.errors?.[0]?.message).toMatch(/nothing was charged/);
      expect(after.points).toBe(500);
      expect(after.reservations).toHaveLength(0);
    }
  }, 60_000);

  it('answers a cancellation whose COMMIT went unanswered with what MySQL did once it answers again: cancelled, or an error with nothing changed', async () => {
    const { buyer, held } = await buyerHolding();
    const payment = await pay(buyer, [held.id], 'to-cancel');

    // The cancellation's last statement before its COMMIT is the refund.
    const answer = await frozenAfter(server.app.services.points, 'refund', () =>
      buyer.api.request<{ cancelReservation: { status: string } }>(CANCEL, { id: payment.reservations[0]!.id }),
    );

    const after = await me(buyer);
    if (answer.data) {
      expect(answer.data.cancelReservation.status).toBe('CANCELLED');
      expect(after.points).toBe(500);
      expect(after.reservations[0]!.status).toBe('CANCELLED');
    } else {
      expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(answer.errors?.[0]?.message).toMatch(/nothing was changed/);
      expect(after.points).toBe(400);
      expect(after.reservations[0]!.status).toBe('CONFIRMED');
    }
  }, 60_000);

  it('answers a payment whose outcome MySQL cannot tell yet with "may have gone through"; paying again with the key charges once', async () => {
    const { buyer, held } = await buyerHolding();
    const answer = await frozenAfter(server.app.services.holds, 'confirm', () => buyer.api.request(PAY, { holdIds: [held.id], key: 'unknown-outcome' }), 'after the answer');
    expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(answer.errors?.[0]?.message).toMatch(/may have gone through/);
    // Thawed: the same key answers the payment, made then or now, and the points went once.
    const paid = await pay(buyer, [held.id], 'unknown-outcome');
    expect(paid.balance).toBe(400);
    await expectBoughtOnce(buyer);
  }, 60_000);

  it('answers a cancellation whose outcome MySQL cannot tell yet with "may have gone through"; cancelling again refunds once', async () => {
    const { buyer, held } = await buyerHolding();
    const payment = await pay(buyer, [held.id], 'to-cancel-unknown');
    const id = payment.reservations[0]!.id;
    const answer = await frozenAfter(server.app.services.points, 'refund', () => buyer.api.request(CANCEL, { id }), 'after the answer');
    expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(answer.errors?.[0]?.message).toMatch(/may have gone through/);
    const again = await buyer.api.data<{ cancelReservation: { status: string } }>(CANCEL, { id });
    expect(again.cancelReservation.status).toBe('CANCELLED');
    const after = await me(buyer);
    expect(after.points).toBe(500);
    expect(after.reservations[0]!.status).toBe('CANCELLED');
  }, 60_000);

  it('answers a charge whose COMMIT went unanswered with what MySQL did once it answers again: charged, or an error with nothing charged', async () => {
    const [fan] = await signUpMany(api, 1);
    // The charge's last statement before its COMMIT is its ledger row.
    const answer = await frozenAfter(server.app.services.points as unknown as { appendLedger: () => Promise<number> }, 'appendLedger', () =>
      fan!.api.request<{ chargePoints: { points: number } }>(CHARGE, { amount: 70 }),
    );
    const after = await me(fan!);
    if (answer.data) {
      expect(answer.data.chargePoints.points).toBe(70);
      expect(after.points).toBe(70);
    } else {
      expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(answer.errors?.[0]?.message).toMatch(/nothing was charged/);
      expect(after.points).toBe(0);
    }
  }, 60_000);

  it('answers a charge whose outcome MySQL cannot tell yet with "may have gone through", not "try again"', async () => {
    const [fan] = await signUpMany(api, 1);
    const answer = await frozenAfter(server.app.services.points as unknown as { appendLedger: () => Promise<number> }, 'appendLedger', () => fan!.api.request(CHARGE, { amount: 70 }), 'after the answer');
    expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(answer.errors?.[0]?.message).toMatch(/may have gone through/);
  }, 60_000);

  /** A concert created straight through the service: its ID, or the error it was refused with. */
  async function createNamed(title: string): Promise<{ id: number } | { error: AppError }> {
    const input = { title, venue: 'Hall', maxActiveUsers: 1, salesOpenAt: null, schedules: [{ startsAt: new Date(Date.UTC(2030, 0, 1, 19)), seatCount: 3, price: 100 }] };
    return server.app.services.concerts.create(input).then(
      (concert) => ({ id: concert.id }),
      (error: unknown) => ({ error: error as AppError }),
    );
  }
  const concertsNamed = async (title: string) => (await server.app.orm.em.getConnection().execute<{ id: number }[]>('SELECT id FROM concerts WHERE title = ?', [title])).map((row) => Number(row.id));
  // The creation's last step before its COMMIT is its seats.
  const concerts = () => server.app.services.concerts as unknown as { insertSeats: () => Promise<void> };

  it('answers a concert creation whose COMMIT went unanswered with what MySQL did once it answers again: created once, or an error saying nothing was', async () => {
    const title = `Unanswered ${Date.now()}`;
    const outcome = await frozenAfter(concerts(), 'insertSeats', () => createNamed(title));
    const made = await concertsNamed(title);
    if ('id' in outcome) expect(made).toEqual([outcome.id]);
    else {
      expect(outcome.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(outcome.error.message).toMatch(/nothing was created/);
      expect(made).toEqual([]);
    }
  }, 60_000);

  it('answers a concert creation whose outcome MySQL cannot tell yet with "may have been created", not "try again": a retry would make it twice', async () => {
    const title = `Unknown ${Date.now()}`;
    const outcome = await frozenAfter(concerts(), 'insertSeats', () => createNamed(title), 'after the answer');
    expect('error' in outcome && outcome.error.code).toBe('SERVICE_UNAVAILABLE');
    expect('error' in outcome && outcome.error.message).toMatch(/may have been created/);
    expect((await concertsNamed(title)).length).toBeLessThanOrEqual(1);
  }, 60_000);

  it('answers a sign-up whose COMMIT went unanswered with what MySQL did once it answers again: signed up, or an error with no account made', async () => {
    const email = `unanswered-${Date.now()}@example.test`;
    // MySQL freezes as the account's INSERT is answered, before its COMMIT, and thaws 2.2 s later.
    let armed = true;
    server.app.orm.em.getEventManager().registerSubscriber({
      getSubscribedEntities: () => [User],
      afterCreate: async ({ entity }) => {
        if (!armed || (entity as User).email !== email) return;
        armed = false;
        await mysql.freeze();
        setTimeout(() => mysql.thaw(), 2200);
      },
    });
    const answer = await api.request<{ signUp: { token: string } }>(SIGN_UP, { email, password: 'correct-horse' });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const rows = await server.app.orm.em.getConnection().execute<{ id: number }[]>('SELECT id FROM users WHERE email = ?', [email]);
    if (rows.length > 0) {
      expect(answer.errors).toBeUndefined();
      expect((await new Api(server.url, answer.data?.signUp.token).data<{ me: { email: string } }>('{ me { email } }')).me.email).toBe(email);
    } else expect(answer.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  }, 60_000);

  it('ends a row-lock wait in MySQL itself before the statement bound, leaving no abandoned waiter behind', async () => {
    const [fan] = await signUpMany(api, 1);
    const holder = await createConnection(`${mysql.rootUrl}/concert`);
    try {
      // Another transaction holds the fan's row (as a long payment would).
      await holder.query('BEGIN');
      await holder.query('SELECT points FROM users WHERE id = ? FOR UPDATE', [fan!.id]);
      const started = Date.now();
      expect((await fan!.api.request(CHARGE, { amount: 10 })).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(4000);
      // MySQL gave up the wait itself (innodb_lock_wait_timeout below the bound): nothing still queues
      // on the row, as a client-side timeout alone would leave for InnoDB's default 50 s.
      const [waiting] = await holder.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'");
      expect(Number(waiting[0]?.n)).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await fan!.api.data<{ chargePoints: { points: number } }>(CHARGE, { amount: 10 })).chargePoints.points).toBe(10);
  });
});

describe('statements and transactions against their time bounds (MYSQL_STATEMENT_TIMEOUT_MS=1500)', () => {
  it('a transaction waiting seconds between two statements (as on Redis) is never rolled back, however short the statement bound', async () => {
    const answer = await sqlTransaction(server.app.orm, async (sql) => {
      await sql.all('select 1', []);
      await new Promise((resolve) => setTimeout(resolve, 4500));
      return sql.all<{ n: number }>('select 2 as n', []);
    });
    expect(Number(answer[0]?.n)).toBe(2);
    const [row] = await sqlTransaction(server.app.orm, (sql) => sql.all<{ t: number }>('select @@session.idle_transaction_timeout as t', []));
    expect(Number(row?.t)).toBeGreaterThanOrEqual(10);
  }, 30_000);

  it('a statement past its bound closes its connection: later requests never queue behind it', async () => {
    const [fan] = await signUpMany(api, 1);
    const holder = await createConnection(`${mysql.rootUrl}/concert`);
    try {
      // A wait MySQL does not end by itself (a metadata lock: no innodb_lock_wait_timeout applies).
      await holder.query('LOCK TABLES point_transactions WRITE');
      expect((await fan!.api.request('{ me { pointHistory(limit: 5) { amount } } }')).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
      for (let i = 0; i < 10; i++) {
        const started = Date.now();
        const body = await Promise.race([fan!.api.request('{ me { email points } }'), new Promise<'no answer'>((resolve) => setTimeout(() => resolve('no answer'), 5000))]);
        expect(body === 'no answer' ? 'no answer' : body.errors).toBeUndefined();
        expect(Date.now() - started).toBeLessThan(1500);
      }
    } finally {
      await holder.query('UNLOCK TABLES').catch(() => undefined);
      await holder.end();
    }
  }, 60_000);
});
