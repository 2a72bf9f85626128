import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { CANCEL, LOG_IN, ME, type Me } from '../support/operations';
import { activeFans, charge, hold, ledger, pay, seatIds } from './support/booking';
import { createConcert } from './support/fixtures';
import { ADMIN, startTestServer, type TestServer } from './support/harness';
import { spawnServer, type ServerProcess } from './support/process';

/**
 * Replicas whose clocks disagree: one here on the machine's clock, one (a process of its own) ten
 * minutes behind. What they write and judge is on one clock, Redis's, whichever answers.
 */
const SKEW_MS = -10 * 60_000;

let server: TestServer;
let behind: ServerProcess;
let behindEnv: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer('clock_skew', { JWT_TTL_SECONDS: '300' });
  behindEnv = {
    ...server.env,
    RUN_WORKERS: 'false',
    NODE_OPTIONS: `--require ${path.join(__dirname, 'support', 'skewed-clock.cjs')}`,
    CLOCK_SKEW_MS: String(SKEW_MS),
  };
  behind = await spawnServer(behindEnv);
});
afterAll(async () => {
  await behind?.stop();
  await server?.stop();
});

describe('a replica whose clock is ten minutes behind', () => {
  it('signs tokens the others take (they had expired five minutes before they were signed), and dates its answers on the shared clock', async () => {
    const { concertId } = await createConcert(server);
    const [fan] = await activeFans(new Api(server.url), concertId, 1);
    const email = (await fan!.api.data<{ me: { email: string } }>('{ me { email } }')).me.email;
    const { logIn } = await new Api(behind.url).data<{ logIn: { token: string } }>(LOG_IN, { email, password: 'correct-horse' });
    expect((await new Api(server.url, logIn.token).data<{ me: Me }>(ME)).me.points).toBe(0);
    const { exp, iat } = JSON.parse(Buffer.from(logIn.token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    expect(Math.abs(iat * 1000 - Date.now())).toBeLessThan(5000);
    expect(exp - iat).toBe(300);
    // The Date header web clients count holds and turns down by.
    const response = await fetch(behind.url.replace('/graphql', '/healthz'));
    expect(Math.abs(new Date(response.headers.get('date')!).getTime() - Date.now())).toBeLessThan(3000);
  });

  it('refuses to cancel a ticket once its show has started, and stamps its payments now, not ten minutes ago', async () => {
    const { concertId, scheduleIds } = await createConcert(server, { maxActiveUsers: 5 });
    const [fan] = await activeFans(new Api(server.url), concertId, 1);
    await charge(fan!, 500);
    const [seatId] = await seatIds(server, scheduleIds[0]!);
    const onBehind = new Api(behind.url, fan!.token);
    const payment = await pay({ ...fan!, api: onBehind }, [(await hold(fan!, seatId!)).id], 'behind');
    expect(Math.abs(new Date(payment.createdAt).getTime() - Date.now())).toBeLessThan(5000);
    // The show started a minute ago (nine minutes ahead, on the replica's own clock).
    await server.app.orm.em.getConnection().execute('update schedules set starts_at = ? where id = ?', [new Date(Date.now() - 60_000), scheduleIds[0]]);
    expect(await onBehind.errorCode(CANCEL, { id: payment.reservations[0]!.id })).toBe('NOT_CANCELLABLE');
    expect((await ledger(server, fan!.id)).map((entry) => entry.kind)).toEqual(['CHARGE', 'PAYMENT']);
  });
});

describe('a password changed by a replica whose clock is ten minutes behind', () => {
  it('cuts off the tokens issued before the change, on that replica', async () => {
    const { logIn } = await new Api(server.url).data<{ logIn: { token: string } }>(LOG_IN, { email: ADMIN.email, password: ADMIN.password });
    // Whole seconds on both sides (iat, the column): the change comes in a later second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const restarted = await spawnServer({ ...behindEnv, ADMIN_PASSWORD: 'a-new-admin-password' });
    try {
      expect(await new Api(restarted.url, logIn.token).errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');
    } finally {
      await restarted.stop();
    }
  });
});
