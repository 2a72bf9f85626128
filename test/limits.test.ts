import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CHARGE, ENTER, LOG_IN, SIGN_UP, STATUS, STATUS_SUBSCRIPTION } from '../support/operations';
import { Feed } from './support/client';
import { codeOf, fanOf, freshIp, gql, wsClientFrom, type Answer } from './support/edge';
import { createConcert } from './support/fixtures';
import { seatIds } from './support/booking';
import { limitedAddress } from '../src/http/edge';
import { databaseOf, startTestServer, TEST_MYSQL_ROOT, type TestServer } from './support/harness';
import { createConnection } from 'mysql2/promise';
import { untilLockWait } from './support/mysql-locks';

/** Low limits, a real (one-minute) window, and the client IP from X-Forwarded-For so each test is its own address. */
const LIMITS = { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_IP_PER_MINUTE: '8', LOGIN_ATTEMPTS_PER_15_MIN: '3', TRUST_PROXY: 'true' };
const ME = '{ me { id points } }';
const CONCERTS = '{ concerts { id } }';

let server: TestServer;
/** A second replica: same database, same Redis prefix. */
let replica: TestServer;

beforeAll(async () => {
  server = await startTestServer('limits', LIMITS);
  replica = await startTestServer('limits', { ...LIMITS, RUN_WORKERS: 'false' }, { reset: false });
});
afterAll(async () => {
  await replica?.stop();
  await server?.stop();
});

/** RATE_LIMITED as the contract has it: 429, Retry-After, and the same number in the error. */
function expectRateLimited(answer: Answer, windowSeconds: number): number {
  expect(answer.status).toBe(429);
  const error = answer.body.errors?.[0];
  expect(error?.extensions?.code).toBe('RATE_LIMITED');
  const seconds = error?.extensions?.retryAfterSeconds as number;
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(windowSeconds);
  expect(answer.retryAfter).toBe(String(seconds));
  // A refusal is no more cacheable than an answer.
  expect(answer.cacheControl).toBe('no-store');
  expect(error?.message).toMatch(/try again in \d+ seconds?/);
  return seconds;
}

describe('operations per account (RATE_LIMIT_PER_MINUTE)', () => {
  it('refuses the operation over the limit with 429, changes nothing, and leaves other accounts alone', async () => {
    const fan = await fanOf(server);
    const other = await fanOf(server);
    // Each request from its own address, so only the account limit can refuse.
    for (let i = 0; i < 5; i++) expect((await gql(server.url, ME, {}, { token: fan.token, ip: freshIp() })).status).toBe(200);
    const refused = await gql(server.url, CHARGE, { amount: 100 }, { token: fan.token, ip: freshIp() });
    expectRateLimited(refused, 60);
    expect(refused.body.data ?? null).toBeNull();
    // Nothing was charged.
    const [row] = await server.app.orm.em.getConnection().execute<{ points: number }[]>('select points from users where id = ?', [fan.id]);
    expect(Number(row?.points)).toBe(0);
    expect((await gql(server.url, ME, {}, { token: other.token, ip: freshIp() })).status).toBe(200);
  });

  it('holds across replicas: requests spread over two servers share one count', async () => {
    const fan = await fanOf(server);
    for (let i = 0; i < 5; i++) {
      const target = i % 2 === 0 ? server : replica;
      expect((await gql(target.url, ME, {}, { token: fan.token, ip: freshIp() })).status).toBe(200);
    }
    expectRateLimited(await gql(replica.url, ME, {}, { token: fan.token, ip: freshIp() }), 60);
    expectRateLimited(await gql(server.url, ME, {}, { token: fan.token, ip: freshIp() }), 60);
  });

  it('counts each subscription start, and refuses one over the limit with RATE_LIMITED', async () => {
    const { concertId } = await createConcert(server);
    const fan = await fanOf(server);
    for (let i = 0; i < 5; i++) expect((await gql(server.url, ME, {}, { token: fan.token, ip: freshIp() })).status).toBe(200);
    const client = wsClientFrom(server.wsUrl, freshIp(), fan.token);
    try {
      const feed = new Feed(client, STATUS_SUBSCRIPTION, { id: concertId });
      const answer = await feed.next();
      expect(answer.data ?? null).toBeNull();
      expect(answer.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(answer.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await client.dispose();
    }
  });
});

describe('operations per client IP (RATE_LIMIT_IP_PER_MINUTE)', () => {
  it('refuses the 9th operation from one address, signed in or not; other addresses go on', async () => {
    const ip = freshIp();
    for (let i = 0; i < 8; i++) expect((await gql(server.url, CONCERTS, {}, { ip })).status).toBe(200);
    expectRateLimited(await gql(server.url, CONCERTS, {}, { ip }), 60);
    const fan = await fanOf(server);
    expectRateLimited(await gql(server.url, ME, {}, { token: fan.token, ip }), 60);
    expect((await gql(server.url, CONCERTS, {}, { ip: freshIp() })).status).toBe(200);
  });

  it('a refused operation counts for nobody: not for the address when the account refused it, nor for the account when the address did', async () => {
    const ip = freshIp();
    const eager = await fanOf(server);
    const neighbour = await fanOf(server);
    // The eager fan spends their account (5) and retries through its refusals from the shared address.
    for (let i = 0; i < 5; i++) expect((await gql(server.url, ME, {}, { token: eager.token, ip })).status).toBe(200);
    // The address has run 5 of its 8: the neighbour behind it gets the other 3, even asking while the
    // eager fan's retries arrive all at once (none may hold the address's count up meanwhile).
    const retries = Array.from({ length: 30 }, () => gql(server.url, ME, {}, { token: eager.token, ip }));
    const neighbours = Array.from({ length: 3 }, () => gql(server.url, ME, {}, { token: neighbour.token, ip }));
    for (const refused of await Promise.all(retries)) expectRateLimited(refused, 60);
    expect((await Promise.all(neighbours)).map((answer) => answer.status)).toEqual([200, 200, 200]);
    // Now the address refuses; the neighbour's retries cost their account nothing…
    for (let i = 0; i < 3; i++) expectRateLimited(await gql(server.url, ME, {}, { token: neighbour.token, ip }), 60);
    // …so from elsewhere the account still has the 2 of its 5 it did not run.
    const elsewhere = freshIp();
    for (let i = 0; i < 2; i++) expect((await gql(server.url, ME, {}, { token: neighbour.token, ip: elsewhere })).status).toBe(200);
    expectRateLimited(await gql(server.url, ME, {}, { token: neighbour.token, ip: elsewhere }), 60);
  });

  it('behind the proxy, counts the address it appended (the last entry of X-Forwarded-For), not those the client wrote before it', async () => {
    const real = freshIp();
    // Each request forges a new first entry; the proxy appended the same real address each time.
    const logIn = (i: number) => gql(server.url, LOG_IN, { email: `forged-${i}-${real}@example.test`, password: 'wrong-password' }, { ip: `${freshIp()}, ${real}` });
    for (let i = 0; i < 3; i++) expect(codeOf(await logIn(i))).toBe('INVALID_CREDENTIALS');
    expectRateLimited(await logIn(3), 15 * 60);
  });

  it('counts an address the proxy wrote with a port (1.2.3.4:5678, [2001:db8::1]:443) as that address, whatever the port', async () => {
    expect(limitedAddress('10.1.2.3:5678')).toBe('10.1.2.3');
    expect(limitedAddress('[2001:db8:a:b::1]:443')).toBe('2001:db8:a:b::/64');
    expect(limitedAddress('[::ffff:10.1.2.3]:80')).toBe('10.1.2.3');
    const ip = freshIp();
    for (let i = 0; i < 8; i++) expect((await gql(server.url, CONCERTS, {}, { ip: `${ip}:${40_000 + i}` })).status).toBe(200);
    expectRateLimited(await gql(server.url, CONCERTS, {}, { ip }), 60);
  });

  it('counts an IPv6 client by its /64 (a host may take a new address for every request); an IPv4 one written as IPv6 as IPv4', async () => {
    expect(limitedAddress('2001:db8:a:b:1:2:3:4')).toBe('2001:db8:a:b::/64');
    expect(limitedAddress('2001:0DB8:000a:000b::ffff')).toBe('2001:db8:a:b::/64');
    expect(limitedAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limitedAddress('::1')).toBe('0:0:0:0::/64');
    expect(limitedAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(limitedAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(limitedAddress('::FFFF:a01:203')).toBe('10.1.2.3');
    expect(limitedAddress('0:0:0:0:0:ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(limitedAddress('64:ff9b::10.1.2.3')).toBe('64:ff9b:0:0::/64');
    expect(limitedAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(limitedAddress('unknown')).toBe('unknown');

    for (let i = 1; i <= 8; i++) expect((await gql(server.url, CONCERTS, {}, { ip: `2001:db8:77:1::${i.toString(16)}` })).status).toBe(200);
    expectRateLimited(await gql(server.url, CONCERTS, {}, { ip: '2001:db8:77:1:ffff:ffff:ffff:fff0' }), 60);
    expect((await gql(server.url, CONCERTS, {}, { ip: '2001:db8:77:2::1' })).status).toBe(200);
  });

  it('holds across replicas', async () => {
    const ip = freshIp();
    for (let i = 0; i < 8; i++) expect((await gql((i % 2 ? replica : server).url, CONCERTS, {}, { ip })).status).toBe(200);
    expectRateLimited(await gql(replica.url, CONCERTS, {}, { ip }), 60);
  });

  it('stops malformed and invalid documents too, before parsing them: over HTTP and over the WebSocket', async () => {
    // Counted only once valid, such documents (which can cost far more to validate than to run) went on forever.
    const ip = freshIp();
    for (let i = 0; i < 8; i++) expect(codeOf(await gql(server.url, i % 2 ? '{ nope }' : '{ concerts {', {}, { ip }))).toMatch(/^GRAPHQL_(PARSE|VALIDATION)_FAILED$/);
    expectRateLimited(await gql(server.url, '{ nope }', {}, { ip }), 60);

    const socketIp = freshIp();
    const client = wsClientFrom(server.wsUrl, socketIp);
    try {
      for (let i = 0; i < 8; i++) expect((await new Feed(client, 'subscription { nope }', {}).next()).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await new Feed(client, 'subscription { nope }', {}).next()).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    } finally {
      await client.dispose();
    }
  });

  it('counts subscription starts from that address too', async () => {
    const { concertId } = await createConcert(server);
    const ip = freshIp();
    const fan = await fanOf(server);
    for (let i = 0; i < 8; i++) expect((await gql(server.url, CONCERTS, {}, { ip })).status).toBe(200);
    const client = wsClientFrom(server.wsUrl, ip, fan.token);
    try {
      const answer = await new Feed(client, STATUS_SUBSCRIPTION, { id: concertId }).next();
      expect(answer.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    } finally {
      await client.dispose();
    }
  });
});

describe('accounts made per address (SIGNUPS_PER_IP_PER_HOUR, off by default)', () => {
  it('refuses an address its next account within the hour, and makes none; a sign-up that made no account counts for nothing, nor one refused while it was in flight; other addresses go on', async () => {
    const limited = await startTestServer('limits_sign_up', { SIGNUPS_PER_IP_PER_HOUR: '2', TRUST_PROXY: 'true' });
    try {
      const ip = freshIp();
      const stamp = Date.now();
      const signUp = (name: string, from = ip) => gql(limited.url, SIGN_UP, { email: `${name}-${stamp}@example.test`, password: 'correct-horse' }, { ip: from });
      expect(codeOf(await signUp('a'))).toBeUndefined();
      expect(codeOf(await signUp('a'))).toBe('EMAIL_TAKEN');
      expect(codeOf(await signUp('b'))).toBeUndefined();
      expect(expectRateLimited(await signUp('c'), 3600)).toBeGreaterThan(3000);
      expect(codeOf(await gql(limited.url, LOG_IN, { email: `c-${stamp}@example.test`, password: 'correct-horse' }, { ip: freshIp() }))).toBe('INVALID_CREDENTIALS');
      expect(codeOf(await signUp('d', freshIp()))).toBeUndefined();

      // A sign-up refused while one that then fails is in flight gives back what it counted: the
      // address keeps its second account (kept, the refusal would hold it over the limit for the hour).
      const household = freshIp();
      expect(codeOf(await signUp('e', household))).toBeUndefined();
      const session = await createConnection(`${TEST_MYSQL_ROOT}/${databaseOf(limited)}`);
      try {
        // Another session's uncommitted row for 'f': its sign-up counts, then waits on its INSERT.
        await session.query('BEGIN');
        await session.query("INSERT INTO users (email, password_hash) VALUES (?, 'x')", [`f-${stamp}@example.test`]);
        const inFlight = signUp('f', household);
        await untilLockWait(databaseOf(limited), 'insert into `users`');
        expect(codeOf(await signUp('g', household))).toBe('RATE_LIMITED');
        await session.query('COMMIT');
        expect(codeOf(await inFlight)).toBe('EMAIL_TAKEN');
      } finally {
        await session.end();
      }
      expect(codeOf(await signUp('h', household))).toBeUndefined();
    } finally {
      await limited.stop();
    }
  });
});

/** A concert of one date with `seatCount` seats, and `count` fans ACTIVE for it. */
async function activeOnOneDate(target: TestServer, seatCount: number, count: number) {
  const { concertId, scheduleIds } = await createConcert(target, { maxActiveUsers: count, seatCount });
  const fans = await Promise.all(Array.from({ length: count }, () => fanOf(target)));
  for (const fan of fans) await gql(target.url, ENTER, { id: concertId }, { token: fan.token });
  await vi.waitFor(
    async () => {
      for (const fan of fans) expect((await gql<{ queueStatus: { state: string } }>(target.url, STATUS, { id: concertId }, { token: fan.token })).body.data?.queueStatus.state).toBe('ACTIVE');
    },
    { timeout: 10_000, interval: 100 },
  );
  return { concertId, id: scheduleIds[0] as string, fans };
}

describe('seat-map fields per account (SEAT_MAP_FIELDS_PER_MINUTE)', () => {
  it('weighs each map by its seats and the fields selected; refuses the one past the budget with 429, answering no map; other accounts read on', async () => {
    const limited = await startTestServer('limits_seat_maps', { SEAT_MAP_FIELDS_PER_MINUTE: '100000' });
    try {
      const { concertId, id, fans } = await activeOnOneDate(limited, 10_000, 2);
      const [fan, other] = fans as [(typeof fans)[0], (typeof fans)[0]];
      // 10,000 seats × 4 fields, and × 2 lists.
      const everyField = 'query($id: ID!) { schedule(id: $id) { seats { id number price status } } }';
      const twoLists = 'query($id: ID!) { schedule(id: $id) { seatMap { ids statuses } } }';
      const read = (query: string, as = fan) => gql<{ schedule: { seats?: unknown[]; seatMap?: { ids: string[] } } | null }>(limited.url, query, { id }, { token: as.token });
      expect((await read(everyField)).body.data?.schedule?.seats).toHaveLength(10_000);
      expect((await read(everyField)).body.data?.schedule?.seats).toHaveLength(10_000);
      // 100,000 fields: the whole budget, not past it.
      expect((await read(twoLists)).body.data?.schedule?.seatMap?.ids).toHaveLength(10_000);
      const refused = await read(twoLists);
      expectRateLimited(refused, 60);
      expect(refused.body.data?.schedule?.seatMap ?? null).toBeNull();
      expect(refused.body.errors?.[0]?.message).toMatch(/seat maps/);
      expect((await read(everyField, other)).body.data?.schedule?.seats).toHaveLength(10_000);
      // A status read is no map: the account's other operations go on.
      expect(codeOf(await gql(limited.url, STATUS, { id: concertId }, { token: fan.token }))).toBeUndefined();
      // A hold whose answer asks for the map is made; the refusal within its answer is no 429, which
      // would say nothing had changed.
      const [seatId] = await seatIds(limited, id);
      const hold = await gql(limited.url, 'mutation($seatId: ID!) { holdSeat(seatId: $seatId) { id seat { schedule { seats { id } } } } }', { seatId }, { token: fan.token });
      expect(hold.status).toBe(200);
      expect(hold.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(hold.body.errors?.[0]?.path).toEqual(['holdSeat', 'seat', 'schedule', 'seats']);
      const mine = await gql<{ me: { holds: { seat: { id: string } }[] } }>(limited.url, '{ me { holds { seat { id } } } }', {}, { token: fan.token });
      expect(mine.body.data?.me.holds.map((held) => held.seat.id)).toEqual([seatId]);
    } finally {
      await limited.stop();
    }
  });
});

describe('a seat map larger than the whole seat-map budget', () => {
  it('costs the whole budget: answered once a window, then refused', async () => {
    const limited = await startTestServer('limits_seat_maps_small', { SEAT_MAP_FIELDS_PER_MINUTE: '20' });
    try {
      const { id, fans } = await activeOnOneDate(limited, 10, 1);
      const token = fans[0]!.token;
      // 10 seats × 4 fields: 40, twice the budget.
      const everyField = 'query($id: ID!) { schedule(id: $id) { seats { id number price status } } }';
      const first = await gql<{ schedule: { seats: unknown[] } | null }>(limited.url, everyField, { id }, { token });
      expect(first.body.data?.schedule?.seats).toHaveLength(10);
      expectRateLimited(await gql(limited.url, everyField, { id }, { token }), 60);
    } finally {
      await limited.stop();
    }
  });
});

describe('failed sign-ins (LOGIN_ATTEMPTS_PER_15_MIN)', () => {
  const logIn = (target: TestServer, email: string, password: string, ip: string) => gql(target.url, LOG_IN, { email, password }, { ip });

  it('per email: after 3 failures even the right password waits; other emails do not', async () => {
    const fan = await fanOf(server);
    const other = await fanOf(server);
    for (let i = 0; i < 3; i++) expect(codeOf(await logIn(i % 2 ? replica : server, fan.email, 'wrong-password', freshIp()))).toBe('INVALID_CREDENTIALS');
    // From a fresh address, with the right password, on the other replica: the email's count is shared.
    const seconds = expectRateLimited(await logIn(replica, fan.email.toUpperCase(), fan.password, freshIp()), 15 * 60);
    expect(seconds).toBeGreaterThan(60);
    expect(codeOf(await logIn(server, other.email, other.password, freshIp()))).toBeUndefined();
  });

  it('per address: 3 failures on any emails, then every sign-in from there waits', async () => {
    const fan = await fanOf(server);
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect(codeOf(await logIn(server, `nobody-${i}@example.test`, 'wrong-password', ip))).toBe('INVALID_CREDENTIALS');
    expectRateLimited(await logIn(server, fan.email, fan.password, ip), 15 * 60);
    expect(codeOf(await logIn(server, fan.email, fan.password, freshIp()))).toBeUndefined();
  });

  it('a sign-in no account could match (not an email, an overlong password) is BAD_USER_INPUT and counts as no attempt', async () => {
    const fan = await fanOf(server);
    const ip = freshIp();
    for (const [email, password] of [
      ['not-an-email', 'wrong-password'],
      [fan.email, 'x'.repeat(201)],
      ['a@b', 'wrong-password'],
    ] as const) {
      expect(codeOf(await logIn(server, email, password, ip))).toBe('BAD_USER_INPUT');
    }
    expect(codeOf(await logIn(server, fan.email, fan.password, ip))).toBeUndefined();
  });

  it('an address over its limit counts nothing against the emails it tries: their owners still sign in', async () => {
    const victim = await fanOf(server);
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect(codeOf(await logIn(server, `nobody-${i}@example.test`, 'wrong-password', ip))).toBe('INVALID_CREDENTIALS');
    for (let i = 0; i < 3; i++) expectRateLimited(await logIn(server, victim.email, 'wrong-password', ip), 15 * 60);
    expect(codeOf(await logIn(server, victim.email, victim.password, freshIp()))).toBeUndefined();
  });

  it('a sign-in refused for its email costs its address nothing: the same address still signs in elsewhere', async () => {
    const victim = await fanOf(server);
    const fan = await fanOf(server);
    for (let i = 0; i < 3; i++) expect(codeOf(await logIn(server, victim.email, 'wrong-password', freshIp()))).toBe('INVALID_CREDENTIALS');
    // The victim, from home, tries their own (now locked) email again and again: no password is checked.
    const home = freshIp();
    for (let i = 0; i < 4; i++) expectRateLimited(await logIn(server, victim.email, victim.password, home), 15 * 60);
    expect(codeOf(await logIn(server, fan.email, fan.password, home))).toBeUndefined();
  });

  it('sign-ins that all succeed leave their address free, however many were in flight at once', async () => {
    const fans = await Promise.all(Array.from({ length: 8 }, () => fanOf(server)));
    const ip = freshIp();
    // Each counts before its password is checked: those in flight beyond the limit (3) find the
    // address at it, and give back what they counted, as the successes do. (8 requests in all: the
    // address's operation limit.)
    const codes = await Promise.all(fans.slice(0, 7).map((fan) => logIn(server, fan.email, fan.password, ip).then(codeOf)));
    expect(codes.filter((code) => code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(1);
    expect(codes.filter((code) => code === undefined).length).toBeGreaterThanOrEqual(1);
    // No failure was made from there: the next sign-in goes through.
    expect(codeOf(await logIn(server, fans[7]!.email, fans[7]!.password, ip))).toBeUndefined();
  });

  it('a successful sign-in clears the email’s failures: its owner, back in, may mistype again later', async () => {
    const fan = await fanOf(server);
    for (let i = 0; i < 2; i++) expect(codeOf(await logIn(server, fan.email, 'wrong-password', freshIp()))).toBe('INVALID_CREDENTIALS');
    expect(codeOf(await logIn(server, fan.email, fan.password, freshIp()))).toBeUndefined();
    for (let i = 0; i < 2; i++) expect(codeOf(await logIn(server, fan.email, 'wrong-password', freshIp()))).toBe('INVALID_CREDENTIALS');
    expect(codeOf(await logIn(server, fan.email, fan.password, freshIp()))).toBeUndefined();
  });

  it('a successful sign-in does not reset the address’s failures', async () => {
    const fan = await fanOf(server);
    const ip = freshIp();
    expect(codeOf(await logIn(server, 'guess-1@example.test', 'wrong-password', ip))).toBe('INVALID_CREDENTIALS');
    expect(codeOf(await logIn(server, 'guess-2@example.test', 'wrong-password', ip))).toBe('INVALID_CREDENTIALS');
    expect(codeOf(await logIn(server, fan.email, fan.password, ip))).toBeUndefined();
    expect(codeOf(await logIn(server, 'guess-3@example.test', 'wrong-password', ip))).toBe('INVALID_CREDENTIALS');
    expectRateLimited(await logIn(server, 'guess-4@example.test', 'wrong-password', ip), 15 * 60);
  });
});

describe('metrics', () => {
  it('count refusals by limit (each replica its own)', async () => {
    const scrape = async (target: TestServer) => (await fetch(target.url.replace('/graphql', '/metrics'))).text();
    const text = (await scrape(server)) + (await scrape(replica));
    for (const limit of ['account', 'ip', 'login_email', 'login_ip']) {
      expect(text).toMatch(new RegExp(`rate_limit_refusals_total\\{limit="${limit}"\\} [1-9]`));
    }
  });
});
