import { performance } from 'node:perf_hooks';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Api } from '../support/graphql-client';
import { CHARGE, ENTER, LOG_IN, SIGN_UP, STATUS, STATUS_SUBSCRIPTION, type QueueStatus } from '../support/operations';
import { ADMIN, startTestServer, type TestServer } from './support/harness';
import { Feed, logIn, signUp, wsClient } from './support/client';
import { createConcert } from './support/fixtures';
import { everyRootOperation } from './support/every-operation';
import { Migration20261212100000 } from '../src/migrations/Migration20261212100000';
import { hashCost, hashPassword, PasswordHasher, unmatchableHash } from '../src/auth/passwords';
import { RateLimited } from '../src/errors';
import { User } from '../src/entities';

const ME = '{ me { id email role points } }';
/** errors.md: the operations anyone may call. */
const PUBLIC_OPERATIONS = ['concerts', 'concert', 'signUp', 'logIn'];
/** How often each replica asks MySQL whether a token's account still exists. */
const ACCOUNT_CHECK_SECONDS = 1;

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startTestServer('accounts', { ACCOUNT_CHECK_SECONDS: String(ACCOUNT_CHECK_SECONDS) });
  api = new Api(server.url);
});
afterAll(() => server.stop());

describe('sign-up, log-in, me', () => {
  it('signs up, logs in case-insensitively and answers me', async () => {
    const fan = await signUp(api, 'Ada.Lovelace@Example.TEST', 'analytical-engine');
    const me = await fan.api.data<{ me: { id: string; email: string; role: string; points: number } }>(ME);
    expect(me.me).toEqual({ id: fan.id, email: 'ada.lovelace@example.test', role: 'USER', points: 0 });
    const again = await logIn(api, 'ADA.LOVELACE@example.test', 'analytical-engine');
    expect(again.id).toBe(fan.id);
  });

  it('refuses a second account with the same email in another case', async () => {
    await signUp(api, 'dup@example.test');
    expect(await api.errorCode(SIGN_UP, { email: 'DUP@Example.test', password: 'whatever-123' })).toBe('EMAIL_TAKEN');
  });

  it('pins users.email to one byte-wise collation, whatever the server default: case is folded by the app, nothing else', async () => {
    const [column] = await server.app.orm.em
      .getConnection()
      .execute<{ collation: string }[]>("select collation_name as collation from information_schema.columns where table_schema = database() and table_name = 'users' and column_name = 'email'");
    expect(column?.collation).toBe('utf8mb4_bin');
  });

  it('migration 20261212100000 rewrites emails stored before the canonical spelling, so their owners still log in', async () => {
    const { orm } = server.app;
    const sql = orm.em.getConnection();
    const fan = await signUp(api, 'zoë@example.test', 'password-zoe');
    // As a row could be stored before: the accent as a combining mark, in capitals (one address to the old collation).
    await sql.execute('alter table users modify email varchar(254) character set utf8mb4 collate utf8mb4_unicode_ci not null');
    await sql.execute('update users set email = ? where id = ?', ['ZOE\u0308@example.test', fan.id]);
    const migration = new Migration20261212100000(orm.em.getDriver(), orm.config);
    await migration.up();
    for (const query of migration.getQueries()) await sql.execute(String(query));
    expect((await logIn(api, 'Zoë@example.test', 'password-zoe')).id).toBe(fan.id);
  });

  it('keeps addresses that differ by an accent apart, and one accent typed two ways together', async () => {
    const jose = await signUp(api, 'josé@example.test', 'password-jose');
    // Another address: its own account, and josé's password does not open it.
    const other = await signUp(api, 'jose@example.test', 'password-other');
    expect(other.id).not.toBe(jose.id);
    expect(await api.errorCode(LOG_IN, { email: 'jose@example.test', password: 'password-jose' })).toBe('INVALID_CREDENTIALS');
    // The same address with the accent as a combining mark, and in capitals: josé's account.
    expect((await logIn(api, 'JOSE\u0301@example.test', 'password-jose')).id).toBe(jose.id);
    expect(await api.errorCode(SIGN_UP, { email: 'jose\u0301@example.test', password: 'whatever-123' })).toBe('EMAIL_TAKEN');
  });

  it('folds case letter by letter: ΝΙΚΟΣ and νικοσ, SAM and ſam are one address each; straße and strasse stay two', async () => {
    const nikos = await signUp(api, 'νικοσ@example.test', 'password-nikos');
    // Lower-cased, the capital final sigma is ς: a second account before.
    expect(await api.errorCode(SIGN_UP, { email: 'ΝΙΚΟΣ@example.test', password: 'whatever-123' })).toBe('EMAIL_TAKEN');
    expect((await logIn(api, 'ΝΙΚΟΣ@example.test', 'password-nikos')).id).toBe(nikos.id);
    const sam = await signUp(api, 'ſam@example.test', 'password-sam');
    expect(await api.errorCode(SIGN_UP, { email: 'SAM@example.test', password: 'whatever-123' })).toBe('EMAIL_TAKEN');
    expect((await logIn(api, 'Sam@example.test', 'password-sam')).id).toBe(sam.id);
    // The dotless ı folds to itself: ıvan@ and ivan@ are two addresses.
    const dotless = await signUp(api, 'ıvan@example.test', 'password-dotless');
    expect((await signUp(api, 'IVAN@example.test', 'password-ivan')).id).not.toBe(dotless.id);
    // ß has no one-letter capital: simple folding keeps it, so this is another address.
    const strasse = await signUp(api, 'strasse@example.test', 'password-ss');
    const strasze = await signUp(api, 'STRAßE@example.test', 'password-sz');
    expect(strasze.id).not.toBe(strasse.id);
  });

  it('gives only one account when the same email signs up many times at once', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => api.request(SIGN_UP, { email: 'race@example.test', password: 'password-123' })));
    expect(results.filter((r) => r.data?.signUp).length).toBe(1);
    expect(results.filter((r) => r.errors?.[0]?.extensions?.code === 'EMAIL_TAKEN').length).toBe(19);
  });

  it.each([
    ['not-an-email', 'long-enough-1', 'BAD_USER_INPUT'],
    ['a@b', 'long-enough-1', 'BAD_USER_INPUT'],
    // Control and invisible characters would make look-alike accounts.
    ['a\u0000b@example.test', 'long-enough-1', 'BAD_USER_INPUT'],
    ['\u202eabc@example.test', 'long-enough-1', 'BAD_USER_INPUT'],
    ['ab\u200b@example.test', 'long-enough-1', 'BAD_USER_INPUT'],
    ['short@example.test', 'short', 'INVALID_CREDENTIALS'],
    // One character under the minimum (8): the bound itself, not just far below it.
    ['seven@example.test', 'seven77', 'INVALID_CREDENTIALS'],
    // Four characters, eight UTF-16 units: characters are what the rule counts.
    ['emoji@example.test', '😀😀😀😀', 'INVALID_CREDENTIALS'],
    // Not text: hashed as U+FFFD, it would match every other such password (and '\ufffd' typed).
    ['lone@example.test', '\ud800'.repeat(10), 'BAD_USER_INPUT'],
    ['lone@example.test', `password-${'\udfff'}`, 'BAD_USER_INPUT'],
  ])('rejects bad input %s / %s with BAD_USER_INPUT and creates nothing (logIn: %s)', async (email, password, logInCode) => {
    expect(await api.errorCode(SIGN_UP, { email, password })).toBe('BAD_USER_INPUT');
    // No account has a malformed email: logIn says so. A short password is just a wrong one there
    // (accounts made under an older, shorter rule would otherwise be locked out).
    expect(await api.errorCode(LOG_IN, { email, password })).toBe(logInCode);
  });

  it('gives the same INVALID_CREDENTIALS for an unknown email and a wrong password', async () => {
    await signUp(api, 'known@example.test', 'right-password');
    const unknown = await api.request(LOG_IN, { email: 'nobody@example.test', password: 'right-password' });
    const wrong = await api.request(LOG_IN, { email: 'known@example.test', password: 'wrong-password' });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    expect(wrong.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.errors?.[0]?.message).toBe(wrong.errors?.[0]?.message);
  });

  it('stores only a salted slow hash of the password', async () => {
    const fan = await signUp(api, 'hash@example.test', 'my-secret-password');
    const twin = await signUp(api, 'hash2@example.test', 'my-secret-password');
    const rows = await server.app.orm.em.getConnection().execute<{ password_hash: string }[]>('select password_hash from users where id in (?, ?)', [fan.id, twin.id]);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.password_hash).toMatch(/^scrypt\$\d+\$/);
      expect(row.password_hash).not.toContain('my-secret-password');
    }
    expect(rows[0]?.password_hash).not.toBe(rows[1]?.password_hash);
  });
});

describe('log-in timing', () => {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

  it('takes as long for an unknown email as for a wrong password, so timing does not reveal accounts', async () => {
    // A cost whose scrypt (~25 ms) stands well above a request's own time, unlike the suite's cost 4.
    const timed = await startTestServer('accounts_timing', { PASSWORD_HASH_COST: '13', RUN_WORKERS: 'false' });
    try {
      const timedApi = new Api(timed.url);
      const known = await signUp(timedApi, undefined, 'right-password');
      const attempt = async (email: string) => {
        const started = performance.now();
        expect(await timedApi.errorCode(LOG_IN, { email, password: 'wrong-password' })).toBe('INVALID_CREDENTIALS');
        return performance.now() - started;
      };
      const wrongPassword: number[] = [];
      const unknownEmail: number[] = [];
      for (let i = 0; i < 9; i++) {
        wrongPassword.push(await attempt(known.email));
        unknownEmail.push(await attempt(`nobody-${i}@example.test`));
      }
      expect(median(unknownEmail)).toBeGreaterThan(median(wrongPassword) / 2);
    } finally {
      await timed.stop();
    }
  });
});

describe('password hashes made at a lower cost', () => {
  it('are made again at the configured cost when their owner logs in, and the password still works', async () => {
    const fan = await signUp(api, undefined, 'right-password');
    const sql = server.app.orm.em.getConnection();
    const stored = async () => String((await sql.execute<{ h: string }[]>('SELECT password_hash AS h FROM users WHERE id = ?', [fan.id]))[0]?.h);
    const cost = server.app.config.passwordHashCost;
    // As if signed up before PASSWORD_HASH_COST was raised.
    await sql.execute('UPDATE users SET password_hash = ? WHERE id = ?', [await hashPassword('right-password', cost - 1), fan.id]);
    expect(hashCost(await stored())).toBe(cost - 1);
    await logIn(api, fan.email, 'right-password');
    expect(hashCost(await stored())).toBe(cost);
    await logIn(api, fan.email, 'right-password');
    expect(await api.errorCode(LOG_IN, { email: fan.email, password: 'wrong-password' })).toBe('INVALID_CREDENTIALS');
  });
});

describe('a sign-in in flight while the operator changes the account’s credentials', () => {
  it('yields a token refused for everything (ADMIN power included), and its re-hash leaves the new password in place', async () => {
    const email = `in-flight-${Date.now()}@example.test`;
    await signUp(api, email, 'old-password');
    const sql = server.app.orm.em.getConnection();
    // A hash at a lower cost: the sign-in below makes it again once the password matched.
    await sql.execute('UPDATE users SET password_hash = ? WHERE email = ?', [await hashPassword('old-password', server.app.config.passwordHashCost - 1), email]);
    const accounts = server.app.services.accounts as unknown as { hasher: PasswordHasher; ensureAdmin(email: string, password: string): Promise<unknown> };
    const verify = accounts.hasher.verify.bind(accounts.hasher);
    // The sign-in has read the account and checked the old password when a start with this address
    // as ADMIN_EMAIL and a new ADMIN_PASSWORD (another replica's) makes the change, in the same second.
    accounts.hasher.verify = async (password, stored, client) => {
      const matches = await verify(password, stored, client);
      accounts.hasher.verify = verify;
      await accounts.ensureAdmin(email, 'the-operators-password');
      return matches;
    };
    let token: string;
    try {
      ({ token } = await logIn(api, email, 'old-password'));
    } finally {
      accounts.hasher.verify = verify;
    }
    // This replica hears of the change at its next round (ACCOUNT_CHECK_SECONDS); the role check reads MySQL at once.
    const CREATE = 'mutation($input: ConcertInput!) { createConcert(input: $input) { id } }';
    const input = { title: 'T', venue: 'V', maxActiveUsers: 1, schedules: [{ startsAt: '2030-01-01T19:00:00Z', seatCount: 1, price: 1 }] };
    expect(await api.as(token).errorCode(CREATE, { input })).toBe('UNAUTHENTICATED');
    await vi.waitFor(async () => expect(await api.as(token).errorCode(ME)).toBe('UNAUTHENTICATED'), { timeout: (ACCOUNT_CHECK_SECONDS + 2) * 1000, interval: 100 });
    // The operator's password stands; the old one opens nothing.
    expect(await api.errorCode(LOG_IN, { email, password: 'old-password' })).toBe('INVALID_CREDENTIALS');
    const operator = await logIn(api, email, 'the-operators-password');
    expect((await operator.api.request(CREATE, { input })).errors).toBeUndefined();
  });
});

describe('tokens', () => {
  const secret = () => server.env.JWT_SECRET ?? server.app.config.jwtSecret;

  it.each([
    ['no token', undefined],
    ['a malformed token', 'not.a.jwt'],
    ['garbage', 'garbage'],
  ])('refuses %s with UNAUTHENTICATED', async (_label, token) => {
    expect(await api.as(token).errorCode(ME)).toBe('UNAUTHENTICATED');
  });

  it('refuses every operation but concerts, concert, signUp and logIn with UNAUTHENTICATED, without a token and with a forged one: queries and mutations over HTTP, subscriptions over the WebSocket', async () => {
    const fan = await signUp(api);
    const forged = jwt.sign({ role: 'ADMIN' }, 'some-other-secret', { subject: fan.id, algorithm: 'HS256', expiresIn: 60 });
    const operations = (await everyRootOperation(api)).filter((operation) => !PUBLIC_OPERATIONS.includes(operation.field));
    // The schema's whole surface: a field added later is checked too.
    expect(operations.map((operation) => operation.field)).toEqual(expect.arrayContaining(['me', 'pay', 'holdSeat', 'leaveQueue', 'releaseHold', 'setMaxActiveUsers', 'queueStatus', 'seatChanged']));
    const sockets = [undefined, forged].map((token) => wsClient(server.wsUrl, token));
    try {
      for (const operation of operations) {
        const codes =
          operation.kind === 'subscription'
            ? await Promise.all(sockets.map(async (socket) => (await new Feed(socket, operation.query, operation.variables).next()).errors?.[0]?.extensions?.code))
            : await Promise.all([api, api.as(forged)].map((caller) => caller.errorCode(operation.query, operation.variables)));
        expect({ operation: operation.query, codes }).toEqual({ operation: operation.query, codes: ['UNAUTHENTICATED', 'UNAUTHENTICATED'] });
      }
    } finally {
      await Promise.all(sockets.map((socket) => socket.dispose()));
    }
  });

  it('answers concerts, concert, signUp and logIn whatever token comes with them (a browser may still hold a stale one)', async () => {
    const { concertId } = await createConcert(server);
    const fan = await signUp(api, undefined, 'stale-token-password');
    const expired = jwt.sign({ role: 'USER', exp: Math.floor(Date.now() / 1000) - 10 }, secret(), { subject: fan.id, algorithm: 'HS256' });
    for (const token of ['garbage', expired]) {
      const stale = api.as(token);
      expect((await stale.data<{ concert: { id: string } }>('query($id: ID!) { concert(id: $id) { id } }', { id: concertId })).concert.id).toBe(concertId);
      expect((await stale.data<{ concerts: unknown[] }>('{ concerts { id } }')).concerts.length).toBeGreaterThan(0);
      expect((await stale.data<{ logIn: { user: { id: string } } }>(LOG_IN, { email: fan.email, password: 'stale-token-password' })).logIn.user.id).toBe(fan.id);
      const email = `stale-${token.length}-${Date.now()}@example.test`;
      expect((await stale.data<{ signUp: { user: { email: string } } }>(SIGN_UP, { email, password: 'a-long-password' })).signUp.user.email).toBe(email);
    }
  });

  it('refuses a non-Bearer Authorization header', async () => {
    const fan = await signUp(api);
    const body = await api.request(ME, {}, { authorization: `Token ${fan.token}` });
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('judges a token signed before tokens carried their credentials (no cv claim) by when it was issued', async () => {
    const fan = await signUp(api);
    const changedAt = Math.floor(Date.now() / 1000) * 1000;
    await server.app.orm.em.fork().nativeUpdate(User, { id: Number(fan.id) }, { credentialsChangedAt: new Date(changedAt) });
    await server.app.services.existingAccounts.followCredentialChanges();
    const legacy = (iat: number) => jwt.sign({ role: 'USER', iat }, secret(), { subject: fan.id, algorithm: 'HS256', expiresIn: 600 });
    expect(await api.as(legacy(changedAt / 1000 - 5)).errorCode(ME)).toBe('UNAUTHENTICATED');
    expect((await api.as(legacy(changedAt / 1000 + 1)).request(ME)).errors).toBeUndefined();
  });

  it('refuses a forged token (signed with another secret)', async () => {
    const fan = await signUp(api);
    const forged = jwt.sign({ role: 'ADMIN' }, 'some-other-secret', { subject: fan.id, algorithm: 'HS256', expiresIn: 60 });
    expect(await api.as(forged).errorCode(ME)).toBe('UNAUTHENTICATED');
  });

  it('refuses an expired token', async () => {
    const fan = await signUp(api);
    const expired = jwt.sign({ role: 'USER', exp: Math.floor(Date.now() / 1000) - 10 }, secret(), { subject: fan.id, algorithm: 'HS256' });
    expect(await api.as(expired).errorCode(ME)).toBe('UNAUTHENTICATED');
  });

  it('refuses a token that expires after it was first accepted', async () => {
    const fan = await signUp(api);
    // At least 2 s to live (exp counts whole seconds), so the first request is surely in time.
    const exp = Math.floor(Date.now() / 1000) + 3;
    const shortLived = jwt.sign({ role: 'USER', exp }, secret(), { subject: fan.id, algorithm: 'HS256' });
    expect((await api.as(shortLived).data<{ me: { id: string } }>(ME)).me.id).toBe(fan.id);
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 + 200 - Date.now()));
    expect(await api.as(shortLived).errorCode(ME)).toBe('UNAUTHENTICATED');
  });

  it('refuses alg: none', async () => {
    const fan = await signUp(api);
    const none = jwt.sign({ role: 'ADMIN' }, '', { subject: fan.id, algorithm: 'none' });
    expect(await api.as(none).errorCode(ME)).toBe('UNAUTHENTICATED');
  });

  it('refuses a token naming a user that does not exist', async () => {
    const ghost = jwt.sign({ role: 'USER' }, secret(), { subject: '987654321', algorithm: 'HS256', expiresIn: 60 });
    expect(await api.as(ghost).errorCode(ME)).toBe('UNAUTHENTICATED');
  });

  it('refuses a deleted account’s token everywhere within ACCOUNT_CHECK_SECONDS, ends its open subscriptions, and lets it in again if the row comes back', async () => {
    const { concertId } = await createConcert(server, { maxActiveUsers: 1 });
    const [gone, other] = [await signUp(api), await signUp(api)];
    const sql = (query: string, params: unknown[]) => server.app.orm.em.getConnection().execute(query, params);
    const open = wsClient(server.wsUrl, gone.token);
    const retry = wsClient(server.wsUrl, gone.token);
    try {
      // Subscribed and in line: the open feed is the account's presence.
      const feed = new Feed<{ queueStatus: QueueStatus }>(open, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await feed.next()).data?.queueStatus.state).toBe('NONE');
      expect((await gone.api.data<{ enterQueue: QueueStatus }>(ENTER, { id: concertId })).enterQueue.state).toBe('WAITING');
      const [row] = await sql('select * from users where id = ?', [gone.id]);
      await sql('delete from users where id = ?', [gone.id]);
      // Queueing never reads the account: only the check, within its period, stops the token.
      const within = { timeout: (ACCOUNT_CHECK_SECONDS + 2) * 1000, interval: 100 };
      await vi.waitFor(async () => expect(await gone.api.errorCode(STATUS, { id: concertId })).toBe('UNAUTHENTICATED'), within);
      const refused = await gone.api.request(ENTER, { id: concertId });
      expect(refused.errors?.[0]).toMatchObject({ message: 'This account no longer exists.', extensions: { code: 'UNAUTHENTICATED' } });
      // The feed opened before ends as a token's expiry ends it; a new one is refused.
      const ended = await feed.until((message) => Boolean(message.errors), (ACCOUNT_CHECK_SECONDS + 2) * 1000);
      expect(ended.errors?.[0]).toMatchObject({ message: 'This account no longer exists.', extensions: { code: 'UNAUTHENTICATED' } });
      const message = await new Feed<{ queueStatus: QueueStatus }>(retry, STATUS_SUBSCRIPTION, { id: concertId }).next();
      expect(message.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // Public operations still answer it, as for any invalid token; other accounts are untouched.
      expect((await gone.api.request('{ concerts { id } }')).errors).toBeUndefined();
      expect(['WAITING', 'ACTIVE']).toContain((await other.api.data<{ enterQueue: QueueStatus }>(ENTER, { id: concertId })).enterQueue.state);
      // The operator restores the row: the token works again within the period.
      const columns = Object.keys(row as object);
      await sql(`insert into users (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`, columns.map((c) => (row as Record<string, unknown>)[c]));
      await vi.waitFor(async () => expect((await gone.api.request(STATUS, { id: concertId })).errors).toBeUndefined(), within);
    } finally {
      await Promise.all([open.dispose(), retry.dispose()]);
    }
  });

  it('refuses tokens issued before another replica changed the account’s credentials within ACCOUNT_CHECK_SECONDS, and ends their subscriptions', async () => {
    const { concertId } = await createConcert(server);
    const [taken, other] = [await signUp(api), await signUp(api)];
    const client = wsClient(server.wsUrl, taken.token);
    try {
      const feed = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await feed.next()).data?.queueStatus.state).toBe('NONE');
      await new Promise((resolve) => setTimeout(resolve, 1100)); // tokens count whole seconds
      // What a replica started with this address as ADMIN_EMAIL (or a new ADMIN_PASSWORD) writes; this one started before.
      await server.app.orm.em.getConnection().execute("update users set role = 'ADMIN', credentials_changed_at = utc_timestamp() where id = ?", [taken.id]);
      const within = { timeout: (ACCOUNT_CHECK_SECONDS + 2) * 1000, interval: 100 };
      const changed = { message: 'This account’s password or role has changed since you logged in: log in again.', extensions: { code: 'UNAUTHENTICATED' } };
      await vi.waitFor(async () => expect((await taken.api.request('{ me { id role } }')).errors?.[0]).toMatchObject(changed), within);
      expect(await taken.api.errorCode(CHARGE, { amount: 100 })).toBe('UNAUTHENTICATED');
      const ended = await feed.until((message) => Boolean(message.errors), (ACCOUNT_CHECK_SECONDS + 2) * 1000);
      expect(ended.errors?.[0]).toMatchObject(changed);
      // The socket checked its token when it opened: a new subscription on it is judged again.
      const again = new Feed<{ queueStatus: QueueStatus }>(client, STATUS_SUBSCRIPTION, { id: concertId });
      expect((await again.next()).errors?.[0]).toMatchObject(changed);
      const [row] = await server.app.orm.em.getConnection().execute<{ points: number }[]>('select points from users where id = ?', [taken.id]);
      expect(Number(row?.points)).toBe(0);
      // Other accounts are untouched.
      expect((await other.api.request('{ me { id } }')).errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });

  it('still serves public operations with a bad token', async () => {
    const body = await api.as('garbage').request('{ concerts { id } }');
    expect(body.errors).toBeUndefined();
  });
});

describe('roles', () => {
  const CREATE = 'mutation($input: ConcertInput!) { createConcert(input: $input) { id } }';
  const input = { title: 'T', venue: 'V', maxActiveUsers: 1, schedules: [{ startsAt: '2030-01-01T19:00:00Z', seatCount: 1, price: 1 }] };

  it('makes the configured admin an ADMIN', async () => {
    const admin = await logIn(api, ADMIN.email, ADMIN.password);
    const me = await admin.api.data<{ me: { role: string } }>(ME);
    expect(me.me.role).toBe('ADMIN');
    expect((await admin.api.data<{ createConcert: { id: string } }>(CREATE, { input })).createConcert.id).toMatch(/^\d+$/);
  });

  /** A fresh account made ADMIN in the database, and a token that says ADMIN. */
  async function freshAdmin() {
    const account = await signUp(api, undefined, 'admin-to-be-1');
    await sql("update users set role = 'ADMIN' where id = ?", [account.id]);
    const admin = await logIn(api, account.email, 'admin-to-be-1');
    expect((await admin.api.data<{ createConcert: { id: string } }>(CREATE, { input })).createConcert.id).toMatch(/^\d+$/);
    return admin;
  }
  const sql = (query: string, params: unknown[]) => server.app.orm.em.getConnection().execute(query, params);

  it('refuses an ADMIN demoted in the database with FORBIDDEN, though the token still says ADMIN', async () => {
    const admin = await freshAdmin();
    await sql("update users set role = 'USER' where id = ?", [admin.id]);
    expect(await admin.api.errorCode(CREATE, { input })).toBe('FORBIDDEN');
    expect(await admin.api.errorCode('mutation { setMaxActiveUsers(concertId: "1", maxActiveUsers: 5) { id } }')).toBe('FORBIDDEN');
  });

  it('refuses the token of a deleted ADMIN with UNAUTHENTICATED', async () => {
    const admin = await freshAdmin();
    await sql('delete from users where id = ?', [admin.id]);
    expect(await admin.api.errorCode(CREATE, { input })).toBe('UNAUTHENTICATED');
  });

  it('refuses admin operations to a USER with FORBIDDEN and to nobody with UNAUTHENTICATED', async () => {
    const fan = await signUp(api);
    expect(await fan.api.errorCode(CREATE, { input })).toBe('FORBIDDEN');
    expect(await fan.api.errorCode('mutation { setMaxActiveUsers(concertId: "1", maxActiveUsers: 5) { id } }')).toBe('FORBIDDEN');
    expect(await api.errorCode(CREATE, { input })).toBe('UNAUTHENTICATED');
  });
});

describe('password hashing under a burst of sign-ups', () => {
  const CLIENT = '192.0.2.10';

  it('serves sign-ins first, and a waiting sign-up after every four sign-ins in a row', async () => {
    const hasher = new PasswordHasher(1);
    const done: string[] = [];
    const stored = unmatchableHash(8);
    const jobs = [hasher.hash('first', 8, 'signUp', CLIENT).then(() => done.push('first'))];
    for (const name of ['u1', 'u2']) jobs.push(hasher.hash(name, 8, 'signUp', CLIENT).then(() => done.push(name)));
    for (let i = 1; i <= 10; i++) jobs.push(hasher.verify(`guess-${i}`, stored, CLIENT).then(() => done.push(`i${i}`)));
    await Promise.all(jobs);
    expect(done).toEqual(['first', 'i1', 'i2', 'i3', 'i4', 'u1', 'i5', 'i6', 'i7', 'i8', 'u2', 'i9', 'i10']);
  });

  it('judges a new address’s first job by the job running and the next of every other address in line', async () => {
    const hasher = new PasswordHasher(1, 60_000);
    await hasher.calibrate(12);
    // A bound between one and two hashes, as the hasher itself times them (each job is judged as it is asked).
    const internals = hasher as unknown as { averageMs: number; maxWaitMs: number };
    internals.maxWaitMs = 1.5 * internals.averageMs;
    const running = hasher.hash('bot-0', 12, 'signUp', '203.0.113.9');
    const next = hasher.hash('bot-1', 12, 'signUp', '203.0.113.9');
    // Behind bot-0 (running) and bot-1 (next in turn): two hashes, over the bound.
    const fan = hasher.hash('fan', 12, 'signUp', '198.51.100.7').catch((error: unknown) => error);
    await Promise.all([running, next]);
    expect(await fan).toBeInstanceOf(RateLimited);
  });

  it('takes client addresses in turn, and refuses at once (RATE_LIMITED) what would wait longer than the bound: a flood from one address is refused to it alone', async () => {
    // The bound, a multiple of a hash timed now: the fan's sign-up expects to wait two hashes, and under
    // load a hash took over half of a fixed 300 ms.
    const started = performance.now();
    await hashPassword('timed', 12);
    const hasher = new PasswordHasher(1, 20 * (performance.now() - started));
    // The bound is judged from the duration of the jobs done so far: the app times one at start.
    await hasher.calibrate(12);
    const served: string[] = [];
    const flood = Array.from({ length: 200 }, (_, i) =>
      hasher.hash(`bot-${i}`, 12, 'signUp', '203.0.113.9').then(
        () => served.push('bot'),
        (error: unknown) => error,
      ),
    );
    // Settled at once: a refusal fails this test, not the whole run (as an unhandled rejection).
    const fan = hasher.hash('fan', 12, 'signUp', '198.51.100.7').then(
      () => served.push('fan'),
      (error: unknown) => error,
    );
    const signIn = hasher.verify('returning-fan', unmatchableHash(12), '192.0.2.1').catch((error: unknown) => error);
    const outcomes = await Promise.all(flood);
    const refused = outcomes.filter((outcome) => outcome instanceof RateLimited);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toMatchObject({ code: 'RATE_LIMITED' });
      expect((error as RateLimited).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    // Refused means no scrypt was run; the others were all hashed.
    expect(served.filter((who) => who === 'bot').length + refused.length).toBe(200);
    // Queued after the whole flood, the other address's sign-up went after one of the bot's (the one
    // running, and the next in turn), and the sign-in before both.
    expect(await fan).not.toBeInstanceOf(Error);
    expect(served.indexOf('fan')).toBe(2);
    expect(await signIn).toBe(false);
  });

  it('judges nothing too long before a hash has been timed, so a fresh replica times one before serving', async () => {
    const cold = new PasswordHasher(1, 300);
    const flood = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => cold.hash(`cold-${i}`, 12, 'signUp', CLIENT)));
    expect(flood.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    const calibrated = new PasswordHasher(1, 300);
    await calibrated.calibrate(12);
    const refused = (await Promise.allSettled(Array.from({ length: 200 }, (_, i) => calibrated.hash(`warm-${i}`, 12, 'signUp', CLIENT)))).filter((outcome) => outcome.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
  });

  it('signs a fan in without waiting behind every sign-up queued before', async () => {
    // A cost at which a hash takes tens of milliseconds, so the queue, not HTTP, decides the order.
    const hashing = await startTestServer('accounts-hashing', { PASSWORD_HASH_COST: '14' });
    try {
      const hashingApi = new Api(hashing.url);
      const fan = await signUp(hashingApi, undefined, 'returning-fan');
      const BURST = 24;
      let signedUp = 0;
      const burst = Array.from({ length: BURST }, () => signUp(hashingApi).then(() => signedUp++));
      // Once one sign-up has answered, the server holds the others, in line for the hasher.
      await Promise.any(burst);
      await logIn(hashingApi, fan.email, 'returning-fan');
      const signedUpBeforeLogIn = signedUp;
      // Under load a hash is slow enough that the last of the burst would wait past the server's bound:
      // those are refused as they come, before the log-in, so they never were in line ahead of it.
      const refused = (await Promise.allSettled(burst)).filter((outcome) => outcome.status === 'rejected');
      for (const { reason } of refused) expect(String(reason)).toMatch(/RATE_LIMITED/);
      // First come first served, the sign-in would have come after all those in line; it waits only for
      // the hashes already running (a few: one per core).
      expect(signedUpBeforeLogIn).toBeLessThan((BURST - refused.length) / 2);
    } finally {
      await hashing.stop();
    }
  });
});
