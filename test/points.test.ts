import { DeadlockException } from '@mikro-orm/mysql';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { CHARGE, ME } from '../support/operations';
import { sqlTransactionRetryingDeadlocks } from '../src/database/sql-transaction';
import { isUnavailable } from '../src/errors';
import { sharedNow } from '../src/redis/clock';
import { databaseOf, startTestServer, TEST_MYSQL_ROOT, type TestServer } from './support/harness';
import { signUp } from './support/client';
import { charge, expectConsistentLedger, ledger, me } from './support/booking';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('points', { MAX_CHARGE: '5000' });
  api = new Api(server.url);
});
afterAll(() => server.stop());

describe('chargePoints', () => {
  it('adds to the balance and records a CHARGE with the balance after it', async () => {
    const fan = await signUp(api);
    expect(await charge(fan, 300)).toBe(300);
    expect(await charge(fan, 5000)).toBe(5300);
    const { points, pointHistory } = await me(fan);
    expect(points).toBe(5300);
    expect(pointHistory).toEqual([
      { kind: 'CHARGE', amount: 5000, balance: 5300 },
      { kind: 'CHARGE', amount: 300, balance: 300 },
    ]);
  });

  it.each([
    ['zero', 0],
    ['a negative amount', -50],
    ['more than MAX_CHARGE', 5001],
  ])('refuses %s with BAD_USER_INPUT and changes nothing', async (_label, amount) => {
    const fan = await signUp(api);
    await charge(fan, 10);
    expect(await fan.api.errorCode(CHARGE, { amount })).toBe('BAD_USER_INPUT');
    expect(await me(fan)).toMatchObject({ points: 10, pointHistory: [{ kind: 'CHARGE', amount: 10, balance: 10 }] });
  });

  it('needs a token', async () => {
    expect(await api.errorCode(CHARGE, { amount: 1 })).toBe('UNAUTHENTICATED');
  });

  it('refuses a charge past the largest balance GraphQL can say (Int, 2^31 − 1) with BAD_USER_INPUT, changing nothing', async () => {
    const fan = await signUp(api);
    const near = 2_147_483_647 - 5;
    // Setup: a balance a few points short of the largest.
    await server.app.orm.em.getConnection().execute('update users set points = ? where id = ?', [near, fan.id]);
    expect(await fan.api.errorCode(CHARGE, { amount: 10 })).toBe('BAD_USER_INPUT');
    expect(await me(fan)).toMatchObject({ points: near, pointHistory: [] });
    expect(await charge(fan, 5)).toBe(2_147_483_647);
  });

  it('loses no update under 200 concurrent charges, with a ledger that sums to the balance', async () => {
    const fan = await signUp(api);
    const amounts = Array.from({ length: 200 }, (_, i) => i + 1);
    // 200 transactions queue on one row lock through a pool of 20: on a loaded machine the last ones
    // may wait past the pool's 3 s and be refused, changing nothing (SERVICE_UNAVAILABLE); a client
    // sends those again.
    const chargeUntilTaken = async (amount: number): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const answer = await fan.api.request<{ chargePoints: { points: number } }>(CHARGE, { amount });
        if (answer.data) return answer.data.chargePoints.points;
        if (answer.errors?.[0]?.extensions?.code !== 'SERVICE_UNAVAILABLE' || attempt === 5) throw new Error(JSON.stringify(answer.errors));
      }
    };
    const balances = await Promise.all(amounts.map(chargeUntilTaken));
    const total = amounts.reduce((sum, amount) => sum + amount, 0);
    expect((await me(fan)).points).toBe(total);
    // Each charge saw its own balance after: all distinct, the largest is the total.
    expect(new Set(balances).size).toBe(200);
    expect(Math.max(...balances)).toBe(total);

    const entries = await ledger(server, fan.id);
    expect(entries).toHaveLength(200);
    // Through the API too, in one page: the history sums to the balance.
    const { pointHistory } = await me(fan, 1000);
    expect(pointHistory.reduce((sum, entry) => sum + entry.amount, 0)).toBe(total);
    expect(entries.every((entry) => entry.kind === 'CHARGE')).toBe(true);
    expect(entries.map((entry) => entry.amount).sort((a, b) => a - b)).toEqual(amounts);
    expectConsistentLedger(entries, total);
  });
});

describe('a burst that queues for connections', () => {
  it('waits for the pool longer than 3 s while MySQL is up: 40 charges behind a row lock held 4.5 s all succeed, and the replica reads ready meanwhile', async () => {
    const fan = await signUp(api);
    // Another client holds the account's row: the pool's 20 connections wait on it, the other 20
    // charges wait for a connection, past the old fixed 3 s.
    const holder = await createConnection(server.env.DATABASE_URL as string);
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT points FROM users WHERE id = ? FOR UPDATE', [fan.id]);
      const charges = Promise.all(Array.from({ length: 40 }, () => fan.api.request<{ chargePoints: { points: number } }>(CHARGE, { amount: 1 })));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // The replica is busy, not down: readiness asks MySQL on a connection of its own, not behind the queued pool.
      const ready = await fetch(server.url.replace('/graphql', '/readyz'));
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', mysql: 'up', redis: 'up' }]);
      await new Promise((resolve) => setTimeout(resolve, 3500));
      await holder.query('COMMIT');
      const answers = await charges;
      expect(answers.map((answer) => answer.errors?.[0]?.extensions?.code ?? 'ok')).toEqual(answers.map(() => 'ok'));
      expect((await me(fan)).points).toBe(40);
    } finally {
      await holder.end();
    }
  });
});

describe('a transaction that is a deadlock’s victim', () => {
  it('runs again, and answers SERVICE_UNAVAILABLE (contention, to retry) once it was the victim on all three attempts', async () => {
    // MySQL's own error as the ORM raises it, from within a real transaction each time (rolled back, retried).
    const victim = () => new DeadlockException(Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 }));
    let attempts = 0;
    const outcome = sqlTransactionRetryingDeadlocks(server.app.orm, async (sql) => {
      attempts++;
      await sql.all('select 1', []);
      throw victim();
    });
    await expect(outcome).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(attempts).toBe(3);
    // Victim twice, then through: the third attempt's answer.
    attempts = 0;
    expect(
      await sqlTransactionRetryingDeadlocks(server.app.orm, async () => {
        if (++attempts < 3) throw victim();
        return 'committed';
      }),
    ).toBe('committed');
  });

  it('counts a connection MySQL closed in the middle of a transaction as MySQL unavailable (SERVICE_UNAVAILABLE), not a bug', async () => {
    const connection = server.app.orm.em.getConnection();
    const outcome = sqlTransactionRetryingDeadlocks(server.app.orm, async (sql) => {
      const [row] = await sql.all<{ id: number }>('select connection_id() as id', []);
      // As when MySQL restarts or drops the session: the server closes it between two statements.
      await connection.execute(`kill ${Number(row!.id)}`);
      // Long enough for mysql2 to have seen the close: the next statement meets a closed connection.
      await sleep(500);
      await sql.all('select 1', []);
    });
    const error = await outcome.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(String(error)).toMatch(/closed state/);
    expect(isUnavailable(error)).toBe(true);
  });
});

describe('pointHistory', () => {
  it('lists newest first, 20 by default, up to limit (1..1000)', async () => {
    const fan = await signUp(api);
    for (let amount = 1; amount <= 25; amount++) await charge(fan, amount);
    const { pointHistory } = await me(fan);
    expect(pointHistory).toHaveLength(20);
    expect(pointHistory[0]).toEqual({ kind: 'CHARGE', amount: 25, balance: 325 });
    expect((await me(fan, 3)).pointHistory.map((entry) => entry.amount)).toEqual([25, 24, 23]);
    expect((await me(fan, 100)).pointHistory).toHaveLength(25);
    expect((await me(fan, 1000)).pointHistory).toHaveLength(25);
    for (const limit of [0, -1, 1001]) expect(await fan.api.errorCode(ME, { limit })).toBe('BAD_USER_INPUT');
    // An explicit null is the default, as an absent limit is.
    expect((await fan.api.data<{ me: { pointHistory: unknown[] } }>(ME, { limit: null })).me.pointHistory).toHaveLength(20);
  });
  it('never dates a CHARGE after its answer came back (whole seconds, cut, as the DATETIME column keeps them)', async () => {
    const fan = await signUp(api);
    for (let i = 1; i <= 6; i++) {
      await charge(fan, 10);
      const answeredAt = sharedNow();
      const { me: mine } = await fan.api.data<{ me: { pointHistory: { createdAt: string; balance: number }[] } }>('{ me { pointHistory(limit: 1) { createdAt balance } } }');
      expect(mine.pointHistory[0]?.balance).toBe(10 * i);
      const createdAt = Date.parse(mine.pointHistory[0]!.createdAt);
      expect(createdAt % 1000).toBe(0);
      expect(createdAt).toBeLessThanOrEqual(answeredAt);
      expect(answeredAt - createdAt).toBeLessThan(5000);
    }
  });
});

describe('a charge whose COMMIT went unanswered', () => {
  it('is settled by waiting for its transaction on the user’s row to end: one that commits a moment later is found, not answered "nothing was charged"', async () => {
    const fan = await signUp(api);
    const userId = Number(fan.id);
    // The transaction as MySQL still has it: the row written and locked, its COMMIT a second later.
    const inDoubt = await createConnection(`${TEST_MYSQL_ROOT}/${databaseOf(server)}`);
    try {
      await inDoubt.query('BEGIN');
      await inDoubt.query('UPDATE users SET points = points + 10 WHERE id = ?', [userId]);
      const [inserted] = await inDoubt.query("INSERT INTO point_transactions (user_id, kind, amount, balance, payment_id, created_at) VALUES (?, 'CHARGE', 10, 10, NULL, UTC_TIMESTAMP())", [userId]);
      const ledgerId = (inserted as { insertId: number }).insertId;
      const committed = new Promise<void>((resolve, reject) => setTimeout(() => inDoubt.query('COMMIT').then(() => resolve(), reject), 1000));
      const read = async () => (await server.app.orm.em.getConnection().execute<{ balance: number }[]>('SELECT balance FROM point_transactions WHERE id = ?', [ledgerId]))[0];
      const found = await server.app.services.points.afterUnansweredCommit(userId, read, 'may have gone through', 'nothing was charged.');
      expect(Number(found.balance)).toBe(10);
      await committed;
    } finally {
      await inDoubt.end();
    }
  });
});
