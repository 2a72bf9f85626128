import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { CHARGE, ENTER, PAY, STATUS_SUBSCRIPTION, type Payment, type QueueStatus } from '../support/operations';
import { databaseOf, startTestServer, type TestServer } from './support/harness';
import { lockUserRow, untilLockWait } from './support/mysql-locks';
import { Feed, signUpMany, wsClient, type Account } from './support/client';
import { spawnServer, stopProcess, type ServerProcess } from './support/process';
import { createConcert } from './support/fixtures';
import { activeFans, charge, expectConsistentLedger, hold, ledger, me, seatIds } from './support/booking';

const FANS = 16;
const PRICE = 100;

// An API replica dies (SIGKILL) with payments in flight and fans subscribed to it; the other replica
// (this in-process server, which also runs the workers) carries on.
let server: TestServer;
let doomed: ServerProcess;

beforeAll(async () => {
  server = await startTestServer('replica_kill');
  doomed = await spawnServer({ ...server.env, RUN_WORKERS: 'false' });
});
afterAll(async () => {
  if (doomed.child.exitCode === null && doomed.child.signalCode === null) doomed.child.kill('SIGKILL');
  await server.stop();
});

describe('an API replica killed mid-sale', () => {
  it('commits each in-flight payment once or not at all; a retry elsewhere answers with the committed one; subscribers keep their places', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: FANS, seatCount: FANS + 4, price: PRICE });
    const fans = await activeFans(new Api(server.url), concertId, FANS);
    const seats = await seatIds(server, scheduleIds[0]!);
    await Promise.all(fans.map((fan) => charge(fan, 1000)));
    const holds = await Promise.all(fans.map((fan, i) => hold(fan, seats[i]!)));

    // A waiting fan watches the line through the doomed replica.
    const [waiter] = (await signUpMany(new Api(server.url), 1)) as [Account];
    await waiter.api.data(ENTER, { id: concertId });
    const doomedClient = wsClient(doomed.wsUrl, waiter.token);
    const before = await new Feed<{ queueStatus: QueueStatus }>(doomedClient, STATUS_SUBSCRIPTION, { id: concertId }).next();
    expect(before.data?.queueStatus).toMatchObject({ state: 'WAITING', position: 1 });

    // Every fan pays through the doomed replica; it dies while the payments are under way.
    const viaDoomed = fans.map((fan) => new Api(doomed.url, fan.token));
    const inFlight = viaDoomed.map((api, i) => api.request<{ pay: Payment }>(PAY, { holdIds: [holds[i]!.id], key: `order-${i}` }).catch(() => undefined));
    // Killed as soon as the first payment is answered: some have committed, others are mid-way.
    await Promise.race(inFlight);
    doomed.child.kill('SIGKILL');
    const firstAnswers = await Promise.all(inFlight);
    const [committed] = await server.app.orm.em.getConnection().execute<{ n: number }[]>('SELECT COUNT(*) AS n FROM payments');
    // Typically about half committed before the kill, their answers lost with the process.
    expect(Number(committed?.n)).toBeGreaterThanOrEqual(firstAnswers.filter((answer) => answer?.data?.pay).length);
    await doomedClient.dispose();

    // Each fan retries with the same key on the surviving replica.
    const retries = await Promise.all(fans.map((fan, i) => fan.api.request<{ pay: Payment }>(PAY, { holdIds: [holds[i]!.id], key: `order-${i}` })));
    for (const [i, fan] of fans.entries()) {
      const retried = retries[i]!;
      expect(retried.errors, `fan ${i}`).toBeUndefined();
      const answered = firstAnswers[i]?.data?.pay;
      // A payment the dead replica did answer is the one the retry returns, not a second one.
      if (answered) expect(retried.data?.pay.id).toBe(answered.id);
      // Answered or not before the kill, the key names exactly one payment, and the retry answers with it.
      const rows = await server.app.orm.em.getConnection().execute<{ id: number }[]>('SELECT id FROM payments WHERE idempotency_key = ?', [`order-${i}`]);
      expect(rows.map((row) => String(row.id)), `fan ${i}`).toEqual([retried.data?.pay.id]);
      const account = await me(fan);
      expect(account.points).toBe(1000 - PRICE);
      expect(account.reservations.map((r) => r.seat.id)).toEqual([seats[i]]);
      expectConsistentLedger(await ledger(server, fan.id), account.points);
    }
    const [row] = await server.app.orm.em.getConnection().execute<{ payments: number; reservations: number }[]>(
      'SELECT (SELECT COUNT(*) FROM payments) AS payments, (SELECT COUNT(*) FROM reservations) AS reservations',
    );
    expect([Number(row?.payments), Number(row?.reservations)]).toEqual([FANS, FANS]);

    // The waiting fan reconnects to the surviving replica and is still in line: first, or admitted
    // already into a slot the payments freed.
    const client = wsClient(server.wsUrl, waiter.token);
    const after = (await new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId }).next()).data?.queueStatus;
    expect(after?.state === 'ACTIVE' || (after?.state === 'WAITING' && after.position === 1)).toBe(true);
    await client.dispose();
  });
});

describe('an API replica frozen mid-transaction', () => {
  /** The frozen replica's statement bound: MariaDB ends its idle transactions after twice this, but never before 10 s. */
  const FROZEN_STATEMENT_TIMEOUT_MS = 2500;
  const IDLE_TRANSACTION_MS = 10_000;

  it('loses its transaction, locks and all, once MariaDB has seen it idle for its idle-transaction bound: the fan charges elsewhere, and nothing was paid', async () => {
    const frozen = await spawnServer({ ...server.env, RUN_WORKERS: 'false', MYSQL_STATEMENT_TIMEOUT_MS: String(FROZEN_STATEMENT_TIMEOUT_MS) });
    try {
      const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 1, seatCount: 1, price: PRICE });
      const [fan] = (await activeFans(new Api(server.url), concertId, 1)) as [Account];
      await charge(fan, 1000);
      const held = await hold(fan, (await seatIds(server, scheduleIds[0]!))[0]!);
      // The payment's debit waits on the fan's row; the replica is frozen while it waits, and the row
      // is let go: the debit runs, and the frozen replica's transaction then holds the row, idle.
      const blocker = await lockUserRow(databaseOf(server), fan.id);
      const paying = new Api(frozen.url, fan.token).request<{ pay: Payment }>(PAY, { holdIds: [held.id], key: 'frozen' }).catch(() => undefined);
      await untilLockWait(databaseOf(server));
      await stopProcess(frozen.child);
      await blocker.query('ROLLBACK');
      await blocker.end();
      // On the other replica a charge (each waiting up to its own lock bound, 9 s) goes through once
      // MariaDB has ended the frozen transaction, while the replica is still frozen.
      await vi.waitFor(async () => expect((await fan.api.request(CHARGE, { amount: 50 })).errors).toBeUndefined(), { timeout: IDLE_TRANSACTION_MS + 12_000, interval: 200 });
      frozen.child.kill('SIGCONT');
      expect((await paying)?.data?.pay).toBeUndefined();
      const account = await me(fan);
      expect(account.points).toBe(1050);
      expect(account.reservations).toEqual([]);
      expectConsistentLedger(await ledger(server, fan.id), account.points);
    } finally {
      frozen.child.kill('SIGCONT');
      frozen.child.kill('SIGKILL');
    }
  });
});
