import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ENTER, LOG_IN, STATUS, STATUS_SUBSCRIPTION } from '../support/operations';
import { Feed } from './support/client';
import { codeOf, fanOf, freshIp, gql, openBareSocket, wsClientFrom } from './support/edge';
import { redisKeys } from '../src/redis';
import { countRedisKeys } from '../support/sandbox';
import { createConcert } from './support/fixtures';
import { startTestServer, type TestServer } from './support/harness';

const ME = '{ me { id } }';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('0 turns every limit off', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('limits_off', { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_IP_PER_MINUTE: '0', LOGIN_ATTEMPTS_PER_15_MIN: '0', MAX_SOCKETS_PER_USER: '0', SEAT_MAP_FIELDS_PER_MINUTE: '0' });
  });
  afterAll(() => server?.stop());

  it('counts nothing and refuses nothing', async () => {
    const fan = await fanOf(server);
    const answers = await Promise.all(Array.from({ length: 60 }, () => gql(server.url, ME, {}, { token: fan.token })));
    expect(answers.every((answer) => answer.status === 200 && !answer.body.errors)).toBe(true);
    for (let i = 0; i < 15; i++) expect(codeOf(await gql(server.url, LOG_IN, { email: fan.email, password: 'wrong-password' }))).toBe('INVALID_CREDENTIALS');
    // Seat maps, an ACTIVE fan's: none counted (below, no limit key in Redis).
    const shop = await createConcert(server, { seatCount: 1000 });
    await gql(server.url, ENTER, { id: shop.concertId }, { token: fan.token });
    await vi.waitFor(async () => expect((await gql<{ queueStatus: { state: string } }>(server.url, STATUS, { id: shop.concertId }, { token: fan.token })).body.data?.queueStatus.state).toBe('ACTIVE'), { timeout: 10_000, interval: 100 });
    for (let i = 0; i < 3; i++) expect((await gql<{ schedule: { seatMap: { ids: string[] } } }>(server.url, 'query($id: ID!) { schedule(id: $id) { seatMap { ids } } }', { id: shop.scheduleIds[0] }, { token: fan.token })).body.data?.schedule.seatMap.ids).toHaveLength(1000);
    const { concertId } = await createConcert(server);
    const clients = Array.from({ length: 8 }, () => wsClientFrom(server.wsUrl, '10.9.9.9', fan.token));
    try {
      for (const client of clients) expect((await new Feed<{ queueStatus: { state: string } }>(client, STATUS_SUBSCRIPTION, { id: concertId }).next()).data?.queueStatus.state).toBe('NONE');
    } finally {
      await Promise.all(clients.map((client) => client.dispose()));
    }
    // With the per-address limits off, so is the cap on sockets without a valid token (20 per address).
    const anonymous = await Promise.all(Array.from({ length: 25 }, () => openBareSocket(server.wsUrl, '127.0.0.1')));
    for (const outcome of anonymous) if ('socket' in outcome) outcome.socket.close();
    expect(anonymous.filter((outcome) => 'socket' in outcome)).toHaveLength(25);
    const redis = new Redis(server.env.REDIS_URL as string);
    try {
      // The whole keyspace scanned (one SCAN call of a shared Redis reads only part of it).
      expect(await countRedisKeys(redis, `${server.env.REDIS_KEY_PREFIX}:limit`)).toBe(0);
      expect(await redis.exists(`${server.env.REDIS_KEY_PREFIX}:{u:${fan.id}}:sockets`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('0 turns the per-account or the per-address limit off on its own', () => {
  const servers: TestServer[] = [];
  afterAll(() => Promise.all(servers.map((server) => server.stop())));

  /** Six operations of one fan from one address: the sixth is over a limit of 5. */
  async function sixOperations(env: Record<string, string>) {
    const server = await startTestServer(`limits_half_${servers.length}`, { TRUST_PROXY: 'true', ...env });
    servers.push(server);
    const fan = await fanOf(server);
    const ip = freshIp();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await gql(server.url, ME, {}, { token: fan.token, ip }));
    const counted = async (key: string) => {
      const redis = new Redis(server.env.REDIS_URL as string);
      try {
        return (await redis.exists(key)) === 1;
      } finally {
        redis.disconnect();
      }
    };
    const limits = redisKeys(server.app.config.redisPrefix).limits;
    return { server, fan, answers, byAccount: await counted(`${limits.account}:${fan.id}`), byIp: await counted(`${limits.ip}:${ip}`) };
  }

  it('RATE_LIMIT_PER_MINUTE=0: no account is counted, the address still is', async () => {
    const { server, fan, answers, byAccount, byIp } = await sixOperations({ RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_IP_PER_MINUTE: '5' });
    expect(answers.map(codeOf)).toEqual([undefined, undefined, undefined, undefined, undefined, 'RATE_LIMITED']);
    expect(answers[5]?.body.errors?.[0]?.message).toMatch(/network address/);
    expect([byAccount, byIp]).toEqual([false, true]);
    // The refusal was the address's: the same fan goes on from another one.
    const elsewhere = freshIp();
    for (let i = 0; i < 5; i++) expect(codeOf(await gql(server.url, ME, {}, { token: fan.token, ip: elsewhere }))).toBeUndefined();
  });

  it('RATE_LIMIT_IP_PER_MINUTE=0: no address is counted, the account still is', async () => {
    const { answers, byAccount, byIp } = await sixOperations({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_IP_PER_MINUTE: '0' });
    expect(answers.map(codeOf)).toEqual([undefined, undefined, undefined, undefined, undefined, 'RATE_LIMITED']);
    expect(answers[5]?.body.errors?.[0]?.message).toMatch(/this account/);
    expect([byAccount, byIp]).toEqual([true, false]);
  });
});

describe('windows', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A 2-second window for every limit; TRUST_PROXY off, so X-Forwarded-For is ignored.
    server = await startTestServer('limits_window', { RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_IP_PER_MINUTE: '1000', LOGIN_ATTEMPTS_PER_15_MIN: '2', TEST_LIMIT_WINDOW_SECONDS: '2' });
  });
  afterAll(() => server?.stop());

  it('the operation works again once the window has passed', async () => {
    const fan = await fanOf(server);
    let refused = await gql(server.url, ME, {}, { token: fan.token });
    for (let i = 0; i < 5 && refused.status === 200; i++) refused = await gql(server.url, ME, {}, { token: fan.token });
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    const seconds = refused.body.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(2);
    await sleep(seconds * 1000 + 100);
    expect((await gql(server.url, ME, {}, { token: fan.token })).status).toBe(200);
  });

  it('sign-in works again once the failures’ window has passed', async () => {
    const fan = await fanOf(server);
    const logIn = (password: string) => gql(server.url, LOG_IN, { email: fan.email, password });
    let refused = await logIn('wrong-password');
    for (let i = 0; i < 4 && codeOf(refused) !== 'RATE_LIMITED'; i++) refused = await logIn('wrong-password');
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.status).toBe(429);
    await sleep(Number(refused.retryAfter) * 1000 + 100);
    expect(codeOf(await logIn(fan.password))).toBeUndefined();
  });

  it('without TRUST_PROXY, X-Forwarded-For does not change the address counted', async () => {
    // Failures from "different" forwarded addresses all count against the connection's own address.
    let answer = await gql(server.url, LOG_IN, { email: 'a@example.test', password: 'wrong-password' }, { ip: '203.0.113.7' });
    expect(codeOf(answer)).toBe('INVALID_CREDENTIALS');
    answer = await gql(server.url, LOG_IN, { email: 'b@example.test', password: 'wrong-password' }, { ip: '203.0.113.8' });
    expect(codeOf(answer)).toBe('INVALID_CREDENTIALS');
    answer = await gql(server.url, LOG_IN, { email: 'c@example.test', password: 'wrong-password' }, { ip: '203.0.113.9' });
    expect(codeOf(answer)).toBe('RATE_LIMITED');
  });
});
