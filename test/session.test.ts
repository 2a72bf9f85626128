import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../support/graphql-client';
import { CHARGE, type QueueStatus, STATUS_SUBSCRIPTION } from '../support/operations';
import { startTestServer, type TestServer } from './support/harness';
import { Feed, signUp } from './support/client';
import { createConcert } from './support/fixtures';
import { SessionExpiries } from '../src/auth/session-bound';

const JWT_TTL_SECONDS = 3;

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('session', { JWT_TTL_SECONDS: String(JWT_TTL_SECONDS), RUN_WORKERS: 'false' });
  api = new Api(server.url);
});
afterAll(() => server.stop());

function clientWith(connectionParams: Record<string, unknown>) {
  return createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

describe('the token on a socket', () => {
  it.each([
    ['authorization', (token: string) => ({ authorization: `Bearer ${token}` })],
    ['Authorization, as the playground writes it', (token: string) => ({ Authorization: `Bearer ${token}` })],
    ['headers.Authorization', (token: string) => ({ headers: { Authorization: `Bearer ${token}` } })],
    ['headers.authorization', (token: string) => ({ headers: { authorization: `Bearer ${token}` } })],
    ['authorization, the token alone (as the contract words it)', (token: string) => ({ authorization: token })],
  ])('is read from connectionParams.%s', async (_label, params) => {
    const { concertId } = await createConcert(server);
    const fan = await signUp(api);
    const client = clientWith(params(fan.token));
    try {
      const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await feed.next()).data?.queueStatus).toMatchObject({ concertId, state: 'NONE' });
    } finally {
      await client.dispose();
    }
  });

  it('runs no query or mutation sent on the socket once its token has expired (the socket stays open)', async () => {
    const fan = await signUp(api);
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${fan.token}` }, retryAttempts: 0, lazy: false });
    const run = (amount: number) =>
      new Promise<{ data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve) => {
        let last: { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] } = {};
        client.subscribe({ query: CHARGE, variables: { amount } }, { next: (result) => (last = result as typeof last), error: (errors) => resolve({ errors: errors as never }), complete: () => resolve(last) });
      });
    try {
      expect((await run(10)).errors).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, (JWT_TTL_SECONDS + 0.5) * 1000));
      expect((await run(20)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const [row] = await server.app.orm.em.getConnection().execute<{ points: number }[]>('select points from users where id = ?', [fan.id]);
      expect(Number(row?.points)).toBe(10);
    } finally {
      await client.dispose();
    }
  });

  it('ends a subscription with UNAUTHENTICATED when the token expires', async () => {
    const { concertId } = await createConcert(server);
    const fan = await signUp(api);
    const client = clientWith({ authorization: `Bearer ${fan.token}` });
    try {
      const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      const opened = Date.now();
      expect((await feed.next()).data?.queueStatus.state).toBe('NONE');
      const ended = await feed.next((JWT_TTL_SECONDS + 2) * 1000);
      expect(ended.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(Date.now() - opened).toBeLessThan((JWT_TTL_SECONDS + 1) * 1000);
      // The same expired token cannot open a new one either.
      const again = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await again.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await client.dispose();
    }
  });
});

describe('subscriptions of an account whose credentials changed', () => {
  it('end when opened with a token older than the change, and go on when signed under it (the same whole second)', async () => {
    const sessions = new SessionExpiries();
    async function* source() {
      yield 1;
      yield 2;
    }
    // A token's credentials time is in whole seconds: one signed right after the change carries the change's time itself.
    const changedAt = Math.floor(Date.now() / 1000) * 1000 - 5000;
    try {
      const older = sessions.bind(source(), Date.now() + 60_000, 7, changedAt - 1000);
      const current = sessions.bind(source(), Date.now() + 60_000, 7, changedAt);
      sessions.endOlderCredentials(new Map([[7, changedAt]]));
      await expect(older.next()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(current.next()).resolves.toEqual({ value: 1, done: false });
      await current.return?.();
    } finally {
      sessions.stop();
    }
  });

  it('end in the round of the account check that first reads the change, not a round later', async () => {
    const { existingAccounts, sessions } = server.app.services;
    const fan = await signUp(new Api(server.url));
    // The rounds are run here by hand (the test server's own come once an hour).
    await existingAccounts.followCredentialChanges();
    const never: AsyncIterator<unknown> = { next: () => new Promise(() => undefined), return: async () => ({ done: true, value: undefined }) };
    const bound = sessions.bind(never, Date.now() + 3_600_000, Number(fan.id), 0);
    await server.app.orm.em.getConnection().execute('update users set credentials_changed_at = utc_timestamp() where id = ?', [fan.id]);
    await existingAccounts.followCredentialChanges();
    const outcome = await Promise.race([bound.next().then(() => 'an event', (error: unknown) => error), new Promise((resolve) => setTimeout(() => resolve('still open'), 300))]);
    expect(outcome).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
